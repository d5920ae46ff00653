import logging
import uuid
from collections import defaultdict

import psycopg2
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index

from ..services.mapping import CALL_TYPES, DISPOSITIONS, MappingError

_logger = logging.getLogger(__name__)

# What identifies a stored call; everything else a later sync may change (a recording
# that appeared, a corrected disposition, a cost billed later). How it first arrived stays.
_IDENTITY_FIELDS = ("account_id", "company_id", "external_id", "origin")

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
    _description = "VBot Call"
    _order = "call_date desc, id desc"

    # Indexed with call_date by init(): (account_id, call_date DESC, id DESC).
    account_id = fields.Many2one("vbot.account", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
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
        index=True,
        readonly=True,
    )
    disposition = fields.Selection(
        [(key, label) for key, label, _vi in DISPOSITIONS] + [("other", "Other")],
        "Outcome",
        index=True,
        readonly=True,
    )
    disposition_raw = fields.Char("Outcome (as sent by VBot)", readonly=True)
    customer_number = fields.Char("Customer number", readonly=True)
    customer_key = fields.Char(
        "Customer number key",
        index=True,
        readonly=True,
        help="The customer number normalized to E.164 (pre-2018 mobile numbers "
        "converted); calls are matched to contacts on it.",
    )
    partner_id = fields.Many2one(
        "res.partner", "Contact", index=True, readonly=True, ondelete="set null"
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
        index=True,
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
    has_recording = fields.Boolean("Recording", index=True, readonly=True)
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

    _sql_constraints = [
        (
            "external_id_account_uniq",
            "unique(account_id, external_id)",
            "A VBot call is stored once per account.",
        ),
    ]

    def init(self):
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
        for external_id, values in by_external.items():
            vals = self._prepare_vals(account, values)
            call = existing_by_external.get(external_id)
            if not call:
                to_create.append(dict(vals, origin=origin))
            elif call.payload != vals["payload"]:
                if call.has_recording and not vals["has_recording"]:
                    vals.update(has_recording=True, recording_urls=call.recording_urls)
                call.write({k: v for k, v in vals.items() if k not in _IDENTITY_FIELDS})
                updated |= call
        created = self.create(to_create) if to_create else self.browse()
        self.env["vbot.call.pending"]._apply_recordings(account, created | existing)
        (created | updated)._match_partners()
        (created | updated)._match_users()
        return created, updated

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
    def _prepare_vals(self, account, values):
        return {
            "account_id": account.id,
            "company_id": account.company_id.id,
            "external_id": values["external_id"],
            "call_date": values["call_date"],
            "call_type": values["call_type"],
            "disposition": values["disposition"],
            "disposition_raw": values["disposition_raw"],
            "customer_number": values["customer_number"],
            "customer_key": values["customer_key"] or False,
            "agent_member_no": values["agent_member_no"],
            "hotline": values["hotline"],
            "talk_duration": values["talk_duration"],
            "duration": values["duration"],
            "cost": values["cost"],
            "has_recording": values["has_recording"],
            "recording_urls": values["record_urls"],
            "payload": values["payload"],
        }

    # ------------------------------------------------------------------
    # Matching calls to contacts
    # ------------------------------------------------------------------
    def _match_partners(self):
        """Link each call to the contact that owns its number.

        One query finds every active contact (of the call's company, or shared)
        whose phone or mobile key is one of the calls' keys. One contact: link it.
        Several under one commercial entity: link that company. Several in
        different companies: leave the call unmatched and keep the candidates.
        Only calls whose link changes are written, in one UPDATE.
        """
        if not self:
            return
        keys = {key for key in self.mapped("customer_key") if key}
        candidates_by_key = self.env["res.partner"]._vbot_partners_by_key(keys)
        changes = []
        candidate_changes = defaultdict(lambda: self.browse())
        for call in self:
            if not call.customer_key:
                state, partner_id, candidate_ids = "no_number", False, ()
            else:
                partners = [
                    p
                    for p in candidates_by_key.get(call.customer_key, [])
                    if not p.company_id or p.company_id == call.company_id
                ]
                state, partner_id, candidate_ids = _resolve_candidates(partners)
            if (call.match_state, call.partner_id.id) != (state, partner_id):
                changes.append((call.id, state, partner_id or None))
            if tuple(call.candidate_partner_ids.ids) != candidate_ids:
                candidate_changes[candidate_ids] |= call
        if changes:
            self.flush_recordset(["match_state", "partner_id"])
            rows = ", ".join(["(%s, %s, %s::int)"] * len(changes))
            self.env.cr.execute(
                f"""
                UPDATE vbot_call AS c
                   SET match_state = v.state, partner_id = v.partner_id,
                       write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                  FROM (VALUES {rows}) AS v(id, state, partner_id)
                 WHERE c.id = v.id
                """,
                [self.env.uid, *(value for change in changes for value in change)],
            )
            self.browse([change[0] for change in changes]).invalidate_recordset(
                ["match_state", "partner_id", "write_date", "write_uid"]
            )
        for candidate_ids, calls in candidate_changes.items():
            calls.write({"candidate_partner_ids": [(6, 0, list(candidate_ids))]})
        if changes:
            # The contacts' call lists and counts are computed from these links.
            self.env["res.partner"].invalidate_model(["vbot_call_ids", "vbot_call_count"])

    @api.model
    def _rematch_keys(self, keys, extra_domain=()):
        """Match again every call whose number is one of ``keys`` (contacts changed)."""
        keys = {key for key in keys if key}
        if not keys:
            return
        calls = self.sudo().search([("customer_key", "in", list(keys)), *extra_domain])
        calls._match_partners()

    def _match_users(self):
        """Set the agent (user) of calls whose extension is mapped to a user."""
        member_nos = {no for no in self.mapped("agent_member_no") if no}
        users = (
            self.env["res.users"].sudo().search([("vbot_member_no", "in", list(member_nos))])
            if member_nos
            else self.env["res.users"]
        )
        by_company_no = {}
        for user in users:
            for company in user.company_ids:
                by_company_no.setdefault((company.id, user.vbot_member_no), user.id)
        groups = defaultdict(lambda: self.browse())
        for call in self:
            user_id = by_company_no.get((call.company_id.id, call.agent_member_no), False)
            if call.user_id.id != user_id:
                groups[user_id] |= call
        for user_id, calls in groups.items():
            calls.write({"user_id": user_id})


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
    """(match_state, partner_id, candidate ids) for the contacts sharing a number."""
    if not partners:
        return ("unmatched", False, ())
    if len(partners) == 1:
        return ("matched", partners[0].id, ())
    commercial = {p.commercial_partner_id for p in partners}
    if len(commercial) == 1:
        return ("matched", commercial.pop().id, ())
    return ("ambiguous", False, tuple(sorted({p.id for p in partners})))


def _format_seconds(seconds):
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
