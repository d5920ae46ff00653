"""Webhooks: calls remember how they arrived; accounts get their own webhook id.

Done before the ORM adds the columns, so that it finds them filled:

- ``vbot_call.origin``: every existing call came through the sync. Adding the column with a
  constant default is a catalogue change in PostgreSQL 11+, instant even at millions of
  rows (the ORM would rewrite every row to fill a required field).
- ``vbot_account.webhook_uuid``: one uuid4 per account (a default computed once by the ORM
  would give every existing account the same one).
"""

import uuid


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE vbot_call ADD COLUMN IF NOT EXISTS origin varchar DEFAULT 'sync'")
    cr.execute("ALTER TABLE vbot_call ALTER COLUMN origin DROP DEFAULT")
    cr.execute("ALTER TABLE vbot_account ADD COLUMN IF NOT EXISTS webhook_uuid varchar")
    cr.execute("SELECT id FROM vbot_account WHERE webhook_uuid IS NULL")
    for (account_id,) in cr.fetchall():
        cr.execute(
            "UPDATE vbot_account SET webhook_uuid = %s WHERE id = %s",
            [str(uuid.uuid4()), account_id],
        )
