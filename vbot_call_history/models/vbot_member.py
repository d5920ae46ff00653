from collections import defaultdict

from odoo import api, fields, models

from ..services.names import suggest
from .access import MANAGER, require


class VbotMember(models.Model):
    """A VBot agent (member) of an account, and the Odoo user it is.

    Synced from VBot's members API (and completed with the extensions seen in calls);
    a manager maps each to a user, and the agent's calls show that user.
    """

    _name = "vbot.member"
    _description = "VBot agent"
    _order = "account_id, member_no"

    account_id = fields.Many2one(
        "vbot.account", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, string="Company"
    )
    member_no = fields.Char(
        "Member no.",
        required=True,
        index=True,
        readonly=True,
        help="The agent's member number in VBot: the member_no of the calls they took.",
    )
    name = fields.Char("Name in VBot", readonly=True)
    ext_number = fields.Char("Extension", readonly=True)
    vbot_status = fields.Integer("VBot status", readonly=True)
    in_vbot = fields.Boolean(
        "Listed by VBot",
        readonly=True,
        help="Off for an extension seen in calls that VBot's members list does not hold "
        "(a removed agent, or an account whose members VBot does not list).",
    )
    user_id = fields.Many2one(
        "res.users",
        index=True,
        ondelete="set null",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="The Odoo user this agent is: their calls show this user as the agent.",
    )
    suggested_user_id = fields.Many2one(
        "res.users",
        "Suggested user",
        compute="_compute_suggested_user_id",
        help="The user whose name is the agent's name (accents and word order aside).",
    )
    call_count = fields.Integer("Calls", compute="_compute_call_count")
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "account_member_uniq",
            "unique(account_id, member_no)",
            "An agent is listed once per account.",
        ),
    ]

    @api.depends("member_no", "name")
    def _compute_display_name(self):
        for member in self:
            member.display_name = " · ".join(p for p in (member.member_no, member.name) if p)

    @api.depends("name", "company_id")
    def _compute_suggested_user_id(self):
        by_company = defaultdict(lambda: self.browse())
        for member in self:
            by_company[member.company_id] |= member
        Users = self.env["res.users"].sudo()
        for company, members in by_company.items():
            users = Users.search([("share", "=", False), ("company_ids", "in", company.ids)])
            found = suggest(
                {member.id: member.name for member in members},
                {user.id: user.name for user in users},
            )
            for member in members:
                member.suggested_user_id = found.get(member.id, False)

    def _compute_call_count(self):
        counts = defaultdict(int)
        if self.ids:
            groups = self.env["vbot.call"]._read_group(
                [
                    ("account_id", "in", self.account_id.ids),
                    ("agent_member_no", "in", self.mapped("member_no")),
                ],
                ["account_id", "agent_member_no"],
                ["__count"],
            )
            for account, member_no, count in groups:
                counts[(account.id, member_no)] = count
        for member in self:
            member.call_count = counts[(member.account_id.id, member.member_no)]

    @api.model_create_multi
    def create(self, vals_list):
        members = super().create(vals_list)
        members.filtered("user_id")._relink_calls()
        return members

    def write(self, vals):
        result = super().write(vals)
        if "user_id" in vals or "member_no" in vals:
            self._relink_calls()
        return result

    def unlink(self):
        mapped = self.filtered("user_id")
        if mapped:
            mapped.user_id = False  # their calls lose the agent with the mapping
        return super().unlink()

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_apply_suggestions(self):
        """Map each of these agents without a user to their suggested user."""
        require(self.env, MANAGER, self)
        for member in self.filtered(lambda m: not m.user_id and m.suggested_user_id):
            member.user_id = member.suggested_user_id
        return True

    def action_open_calls(self):
        require(self.env, MANAGER, self)
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("vbot_call_history.vbot_call_action")
        action["domain"] = [
            ("account_id", "=", self.account_id.id),
            ("agent_member_no", "=", self.member_no),
        ]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Business
    # ------------------------------------------------------------------
    def _relink_calls(self):
        """Set each agent's user on their calls: one UPDATE per agent, any number of calls."""
        cr = self.env.cr
        self.env["vbot.call"].flush_model(["user_id", "agent_member_no", "account_id"])
        changed = []
        for member in self:
            user_id = member.user_id.id or None
            cr.execute(
                """
                UPDATE vbot_call SET user_id = %s, write_date = now() AT TIME ZONE 'UTC'
                 WHERE account_id = %s AND agent_member_no = %s
                   AND user_id IS DISTINCT FROM %s
                RETURNING id
                """,
                [user_id, member.account_id.id, member.member_no, user_id],
            )
            changed += [row[0] for row in cr.fetchall()]
        if changed:
            self.env["vbot.call"].browse(changed).invalidate_recordset(["user_id", "write_date"])

    @api.model
    def _users_by_member_no(self, account_ids, member_nos):
        """{(account id, member_no): user id} of the mapped agents, one query."""
        if not account_ids or not member_nos:
            return {}
        members = (
            self.sudo()
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("account_id", "in", list(account_ids)),
                    ("member_no", "in", list(member_nos)),
                    ("user_id", "!=", False),
                ],
                ["account_id", "member_no", "user_id"],
            )
        )
        return {(m.account_id.id, m.member_no): m.user_id.id for m in members}
