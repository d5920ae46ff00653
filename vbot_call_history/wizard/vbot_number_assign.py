from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.access import USER, require
from ..services.phone import is_mobile, match_key, national_format


class VbotNumberAssign(models.TransientModel):
    """Give an unknown number to a contact: a new one (pre-filled) or an existing one.

    Either way every call of the number, in the company, moves to that contact at once.
    """

    _name = "vbot.number.assign"
    _description = "Give a number to a contact"

    mode = fields.Selection(
        [("create", "Create a contact"), ("link", "Link to a contact")],
        required=True,
        default="create",
    )
    company_id = fields.Many2one(
        "res.company", "Company of the calls", required=True, readonly=True
    )
    customer_key = fields.Char("Number key", required=True, readonly=True)
    number = fields.Char(readonly=True)
    call_count = fields.Integer("Calls", compute="_compute_calls")
    move_message = fields.Char("Calls that move", compute="_compute_calls")
    candidate_partner_ids = fields.Many2many(
        "res.partner",
        compute="_compute_calls",
        string="Contacts with this number",
    )
    # Create
    name = fields.Char()
    email = fields.Char()
    parent_id = fields.Many2one("res.partner", "Company", domain=[("is_company", "=", True)])
    user_id = fields.Many2one(
        "res.users",
        "Salesperson",
        default=lambda self: self.env.user,
        domain=[("share", "=", False)],
    )
    # Link
    partner_id = fields.Many2one("res.partner", "Contact")
    save_number = fields.Boolean(
        "Save the number on the contact",
        compute="_compute_save_number",
        readonly=False,
        store=True,
        help="Also write the number in the contact's phone or mobile.",
    )
    partner_has_number = fields.Boolean(compute="_compute_partner_has_number")

    @api.depends("customer_key", "company_id")
    def _compute_calls(self):
        Call = self.env["vbot.call"]
        for wizard in self:
            if not wizard.customer_key or not wizard.company_id:
                wizard.call_count = 0
                wizard.candidate_partner_ids = False
                wizard.move_message = False
                continue
            wizard.call_count = Call.search_count(wizard._calls_domain())
            wizard.candidate_partner_ids = [(6, 0, wizard._holders().ids)]
            wizard.move_message = self.env._(
                "%(count)s calls with %(number)s will move to this contact.",
                count=wizard.call_count,
                number=wizard.number or national_format(wizard.customer_key),
            )

    @api.depends("partner_id", "customer_key")
    def _compute_partner_has_number(self):
        for wizard in self:
            wizard.partner_has_number = wizard.customer_key in wizard.partner_id._vbot_keys()

    @api.depends("partner_id", "customer_key")
    def _compute_save_number(self):
        for wizard in self:
            partner = wizard.partner_id
            wizard.save_number = (
                bool(partner)
                and wizard.customer_key not in partner._vbot_keys()
                and not (partner.phone and partner.mobile)
            )

    def _calls_domain(self):
        return [("company_id", "=", self.company_id.id), ("customer_key", "=", self.customer_key)]

    def _holders(self, exclude=None):
        """Active contacts of the company (or shared) that hold this number."""
        partners = self.env["res.partner"]._vbot_partners_by_key({self.customer_key})
        holders = [
            p
            for p in partners.get(self.customer_key, [])
            if (not p.company_id or p.company_id == self.company_id) and p != exclude
        ]
        return self.env["res.partner"].browse([p.id for p in holders])

    # ------------------------------------------------------------------
    # Opening
    # ------------------------------------------------------------------
    @api.model
    def _open(self, company, key, mode, name=False):
        """The dialog for ``key`` in ``company``; callers check access first."""
        if not key:
            raise UserError(self.env._("This call has no phone number to give to a contact."))
        number = national_format(key)
        title = (
            self.env._("Create a contact for %(number)s", number=number)
            if mode == "create"
            else self.env._("Link %(number)s to a contact", number=number)
        )
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_mode": mode,
                "default_company_id": company.id,
                "default_customer_key": key,
                "default_number": number,
                "default_name": name or False,
            },
        }

    @api.model
    def _open_for_number(self, number, mode="create", name=False, company=None):
        key = match_key(number)
        if not key:
            raise UserError(self.env._("%(number)s is not a phone number.", number=number or ""))
        return self._open(company or self.env.company, key, mode, name=name)

    # ------------------------------------------------------------------
    # Confirming
    # ------------------------------------------------------------------
    def action_confirm(self):
        """Create or pick the contact, give it the number, and open it."""
        require(self.env, USER, self)
        self.ensure_one()
        if self.customer_key != match_key(self.customer_key):
            raise UserError(self.env._("This is not a phone number key."))
        field = "mobile" if is_mobile(self.customer_key) else "phone"
        if self.mode == "create":
            if not (self.name or "").strip():
                raise UserError(self.env._("Give the contact a name."))
            others = self._holders()
            # As the user: creating contacts needs their own right to.
            partner = self.env["res.partner"].create(
                {
                    "name": self.name.strip(),
                    field: self.number,
                    "email": self.email or False,
                    "parent_id": self.parent_id.id or False,
                    "user_id": self.user_id.id or False,
                }
            )
            if others:
                # Others hold the number too: this contact is the one the user chose.
                self.env["vbot.number.link"]._link(self.company_id, self.customer_key, partner)
        else:
            partner = self.partner_id
            if not partner:
                raise UserError(self.env._("Choose the contact."))
            partner.check_access("read")
            if partner.company_id and partner.company_id != self.company_id:
                raise UserError(
                    self.env._(
                        "%(contact)s belongs to another company than these calls.",
                        contact=partner.display_name,
                    )
                )
            if self.save_number and self.customer_key not in partner._vbot_keys():
                free = next((f for f in (field, "phone", "mobile") if not partner[f]), field)
                partner.write({free: self.number})
            self.env["vbot.number.link"]._link(self.company_id, self.customer_key, partner)
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
