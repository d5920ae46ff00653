from datetime import datetime

import pytz
from odoo import api, fields, models
from odoo.tools import LazyTranslate

from ..services.mapping import clean_text
from . import vbot_account

_lt = LazyTranslate(__name__)

# What a log line says, by code. A log stores codes and parameters, never sentences, so
# that every reader sees it in their own language (and times in the account's zone).
MESSAGES = {
    # -- the run ----------------------------------------------------------------------------
    "refetch": _lt(
        "%(start)s – %(end)s: VBot counts %(expected)s calls, %(stored)s stored and "
        "%(unreadable)s unreadable; fetching the period again."
    ),
    "gap": _lt("%(start)s – %(end)s: %(missing)s call(s) counted by VBot were not sent."),
    "unreadable_in_span": _lt(
        "%(start)s – %(end)s: %(count)s call(s) VBot sent cannot be read (see Unreadable calls)."
    ),
    "call_skipped": _lt("Call %(call)s skipped: %(reason)s"),
    "more_skipped": _lt("… and %(count)s more unreadable call(s)."),
    "budget": _lt("Time budget used up; the next run continues from %(date)s."),
    "budget_window": _lt(
        "Time budget used up during %(start)s – %(end)s; the next run fetches it again in "
        "windows of %(hours)s hour(s)."
    ),
    "totals": _lt("VBot holds %(vbot)s calls from %(start)s to %(end)s; Odoo holds %(odoo)s."),
    "totals_mismatch": _lt(
        "VBot holds %(vbot)s calls from %(start)s to %(end)s, Odoo holds %(odoo)s "
        "(%(unreadable)s unreadable)."
    ),
    "totals_deep_check": _lt("A deep check will look for the missing calls."),
    "vbot_total": _lt("VBot holds %(count)s calls in all."),
    "nothing_synced": _lt("Nothing is synced yet: there is nothing to check."),
    "resolved": _lt("%(count)s call(s) that VBot had sent unreadably are stored now."),
    "gone": _lt("%(count)s unreadable call(s) are no longer listed by VBot."),
    "interrupted": _lt(
        "Interrupted: the process running this sync stopped (a restart or a time limit). "
        "The next run went on from the last saved point."
    ),
    "connection_changed": _lt(
        "The connection settings changed during the sync; the next run starts the history again."
    ),
    "numbers": _lt("Asked VBot for: %(numbers)s."),
    "pushed": _lt("%(count)s call(s) received from VBot."),
    "webhook_missed": _lt(
        "%(count)s call(s) arrived only through the sync (no webhook delivered them)."
    ),
    # -- why a run failed --------------------------------------------------------------------
    "error_unreachable": _lt("VBot at %(host)s could not be reached (%(reason)s)."),
    "error_server": _lt("VBot at %(host)s kept answering with an error (%(reason)s)."),
    "error_auth": _lt("VBot at %(host)s refused the credentials."),
    "error_token": _lt(
        "VBot at %(host)s refused an access token it had just issued (the login works); "
        "the next run tries again."
    ),
    "error_response": _lt("VBot at %(host)s answered something unreadable: %(detail)s"),
    "error_not_json": _lt("VBot at %(host)s answered something unreadable (not JSON)."),
    "error_bad_shape": _lt(
        "VBot at %(host)s answered something unreadable (an unexpected shape on %(path)s)."
    ),
    "error_vbot": _lt("VBot at %(host)s answered with an error: %(message)s (code %(code)s)."),
    "error_no_key": _lt("Set the API key of the VBot account first."),
    "error_no_password": _lt("Set the username and password of the VBot account first."),
    "error_bad_url": _lt("The API URL %(url)s is not a valid http(s) address."),
    "error_other": _lt("The sync failed: %(detail)s"),
    # -- why a call could not be read (MappingError codes, services/mapping.py) ------------
    "not_object": _lt("%(field)s: not a call object (%(value)s)"),
    "missing": _lt("%(field)s: missing or not text (%(value)s)"),
    "unreadable_date": _lt("%(field)s: cannot read %(value)s as MM/DD/YYYY HH:mm:ss"),
    "implausible_date": _lt("%(field)s: %(value)s is not a plausible date"),
    "unreadable_duration": _lt("%(field)s: cannot read %(value)s as a duration"),
    "out_of_range": _lt("%(field)s: %(value)s is out of range"),
    "unknown_call_type": _lt("%(field)s: unknown call type %(value)s"),
    "not_a_list": _lt("%(field)s: expected a list of legs, got %(value)s"),
    "bad_id": _lt("%(field)s: %(value)s is not an id"),
    "unknown_tz": _lt("%(field)s: unknown time zone %(value)s"),
    "too_nested": _lt("%(field)s: nested too deeply to be read"),
    "duplicate_id": _lt(
        "%(field)s: another call of the same answer has the id %(value)s with other content"
    ),
    "db_rejected": _lt("%(field)s: the database refused the value (%(value)s)"),
    "unreadable": _lt("%(field)s: unreadable (%(value)s)"),
}
# The client's reasons for a failure (services/client.py), in the reader's language.
REASONS = {
    "timeout": _lt("no answer in time"),
    "connection error": _lt("no connection"),
    "not JSON": _lt("an answer that is not JSON"),
}
SUMMARY = _lt(
    "%(fetched)s fetched, %(created)s new, %(updated)s updated, %(skipped)s unreadable, "
    "%(missing)s missing."
)
MAX_EVENTS = 200


