from odoo import api, fields, models

from .vbot_account import notification


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
    state = fields.Selection(
        [("running", "Running"), ("ok", "Success"), ("warning", "Warning"), ("error", "Failed")],
        default="running",
        required=True,
        readonly=True,
    )
    fetched_count = fields.Integer("Fetched", readonly=True)
    created_count = fields.Integer("New", readonly=True)
    updated_count = fields.Integer("Updated", readonly=True)
    skipped_count = fields.Integer(
        "Skipped", readonly=True, help="Calls VBot sent that could not be read."
    )
    gap_count = fields.Integer(
        "Missing", readonly=True, help="Calls VBot counted but did not send."
    )
    webhook_missed_count = fields.Integer(
        "Only through the sync",
        readonly=True,
        help="With webhooks on: calls this sync found that no webhook had delivered.",
    )
    message = fields.Text(readonly=True)
    error = fields.Text(readonly=True, help="Why the sync failed.")

    def _add_message(self, line, state=None):
        self.ensure_one()
        self.message = f"{self.message}\n{line}" if self.message else line
        if state == "warning" and self.state == "running":
            self.state = "warning"

    def _finish(self, error=None):
        """Close the log: failed with ``error``, else a success or a warning."""
        self.ensure_one()
        if error:
            self._add_message(error)
        final = "error" if error else ("warning" if self.state == "warning" else "ok")
        summary = self.env._(
            "%(fetched)s fetched, %(created)s new, %(updated)s updated, %(skipped)s skipped.",
            fetched=self.fetched_count,
            created=self.created_count,
            updated=self.updated_count,
            skipped=self.skipped_count,
        )
        self.write({"state": final, "date_end": fields.Datetime.now(), "error": error or False})
        self._add_message(summary)
        if self.account_id.webhook_active and not self.phone_filter:
            self._add_message(
                self.env._(
                    "%(count)s call(s) arrived only through the sync (no webhook delivered them).",
                    count=self.webhook_missed_count,
                )
            )

    def _notification(self, title):
        """The toast telling how this sync went (or that another one is running)."""
        if not self:
            message = self.env._(
                "A sync of this account is already running; try again in a moment."
            )
            return notification(title, message, "warning")
        kind = {"ok": "success", "warning": "warning"}.get(self.state, "danger")
        return notification(title, self.message or "", kind, reload=True)

    @api.autovacuum
    def _gc_old_logs(self):
        """Keep three months of sync logs."""
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=90)
        accounts = self.env["vbot.account"].with_context(active_test=False)
        kept = accounts.search([("last_sync_log_id", "!=", False)]).last_sync_log_id
        self.search([("date_start", "<", limit), ("id", "not in", kept.ids)]).unlink()
