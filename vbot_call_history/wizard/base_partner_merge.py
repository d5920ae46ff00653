from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        # The merge moves every reference to the merged contacts by SQL: the calls' contact
        # becomes the surviving one, whose commercial entity their stored one must follow.
        result = super()._update_foreign_keys(src_partners, dst_partner)
        self.env["vbot.call"]._fix_commercial_partners(dst_partner.ids)
        return result