def render(env, event, tz="UTC"):
    """One stored event (``{"code", "p"}``) as text in ``env``'s language.

    Parameters that are datetimes (``{"dt": iso}``) are shown in ``tz``; parameters that are
    events themselves (a skipped call's reason) are rendered the same way.
    """
    if event.get("code") == "url_refused":  # worded where the URL policy lives
        params = event.get("p") or {}
        refused = _Refused(params.get("why"), params.get("host"), params.get("detail", ""))
        return env["vbot.account"]._vbot_url_refused_message(refused)
    template = MESSAGES.get(event.get("code"))
    params = {key: _param(env, value, tz) for key, value in (event.get("p") or {}).items()}
    reason = params.get("reason")
    if reason in REASONS:
        params["reason"] = env._(REASONS[reason])
    if template is None:
        return ", ".join(f"{k}={v}" for k, v in params.items()) or str(event.get("code"))
    text = env._(template)
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return template._translate("en_US") % _defaults(params)


class _Refused:
    """A URL refusal read back from a log (what ``_vbot_url_refused_message`` reads)."""

    def __init__(self, code, host, detail):
        self.code, self.host, self.detail = code, host, detail

    def __str__(self):
        return self.detail


def _param(env, value, tz):
    if isinstance(value, dict) and "dt" in value:
        return local_time(datetime.fromisoformat(value["dt"]), tz)
    if isinstance(value, dict) and "code" in value:
        return render(env, value, tz)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".") if (env.lang or "").startswith("vi") else f"{value:,}"
    return value


def _defaults(params):
    class Missing(dict):
        def __missing__(self, key):
            return "?"

    return Missing(params)


def _clean(value):
    """Event parameters PostgreSQL's jsonb takes: no NUL, no lone surrogate, short texts."""
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return clean_text(value, 500)
    return value


def local_time(utc_datetime, tz):
    """A naive UTC datetime as ``DD/MM/YYYY HH:MM:SS`` in ``tz`` (how VBot's users read it)."""
    local = pytz.utc.localize(utc_datetime).astimezone(pytz.timezone(tz or "UTC"))
    return local.strftime("%d/%m/%Y %H:%M:%S")


def dt(value):
    """A datetime as an event parameter (rendered later in the account's time zone)."""
    return {"dt": fields.Datetime.to_string(value)}


