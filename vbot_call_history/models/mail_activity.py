from odoo import fields, models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    vbot_callback = fields.Boolean(
        "VBot call-back",
        readonly=True,
        copy=False,
        help="Made for a contact's missed VBot calls; done by itself when an answered call "
        "with the contact is stored.",
    )

    def _action_done(self, feedback=False, attachment_ids=None):
        partner_ids = self._vbot_callback_partner_ids()
        result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        self.env["vbot.call"].sudo()._close_callbacks_by_hand(partner_ids)
        return result

    def unlink(self):
        partner_ids = self._vbot_callback_partner_ids()
        result = super().unlink()
        self.env["vbot.call"].sudo()._close_callbacks_by_hand(partner_ids)
        return result

    def _vbot_callback_partner_ids(self):
        """Contacts whose Call back activity a user closes by hand (done or cancelled)."""
        if self.env.context.get("vbot_callback_auto"):
            return []
        return [
            activity.res_id
            for activity in self.sudo()
            if activity.vbot_callback and activity.res_model == "res.partner"
        ]
