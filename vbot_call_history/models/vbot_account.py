import logging
import threading
import time
from contextlib import nullcontext
from datetime import timedelta

import pytz
from odoo import api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.tools import config

from ..services.client import VBotClient, VBotError, VBotResponseError, VBotURLRefused
from ..services.mapping import map_calls, map_members
from ..services.urlpolicy import UrlPolicy, UrlRefused

_logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://open-api-h01.vbot.vn/v2.0"
# Hosts other than VBot's https://*.vbot.vn that accounts may use (system administrators
# set it: Settings > Technical > System Parameters), e.g. "127.0.0.1:8765" for the simulator.
ALLOWED_HOSTS_PARAM = "vbot_call_history.allowed_hosts"
GROUP_USER = "vbot_call_history.group_vbot_user"
GROUP_MANAGER = "vbot_call_history.group_vbot_manager"
GROUP_SYSTEM = "base.group_system"
# Fields only system administrators may change: where the credentials go and how.
_CONNECTION_FIELDS = ("base_url", "api_version")

# v2 access tokens, per account and worker process: "Sync now", the cron and the
# recording player share one token instead of logging in for every request.
_TOKENS = {}
_TOKENS_LOCK = threading.Lock()


class _TokenStore:
    """The client's token cache, kept in this process's memory only (never in the DB)."""

    def __init__(self, key):
        self.key = key

    def get(self):
        with _TOKENS_LOCK:
            return _TOKENS.get(self.key)

    def set(self, token):
        with _TOKENS_LOCK:
            if token:
                _TOKENS[self.key] = token
            else:
                _TOKENS.pop(self.key, None)


