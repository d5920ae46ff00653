from odoo import fields, models


class VbotWebhookSecret(models.TransientModel):
    """Shows a new webhook auth header once, to paste into VBot's webhook page.

    Never saved: the dialog is a new record filled from the action's context and closed
    without saving; the account keeps only a digest of the value.
    """

    _name = "vbot.webhook.secret"
    _description = "VBot webhook auth header"

    account_id = fields.Many2one("vbot.account", readonly=True)
    url = fields.Char("Webhook URL", readonly=True)
    secret = fields.Char("Auth header", readonly=True)
