import io
import json
import logging
import re
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

import psycopg2
import psycopg2.extras
import pytz
from markupsafe import Markup
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index, index_exists

from ..services.mapping import CALL_TYPES, DISPOSITIONS, MappingError, classify
from ..services.phone import match_key, national_format
from .access import MANAGER

_logger = logging.getLogger(__name__)

# What identifies a stored call; everything else a later sync may change (a recording
# that appeared, a corrected disposition, a cost billed later). How it first arrived stays.
_IDENTITY_FIELDS = ("account_id", "company_id", "external_id", "origin")
# Set when a call is first stored, then kept by the follow-up (see _update_callbacks).
_CREATE_ONLY_FIELDS = ("callback_state",)

_PARTNER_KEY_FIELDS = ("vbot_phone_key", "vbot_mobile_key")
# The columns _insert_calls writes (other modules' stored fields get their defaults).
_INSERT_COLUMNS = (
    "account_id",
    "company_id",
    "external_id",
    "call_date",
    "call_type",
    "is_answered",
    "disposition",
    "disposition_raw",
    "customer_number",
    "customer_key",
    "customer_display",
    "customer_name",
    "callback_state",
    "agent_member_no",
    "hotline",
    "talk_duration",
    "duration",
    "cost",
    "has_recording",
    "recording_urls",
    "payload",
    "origin",
    "match_state",
    "partner_id",
    "commercial_partner_id",
    "user_id",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)
# The columns of a new call the page's next steps read: _insert_calls leaves them in cache.
_CACHED_COLUMNS = (
    "account_id",
    "company_id",
    "external_id",
    "call_date",
    "call_type",
    "is_answered",
    "customer_key",
    "callback_state",
    "agent_member_no",
    "origin",
    "match_state",
    "partner_id",
    "commercial_partner_id",
    "user_id",
)
# What may go wrong storing one call. Errors of concurrency (serialization failure,
# deadlock, lock timeout, cancelled query) are not a call's fault: they stop the run.
_STORE_ERRORS = (psycopg2.Error, ValueError, TypeError, OverflowError, UserError)
_CONCURRENCY_CODES = frozenset({"40001", "40P01", "55P03", "57014"})
# A mapped value -> the VBot field it comes from (what a log line names), and a value
# that cannot be the culprit (to find which value the database refused).
_VBOT_FIELDS = {
    "external_id": "group_id",
    "call_date": "date_create",
    "call_type": "type_call",
    "customer_number": "phone",
    "customer_key": "phone",
    "agent_member_no": "member_no",
    "hotline": "hotline_number",
    "disposition_raw": "disposition",
    "talk_duration": "time_call",
    "duration": "duration_call",
    "cost": "postage",
    "record_urls": "record_file",
    "payload": "payload",
}
_NEUTRAL = {
    "external_id": None,  # a fresh uuid
    "customer_number": "",
    "customer_key": None,
    "agent_member_no": "",
    "agent_member_nos": [],
    "hotline": "",
    "disposition_raw": "",
    "talk_duration": 0,
    "duration": 0,
    "cost": 0.0,
    "record_urls": [],
    "has_recording": False,
    "payload": "{}",
}


