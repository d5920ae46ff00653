from odoo import api, fields, models
from odoo.tools.sql import create_index


class VbotWebhookLog(models.Model):
    """One request VBot (or anyone knowing the URL) posted to an account's webhook.

    Rows are only ever inserted, one per request: concurrent webhooks never wait for each
    other or for a sync on a shared counter. The account's counts are read from here.
    """

    _name = "vbot.webhook.log"
    _description = "VBot webhook log"
    _order = "date desc, id desc"
    _rec_name = "date"

    account_id = fields.Many2one("vbot.account", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    event = fields.Char(readonly=True, help="The event VBot sent, as named or told by its shape.")
    external_id = fields.Char("VBot ID", readonly=True)
    state = fields.Selection(
        [("accepted", "Accepted"), ("ignored", "Ignored"), ("rejected", "Refused")],
        required=True,
        readonly=True,
    )
    status = fields.Integer("HTTP status", readonly=True)
    reason = fields.Char(
        "Result", readonly=True, help="What was done with the event, or why it was refused."
    )

    def init(self):
        res = super().init()
        create_index(
            self.env.cr,
            "vbot_webhook_log_account_date_idx",
            self._table,
            ["account_id", "date DESC", "id DESC"],
        )
        return res

    @api.autovacuum
    def _gc_old_webhook_logs(self):
        """Keep 30 days of webhook log."""
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=30)
        self.search([("date", "<", limit)]).unlink()
