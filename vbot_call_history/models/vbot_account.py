import logging
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytz
from odoo import api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.tools import config

from ..services.client import VBotClient, VBotError, VBotResponseError, VBotURLRefused
from ..services.mapping import map_members
from ..services.urlpolicy import UrlPolicy, UrlRefused, parse_url
from ..services.windows import cron_budget

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
# What "Test connection" may take from the form before it is saved.
_TEST_FIELDS = (
    "base_url",
    "api_version",
    "username",
    "vbot_id",
    "project_code",
    "date_unit",
    "page_size",
)
# A button's run must end well within the HTTP worker's time limit.
_BUTTON_BUDGET = 60
# Deadlines of the cron runs in progress: (database, cron id, lastcall) -> monotonic time.
# Odoo runs a job up to 10 times in a row while it reports work remaining, all within one
# time limit: the batches of one run share one deadline.
_CRON_DEADLINES = {}

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
    deep_check_days = fields.Integer(
        "Deep check (days back)",
        default=7,
        help="The daily deep check compares VBot's count of each of these past days with "
        "what is stored, and fetches the days that differ (calls VBot listed very late). "
        "Older days are checked too when VBot's total still differs.",
    )
    page_size = fields.Integer("Page size", default=100)
    slice_hours = fields.Integer(
        "Window (hours)",
        default=24,
        help="A long history is fetched in windows of this many hours, oldest first; the "
        "synced-up-to time moves forward after each window.",
    )

    # Sync state, written by the sync engine only (models/vbot_sync_run.py), each write
    # in a transaction of its own: saving the form never interrupts a sync.
    sync_watermark = fields.Datetime(
        "Synced up to",
        readonly=True,
        copy=False,
        help="Calls up to this time are synced and verified.",
    )
    sync_history_start = fields.Datetime(
        "History from",
        readonly=True,
        copy=False,
        help="Where the synced history starts (the first sync reached back 'First sync' days).",
    )
    sync_generation = fields.Integer(
        "Connection version",
        readonly=True,
        copy=False,
        help="Counts changes of the connection (internal).",
    )
    sync_window_hours = fields.Integer(
        "Current window (hours)",
        readonly=True,
        copy=False,
        help="Smaller than 'Window' while VBot is too slow to answer a whole window within "
        "a run's time budget.",
    )
    sync_failure_count = fields.Integer("Failed runs in a row", readonly=True, copy=False)
    sync_retry_at = fields.Datetime(
        "Next attempt",
        readonly=True,
        copy=False,
        help="After failed runs the schedule waits 5, 10, 20 … minutes before trying again; "
        "Sync now tries at once.",
    )
    sync_failure_note = fields.Char("Failures", compute="_compute_sync_failure_note")
    sync_backlog = fields.Boolean("Catching up", compute="_compute_sync_progress")
    sync_progress = fields.Float(
        "History synced (%)",
        compute="_compute_sync_progress",
        help="How much of the history from 'History from' until now is synced.",
    )
    vbot_count_total = fields.Integer("VBot holds (all time)", readonly=True, copy=False)
    vbot_count_span = fields.Integer("VBot holds", readonly=True, copy=False)
    odoo_count_span = fields.Integer("Odoo holds", readonly=True, copy=False)
    vbot_count_date = fields.Datetime("Counted at", readonly=True, copy=False)
    count_summary = fields.Char("Counts", compute="_compute_count_summary")
    count_mismatch = fields.Boolean("Counts differ", compute="_compute_count_summary")
    last_deep_check_log_id = fields.Many2one(
        "vbot.sync.log", "Last deep check log", readonly=True, copy=False
    )
    last_deep_check_state = fields.Selection(
        string="Deep check result", related="last_deep_check_log_id.state"
    )
    last_deep_check_date = fields.Datetime(
        "Last deep check", related="last_deep_check_log_id.date_start"
    )
    unreadable_ids = fields.One2many(
        "vbot.unreadable.call", "account_id", "Unreadable calls", readonly=True
    )
    unreadable_count = fields.Integer("Unreadable", compute="_compute_unreadable_count")
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
        (
            "deep_check_days_positive",
            "check(deep_check_days > 0)",
            "The deep check must look back at least one day.",
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

    @api.depends("sync_watermark", "sync_history_start", "slice_hours", "sync_window_hours")
    def _compute_sync_progress(self):
        now = fields.Datetime.now()
        for account in self:
            account.sync_backlog = account._has_backlog()
            start, mark = account.sync_history_start, account.sync_watermark
            if not (start and mark) or now <= start:
                account.sync_progress = 0.0
            else:
                share = (mark - start).total_seconds() / (now - start).total_seconds()
                account.sync_progress = round(min(max(share, 0.0), 1.0) * 100, 1)

    @api.depends_context("lang")
    @api.depends("sync_failure_count", "sync_retry_at")
    def _compute_sync_failure_note(self):
        for account in self:
            if not account.sync_failure_count:
                account.sync_failure_note = False
                continue
            account.sync_failure_note = self.env._(
                "The last %(count)s run(s) failed; the schedule tries again at %(date)s.",
                count=account.sync_failure_count,
                date=account._local_time(account.sync_retry_at) if account.sync_retry_at else "?",
            )

    @api.depends_context("lang")
    @api.depends("vbot_count_span", "odoo_count_span", "vbot_count_date", "vbot_count_total")
    def _compute_count_summary(self):
        for account in self:
            if not account.vbot_count_date:
                account.count_summary = False
                account.count_mismatch = False
                continue
            summary = self.env._(
                "VBot holds %(vbot)s calls, Odoo holds %(odoo)s (synced history, counted %(date)s).",
                vbot=account.vbot_count_span,
                odoo=account.odoo_count_span,
                date=account._local_time(account.vbot_count_date),
            )
            if account.vbot_count_total:
                summary += " " + self.env._(
                    "VBot holds %(count)s calls in all.", count=account.vbot_count_total
                )
            account.count_summary = summary
            account.count_mismatch = account.vbot_count_span != account.odoo_count_span

    def _compute_unreadable_count(self):
        counts = dict(
            self.env["vbot.unreadable.call"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.unreadable_count = counts.get(account, 0)

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
        # Accounts pointed at another server or project: their history starts again.
        restart = self.filtered(lambda account: account._history_changes(vals))
        result = super().write(vals)
        forget = {
            secret: False
            for secret in ("password", "api_key")
            if not (vals.get(secret) or vals.get(f"new_{secret}"))
        }
        if moved and forget:
            super(VbotAccount, moved).write(forget)
        for account in restart:
            # From initial_days again. Calls already stored stay (the same call of the same
            # VBot keeps its id).
            super(VbotAccount, account).write(
                {
                    "sync_watermark": False,
                    "sync_history_start": False,
                    "sync_generation": account.sync_generation + 1,
                    "sync_window_hours": 0,
                    "sync_failure_count": 0,
                    "sync_retry_at": False,
                    "vbot_count_total": 0,
                    "vbot_count_span": 0,
                    "odoo_count_span": 0,
                    "vbot_count_date": False,
                }
            )
            account.unreadable_ids.sudo().unlink()
        if moved or {"username", "password", "api_key", "new_password", "new_api_key"} & set(vals):
            for account in self:
                _TokenStore(account.id).set(None)
        return result

    def _history_changes(self, vals):
        """Whether ``vals`` point this account at another VBot server or project.

        The API URL counts by its host and port: /v2.0 and /v3.0 of one server hold the same
        calls. An emptied VBot ID or project code (v3 needs none) is no other project.
        """
        self.ensure_one()
        if "base_url" in vals and _host(vals["base_url"]) != _host(self.base_url):
            return True
        return any(
            vals.get(name) and vals[name] != self[name] for name in ("vbot_id", "project_code")
        )

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
        """Test the saved connection."""
        self._check_vbot_caller()
        self.ensure_one()
        return self._test_connection()

    def action_test_connection_values(self, values=None):
        """Test the connection with the values typed in the form, before they are saved.

        ``values`` holds the form's fields (``base_url``, ``api_version``, ``username``,
        ``vbot_id``, ``project_code``, and ``new_password`` / ``new_api_key`` when typed);
        a stored secret is used only for the stored origin. Testing another server (or a new
        account) is for system administrators, as changing it is.
        """
        values = values or {}
        account = self[:1]
        moving = not account or any(
            name in values and values[name] != account.sudo()[name] for name in _CONNECTION_FIELDS
        )
        (account or self.env["vbot.account"])._check_vbot_caller(
            GROUP_SYSTEM if moving else GROUP_MANAGER
        )
        return account._test_connection(values)

    def action_sync(self):
        """Sync now, with the code the scheduled action runs, and return when done.

        A first sync (a backfill of ``initial_days``) or a long catch-up is handed to the
        scheduled action instead, which runs it in the background with its time budget;
        the account shows its progress.
        """
        self._check_vbot_caller()
        title = self.env._("VBot sync")
        queued = self.filtered(lambda account: account._has_backlog())
        if queued:
            self.env.ref("vbot_call_history.ir_cron_vbot_sync").sudo()._trigger()
        deadline = time.monotonic() + _button_budget()
        logs = [account._run_sync("sync", "button", deadline=deadline) for account in self - queued]
        if len(self) != 1:
            return True
        if queued:
            start = self.sync_watermark or fields.Datetime.now() - timedelta(days=self.initial_days)
            message = self.env._(
                "The sync of the history since %(date)s runs in the background; calls appear "
                "as it goes and the account shows its progress.",
                date=self._local_time(start),
            )
            return notification(title, message, "info")
        return logs[0]._notification(title)

    def action_deep_check(self):
        """Compare VBot's counts day by day with what is stored now, fetching what differs."""
        self._check_vbot_caller()
        self.ensure_one()
        deadline = time.monotonic() + _button_budget()
        log = self._run_sync("deep_check", "button", deadline=deadline)
        return log._notification(self.env._("VBot deep check"))

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
    def _cron_sync(self, time_budget=None):
        """Sync every active account; one failing account never stops the others.

        Accounts least recently synced go first. A failing account is left alone for 5,
        10, 20 … minutes (``sync_retry_at``). A long backfill goes on in the next run: only
        accounts that made progress and still lag behind count as work remaining, so the
        scheduler runs the job again at once for them and never spins on a stuck one. The
        time budget (see :func:`_cron_deadline`) stays under Odoo's cron time limit.
        """
        deadline = _cron_deadline(self.env, time_budget)
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync").sudo()
        if time.monotonic() >= deadline:
            cron._trigger()  # a fresh run, with a fresh time limit
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return
        now = fields.Datetime.now()
        accounts = self.sudo().search([("active", "=", True)])
        accounts = accounts.sorted(lambda a: a.last_sync_date or datetime.min)
        done = remaining = 0
        for account in accounts:
            if account.sync_retry_at and account.sync_retry_at > now:
                continue
            if not account._sync_due(now):
                continue  # webhooks on: verified less often (webhook_sync_minutes)
            if time.monotonic() >= deadline:
                cron._trigger()
                break
            before = (account.sync_watermark, account.sync_window_hours)
            log = account._run_sync("sync", "schedule", deadline=deadline)
            if not log:
                continue
            done += 1
            account.invalidate_recordset()
            moved = (account.sync_watermark, account.sync_window_hours) != before
            if moved and log.state != "error" and account._has_backlog():
                remaining += 1
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

    @api.model
    def _cron_deep_check(self, time_budget=None):
        """The daily deep check of every active account (see ``SyncRun.deep_check``)."""
        deadline = _cron_deadline(self.env, time_budget)
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_deep_check").sudo()
        for account in self.sudo().search([("active", "=", True)]):
            if time.monotonic() >= deadline:
                cron._trigger()
                return
            log = account._run_sync("deep_check", "schedule", deadline=deadline)
            if not log:  # a sync holds the account: try again in a few minutes
                cron._trigger(fields.Datetime.now() + timedelta(minutes=5))
            elif "budget" in {event.get("code") for event in log.events or []}:
                cron._trigger()

    @api.model
    def _cron_sync_members(self):
        """Refresh every active account's agents (names change, agents come and go)."""
        for account in self.sudo().search([("active", "=", True)]):
            try:
                account._sync_members()
            except (VBotError, UserError) as error:
                _logger.warning("VBot agents of account %s not synced: %s", account.id, error)
            if not _testing():
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _has_backlog(self):
        """More than one window behind (or never synced): a backfill, not a quick sync."""
        self.ensure_one()
        if not self.sync_watermark:
            return True
        window = timedelta(hours=self.sync_window_hours or self.slice_hours or 24)
        return fields.Datetime.now() - self.sync_watermark > window

    # ------------------------------------------------------------------
    # Sync: the engine is models/vbot_sync_run.py
    # ------------------------------------------------------------------
    def _run_sync(self, kind="sync", origin="schedule", deadline=None, **options):
        """Run the sync engine for this account and return the run's log; never raises.

        ``kind``: ``sync`` (the regular sync), ``deep_check`` (``days=``), ``numbers``
        (``numbers=[...]``: a contact's history) or ``push`` (``groups=[...]``: calls a
        webhook received). ``origin``: ``schedule``, ``button``, ``contact`` or
        ``webhook``. An empty log means another run holds the account (sync, deep check).
        """
        self.ensure_one()
        from .vbot_sync_run import execute

        return execute(self, kind, origin, deadline=deadline, **options)

    def _ingest_groups(self, groups, origin="webhook"):
        """Store call groups received from VBot (a webhook) through the sync's store path.

        Each group is mapped, bounded and cleaned, stored (or updated) once on its VBot id,
        matched to its contact; one that cannot be read is remembered as unreadable and
        named in the log. Runs in the caller's transaction (no commit, no lock: it never
        waits for a running sync). Returns the ``vbot.sync.log`` (``run_type`` ``push``).
        """
        return self._run_sync("push", origin, groups=groups)

    def _sync_guarded(self, deadline=None, numbers=None):
        """Version 1's entry point, kept for callers not yet moved to :meth:`_run_sync`."""
        if numbers:
            return self._run_sync("numbers", "contact", numbers=numbers)
        return self._run_sync("sync", "schedule", deadline=deadline)

    def _try_lock(self):
        """Take this account's advisory lock, or return False at once if a run holds it.

        Session-level, on the run's own connection: it survives the run's commits (a
        transaction-level lock would not) and nothing else takes it — saving the account
        form, a contact's Fetch calls or a webhook never do. The driver releases it in a
        ``finally``; a killed process's connection closes and PostgreSQL releases it then.
        It must be released before the connection goes back to Odoo's pool: a pooled
        connection keeps session locks.
        """
        self.ensure_one()
        from .vbot_sync_run import LOCK_NAMESPACE

        self.env.cr.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, self.id])
        return bool(self.env.cr.fetchone()[0])

    def _unlock(self):
        self.ensure_one()
        from .vbot_sync_run import LOCK_NAMESPACE

        try:
            self.env.cr.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, self.id])
            if not self.env.cr.fetchone()[0]:
                _logger.warning("VBot account %s: the sync lock was not held", self.id)
        except Exception:
            _logger.warning("VBot account %s: could not release the sync lock", self.id)

    def _mark_interrupted(self):
        """Runs a killed process left "running" are over (call with the lock held)."""
        self.ensure_one()
        self.env["vbot.sync.log"].flush_model()
        self.env.cr.execute(
            """
            UPDATE vbot_sync_log
               SET state = 'interrupted',
                   date_end = COALESCE(date_end, now() AT TIME ZONE 'UTC'),
                   events = COALESCE(events, '[]'::jsonb)
                            || '[{"code": "interrupted", "level": "warning", "p": {}}]'::jsonb
             WHERE account_id = %s AND state = 'running'
            RETURNING id
            """,
            [self.id],
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if ids:
            self.env["vbot.sync.log"].browse(ids).invalidate_recordset()
            _logger.warning("VBot account %s: %s interrupted run(s) closed", self.id, len(ids))

    def _local_time(self, utc_datetime):
        """A UTC datetime as VBot's users read it (the account's time zone)."""
        local = pytz.utc.localize(utc_datetime).astimezone(pytz.timezone(self.timezone or "UTC"))
        return local.strftime("%d/%m/%Y %H:%M:%S")

    # ------------------------------------------------------------------
    # Agents
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # Client
    # ------------------------------------------------------------------
    def _make_client(self, overrides=None):
        """The VBot client of this account, or of the values typed in a form (``overrides``).

        Typed values win over stored ones; a stored password or key is used only for the
        stored host (a typed address gets only typed secrets). Raises UserError (with a
        ``vbot_event`` for the log) when credentials are missing or the URL is not http(s).
        """
        account = self.sudo()[:1]
        overrides = overrides or {}
        defaults = self.default_get(list(_TEST_FIELDS)) if not account else {}
        values = {
            name: overrides[name]
            if name in overrides
            else (account[name] if account else defaults.get(name))
            for name in _TEST_FIELDS
        }
        same_host = account and _origin(values["base_url"]) == _origin(account.base_url)
        password = overrides.get("new_password") or overrides.get("password")
        api_key = overrides.get("new_api_key") or overrides.get("api_key")
        if same_host:
            password = password or account.password
            api_key = api_key or account.api_key
        if values["api_version"] == "v3" and not api_key:
            raise _config_error(self.env, "error_no_key")
        if values["api_version"] != "v3" and not (values["username"] and password):
            raise _config_error(self.env, "error_no_password")
        policy = self.sudo()._vbot_url_policy()
        try:
            policy.check_url(values["base_url"] or "")
        except UrlRefused as refused:
            raise _url_error(self, refused) from None
        try:
            return VBotClient(
                values["base_url"] or "",
                values["api_version"] or "v2",
                username=values["username"],
                password=password,
                api_key=api_key,
                vbot_id=values["vbot_id"],
                project_code=values["project_code"],
                page_size=values["page_size"] or 100,
                date_unit=values["date_unit"] or "s",
                token_store=_TokenStore(account.id) if account and not overrides else None,
                url_policy=policy,
            )
        except ValueError:
            raise _config_error(self.env, "error_bad_url", url=values["base_url"] or "") from None

    def _test_connection(self, overrides=None):
        """Log in with these values and count VBot's calls; a toast, or a UserError that
        says whether VBot was unreachable, refused the credentials or answered nonsense."""
        from .vbot_sync_log import render
        from .vbot_sync_run import error_event_for

        client = self._make_client(overrides)
        try:
            total = client.test_connection()
        except VBotURLRefused as error:
            raise _url_error(self, error) from None
        except VBotError as error:
            raise UserError(render(self.env, error_event_for(client.base_url, error))) from error
        return notification(
            self.env._("Connection works"),
            self.env._(
                "VBot at %(host)s holds %(count)s calls in its history.",
                host=_host(client.base_url),
                count=total,
            ),
        )

    @api.model
    def _account_for_partner(self, partner):
        """The active account of the contact's company (or of the user's)."""
        company = partner.company_id or self.env.company
        return self.sudo().search([("company_id", "=", company.id)], limit=1)


def _testing():
    return bool(config["test_enable"] or getattr(threading.current_thread(), "testing", False))


def _host(url):
    """Host and port of a URL: a stored secret goes only where it was configured for."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return f"{host}:{port}" if port else host


def _origin(url):
    """(scheme, host, port) of a URL as the HTTP library reads it, None if unreadable: a stored
    secret is only sent to the origin it was stored for (https and http of one host differ)."""
    try:
        return parse_url(url or "").origin
    except UrlRefused:
        return None


def _config_error(env, code, **params):
    """A UserError in the user's language that the sync log records by its code."""
    from .vbot_sync_log import render

    event = {"code": code, "p": params}
    error = UserError(render(env, event))
    error.vbot_event = event
    return error


def _url_error(account, refused):
    """A URL the policy refuses, as a UserError the sync log records by its code."""
    error = UserError(account._vbot_url_refused_message(refused))
    error.vbot_event = {
        "code": "url_refused",
        "p": {"why": refused.code, "host": refused.host or "", "detail": str(refused)[:200]},
    }
    return error


def _button_budget():
    """Seconds a button's run may take: half the HTTP time limit, at most a minute."""
    limit = config["limit_time_real"]
    return min(_BUTTON_BUDGET, limit / 2) if limit and limit > 0 else _BUTTON_BUDGET


def _cron_deadline(env, time_budget=None):
    """The ``time.monotonic()`` deadline of this scheduled run.

    Odoo reruns a job up to 10 times at once while it reports work remaining, all under
    one time limit: the batches of one run (same cron, same ``lastcall``) share one
    deadline. In threaded mode the cron thread's start counts too.
    """
    budget = time_budget or cron_budget(
        config["limit_time_real"], config["limit_time_real_cron"], config["workers"]
    )
    now = time.monotonic()
    deadline = now + budget
    thread = threading.current_thread()
    started = getattr(thread, "start_time", None)
    if time_budget is None and started and getattr(thread, "type", None) == "cron":
        deadline = min(deadline, now - (time.time() - started) + budget)
    key = (env.cr.dbname, env.context.get("cron_id"), str(env.context.get("lastcall")))
    if key[1] is None:
        return deadline
    if key not in _CRON_DEADLINES:
        while len(_CRON_DEADLINES) > 50:
            _CRON_DEADLINES.pop(next(iter(_CRON_DEADLINES)))
        _CRON_DEADLINES[key] = deadline
    return _CRON_DEADLINES[key]
