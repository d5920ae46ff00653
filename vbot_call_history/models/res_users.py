from odoo import api, fields, models
from odoo.exceptions import UserError

from .access import MANAGER, require


class ResUsers(models.Model):
    _inherit = "res.users"

    # Kept for screens and code that know a user's extension: the mapping itself lives on
    # the account's agents (vbot.member), which this field reads and writes.
    vbot_member_no = fields.Char(
        "VBot extension",
        compute="_compute_vbot_member_no",
        inverse="_inverse_vbot_member_no",
        search="_search_vbot_member_no",
        help="The user's member number (member_no) in VBot: calls answered or made on it "
        "show this user as their agent. The same mapping as Contacts → Configuration → "
        "VBot agents.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "vbot_member_no"]

    def _compute_vbot_member_no(self):
        members = (
            self.env["vbot.member"]
            .sudo()
            .with_context(active_test=False)
            .search([("user_id", "in", self.ids)], order="id")
        )
        for user in self:
            mine = members.filtered(lambda m, u=user: m.user_id == u)
            current = mine.filtered(lambda m: m.company_id == self.env.company) or mine
            user.vbot_member_no = current[:1].member_no or False

    def _inverse_vbot_member_no(self):
        require(self.env, MANAGER)
        Member = self.env["vbot.member"].sudo().with_context(active_test=False)
        for user in self:
            company = self.env.company if self.env.company in user.company_ids else user.company_id
            account = (
                self.env["vbot.account"].sudo().search([("company_id", "=", company.id)], limit=1)
            )
            number = (user.vbot_member_no or "").strip()
            if not account:
                if number:
                    raise UserError(
                        self.env._(
                            "Connect a VBot account for %(company)s first.", company=company.name
                        )
                    )
                continue
            Member.search(
                [
                    ("account_id", "=", account.id),
                    ("user_id", "=", user.id),
                    ("member_no", "!=", number),
                ]
            ).write({"user_id": False})
            if number:
                member = Member.search(
                    [("account_id", "=", account.id), ("member_no", "=", number)], limit=1
                )
                if member:
                    member.user_id = user
                else:
                    Member.create(
                        {"account_id": account.id, "member_no": number, "user_id": user.id}
                    )

    @api.model
    def _search_vbot_member_no(self, operator, value):
        members = (
            self.env["vbot.member"]
            .sudo()
            .with_context(active_test=False)
            .search([("member_no", operator, value), ("user_id", "!=", False)])
        )
        return [("id", "in", members.user_id.ids)]
