from odoo import api, fields, models

from ..services.phone import national_format


class VbotNumberLink(models.Model):
    """A number a user gave to one contact: its calls go there, whoever else has it."""

    _name = "vbot.number.link"
    _description = "VBot number chosen for a contact"
    _order = "create_date desc, id desc"
    _rec_name = "number"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    customer_key = fields.Char("Number key", required=True, index=True, readonly=True)
    number = fields.Char(readonly=True)
    partner_id = fields.Many2one(
        "res.partner", "Contact", required=True, index=True, ondelete="cascade", readonly=True
    )

    _sql_constraints = [
        (
            "company_key_uniq",
            "unique(company_id, customer_key)",
            "A number is given to one contact per company.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        links = super().create(vals_list)
        links._rematch()
        return links

    def write(self, vals):
        before = [(link.company_id, link.customer_key) for link in self]
        result = super().write(vals)
        self._rematch(before)
        return result

    def unlink(self):
        before = [(link.company_id, link.customer_key) for link in self]
        result = super().unlink()
        self.browse()._rematch(before)
        return result

    def _rematch(self, pairs=()):
        """Match again the calls of these numbers (and of ``pairs``) in their companies."""
        by_company = {}
        for company, key in [*pairs, *((link.company_id, link.customer_key) for link in self)]:
            by_company.setdefault(company.id, set()).add(key)
        Call = self.env["vbot.call"]
        for company_id, keys in by_company.items():
            Call._rematch_keys(keys, [("company_id", "=", company_id)])

    @api.model
    def _partners_by_key(self, keys):
        """{(company id, key): contact} of the links of ``keys`` to active contacts, one query."""
        if not keys:
            return {}
        links = self.sudo().search([("customer_key", "in", list(keys))])
        return {
            (link.company_id.id, link.customer_key): link.partner_id
            for link in links
            if link.partner_id.active
            and (not link.partner_id.company_id or link.partner_id.company_id == link.company_id)
        }

    @api.model
    def _link(self, company, key, partner):
        """Give ``key`` to ``partner`` in ``company`` (replacing an earlier choice)."""
        link = self.sudo().search(
            [("company_id", "=", company.id), ("customer_key", "=", key)], limit=1
        )
        if link:
            if link.partner_id != partner:
                link.partner_id = partner
            return link
        return self.sudo().create(
            {
                "company_id": company.id,
                "customer_key": key,
                "number": national_format(key),
                "partner_id": partner.id,
            }
        )
