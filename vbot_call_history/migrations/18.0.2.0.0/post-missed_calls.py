"""Missed calls: what counts as missed changed, and missed calls are followed up.

Incoming calls nobody answered (no answer, busy, cancelled, rejected...) were typed
"Incoming" and escaped the Missed filter: they become "missed", by the rule of
``services.mapping.classify`` (the same sets of outcomes, in SQL). ``is_answered`` is
filled for every call. Missed calls already answered later get "Called back"; the recent
others (within each account's follow-up age) are "To call back" and their contacts get a
Call back activity; older ones are history ("Too old to follow up"). Set-based SQL.

Runs after post-agents and post-call_numbers (Odoo runs them in name order): the
activities name the calls' agents and numbers.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.addons.vbot_call_history.services.mapping import (
    ANSWERED_DISPOSITIONS,
    BOT_DISPOSITIONS,
    DISPOSITIONS,
)

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    known = [key for key, _en, _vi in DISPOSITIONS]
    cr.execute(
        """
        UPDATE vbot_call
           SET is_answered = call_type <> 'missed'
                AND (disposition = ANY(%s)
                     OR (NOT COALESCE(disposition, 'other') = ANY(%s) AND talk_duration > 0))
        """,
        [sorted(ANSWERED_DISPOSITIONS), known],
    )
    cr.execute(
        """
        UPDATE vbot_call SET call_type = 'missed'
         WHERE call_type = 'incoming' AND NOT is_answered
           AND NOT COALESCE(disposition, '') = ANY(%s)
        """,
        [sorted(BOT_DISPOSITIONS)],
    )
    _logger.info("VBot: %s unanswered incoming calls are now missed calls", cr.rowcount)
    cr.execute(
        """
        UPDATE vbot_call AS c
           SET callback_state = CASE
                   WHEN c.call_date >= (now() AT TIME ZONE 'UTC')
                        - make_interval(hours => COALESCE(a.callback_max_age_hours, 24))
                   THEN 'pending' ELSE 'stale' END
          FROM vbot_account AS a
         WHERE a.id = c.account_id AND c.call_type = 'missed'
           AND c.customer_key IS NOT NULL AND c.callback_state IS NULL
        """
    )
    cr.execute(
        """
        UPDATE vbot_call AS m
           SET callback_state = 'done', called_back_call_id = x.answer_id
          FROM (
                SELECT t.id, (
                        SELECT f.id FROM (
                            (SELECT a.id, a.call_date FROM vbot_call AS a
                              WHERE a.is_answered AND a.customer_key = t.customer_key
                                AND a.call_date > t.call_date
                                AND a.company_id + 0 = t.company_id
                              ORDER BY a.call_date, a.id LIMIT 1)
                            UNION ALL
                            (SELECT a.id, a.call_date FROM vbot_call AS a
                              WHERE a.is_answered AND a.partner_id = t.partner_id
                                AND a.call_date > t.call_date
                                AND a.company_id + 0 = t.company_id
                              ORDER BY a.call_date, a.id LIMIT 1)
                        ) AS f
                        ORDER BY f.call_date, f.id LIMIT 1
                       ) AS answer_id
                  FROM vbot_call AS t
                 WHERE t.callback_state IN ('pending', 'stale')
               ) AS x
         WHERE m.id = x.id AND x.answer_id IS NOT NULL
        """
    )
    cr.execute(
        "SELECT DISTINCT partner_id FROM vbot_call"
        " WHERE callback_state = 'pending' AND partner_id IS NOT NULL"
    )
    partner_ids = [row[0] for row in cr.fetchall()]
    if partner_ids:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["vbot.call"]._reconcile_callback_activities(partner_ids)
    _logger.info("VBot: %s contacts have recent missed calls to call back", len(partner_ids))