def notification(title, message, kind="success", reload=False):
    """A client action showing a toast; ``reload`` refreshes the view behind it."""
    params = {"title": title, "message": message, "type": kind, "sticky": kind != "success"}
    if reload:
        params["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
    return {"type": "ir.actions.client", "tag": "display_notification", "params": params}


def _tz_get(self):
    return [(tz, tz) for tz in sorted(pytz.all_timezones)]


class VbotAccount(models.Model):
    _name = "vbot.account"
    _description = "VBot Account"
    _order = "company_id, name"

    name = fields.Char(required=True, default="VBot")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    base_url = fields.Char(
        "API URL",
        required=True,
        default=DEFAULT_BASE_URL,
        help="VBot's Open API address, e.g. https://open-api-h01.vbot.vn/v2.0 "
        "(v2) or https://open-api-h01.vbot.vn/v3.0 (v3).",
    )
    api_version = fields.Selection(
        [("v2", "v2 (username, password, VBot ID)"), ("v3", "v3 (API key)")],
        "Authentication",
        required=True,
        default="v2",
    )
    username = fields.Char(groups="base.group_system")
    password = fields.Char("Stored password", groups="base.group_system", copy=False)
    api_key = fields.Char("Stored API key", groups="base.group_system", copy=False)
    # Write-only inputs for the forms: they always read empty, so a stored secret is
    # never sent to a browser; typing a value replaces the stored one.
    new_password = fields.Char(
        "Password",
        compute="_compute_secret_inputs",
        inverse="_inverse_new_password",
        groups="base.group_system",
    )
    new_api_key = fields.Char(
        "API key",
        compute="_compute_secret_inputs",
        inverse="_inverse_new_api_key",
        groups="base.group_system",
    )
    has_password = fields.Boolean(
        "Password stored", compute="_compute_has_secrets", groups="base.group_system"
    )
    has_api_key = fields.Boolean(
        "API key stored", compute="_compute_has_secrets", groups="base.group_system"
    )
    vbot_id = fields.Char("VBot ID")
    project_code = fields.Char("Project code")
    timezone = fields.Selection(
        _tz_get,
        "VBot time zone",
        required=True,
        default="Asia/Ho_Chi_Minh",
        help="The time zone of the dates VBot sends (they carry none).",
    )
    date_unit = fields.Selection(
        [("s", "Seconds"), ("ms", "Milliseconds")],
        "Unit of from/to",
        required=True,
        default="s",
        help="How VBot reads the from/to epoch filters of the call history.",
    )
    initial_days = fields.Integer(
        "First sync (days back)",
        default=30,
        help="How far back the first sync fetches history.",
    )
    overlap_minutes = fields.Integer(
        "Overlap (minutes)",
        default=15,
        help="Each sync also fetches this many minutes before the last synced time, to "
        "catch calls VBot recorded late. Calls already stored are updated, never duplicated.",
    )
    recheck_hours = fields.Integer(
        "Re-check (hours)",
        default=24,
        help="Each sync also compares VBot's count of the calls of this many past hours "
        "with what is stored, and fetches them again on a mismatch (calls VBot listed "
        "late). 0 turns it off.",
    )
    recheck_gap = fields.Integer(
        "Unreadable calls (re-check)",
        readonly=True,
        copy=False,
        help="Calls of the re-check period that VBot counts but could not be read.",
    )
    page_size = fields.Integer("Page size", default=100)
    slice_hours = fields.Integer(
        "Window (hours)",
        default=24,
        help="A long history is fetched in windows of this many hours, oldest first; the "
        "synced-up-to time moves forward after each window.",
    )

    # Sync state
    sync_watermark = fields.Datetime(
        "Synced up to",
        readonly=True,
        copy=False,
        help="Calls up to this time are synced and verified.",
    )
    # The outcome of the last full sync is its log's: the fields below read it.
    last_sync_log_id = fields.Many2one("vbot.sync.log", "Last sync log", readonly=True, copy=False)
    last_sync_date = fields.Datetime("Last sync", related="last_sync_log_id.date_start")
    last_sync_state = fields.Selection(string="Last result", related="last_sync_log_id.state")
    last_sync_message = fields.Text("Last message", related="last_sync_log_id.message")
    last_error = fields.Text(related="last_sync_log_id.error")
    last_fetched_count = fields.Integer("Fetched", related="last_sync_log_id.fetched_count")
    last_created_count = fields.Integer("New", related="last_sync_log_id.created_count")
    last_updated_count = fields.Integer("Updated", related="last_sync_log_id.updated_count")
    call_count = fields.Integer("Calls", compute="_compute_call_count")
    sync_log_ids = fields.One2many("vbot.sync.log", "account_id", "Sync log", readonly=True)

    # Missed calls: follow-ups
    callback_activity = fields.Boolean(
        "Call-back activities",
        default=True,
        help="A missed call from a contact's number makes one Call back activity on the "
        "contact, done by itself when an answered call with the contact is stored.",
    )
    callback_deadline_hours = fields.Integer(
        "Call back within (hours)",
        default=4,
        help="The activity is due this many hours after the first missed call.",
    )
    callback_max_age_hours = fields.Integer(
        "Follow up calls of the last (hours)",
        default=24,
        help="A missed call older than this when it is synced (a backfill of history) makes "
        "no activity and is not listed to call back.",
    )
    callback_user_id = fields.Many2one(
        "res.users",
        "Otherwise assign to",
        domain=[("share", "=", False)],
        help="Who calls back when the contact has no salesperson and the call's agent is "
        "no user who may see the contact.",
    )
    # Agents
    member_ids = fields.One2many("vbot.member", "account_id", "Agents")
    member_count = fields.Integer("Number of agents", compute="_compute_member_count")
    members_synced = fields.Datetime("Agents synced", readonly=True, copy=False)

    _sql_constraints = [
        ("company_uniq", "unique(company_id)", "A company has one VBot account."),
        (
            "initial_days_positive",
            "check(initial_days > 0)",
            "The first sync must reach back at least one day.",
        ),
        (
            "page_size_range",
            "check(page_size between 1 and 500)",
            "The page size must be between 1 and 500.",
        ),
        ("slice_hours_positive", "check(slice_hours > 0)", "The window must be at least one hour."),
        ("overlap_positive", "check(overlap_minutes >= 0)", "The overlap cannot be negative."),
        (
            "recheck_positive",
            "check(recheck_hours >= 0)",
            "The re-check period cannot be negative.",
        ),
        (
            "callback_deadline_positive",
            "check(callback_deadline_hours >= 0)",
            "The call-back deadline cannot be negative.",
        ),
        (
            "callback_max_age_positive",
            "check(callback_max_age_hours > 0)",
            "Missed calls to follow up must reach back at least one hour.",
        ),
    ]

    def _compute_secret_inputs(self):
        self.new_password = False
        self.new_api_key = False

    def _inverse_new_password(self):
        for account in self.filtered("new_password"):
            account.password = account.new_password
        self.invalidate_recordset(["new_password"])

    def _inverse_new_api_key(self):
        for account in self.filtered("new_api_key"):
            account.api_key = account.new_api_key
        self.invalidate_recordset(["new_api_key"])

    def _compute_has_secrets(self):
        for account in self:
            account.has_password = bool(account.password)
            account.has_api_key = bool(account.api_key)

    def _compute_call_count(self):
        counts = dict(
            self.env["vbot.call"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.call_count = counts.get(account, 0)

    def _compute_member_count(self):
        counts = dict(
            self.env["vbot.member"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.member_count = counts.get(account, 0)

    @api.constrains("base_url")
    def _check_base_url(self):
        policy = self._vbot_url_policy()
        for account in self:
            try:
                policy.check_url(account.base_url, resolve=True)
            except UrlRefused as refused:
                raise ValidationError(self._vbot_url_refused_message(refused)) from None

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("base_url") not in (None, DEFAULT_BASE_URL) for vals in vals_list):
            self._check_vbot_caller(GROUP_SYSTEM)
        return super().create(vals_list)

    def write(self, vals):
        # Accounts whose server or authentication kind this write changes: only system
        # administrators may do that, and the stored secrets are forgotten unless the same
        # write sets new ones (a password typed for one server never goes to another).
        moved = self.filtered(
            lambda account: any(
                name in vals and account[name] != vals[name] for name in _CONNECTION_FIELDS
            )
        )
        if moved:
            self._check_vbot_caller(GROUP_SYSTEM)
        result = super().write(vals)
        forget = {
            secret: False
            for secret in ("password", "api_key")
            if not (vals.get(secret) or vals.get(f"new_{secret}"))
        }
        if moved and forget:
            super(VbotAccount, moved).write(forget)
        if moved or {"username", "password", "api_key", "new_password", "new_api_key"} & set(vals):
            for account in self:
                _TokenStore(account.id).set(None)
        return result

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    def _check_vbot_caller(self, group_xmlid=GROUP_MANAGER):
        """Raise AccessError unless the caller may act on these accounts; return them sudo'ed.

        The caller must be an internal user of ``group_xmlid`` and every account's company
        must be among the companies the user is working in. Every public method that
        reaches VBot, runs sudo() or changes where credentials go calls this first; the
        superuser (the scheduled action, code already running sudo) passes.
        """
        if self.env.su:
            return self
        user = self.env.user
        if not (user._is_internal() and user.has_group(group_xmlid)):
            group = self.env.ref(group_xmlid).sudo().full_name
            raise AccessError(self.env._("This needs the access right “%(group)s”.", group=group))
        accounts = self.sudo()
        if len(accounts.exists()) != len(self):
            raise MissingError(self.env._("This VBot account no longer exists."))
        if accounts.company_id - self.env.companies:
            raise AccessError(
                self.env._("This VBot account belongs to a company you are not working in.")
            )
        return accounts

    @api.model
    def _vbot_url_policy(self):
        """Where VBot requests may go: VBot's hosts plus the system parameter's entries."""
        allowed = self.env["ir.config_parameter"].sudo().get_param(ALLOWED_HOSTS_PARAM)
        policy = UrlPolicy(allowed or "")
        if policy.invalid:
            _logger.warning(
                "%s: entries ignored (not host[:port]): %s", ALLOWED_HOSTS_PARAM, policy.invalid
            )
        return policy

    @api.model
    def _vbot_url_refused_message(self, refused):
        """A UrlRefused (or VBotURLRefused) as a sentence an administrator can act on."""
        host = refused.host or "?"
        reasons = {
            "syntax": self.env._("The API URL cannot be read: %(why)s.", why=refused),
            "scheme": self.env._("The API URL must start with https://."),
            "userinfo": self.env._("The API URL must not hold a user name or password."),
            "host": self.env._(
                "%(host)s is not a VBot server: the API URL must be https on *.vbot.vn.",
                host=host,
            ),
            "address": self.env._(
                "%(host)s points to a private, local or cloud metadata address.", host=host
            ),
            "origin": self.env._(
                "%(host)s is not the VBot account's server: nothing was sent there.", host=host
            ),
        }
        reason = reasons.get(refused.code, str(refused))
        if refused.code in ("host", "address"):
            reason += " " + self.env._(
                "A system administrator can allow another host in the system parameter "
                "%(param)s (for example 127.0.0.1:8765).",
                param=ALLOWED_HOSTS_PARAM,
            )
        return reason

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_test_connection(self):
        self._check_vbot_caller()
        self.ensure_one()
        try:
            total = self._make_client().test_connection()
        except VBotURLRefused as error:
            raise UserError(self._vbot_url_refused_message(error)) from None
        except VBotError as error:
            raise UserError(
                self.env._("VBot refused the connection: %(error)s", error=error)
            ) from error
        return notification(
            self.env._("Connection works"),
            self.env._("VBot holds %(count)s calls in its history.", count=total),
        )

    def action_sync(self):
        """Sync now, with the code the scheduled action runs, and return when done."""
        self._check_vbot_caller()
        logs = [account._sync_guarded() for account in self]
        if len(self) != 1:
            return True
        return logs[0]._notification(self.env._("VBot sync"))

    def action_open_calls(self):
        self._check_vbot_caller()
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("vbot_call_history.vbot_call_action")
        action["domain"] = [("account_id", "=", self.id)]
        return action

    def action_sync_members(self):
        """Fetch the account's agents from VBot now; then map them to users."""
        account = self._check_vbot_caller()
        self.ensure_one()
        try:
            message, kind = account._sync_members()
        except VBotError as error:
            raise UserError(
                self.env._("VBot did not list its agents: %(error)s", error=error)
            ) from error
        return notification(self.env._("VBot agents"), message, kind, reload=True)

    def action_open_members(self):
        self._check_vbot_caller()
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "vbot_call_history.vbot_member_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    # ------------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_sync(self, time_budget=100):
        """Sync every active account; one failing account never stops the others.

        A long backfill goes on in the next run: the scheduler runs the job again
        soon while ``_notify_progress`` reports work remaining. The default budget
        stays under Odoo's default 120 s real-time limit of a cron worker.
        """
        accounts = self.sudo().search([("active", "=", True)])
        deadline = time.monotonic() + time_budget
        remaining = 0
        for account in accounts:
            account._sync_guarded(deadline=deadline)
            if account._has_backlog():
                remaining += 1
        self.env["ir.cron"]._notify_progress(done=len(accounts) - remaining, remaining=remaining)

    @api.model
    def _cron_sync_members(self):
        """Refresh every active account's agents (names change, agents come and go)."""
        for account in self.sudo().search([("active", "=", True)]):
            try:
                account._sync_members()
            except (VBotError, UserError) as error:
                _logger.warning("VBot agents of account %s not synced: %s", account.id, error)
            self._commit()

    def _has_backlog(self):
        self.ensure_one()
        if not self.sync_watermark:
            return True
        return fields.Datetime.now() - self.sync_watermark > timedelta(hours=self.slice_hours)

    # ------------------------------------------------------------------
    # Sync
    # ------------------------------------------------------------------
    def _sync_guarded(self, deadline=None, numbers=None):
        """Sync (or, with ``numbers``, fetch those numbers' history) and log the outcome.

        Never raises. Returns the sync log, or an empty log when another transaction
        is syncing the account right now: nothing is written then, the other sync
        records its own outcome.
        """
        self.ensure_one()
        account = self.sudo()
        Log = self.env["vbot.sync.log"].sudo()
        if not account._lock():
            _logger.info("VBot account %s is already being synced; skipped", account.id)
            return Log
        log = Log.create(
            {
                "account_id": account.id,
                "date_start": fields.Datetime.now(),
                "phone_filter": ", ".join(numbers) if numbers else False,
            }
        )
        if not numbers:
            account.last_sync_log_id = log
        self._commit()
        try:
            with self._savepoint_in_tests():
                if numbers:
                    account._fetch_numbers(log, numbers)
                else:
                    account._sync(log, deadline=deadline)
        except Exception as error:
            if not isinstance(error, VBotError | UserError):
                _logger.exception("VBot sync of account %s failed", account.id)
            if not _testing():
                self.env.cr.rollback()
            log._finish(str(error) or error.__class__.__name__)
        else:
            log._finish()
        self._commit()
        return log

    def _sync(self, log, deadline=None):
        """Fetch every call from the watermark (minus the overlap) up to now.

        The span is cut into windows of ``slice_hours``, oldest first. Each window is
        paged through, every page upserted and committed (outside tests), then
        verified with ``countAll``: when VBot counts more calls in the window than
        are stored, the window is fetched once more and any gap left is recorded.
        The watermark moves to the end of each verified window.
        """
        self.ensure_one()
        self._relock()
        client = self._make_client()
        now = fields.Datetime.now().replace(microsecond=0)
        if self.sync_watermark:
            start = self.sync_watermark - timedelta(minutes=self.overlap_minutes)
        else:
            start = now - timedelta(days=self.initial_days)
        log.write({"window_start": start})
        step = timedelta(hours=self.slice_hours)
        while start < now:
            end = min(start + step, now)
            self._sync_window(client, log, start, end)
            self.sync_watermark = end
            log.window_end = end
            self._commit()
            self._relock()
            start = end + timedelta(seconds=1)
            if deadline and time.monotonic() > deadline and start < now:
                log._add_message(
                    self.env._(
                        "Time budget used up; the next run continues from %(date)s.",
                        date=self._local_time(end),
                    )
                )
                break
        else:
            if self.recheck_hours:
                # Calls VBot lists late (a long call appears when it ends) fall behind the
                # watermark: one countAll over the last hours finds them, and only a
                # mismatch costs a fetch.
                # Calls VBot counts but cannot send readably are remembered, so that
                # they do not cost a fetch of the whole period at every run.
                self.recheck_gap = self._sync_window(
                    client,
                    log,
                    now - timedelta(hours=self.recheck_hours),
                    now,
                    fetch=False,
                    tolerated=self.recheck_gap,
                )

    def _sync_window(self, client, log, start, end, fetch=True, tolerated=0):
        """Fetch, store and verify the calls dated from ``start`` to ``end`` (inclusive).

        With ``fetch=False`` the window is only verified, and fetched when VBot counts
        more calls than are stored. A mismatch of at most ``tolerated`` calls (known
        unreadable ones) is not fetched again. Returns how many calls VBot counts that
        are still not stored.
        """
        if fetch:
            self._fetch_into(log, client.iter_pages(date_from=start, date_to=end))
        expected = client.count(date_from=start, date_to=end)
        missing = expected - self._stored_count(start, end)
        if missing <= tolerated:
            return max(missing, 0)
        log._add_message(
            self.env._(
                "%(start)s – %(end)s: VBot counts %(expected)s calls, %(stored)s stored; fetching the window again.",
                start=self._local_time(start),
                end=self._local_time(end),
                expected=expected,
                stored=expected - missing,
            )
        )
        self._fetch_into(log, client.iter_pages(date_from=start, date_to=end))
        missing = expected - self._stored_count(start, end)
        if missing > 0:
            log.gap_count += missing
            log._add_message(
                self.env._(
                    "%(start)s – %(end)s: %(missing)s call(s) counted by VBot could not be fetched or read.",
                    start=self._local_time(start),
                    end=self._local_time(end),
                    missing=missing,
                ),
                state="warning",
            )
        return max(missing, 0)

    def _stored_count(self, start, end):
        return self.env["vbot.call"].search_count(
            [("account_id", "=", self.id), ("call_date", ">=", start), ("call_date", "<=", end)]
        )

    def _fetch_into(self, log, pages):
        """Map and upsert every page; a malformed call is logged and skipped."""
        Call = self.env["vbot.call"].sudo()
        for page_no, groups in pages:
            mapped, errors = map_calls(groups, self.timezone)
            created, updated = Call._upsert_mapped(self, mapped)
            log.fetched_count += len(groups)
            log.created_count += len(created)
            log.updated_count += len(updated)
            for index, error in errors:
                log.skipped_count += 1
                log._add_message(
                    self.env._(
                        "Page %(page)s, call %(index)s skipped: %(error)s",
                        page=page_no,
                        index=index + 1,
                        error=error,
                    ),
                    state="warning",
                )
            self._commit()
            self._relock()

    def _fetch_numbers(self, log, numbers):
        """Fetch the whole history of the given phone numbers (a contact's button)."""
        client = self._make_client()
        for number in numbers:
            self._fetch_into(log, client.iter_pages(phone=number))

    def _sync_members(self):
        """Store VBot's agents of this account; returns ``(message, notification kind)``.

        Agents VBot no longer lists stay (their calls keep their user), marked as not
        listed. Extensions seen in calls that VBot does not list are added too, so every
        agent of the history can be mapped even when VBot's members API is not available
        (older accounts answer 404): then only those are listed, with a warning.
        """
        self.ensure_one()
        Member = self.env["vbot.member"].sudo().with_context(active_test=False)
        existing = {m.member_no: m for m in Member.search([("account_id", "=", self.id)])}
        listed, errors, refused = [], [], None
        try:
            listed, errors = map_members(self._make_client().iter_members())
        except VBotResponseError as error:
            refused = error
        created = 0
        for values in listed:
            vals = {
                "name": values["name"],
                "ext_number": values["ext_number"],
                "vbot_status": values["status"] or 0,
                "in_vbot": True,
                "active": True,
            }
            member = existing.get(values["member_no"])
            if member:
                changed = {k: v for k, v in vals.items() if (member[k] or False) != (v or False)}
                if changed:
                    member.write(changed)
            else:
                existing[values["member_no"]] = Member.create(
                    {"account_id": self.id, "member_no": values["member_no"], **vals}
                )
                created += 1
        if refused is None:
            names = {values["member_no"] for values in listed}
            Member.browse(
                [m.id for no, m in existing.items() if no not in names and m.in_vbot]
            ).write({"in_vbot": False})
        # Extensions of the history that VBot does not list.
        self.env["vbot.call"].flush_model(["agent_member_no"])
        self.env.cr.execute(
            "SELECT DISTINCT agent_member_no FROM vbot_call"
            " WHERE account_id = %s AND agent_member_no <> ''",
            [self.id],
        )
        seen = [row[0] for row in self.env.cr.fetchall() if row[0] not in existing]
        if seen:
            Member.create(
                [{"account_id": self.id, "member_no": no, "in_vbot": False} for no in seen]
            )
        self.members_synced = fields.Datetime.now()
        if refused is not None:
            message = self.env._(
                "VBot did not list its agents (%(error)s); the %(count)s extensions seen in "
                "calls are listed instead.",
                error=refused,
                count=len(seen),
            )
            return message, "warning"
        message = self.env._(
            "%(count)s agents listed by VBot, %(new)s new; %(seen)s more seen in calls only.",
            count=len(listed),
            new=created,
            seen=len(seen),
        )
        if errors:
            message += " " + self.env._(
                "%(count)s unreadable agents skipped: %(errors)s",
                count=len(errors),
                errors="; ".join(str(error) for _index, error in errors[:5]),
            )
            return message, "warning"
        return message, "success"

    def _lock(self):
        """Lock the account row so that "Sync now" and the cron never sync it at once.

        The lock lasts until the transaction ends; the sync takes it again after each
        commit. Returns False when another transaction holds it.
        """
        self.env.cr.execute(
            "SELECT id FROM vbot_account WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED",
            [self.id],
        )
        return bool(self.env.cr.fetchone())

    def _relock(self):
        """Take the row lock again after a commit released it, or stop this sync."""
        if not self._lock():
            raise UserError(self.env._("Another sync of this account took over; this one stopped."))

    def _local_time(self, utc_datetime):
        """A UTC datetime as VBot's users read it (the account's time zone) for log lines."""
        local = pytz.utc.localize(utc_datetime).astimezone(pytz.timezone(self.timezone))
        return local.strftime("%d/%m/%Y %H:%M:%S")

    def _commit(self):
        """Commit a synced page or window, so a long sync keeps what it fetched.

        Skipped in tests, which run in one transaction.
        """
        if not _testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _savepoint_in_tests(self):
        """Tests roll a failed account back to a savepoint; a real run rolls back."""
        if _testing():
            return self.env.cr.savepoint()
        return nullcontext()

    # ------------------------------------------------------------------
    # Client
    # ------------------------------------------------------------------
    def _make_client(self):
        self.ensure_one()
        account = self.sudo()
        if account.api_version == "v3" and not account.api_key:
            raise UserError(self.env._("Set the API key of the VBot account first."))
        if account.api_version == "v2" and not (account.username and account.password):
            raise UserError(self.env._("Set the username and password of the VBot account first."))
        policy = account._vbot_url_policy()
        try:
            policy.check_url(account.base_url)
        except UrlRefused as refused:
            raise UserError(self._vbot_url_refused_message(refused)) from None
        return VBotClient(
            account.base_url,
            account.api_version,
            username=account.username,
            password=account.password,
            api_key=account.api_key,
            vbot_id=account.vbot_id,
            project_code=account.project_code,
            page_size=account.page_size,
            date_unit=account.date_unit,
            token_store=_TokenStore(account.id),
            url_policy=policy,
        )

    @api.model
    def _account_for_partner(self, partner):
        """The active account of the contact's company (or of the user's)."""
        company = partner.company_id or self.env.company
        return self.sudo().search([("company_id", "=", company.id)], limit=1)


def _testing():
    return bool(config["test_enable"] or getattr(threading.current_thread(), "testing", False))
