"""Fewer indexes on vbot_call (issue 10): each costs every insert of a backfill.

company_id and partner_id are read through the composite indexes that lead with them
(vbot_call_company_date_type_idx, vbot_call_partner_date_idx); call_type, disposition,
match_state and has_recording hold too few values for an index to pay. Odoo keeps the
index of a field that is no longer indexed: they are dropped here.
"""

from psycopg2 import sql

DROPPED = ("company_id", "call_type", "disposition", "partner_id", "match_state", "has_recording")


def migrate(cr, version):
    if not version:
        return
    for field in DROPPED:
        cr.execute(
            sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(f"vbot_call__{field}_index"))
        )