class VbotCall(models.Model):
    _name = "vbot.call"
    _inherit = ["vbot.number.actions"]
    _description = "VBot Call"
    _order = "call_date desc, id desc"

    # Indexed with call_date by init(): (account_id, call_date DESC, id DESC).
    account_id = fields.Many2one("vbot.account", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    external_id = fields.Char(
        "VBot ID",
        required=True,
        readonly=True,
        help="VBot's group_id of the call (or its external_call_id, or a hash of the "
        "payload when VBot sent neither).",
    )
    call_date = fields.Datetime("Date", required=True, index=True, readonly=True)
    call_type = fields.Selection(
        [(key, label) for key, label, _vi in CALL_TYPES],
        "Type",
        required=True,
        readonly=True,
        help="Missed: an incoming call nobody answered (VBot's missed calls, and incoming "
        "calls that rang unanswered, were busy, cancelled or rejected).",
    )
    is_answered = fields.Boolean(
        "Answered",
        readonly=True,
        help="Someone talked with the customer (either direction).",
    )
    disposition = fields.Selection(
        [(key, label) for key, label, _vi in DISPOSITIONS] + [("other", "Other")],
        "Outcome",
        readonly=True,
    )
    disposition_raw = fields.Char("Outcome (as sent by VBot)", readonly=True)
    customer_number = fields.Char("Number as sent by VBot", readonly=True)
    customer_display = fields.Char(
        "Number", readonly=True, help="The customer's number as people write it."
    )
    customer_name = fields.Char(
        "Name sent by VBot", readonly=True, help="The customer's name, when VBot sent one."
    )
    number_search = fields.Char(
        "Phone number",
        compute="_compute_number_search",
        search="_search_number_search",
        help="Finds calls with a number, whatever its format.",
    )
    customer_key = fields.Char(
        "Customer number key",
        index=True,
        readonly=True,
        help="The customer number normalized to E.164 (pre-2018 mobile numbers "
        "converted); calls are matched to contacts on it.",
    )
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, ondelete="set null")
    partner_name = fields.Char(
        "Contact name", related="partner_id.name", help="The contact's own name (no company)."
    )
    # The contact's company (or the contact, without one): a company's Calls tab reads its
    # newest calls through vbot_call_commercial_date_idx (see init), whatever their number.
    # Kept by the ORM when a contact's parent changes; _match_partners sets it with partner_id.
    commercial_partner_id = fields.Many2one(
        "res.partner",
        "Commercial entity",
        related="partner_id.commercial_partner_id",
        store=True,
        readonly=True,
        help="The company of the call's contact, or the contact itself without a company.",
    )
    match_state = fields.Selection(
        [
            ("matched", "Matched"),
            ("unmatched", "Unmatched"),
            ("ambiguous", "Ambiguous"),
            ("no_number", "No customer number"),
        ],
        "Match",
        default="unmatched",
        required=True,
        readonly=True,
    )
    candidate_partner_ids = fields.Many2many(
        "res.partner",
        "vbot_call_candidate_partner_rel",
        "call_id",
        "partner_id",
        "Candidate contacts",
        readonly=True,
        help="Contacts of different companies that share this call's number.",
    )
    agent_member_no = fields.Char("Agent extension", index=True, readonly=True)
    user_id = fields.Many2one("res.users", "Agent", index=True, readonly=True, ondelete="set null")
    hotline = fields.Char(readonly=True)
    talk_duration = fields.Integer("Talk time (s)", readonly=True)
    duration = fields.Integer("Duration (s)", readonly=True)
    talk_duration_display = fields.Char("Talk time", compute="_compute_durations")
    duration_display = fields.Char("Total time", compute="_compute_durations")
    cost = fields.Float(
        "Cost (₫)", digits=(16, 2), readonly=True, help="What VBot billed, in đồng."
    )
    has_recording = fields.Boolean("Recording", readonly=True)
    # Where VBot keeps the recording. Never sent to a browser: the recording plays
    # through /vbot_call_history/recording/<id>, which fetches it server side.
    recording_urls = fields.Json("Recording URLs", groups="base.group_system", readonly=True)
    payload = fields.Text("Raw payload", groups="base.group_system", readonly=True, prefetch=False)
    origin = fields.Selection(
        [("sync", "Sync"), ("webhook", "Webhook"), ("fetch", "Fetch calls")],
        "Arrived by",
        required=True,
        default="sync",
        readonly=True,
        help="How the call first reached Odoo: the scheduled sync (or Sync now), a VBot "
        "webhook as it ended, or a contact's Fetch calls.",
    )

    # Follow-up of missed calls (see _update_callbacks).
    callback_state = fields.Selection(
        [
            ("pending", "To call back"),
            ("done", "Called back"),
            ("closed", "Closed by hand"),
            ("stale", "Too old to follow up"),
        ],
        "Call-back",
        readonly=True,
        index="btree_not_null",
        help="For missed calls with a number: to call back until a later answered call with "
        "that number or contact is stored, or its Call back activity is closed by hand.",
    )
    called_back_call_id = fields.Many2one(
        "vbot.call", "Called back by", readonly=True, ondelete="set null"
    )
    is_mine = fields.Boolean(
        "My calls",
        compute="_compute_is_mine",
        search="_search_is_mine",
        help="Calls I took and calls with the contacts I am the salesperson of.",
    )
    callback_mine = fields.Boolean(
        "Mine to call back",
        compute="_compute_is_mine",
        search="_search_callback_mine",
        help="Missed calls to call back that are mine, or whose Call back activity is mine.",
    )

    _sql_constraints = [
        (
            "external_id_account_uniq",
            "unique(account_id, external_id)",
            "A VBot call is stored once per account.",
        ),
    ]

    def init(self):
        # Every index costs each insert (a backfill inserts millions of rows): company_id and
        # partner_id are searched through the indexes below that lead with them; call_type,
        # disposition, match_state and has_recording hold a few values each, too few for an
        # index of their own to pay (migration 18.0.2.1.0 drops the ones earlier versions made).
        res = super().init()
        # An account's calls, newest first (its list, the sync's per-window counts),
        # and a contact's calls, newest first (its Calls tab): index-only ordering
        # even at millions of calls.
        create_index(
            self.env.cr,
            "vbot_call_account_date_idx",
            self._table,
            ["account_id", "call_date DESC", "id DESC"],
        )
        create_index(
            self.env.cr,
            "vbot_call_partner_date_idx",
            self._table,
            ["partner_id", "call_date DESC", "id DESC"],
            where="partner_id IS NOT NULL",
        )
        # A company's (or a contact's) calls, newest first, with its contacts' calls: its
        # Calls tab and smart button. company_id is included for the record rule, so that
        # counting them reads the index only.
        if not index_exists(self.env.cr, "vbot_call_commercial_date_idx"):
            self.env.cr.execute(
                """
                CREATE INDEX vbot_call_commercial_date_idx
                    ON vbot_call (commercial_partner_id, call_date DESC, id DESC)
                    INCLUDE (company_id)
                 WHERE commercial_partner_id IS NOT NULL
                """
            )
        # Statistics (the pivot and graph by date and type) read this index only, not the
        # table's rows (their payloads make it wide): company_id for the record rule.
        create_index(
            self.env.cr,
            "vbot_call_company_date_type_idx",
            self._table,
            ["company_id", "call_date", "call_type"],
        )
        # Answered calls after a date, by number or by contact: closing call-backs.
        create_index(
            self.env.cr,
            "vbot_call_answered_key_date_idx",
            self._table,
            ["customer_key", "call_date"],
            where="is_answered",
        )
        create_index(
            self.env.cr,
            "vbot_call_answered_partner_date_idx",
            self._table,
            ["partner_id", "call_date"],
            where="is_answered",
        )
        # The Unknown numbers list groups these calls by number.
        create_index(
            self.env.cr,
            "vbot_call_unknown_number_idx",
            self._table,
            ["company_id", "customer_key"],
            where="match_state IN ('unmatched', 'ambiguous') AND customer_key IS NOT NULL",
        )
        return res

    @api.depends("call_type", "customer_number", "partner_id")
    def _compute_display_name(self):
        type_labels = dict(self._fields["call_type"]._description_selection(self.env))
        for call in self:
            who = call.partner_id.display_name or call.customer_number or "?"
            call.display_name = f"{type_labels.get(call.call_type, '')} · {who}"

    @api.depends("talk_duration", "duration")
    def _compute_durations(self):
        for call in self:
            call.talk_duration_display = _format_seconds(call.talk_duration)
            call.duration_display = _format_seconds(call.duration)

    def _compute_number_search(self):
        for call in self:
            call.number_search = call.customer_display

    def _search_number_search(self, operator, value):
        if operator in ("=", "ilike", "like", "=ilike") and isinstance(value, str):
            key = match_key(value)
            if key:
                return [("customer_key", "=", key)]
            return [
                "|",
                ("customer_number", "ilike", value),
                ("customer_display", "ilike", value),
            ]
        return [("customer_display", operator, value)]

    def _compute_is_mine(self):
        uid = self.env.uid
        for call in self:
            call.is_mine = uid in (call.user_id.id, call.partner_id.user_id.id)
            call.callback_mine = call.callback_state == "pending" and call.is_mine

    def _search_is_mine(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(operator)
        mine = [
            "|",
            "|",
            ("user_id", "=", self.env.uid),
            ("partner_id.user_id", "=", self.env.uid),
            ("partner_id.commercial_partner_id.user_id", "=", self.env.uid),
        ]
        return mine if (operator == "=") == value else ["!", *mine]

    def _search_callback_mine(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(operator)
        # The contacts whose Call back activity is assigned to me (a few per user).
        activities = (
            self.env["mail.activity"]
            .sudo()
            .search_fetch(
                [
                    ("vbot_callback", "=", True),
                    ("res_model", "=", "res.partner"),
                    ("user_id", "=", self.env.uid),
                ],
                ["res_id"],
            )
        )
        mine = [
            ("callback_state", "=", "pending"),
            "|",
            ("partner_id", "in", activities.mapped("res_id")),
            *self._search_is_mine("=", True),
        ]
        return mine if (operator == "=") == value else ["!", "&", *mine]

    # ------------------------------------------------------------------
    # Storing what the sync fetched
    # ------------------------------------------------------------------
    @api.model
    def _upsert_mapped(self, account, values_list, origin="sync"):
        """Create or update the calls of one page for ``account``.

        ``values_list`` holds what ``services.mapping.map_call`` returned. One query
        finds the calls already stored, one ``create`` adds the new ones, and a call
        is written only when VBot changed it. Returns ``(created, updated)``
        recordsets. A call that appears twice in the page is stored once. ``origin``
        (sync, webhook, fetch) is kept on the calls it creates. A recording a call
        already has is kept when the update brings none (a webhook may know it first),
        and recordings webhooks delivered before their call are applied.
        """
        by_external = {}
        for values in values_list:
            by_external[values["external_id"]] = values
        if not by_external:
            return self.browse(), self.browse()
        existing = self.search_fetch(
            [
                ("account_id", "=", account.id),
                ("external_id", "in", list(by_external)),
            ],
            ["external_id", "payload", "has_recording", "recording_urls"],
        )
        existing_by_external = {call.external_id: call for call in existing}
        to_create = []
        updated = self.browse()
        oldest = fields.Datetime.now() - timedelta(hours=account.callback_max_age_hours)
        for external_id, values in by_external.items():
            vals = self._prepare_vals(account, values, oldest=oldest)
            call = existing_by_external.get(external_id)
            if not call:
                to_create.append(dict(vals, origin=origin))
            elif call.payload != vals["payload"]:
                if call.has_recording and not vals["has_recording"]:
                    vals.update(has_recording=True, recording_urls=call.recording_urls)
                call.write(
                    {
                        k: v
                        for k, v in vals.items()
                        if k not in _IDENTITY_FIELDS and k not in _CREATE_ONLY_FIELDS
                    }
                )
                updated |= call
        # New calls: one INSERT, already matched to their contact and agent.
        created = self._insert_calls(account, to_create) if to_create else self.browse()
        self.env["vbot.call.pending"]._apply_recordings(account, created | existing)
        # Updated calls (rare): matched again through the ORM.
        updated._match_partners()
        updated._match_users()
        (created | updated)._after_store()
        return created, updated

    @api.model
    def _insert_calls(self, account, vals_list):
        """Insert new calls (values of :meth:`_prepare_vals` plus ``origin``) in one COPY.

        What ``create`` would do, in bulk: the defaults of the other stored fields, the
        log access columns, the Json column, the contact and agent matched beforehand (as
        :meth:`_match_partners` and :meth:`_match_users` would set them), the candidates of
        an ambiguous number; then the new records are put in cache and marked modified, so
        that stored computed fields and other modules' dependencies follow. A call whose
        VBot id is stored already raises the unique violation ``create`` would (the page is
        then stored call by call: see :meth:`_upsert_page_isolated`). Returns the records.
        """
        self.browse().check_access("create")
        cr = self.env.cr
        matches = self._matches_for(
            {(vals["company_id"], _column(vals["customer_key"])) for vals in vals_list}
        )
        users = self.env["vbot.member"]._users_by_member_no(
            [account.id], {vals["agent_member_no"] for vals in vals_list if vals["agent_member_no"]}
        )
        now, uid = cr.now(), self.env.uid
        extra = self._insert_defaults(_INSERT_COLUMNS)
        columns = [*_INSERT_COLUMNS, *extra]
        # Each call's columns, once: the row inserted and what the cache keeps of it.
        by_call = []
        candidates = {}
        for vals in vals_list:
            key = _column(vals["customer_key"])
            # The commercial entity (a stored related field) is set here, not recomputed.
            state, partner_id, candidate_ids, commercial_id = matches[(vals["company_id"], key)]
            if candidate_ids:
                candidates[vals["external_id"]] = candidate_ids
            by_call.append(
                {
                    "account_id": vals["account_id"],
                    "company_id": vals["company_id"],
                    "external_id": vals["external_id"],
                    "call_date": vals["call_date"],
                    "call_type": vals["call_type"],
                    "is_answered": bool(vals["is_answered"]),
                    "disposition": _column(vals["disposition"]),
                    "disposition_raw": _column(vals["disposition_raw"]),
                    "customer_number": _column(vals["customer_number"]),
                    "customer_key": key,
                    "customer_display": _column(vals["customer_display"]),
                    "customer_name": _column(vals["customer_name"]),
                    "callback_state": _column(vals["callback_state"]),
                    "agent_member_no": _column(vals["agent_member_no"]),
                    "hotline": _column(vals["hotline"]),
                    "talk_duration": int(vals["talk_duration"] or 0),
                    "duration": int(vals["duration"] or 0),
                    "cost": float(vals["cost"] or 0.0),
                    "has_recording": bool(vals["has_recording"]),
                    "recording_urls": vals["recording_urls"] or None,
                    "payload": _column(vals["payload"]),
                    "origin": vals.get("origin") or "sync",
                    "match_state": state,
                    "partner_id": partner_id or None,
                    "commercial_partner_id": commercial_id,
                    "user_id": users.get((account.id, vals["agent_member_no"])) or None,
                    "create_uid": uid,
                    "create_date": now,
                    "write_uid": uid,
                    "write_date": now,
                    **extra,
                }
            )
        ids = self._copy_rows(columns, by_call)
        id_of = {call["external_id"]: call_id for call, call_id in zip(by_call, ids, strict=True)}
        if candidates:
            psycopg2.extras.execute_values(
                cr._obj,
                "INSERT INTO vbot_call_candidate_partner_rel (call_id, partner_id) VALUES %s"
                " ON CONFLICT DO NOTHING",
                [(id_of[ext], pid) for ext, pids in candidates.items() for pid in pids],
                page_size=1000,
            )
        records = self.browse(ids)
        # What the page's next steps read, in cache (as create leaves it).
        for name in _CACHED_COLUMNS:
            self.env.cache.update(records, self._fields[name], [call[name] for call in by_call])
        records.modified(columns, create=True)
        # Inserted right above: nothing to recompute (it follows partner_id).
        self.env.remove_to_compute(self._fields["commercial_partner_id"], records)
        records._validate_fields(columns)
        if any(match[0] == "matched" for match in matches.values()) or candidates:
            # The contacts' call lists and counts are computed from these links.
            self.env["res.partner"].invalidate_model(
                ["vbot_call_ids", "vbot_call_count", "vbot_number_notice"]
            )
        return records

    @api.model
    def _copy_rows(self, columns, rows):
        """Insert ``rows`` (dicts of ``columns``) with COPY; their new ids, in order.

        The ids are taken from the table's sequence first (COPY returns nothing), then the
        rows go in COPY's text format: no statement of 500 x 30 literals for PostgreSQL to
        parse, rows written in batches. A value of a type that format is not made for here
        (another module's default) has the rows inserted by one INSERT instead.
        """
        cr = self.env.cr
        cr.execute(
            "SELECT nextval(pg_get_serial_sequence('vbot_call', 'id')) FROM generate_series(1, %s)",
            [len(rows)],
        )
        ids = [call_id for (call_id,) in cr.fetchall()]
        names = ["id", *columns]
        try:
            lines = [
                f"{call_id}\t" + "\t".join(map(_copy_text, map(row.__getitem__, columns)))
                for call_id, row in zip(ids, rows, strict=True)
            ]
        except TypeError:
            Json = psycopg2.extras.Json
            values = [
                (
                    call_id,
                    *(Json(v) if isinstance(v, list | dict) else v for v in map(row.get, columns)),
                )
                for call_id, row in zip(ids, rows, strict=True)
            ]
            psycopg2.extras.execute_values(
                cr._obj,
                "INSERT INTO vbot_call ({}) VALUES %s".format(", ".join(f'"{n}"' for n in names)),
                values,
                page_size=len(values),
            )
            return ids
        lines.append("")
        cr._obj.copy_expert(
            "COPY vbot_call ({}) FROM STDIN".format(", ".join(f'"{n}"' for n in names)),
            io.StringIO("\n".join(lines)),
            size=1 << 20,
        )
        return ids

    @api.model
    def _planned_count(self, domain):
        """How many calls PostgreSQL's planner expects ``domain`` to match: its statistics,
        read by EXPLAIN (no call is read)."""
        self.env.cr.execute(SQL("EXPLAIN (FORMAT JSON) %s", self._search(domain).select(SQL("1"))))
        return int(self.env.cr.fetchone()[0][0]["Plan"]["Plan Rows"])

    @api.model
    def _insert_defaults(self, columns):
        """{column: value} of the defaults of stored fields :meth:`_insert_calls` does not
        set (another module's fields), as ``create`` would give them."""
        names = [
            name
            for name, field in self._fields.items()
            if field.store
            and field.column_type
            and name not in columns
            and name != "id"
            and not field.compute
            and not field.related
        ]
        defaults = self.default_get(names) if names else {}
        return {
            name: self._fields[name].convert_to_column_insert(value, self, defaults)
            for name, value in defaults.items()
            if name in names
        }

    @api.model
    def _upsert_page_isolated(self, account, values_list, **options):
        """Store a page through :meth:`_upsert_mapped`; one bad call never fails its page.

        The page is stored under a savepoint. If the database refuses it, each call is
        stored again under its own savepoint, through the same :meth:`_upsert_mapped`
        (so whatever it does for a stored call runs for every one), and only the calls the
        database refuses are left out. Returns ``(created, updated, failures)`` where
        ``failures`` lists ``(values, MappingError)`` naming the VBot field at fault
        (code ``db_rejected``). A call a concurrent transaction (a webhook) stored first is
        neither: it is there. ``options`` go to :meth:`_upsert_mapped` as they are.
        """
        if not values_list:
            return self.browse(), self.browse(), []
        try:
            with self.env.cr.savepoint():
                created, updated = self._upsert_mapped(account, values_list, **options)
            return created, updated, []
        except _STORE_ERRORS as error:
            _raise_if_concurrency(error)
            _logger.info("VBot page refused by the database (%s); storing call by call", error)
        created, updated, failures = self.browse(), self.browse(), []
        for values in values_list:
            try:
                with self.env.cr.savepoint():
                    one_created, one_updated = self._upsert_mapped(account, [values], **options)
            except _STORE_ERRORS as error:
                _raise_if_concurrency(error)
                if _is_stored_meanwhile(error):
                    continue
                failures.append((values, self._store_error(account, values, error, **options)))
                continue
            created |= one_created
            updated |= one_updated
        return created, updated, failures

    @api.model
    def _store_error(self, account, values, error, **options):
        """Which value of ``values`` the database refused, as a MappingError.

        PostgreSQL names the column for some errors; otherwise each value a payload
        controls is replaced in turn by a harmless one, under a savepoint always rolled
        back: the first replacement that lets the call in names the culprit.
        """
        column = getattr(getattr(error, "diag", None), "column_name", None)
        culprit = column if column in _VBOT_FIELDS else None
        if culprit is None:
            for name, neutral in _NEUTRAL.items():
                probe = dict(values, **{name: neutral if name != "external_id" else None})
                if name == "external_id":
                    probe["external_id"] = f"probe-{uuid.uuid4()}"
                savepoint = self.env.cr.savepoint()
                try:
                    # Rolled back: a hook of _upsert_mapped may skip work outside the
                    # database (notifications, mail) when ``vbot_store_probe`` is set.
                    self.with_context(vbot_store_probe=True)._upsert_mapped(
                        account, [probe], **options
                    )
                    self.env.flush_all()
                except _STORE_ERRORS:
                    continue
                finally:
                    savepoint.close(rollback=True)
                culprit = name
                break
        shown = str(values.get(culprit, ""))[:40] if culprit else ""
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        return MappingError(
            _VBOT_FIELDS.get(culprit, culprit or "group"),
            f"the database refused the value ({reason})",
            "db_rejected",
            value=f"{shown!r}: {reason}" if shown else reason,
        )

    @api.model
    def _prepare_vals(self, account, values, oldest=None):
        call_type, answered = values["call_type"], values.get("answered")
        if answered is None:
            # Values not made by map_call (e.g. a webhook's own mapping): what counts as
            # missed and answered is still decided by classify.
            call_type, answered = classify(
                call_type, values["disposition"], values["talk_duration"]
            )
            values = dict(values, call_type=call_type)
        return {
            "account_id": account.id,
            "company_id": account.company_id.id,
            "external_id": values["external_id"],
            "call_date": values["call_date"],
            "call_type": call_type,
            "is_answered": answered,
            "disposition": values["disposition"],
            "disposition_raw": values["disposition_raw"],
            "customer_number": values["customer_number"],
            "customer_key": values["customer_key"] or False,
            "customer_display": values.get("customer_display")
            or national_format(values["customer_number"]),
            "customer_name": values.get("customer_name") or False,
            "callback_state": self._initial_callback_state(account, values, oldest),
            "agent_member_no": values["agent_member_no"],
            "hotline": values["hotline"],
            "talk_duration": values["talk_duration"],
            "duration": values["duration"],
            "cost": values["cost"],
            "has_recording": values["has_recording"],
            "recording_urls": values["record_urls"],
            "payload": values["payload"],
        }

    @api.model
    def _initial_callback_state(self, account, values, oldest=None):
        """A new missed call with a number is to call back, unless older than the account's
        follow-up age when stored (history synced late): then it is only history.
        ``oldest`` (the account's follow-up age from now) may be given by the caller."""
        if values["call_type"] != "missed" or not values["customer_key"]:
            return False
        if oldest is None:
            oldest = fields.Datetime.now() - timedelta(hours=account.callback_max_age_hours)
        return "pending" if values["call_date"] >= oldest else "stale"

    # ------------------------------------------------------------------
    # Matching calls to contacts
    # ------------------------------------------------------------------
    def _match_partners(self):
        """Link each call to the contact that owns its number.

        One query finds every active contact (of the call's company, or shared)
        whose phone or mobile key is one of the calls' keys. One contact: link it.
        Several under one commercial entity: link that company. Several in
        different companies: leave the call unmatched and keep the candidates.
        Only calls whose link changes are written, in one UPDATE. Returns the contacts
        (before and after) of the calls to call back that moved.
        """
        if not self:
            return set()
        matches = self._matches_for({(call.company_id.id, call.customer_key) for call in self})
        changes = []
        candidate_changes = defaultdict(lambda: self.browse())
        for call in self:
            state, partner_id, candidate_ids, _commercial_id = matches[
                (call.company_id.id, call.customer_key)
            ]
            if (call.match_state, call.partner_id.id) != (state, partner_id):
                changes.append((call.id, state, partner_id or None))
            if tuple(call.candidate_partner_ids.ids) != candidate_ids:
                candidate_changes[candidate_ids] |= call
        moved_partner_ids = set()
        if changes:
            # Missed calls waiting for a call-back take their activity along.
            changed = self.browse([change[0] for change in changes])
            new_partner = {change[0]: change[2] for change in changes}
            for call in changed.filtered(lambda c: c.callback_state == "pending"):
                moved_partner_ids.update((call.partner_id.id, new_partner[call.id]))
            self.flush_recordset(["match_state", "partner_id", "commercial_partner_id"])
            # commercial_partner_id follows partner_id (read from the contacts, flushed).
            self.env["res.partner"].flush_model(["commercial_partner_id"])
            rows = ", ".join(["(%s, %s, %s::int)"] * len(changes))
            self.env.cr.execute(
                f"""
                UPDATE vbot_call AS c
                   SET match_state = v.state, partner_id = v.partner_id,
                       commercial_partner_id = (
                           SELECT p.commercial_partner_id FROM res_partner AS p
                            WHERE p.id = v.partner_id
                       ),
                       write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                  FROM (VALUES {rows}) AS v(id, state, partner_id)
                 WHERE c.id = v.id
                """,
                [self.env.uid, *(value for change in changes for value in change)],
            )
            self.browse([change[0] for change in changes]).invalidate_recordset(
                ["match_state", "partner_id", "commercial_partner_id", "write_date", "write_uid"]
            )
        for candidate_ids, calls in candidate_changes.items():
            calls.write({"candidate_partner_ids": [(6, 0, list(candidate_ids))]})
        if changes:
            # The contacts' call lists and counts are computed from these links.
            self.env["res.partner"].invalidate_model(
                ["vbot_call_ids", "vbot_call_count", "vbot_number_notice"]
            )
        return moved_partner_ids

    @api.model
    def _fix_commercial_partners(self, partner_ids):
        """Give the calls of these contacts their contact's commercial entity, where SQL
        moved their contact behind the ORM's back (a merge of contacts)."""
        if not partner_ids:
            return
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.flush_model(["partner_id", "commercial_partner_id"])
        self.env.cr.execute(
            """
            UPDATE vbot_call AS c
               SET commercial_partner_id = p.commercial_partner_id
              FROM res_partner AS p
             WHERE p.id = c.partner_id AND c.partner_id = ANY(%s)
               AND c.commercial_partner_id IS DISTINCT FROM p.commercial_partner_id
            RETURNING c.id
            """,
            [list(partner_ids)],
        )
        self.browse([row[0] for row in self.env.cr.fetchall()]).invalidate_recordset(
            ["commercial_partner_id"]
        )

    @api.model
    def _matches_for(self, pairs):
        """{(company id, key): (match_state, contact id or False, candidate ids, the
        contact's commercial entity id or None)}.

        One query finds every active contact (of the company, or shared) whose phone or
        mobile key is one of the keys, one the numbers users linked by hand to a contact.
        A number linked by hand goes to that contact; one contact: that one; several under
        one commercial entity: that company; several in different companies: none, and
        they are the candidates. No key: ``no_number``.
        """
        keys = sorted({key for _company, key in pairs if key})
        holders = defaultdict(list)  # key -> [(id, company id, commercial id)]
        if keys:
            # What res.partner._vbot_partners_by_key finds, in one plain query.
            self.env["res.partner"].flush_model(
                ["active", "company_id", "commercial_partner_id", *_PARTNER_KEY_FIELDS]
            )
            self.env.cr.execute(
                """
                SELECT id, company_id, commercial_partner_id, vbot_phone_key, vbot_mobile_key
                  FROM res_partner
                 WHERE active AND (vbot_phone_key = ANY(%s) OR vbot_mobile_key = ANY(%s))
                 ORDER BY id
                """,
                [keys, keys],
            )
            for (
                partner_id,
                company_id,
                commercial_id,
                phone_key,
                mobile_key,
            ) in self.env.cr.fetchall():
                for key in dict.fromkeys((phone_key, mobile_key)):
                    if key:
                        holders[key].append((partner_id, company_id, commercial_id))
        chosen = self.env["vbot.number.link"]._partners_by_key(keys)
        matches = {}
        for company_id, key in pairs:
            if not key:
                matches[(company_id, key)] = ("no_number", False, (), None)
            elif chosen_partner := chosen.get((company_id, key)):
                commercial_id = chosen_partner.commercial_partner_id.id
                matches[(company_id, key)] = ("matched", chosen_partner.id, (), commercial_id)
            else:
                partners = [
                    holder
                    for holder in holders.get(key, ())
                    if not holder[1] or holder[1] == company_id
                ]
                matches[(company_id, key)] = _resolve_holders(partners)
        return matches

    @api.model
    def _rematch_keys(self, keys, extra_domain=()):
        """Match again every call whose number is one of ``keys`` (contacts changed)."""
        keys = {key for key in keys if key}
        if not keys:
            return
        calls = self.sudo().search([("customer_key", "in", list(keys)), *extra_domain])
        # Missed calls waiting for a call-back take their Call back activity along.
        self._reconcile_callback_activities(calls._match_partners())

    def _match_users(self):
        """Set the agent (user) of calls whose VBot member (agent) is mapped to a user.

        The mapping is the account's agents list (``vbot.member``), one query per page.
        """
        member_nos = {no for no in self.mapped("agent_member_no") if no}
        by_account_no = self.env["vbot.member"]._users_by_member_no(self.account_id.ids, member_nos)
        groups = defaultdict(lambda: self.browse())
        for call in self:
            user_id = by_account_no.get((call.account_id.id, call.agent_member_no), False)
            if call.user_id.id != user_id:
                groups[user_id] |= call
        for user_id, calls in groups.items():
            calls.write({"user_id": user_id})

    # ------------------------------------------------------------------
    # After a page of calls is stored: missed calls become follow-ups
    # ------------------------------------------------------------------
    def _after_store(self):
        """Run once per stored page, whatever stored it (the sync, a contact's Fetch, a
        webhook): missed calls get a call-back to do, answered calls close earlier ones.

        Set-based: a few queries per page, never one per call. Skipped while the sync
        probes which value the database refused (``vbot_store_probe``, rolled back).
        """
        if self and not self.env.context.get("vbot_store_probe"):
            self._update_callbacks()

    def _update_callbacks(self):
        """Give these calls their call-back state and keep the contacts' activities right.

        1. A new missed call with a number came *to call back*, or *too old* when older
           than the account's follow-up age (a backfill), from ``_prepare_vals``; here an
           updated call VBot corrected gets or drops its state.
        2. A missed call to call back is *called back* by the first later answered call
           (either direction) with its number or its contact: one UPDATE covers both the
           missed calls of this page and the earlier ones the page's answered calls close.
        3. The contacts concerned get one Call back activity, or have it marked done.
        """
        self.flush_recordset()
        cr = self.env.cr
        ids = self.ids
        cr.execute(
            """
            UPDATE vbot_call AS c
               SET callback_state = CASE
                       WHEN c.call_type <> 'missed' OR c.customer_key IS NULL THEN NULL
                       WHEN c.call_date >= (now() AT TIME ZONE 'UTC')
                            - make_interval(hours => a.callback_max_age_hours) THEN 'pending'
                       ELSE 'stale'
                   END
              FROM vbot_account AS a
             WHERE c.id = ANY(%s)
               AND a.id = c.account_id
               AND (c.call_type = 'missed' AND c.customer_key IS NOT NULL)
                   IS DISTINCT FROM (c.callback_state IS NOT NULL)
            RETURNING c.id, c.partner_id, c.callback_state
            """,
            [ids],
        )
        rows = cr.fetchall()
        touched = {row[0] for row in rows}
        if touched:
            self.browse(touched).invalidate_recordset(["callback_state"])
        # The contacts of the calls to call back, and of calls that stopped being missed;
        # a call too old to follow up changes no activity.
        partner_ids = {row[1] for row in rows if row[1] and row[2] != "stale"}
        pending = self.filtered(lambda call: call.callback_state == "pending")
        partner_ids.update(pending.partner_id.ids)
        answered = self.filtered("is_answered")
        if not (pending or answered):
            if partner_ids:
                self._reconcile_callback_activities(partner_ids)
            return
        # PostgreSQL would JIT-compile this query when a fresh backfill has no statistics
        # yet (its estimated cost then looks huge): that costs half a second a page for a
        # query that runs in milliseconds.
        cr.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        jit = cr.fetchone()[0]
        cr.execute(
            """
            WITH missed AS (
                    SELECT id, company_id, customer_key, partner_id, call_date
                      FROM vbot_call
                     WHERE id = ANY(%s) AND callback_state = 'pending'
                     UNION
                    SELECT id, company_id, customer_key, partner_id, call_date
                      FROM vbot_call
                     WHERE callback_state = 'pending'
                       AND (customer_key = ANY(%s) OR partner_id = ANY(%s))
            ), closing AS (
                    SELECT t.id, (
                            -- The first answered call after it, by number or by contact:
                            -- two range scans of the partial indexes, whatever the table's
                            -- statistics say (company_id + 0 keeps its index out of the
                            -- plan: a fresh backfill has no statistics yet).
                            SELECT f.id FROM (
                                (SELECT a.id, a.call_date FROM vbot_call AS a
                                  WHERE a.is_answered AND a.customer_key = t.customer_key
                                    AND a.call_date > t.call_date
                                    AND a.company_id + 0 = t.company_id
                                  ORDER BY a.call_date, a.id LIMIT 1)
                                UNION ALL
                                (SELECT a.id, a.call_date FROM vbot_call AS a
                                  WHERE a.is_answered AND a.partner_id = t.partner_id
                                    AND a.call_date > t.call_date
                                    AND a.company_id + 0 = t.company_id
                                  ORDER BY a.call_date, a.id LIMIT 1)
                            ) AS f
                            ORDER BY f.call_date, f.id LIMIT 1
                           ) AS answer_id
                      FROM missed AS t
            )
            UPDATE vbot_call AS m
               SET callback_state = 'done', called_back_call_id = closing.answer_id
              FROM closing
             WHERE m.id = closing.id AND closing.answer_id IS NOT NULL
            RETURNING m.id, m.partner_id, m.called_back_call_id
            """,
            [
                pending.ids,
                [key for key in answered.mapped("customer_key") if key],
                answered.partner_id.ids,
            ],
        )
        closed = cr.fetchall()
        cr.execute("SELECT set_config('jit', %s, true)", [jit])
        answers = {}
        for call_id, partner_id, answer_id in closed:
            touched.add(call_id)
            if partner_id:
                partner_ids.add(partner_id)
                answers[partner_id] = max(answers.get(partner_id, 0), answer_id)
        if touched:
            self.browse(touched).invalidate_recordset(["callback_state", "called_back_call_id"])
        if partner_ids:
            self._reconcile_callback_activities(partner_ids, answers)

    @api.model
    def _reconcile_callback_activities(self, partner_ids, answers=None):
        """One open Call back activity per contact with missed calls to call back, none else.

        ``answers`` ({partner id: answered call id}) names the call that closed a contact's
        missed calls: its activity is marked done with a note naming that call. An activity
        whose calls went elsewhere (a contact's number changed) is removed quietly. Runs
        with superuser rights: it follows stored calls, whoever stored them.
        """
        partner_ids = sorted({pid for pid in partner_ids if pid})
        if not partner_ids:
            return
        answers = answers or {}
        calls = self.sudo().search_fetch(
            [("callback_state", "=", "pending"), ("partner_id", "in", partner_ids)],
            ["partner_id", "call_date", "account_id", "company_id", "user_id", "customer_display"],
            order="call_date desc, id desc",
        )
        pending = defaultdict(lambda: self.sudo().browse())
        for call in calls:
            pending[call.partner_id.id] |= call
        # No e-mail per activity: they show in the assignee's activities menu at once.
        Activity = (
            self.env["mail.activity"]
            .sudo()
            .with_context(vbot_callback_auto=True, mail_activity_quick_update=True)
        )
        activities = Activity.search(
            [
                ("vbot_callback", "=", True),
                ("res_model", "=", "res.partner"),
                ("res_id", "in", partner_ids),
            ],
            order="id",
        )
        by_partner = {}
        for activity in activities:
            if activity.res_id in by_partner:
                activity.unlink()  # one per contact, whatever happened before
            else:
                by_partner[activity.res_id] = activity
        partners = self.env["res.partner"].sudo().browse(partner_ids)
        to_create, unassigned = [], []
        for partner in partners:
            missed = pending.get(partner.id)
            activity = by_partner.get(partner.id)
            if missed:
                account = missed[0].account_id
                if activity:
                    note = self._callback_note(missed, activity.user_id, account)
                    if str(activity.note or "") != str(note):
                        activity.note = note
                elif account.callback_activity:
                    values = self._callback_activity_values(partner, missed, account)
                    if values:
                        to_create.append(values)
                    else:
                        unassigned.append((account.id, partner.id))
            elif activity:
                answer = self.sudo().browse(answers.get(partner.id))
                if answer:
                    activity.action_feedback(feedback=answer._callback_done_text(activity.user_id))
                else:
                    activity.unlink()
        if to_create:
            Activity.create(to_create)
        if unassigned:
            # One line a page and account, not one a contact (a backfill nobody may follow).
            by_account = defaultdict(list)
            for account_id, partner_id in unassigned:
                by_account[account_id].append(partner_id)
            for account_id, ids in by_account.items():
                _logger.warning(
                    "VBot account %s: no user may call back %s contact(s) (%s); "
                    "no Call back activity made",
                    account_id,
                    len(ids),
                    ", ".join(map(str, ids[:5])) + (" …" if len(ids) > 5 else ""),
                )

    def _callback_activity_values(self, partner, missed, account):
        """The values of a new Call back activity for ``partner``'s ``missed`` calls (None
        when no user may see the contact)."""
        user = self._callback_assignee(partner, missed[0], account)
        if not user:
            return None
        first = missed[-1]
        tz = pytz.timezone(user.tz or account.timezone or "UTC")
        due = pytz.utc.localize(first.call_date + timedelta(hours=account.callback_deadline_hours))
        env = self.with_context(lang=user.lang or self.env.lang).env
        return {
            "res_model_id": self.env["ir.model"]._get_id("res.partner"),
            "res_id": partner.id,
            "activity_type_id": self.env["ir.model.data"]._xmlid_to_res_id(
                "mail.mail_activity_data_call", raise_if_not_found=False
            ),
            "summary": env._("Call back"),
            "note": self._callback_note(missed, user, account),
            "user_id": user.id,
            "date_deadline": due.astimezone(tz).date(),
            "vbot_callback": True,
        }

    @api.model
    def _callback_assignee(self, partner, call, account):
        """Who calls back: the contact's salesperson, else the agent the call rang, else the
        account's follow-up user, else a VBot manager of the company; the first internal
        user who may see the contact and the call's company. Nobody when none may."""

        def candidates():
            yield from (partner.user_id, partner.commercial_partner_id.user_id, call.user_id)
            yield account.callback_user_id
            group_id = self.env["ir.model.data"]._xmlid_to_res_id(MANAGER)
            yield from self.env["res.groups"].sudo().browse(group_id).users.sorted("id")

        for user in candidates():
            if (
                user
                and user.active
                and not user.share
                and call.company_id in user.company_ids
                and partner.with_user(user).has_access("read")
            ):
                return user
        return self.env["res.users"]

    @api.model
    def _callback_note(self, missed, user, account):
        """The activity's note: how many missed calls, from which number, the last when."""
        last = missed[0]
        env = self.with_context(lang=user.lang or self.env.lang).env
        when = _local(last.call_date, user.tz or account.timezone)
        numbers = ", ".join(dict.fromkeys(n for n in missed.mapped("customer_display") if n))
        if len(missed) == 1:
            text = env._("Missed call from %(number)s on %(date)s.", number=numbers, date=when)
        else:
            text = env._(
                "%(count)s missed calls from %(number)s, the last on %(date)s.",
                count=len(missed),
                number=numbers,
                date=when,
            )
        return Markup("<p>%s</p>") % text

    def _callback_done_text(self, user):
        """The feedback of a Call back activity this answered call closed."""
        self.ensure_one()
        env = self.with_context(lang=user.lang or self.env.lang).env
        agent = self.user_id.name or self.agent_member_no or env._("an unknown agent")
        return env._(
            "Called back: %(direction)s call on %(date)s with %(agent)s (%(duration)s).",
            direction=dict(self._fields["call_type"]._description_selection(env)).get(
                self.call_type, ""
            ),
            date=_local(self.call_date, user.tz or self.account_id.timezone),
            agent=agent,
            duration=_format_seconds(self.talk_duration),
        )

    @api.model
    def _close_callbacks_by_hand(self, partner_ids):
        """A Call back activity was marked done or cancelled by a user: its contact's missed
        calls need no call-back any more (a later missed call starts a new one)."""
        partner_ids = [pid for pid in partner_ids if pid]
        if not partner_ids:
            return
        self.env.cr.execute(
            """
            UPDATE vbot_call SET callback_state = 'closed'
             WHERE callback_state = 'pending' AND partner_id = ANY(%s)
            RETURNING id
            """,
            [partner_ids],
        )
        closed = [row[0] for row in self.env.cr.fetchall()]
        self.browse(closed).invalidate_recordset(["callback_state"])


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPED = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _copy_text(value):
    """A column value in COPY's text format (NUL is never there: the mapping strips it).
    Raises TypeError for a type it does not know. The common types are tested first, by
    class: this runs for every column of every call."""
    cls = value.__class__
    if cls is str:
        if _COPY_SPECIAL.search(value) is None:
            return value
        return _COPY_SPECIAL.sub(lambda match: _COPY_ESCAPED[match.group()], value)
    if value is None:
        return "\\N"
    if cls is bool:
        return "t" if value else "f"
    if cls is int:
        return str(value)
    if cls is float:
        return repr(value)
    if cls is datetime:
        return value.isoformat(" ")
    if isinstance(value, list | dict):
        return _copy_text(json.dumps(value, ensure_ascii=False))
    if isinstance(value, psycopg2.extras.Json):
        return _copy_text(value.dumps(value.adapted))
    if isinstance(value, str):  # Markup and other subclasses
        return _copy_text(str(value))
    if isinstance(value, date):
        return value.isoformat(" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    raise TypeError(f"no COPY text for {type(value).__name__}")


def _column(value):
    """A value as the ORM writes it to a column and keeps it in cache: False is NULL."""
    return None if value is False else value


def _raise_if_concurrency(error):
    """Errors of concurrency are not the page's fault: let them stop the run."""
    if isinstance(error, psycopg2.Error) and error.pgcode in _CONCURRENCY_CODES:
        raise error
    if isinstance(error, psycopg2.InterfaceError | psycopg2.OperationalError) and (
        error.pgcode is None
    ):
        raise error  # the connection is gone


def _is_stored_meanwhile(error):
    """A unique violation on (account, VBot id): another transaction stored the call."""
    return (
        isinstance(error, psycopg2.errors.UniqueViolation)
        and getattr(error.diag, "constraint_name", "") == "vbot_call_external_id_account_uniq"
    )


def _resolve_candidates(partners):
    """(match_state, partner_id, candidate ids) for the contacts (records) sharing a number."""
    holders = [(p.id, p.company_id.id, p.commercial_partner_id.id) for p in partners]
    return _resolve_holders(holders)[:3]


def _resolve_holders(holders):
    """(match_state, partner id, candidate ids, commercial entity id) for the contacts
    sharing a number, as ``(id, company id, commercial id)``: one contact, that one;
    several under one commercial entity, that entity; else none, and they are the
    candidates."""
    if not holders:
        return ("unmatched", False, (), None)
    if len(holders) == 1:
        partner_id, _company_id, commercial_id = holders[0]
        return ("matched", partner_id, (), commercial_id or partner_id)
    commercial = {holder[2] or holder[0] for holder in holders}
    if len(commercial) == 1:
        entity = commercial.pop()  # a commercial entity is its own
        return ("matched", entity, (), entity)
    return ("ambiguous", False, tuple(sorted({holder[0] for holder in holders})), None)


def _format_seconds(seconds):
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _local(utc_datetime, tz_name):
    """A naive UTC datetime as ``DD/MM/YYYY HH:MM`` in ``tz_name`` (UTC when unknown)."""
    try:
        zone = pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        zone = pytz.utc
    return pytz.utc.localize(utc_datetime).astimezone(zone).strftime("%d/%m/%Y %H:%M")