class VbotSyncLog(models.Model):
    _name = "vbot.sync.log"
    _description = "VBot sync log"
    _order = "date_start desc, id desc"
    _rec_name = "date_start"

    account_id = fields.Many2one("vbot.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    date_start = fields.Datetime("Started", required=True, readonly=True)
    date_end = fields.Datetime("Finished", readonly=True)
    window_start = fields.Datetime("From", readonly=True)
    window_end = fields.Datetime("To", readonly=True)
    phone_filter = fields.Char(
        "Numbers", readonly=True, help="The numbers asked for when a contact's calls were fetched."
    )
    origin = fields.Selection(
        [
            ("schedule", "Schedule"),
            ("button", "Button"),
            ("contact", "Contact"),
            ("webhook", "Webhook"),
        ],
        "Started by",
        required=True,
        default="schedule",
        readonly=True,
    )
    run_type = fields.Selection(
        [
            ("sync", "Sync"),
            ("deep_check", "Deep check"),
            ("numbers", "Contact's calls"),
            ("push", "Pushed calls"),
        ],
        "Kind",
        required=True,
        default="sync",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("ok", "Success"),
            ("warning", "Warning"),
            ("error", "Failed"),
            ("interrupted", "Interrupted"),
        ],
        default="running",
        required=True,
        readonly=True,
    )
    fetched_count = fields.Integer("Fetched", readonly=True, help="Calls received from VBot.")
    created_count = fields.Integer("New", readonly=True)
    updated_count = fields.Integer("Updated", readonly=True)
    skipped_count = fields.Integer(
        "Unreadable",
        readonly=True,
        help="Calls of the checked period that VBot sent but that could not be read.",
    )
    gap_count = fields.Integer(
        "Missing", readonly=True, help="Calls VBot counted in the checked period but did not send."
    )
    webhook_missed_count = fields.Integer(
        "Only through the sync",
        readonly=True,
        help="With webhooks on: calls this sync found that no webhook had delivered.",
    )
    events = fields.Json("Lines", readonly=True, copy=False)
    message = fields.Text(compute="_compute_message")
    error = fields.Text(compute="_compute_message", help="Why the sync failed.")
    # Version 1 stored sentences; kept for the logs written then.
    legacy_message = fields.Text("Message (version 1)", readonly=True)
    legacy_error = fields.Text("Error (version 1)", readonly=True)

    @api.depends_context("lang")
    @api.depends(
        "events", "legacy_message", "legacy_error", "state", "fetched_count", "created_count"
    )
    def _compute_message(self):
        for log in self:
            tz = log.account_id.timezone or "UTC"
            lines = [log.legacy_message] if log.legacy_message else []
            errors = [log.legacy_error] if log.legacy_error else []
            for event in log.events or []:
                text = render(log.env, event, tz)
                lines.append(text)
                if event.get("level") == "error":
                    errors.append(text)
            if log.state != "running" and not log.legacy_message:  # version 1 wrote its own
                lines.append(log._summary())
            log.message = "\n".join(lines) or False
            log.error = "\n".join(errors) or False

    def _summary(self):
        template = self.env._(SUMMARY)
        return template % {
            "fetched": self.fetched_count,
            "created": self.created_count,
            "updated": self.updated_count,
            "skipped": self.skipped_count,
            "missing": self.gap_count,
        }

    def _add_event(self, code, level="info", **params):
        """Append one line (a code and its parameters); a warning makes the run a warning."""
        self.ensure_one()
        events = list(self.events or [])
        if len(events) >= MAX_EVENTS:
            return
        events.append({"code": code, "level": level, "p": _clean(params)})
        vals = {"events": events}
        if level == "warning" and self.state == "running":
            vals["state"] = "warning"
        self.write(vals)

    def _finish(self, error_event=None):
        """Close the log: failed with ``error_event``, else a success or a warning."""
        self.ensure_one()
        if error_event:
            self._add_event(error_event["code"], "error", **error_event.get("p", {}))
        final = "error" if error_event else ("warning" if self.state == "warning" else "ok")
        self.write({"state": final, "date_end": fields.Datetime.now()})

    def _notification(self, title):
        """The toast telling how this sync went (or that another one is running)."""
        if not self:
            message = self.env._(
                "A sync of this account is already running; try again in a moment."
            )
            return vbot_account.notification(title, message, "warning")
        kind = {"ok": "success", "warning": "warning"}.get(self.state, "danger")
        return vbot_account.notification(title, self.message or "", kind, reload=True)

    @api.autovacuum
    def _gc_old_logs(self):
        """Keep three months of sync logs; close logs left running by a dead process."""
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=90)
        accounts = self.env["vbot.account"].with_context(active_test=False)
        kept = accounts.search([("last_sync_log_id", "!=", False)]).last_sync_log_id
        kept |= accounts.search([("last_deep_check_log_id", "!=", False)]).last_deep_check_log_id
        self.search([("date_start", "<", limit), ("id", "not in", kept.ids)]).unlink()
        stale = fields.Datetime.subtract(fields.Datetime.now(), days=1)
        for account in self.search(
            [("state", "=", "running"), ("date_start", "<", stale)]
        ).account_id:
            if account._try_lock():
                try:
                    account._mark_interrupted()
                finally:
                    account._unlock()
