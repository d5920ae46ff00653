from odoo import models

from .access import USER, require


class VbotNumberActions(models.AbstractModel):
    """Create a contact for the customer number of a record (a call, an unknown number), or
    give the number to an existing contact: both open the number dialog (vbot.number.assign).

    Inherited by models that have ``company_id``, ``customer_key`` and ``customer_name``.
    """

    _name = "vbot.number.actions"
    _description = "VBot: create or link a contact for a number"

    def action_create_contact(self):
        """A contact for this number, pre-filled; every call of the number moves to it."""
        require(self.env, USER, self)
        self.ensure_one()
        return self.env["vbot.number.assign"]._open(
            self.company_id, self.customer_key, "create", name=self.customer_name
        )

    def action_link_contact(self):
        """Give this number to an existing contact (the ambiguous candidates first)."""
        require(self.env, USER, self)
        self.ensure_one()
        return self.env["vbot.number.assign"]._open(self.company_id, self.customer_key, "link")
