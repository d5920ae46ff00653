"""Sync engine (issue 7), after the update: state version 1 did not have.

* Logs a version 1 process left "running" are interrupted (no run survives an update).
* A contact's fetch was a log with numbers: it says so (kind, started by).
* Each synced account gets the start of its synced history: where its first sync started
  (the oldest sync log kept), else its watermark minus ``initial_days``. The totals that
  compare VBot with Odoo cover that history.
* Version 1's count-based memory of unreadable calls (``recheck_gap``) is dropped: version 2
  remembers them by VBot id as it meets them again.

Calls, contacts, the watermark and the credentials are untouched.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE vbot_sync_log
           SET state = 'interrupted', date_end = COALESCE(date_end, now() AT TIME ZONE 'UTC')
         WHERE state = 'running'
        """
    )
    cr.execute(
        """
        UPDATE vbot_sync_log
           SET run_type = 'numbers', origin = 'contact'
         WHERE phone_filter IS NOT NULL AND phone_filter != ''
        """
    )
    cr.execute(
        """
        UPDATE vbot_account AS a
           SET sync_history_start = COALESCE(
                   (SELECT min(l.window_start)
                      FROM vbot_sync_log l
                     WHERE l.account_id = a.id
                       AND (l.phone_filter IS NULL OR l.phone_filter = '')
                       AND l.window_start IS NOT NULL),
                   a.sync_watermark - make_interval(days => COALESCE(a.initial_days, 30))
               )
         WHERE a.sync_watermark IS NOT NULL AND a.sync_history_start IS NULL
        """
    )
    cr.execute("ALTER TABLE vbot_account DROP COLUMN IF EXISTS recheck_gap")
