"""Screens at scale (issue 10), before the update: each call's commercial entity.

``vbot.call.commercial_partner_id`` (the company of the call's contact, or the contact
without a company) is a stored related field: left to the update, the ORM would compute it
call by call. One UPDATE fills it from the contacts instead, before the ORM sees the column.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'vbot_call' AND column_name = 'commercial_partner_id'"
    )
    if cr.fetchone():
        return
    cr.execute("ALTER TABLE vbot_call ADD COLUMN commercial_partner_id int4")
    cr.execute(
        """
        UPDATE vbot_call AS c
           SET commercial_partner_id = p.commercial_partner_id
          FROM res_partner AS p
         WHERE p.id = c.partner_id AND p.commercial_partner_id IS NOT NULL
        """
    )
