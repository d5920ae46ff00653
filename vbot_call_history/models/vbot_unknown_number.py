from odoo import api, fields, models, tools

from .access import USER, require


class VbotUnknownNumber(models.Model):
    """One line per number whose calls are on no contact (unmatched or ambiguous).

    A read-only SQL view over ``vbot_call``, per company and number key.
    """

    _name = "vbot.unknown.number"
    _inherit = ["vbot.number.actions"]
    _description = "Unknown number"
    _auto = False
    _order = "last_call_date desc, id desc"
    _rec_name = "number"

    company_id = fields.Many2one("res.company", readonly=True)
    customer_key = fields.Char("Number key", readonly=True)
    number = fields.Char(readonly=True)
    customer_name = fields.Char("Name sent by VBot", readonly=True)
    call_count = fields.Integer("Calls", readonly=True)
    missed_count = fields.Integer("Missed", readonly=True)
    last_call_date = fields.Datetime("Last call", readonly=True)
    last_call_id = fields.Many2one("vbot.call", "Last call record", readonly=True)
    last_call_type = fields.Selection(related="last_call_id.call_type", string="Last type")
    last_disposition = fields.Selection(related="last_call_id.disposition", string="Last outcome")
    match_state = fields.Selection(
        [("unmatched", "No contact"), ("ambiguous", "Several contacts")],
        "Why",
        readonly=True,
    )
    candidate_partner_ids = fields.Many2many(
        related="last_call_id.candidate_partner_ids", string="Contacts with this number"
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE VIEW {self._table} AS (
                SELECT g.id, g.company_id, g.customer_key, c.customer_display AS number,
                       g.customer_name, g.call_count, g.missed_count, g.last_call_date,
                       g.last_call_id, g.match_state
                  FROM (
                        SELECT min(id) AS id,
                               company_id,
                               customer_key,
                               count(*) AS call_count,
                               count(*) FILTER (WHERE call_type = 'missed') AS missed_count,
                               max(call_date) AS last_call_date,
                               (array_agg(id ORDER BY call_date DESC, id DESC))[1]
                                   AS last_call_id,
                               (array_agg(customer_name ORDER BY call_date DESC, id DESC)
                                   FILTER (WHERE customer_name <> ''))[1] AS customer_name,
                               CASE WHEN bool_or(match_state = 'ambiguous')
                                    THEN 'ambiguous' ELSE 'unmatched' END AS match_state
                          FROM vbot_call
                         WHERE match_state IN ('unmatched', 'ambiguous')
                           AND customer_key IS NOT NULL
                         GROUP BY company_id, customer_key
                       ) AS g
                  JOIN vbot_call AS c ON c.id = g.last_call_id
            )
            """
        )

    # ------------------------------------------------------------------
    # Actions (creating or linking a contact: vbot.number.actions)
    # ------------------------------------------------------------------
    def action_open_calls(self):
        require(self.env, USER, self)
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("vbot_call_history.vbot_call_action")
        action["domain"] = [
            ("company_id", "=", self.company_id.id),
            ("customer_key", "=", self.customer_key),
        ]
        action["display_name"] = self.env._("Calls of %(number)s", number=self.number)
        action["context"] = {}
        return action

    @api.model
    def action_open_create_contact(self, number, name=False):
        """Create a contact for ``number`` (any format): the entry point of screens that
        show a caller (e.g. an incoming-call card). Returns the dialog's action."""
        require(self.env, USER)
        return self.env["vbot.number.assign"]._open_for_number(number, "create", name=name)
