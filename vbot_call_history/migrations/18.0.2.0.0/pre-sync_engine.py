"""Sync engine (issue 7), before the update: keep version 1's log sentences.

Version 1 stored each log's message and error as English sentences; version 2 stores codes
and parameters (``events``) and renders them in the reader's language. The old sentences
move to ``legacy_message`` / ``legacy_error`` so that old logs still read as they did.
"""

from odoo.tools import SQL


def _column_exists(cr, table, column):
    cr.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
        [table, column],
    )
    return bool(cr.fetchone())


def migrate(cr, version):
    if not version:
        return
    for old, new in (("message", "legacy_message"), ("error", "legacy_error")):
        if _column_exists(cr, "vbot_sync_log", old) and not _column_exists(
            cr, "vbot_sync_log", new
        ):
            cr.execute(
                SQL(
                    "ALTER TABLE vbot_sync_log RENAME COLUMN %s TO %s",
                    SQL.identifier(old),
                    SQL.identifier(new),
                )
            )
