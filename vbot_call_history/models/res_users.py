from odoo import api, fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    vbot_member_no = fields.Char(
        "VBot extension",
        index=True,
        copy=False,
        help="The user's extension (member_no) in VBot: calls answered or made on it "
        "show this user as their agent.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "vbot_member_no"]

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        users.filtered("vbot_member_no")._vbot_rematch_agents()
        return users

    def write(self, vals):
        result = super().write(vals)
        if "vbot_member_no" in vals or "company_ids" in vals:
            self._vbot_rematch_agents()
        return result

    def _vbot_rematch_agents(self):
        """Set these users on the calls of their extensions (and off their old ones)."""
        member_nos = [no for no in self.mapped("vbot_member_no") if no]
        calls = (
            self.env["vbot.call"]
            .sudo()
            .search(["|", ("user_id", "in", self.ids), ("agent_member_no", "in", member_nos)])
        )
        calls._match_users()
