import logging

import psycopg2
from odoo import api, fields, models

from ..services.mapping import clean_text, raw_payload
from ..services.windows import retry_delay
from .vbot_sync_log import render

_logger = logging.getLogger(__name__)

_PAYLOAD_SHOWN = 64 * 1024


class VbotUnreadableCall(models.Model):
    """A call VBot sent that could not be read or stored, remembered by its VBot id.

    Nothing VBot counts is lost silently: the sync remembers each unreadable call here (by
    VBot id, or a hash of the payload when it has none), counts it when it compares VBot's
    counts with what is stored, and fetches its period again at the next run, then after 5,
    10, 20 … minutes (at most daily): when VBot sends it readably, it is stored and this entry
    goes; when VBot no longer lists it, this entry goes too.
    """

    _name = "vbot.unreadable.call"
    _description = "VBot call that could not be read"
    _order = "last_seen desc, id desc"
    _rec_name = "external_id"

    account_id = fields.Many2one(
        "vbot.account", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    external_id = fields.Char("VBot ID", required=True, readonly=True)
    call_date = fields.Datetime("Date", readonly=True, help="When the date VBot sent is readable.")
    date_from = fields.Datetime(
        "Listed from",
        readonly=True,
        help="VBot lists this call in the period from here to 'Listed to'.",
    )
    date_to = fields.Datetime("Listed to", readonly=True)
    field = fields.Char(readonly=True, help="The part of the call that cannot be read.")
    error_code = fields.Char("Reason code", readonly=True)
    error_params = fields.Json("Reason details", readonly=True)
    reason = fields.Char(compute="_compute_reason")
    payload = fields.Text(
        "As sent by VBot", groups="base.group_system", readonly=True, prefetch=False
    )
    first_seen = fields.Datetime("First seen", readonly=True)
    last_seen = fields.Datetime("Last seen", readonly=True)
    attempts = fields.Integer("Retries", readonly=True)
    next_retry = fields.Datetime("Next retry", readonly=True, index=True)
    retry_wide = fields.Boolean(
        "Retry the whole period",
        readonly=True,
        help="Not found around its date: the next retry fetches its whole period.",
    )

    _sql_constraints = [
        (
            "external_id_account_uniq",
            "unique(account_id, external_id)",
            "An unreadable call is remembered once per account.",
        ),
    ]

    @api.depends_context("lang")
    @api.depends("error_code", "error_params", "field")
    def _compute_reason(self):
        for call in self:
            params = dict(call.error_params or {}, field=call.field or "")
            params.setdefault("value", "")
            call.reason = render(call.env, {"code": call.error_code, "p": params})

    @api.model
    def _remember(self, account, key, error, group, *, call_date=None, bounds=None, now=None):
        """Record (or refresh) the unreadable call ``key`` of ``account``; returns the entry.

        ``bounds`` is the period the call was listed in; a readable ``call_date`` pins it.
        Seen again, an entry keeps its retry schedule and narrows its period.
        """
        now = now or fields.Datetime.now()
        existing = self.search(
            [("account_id", "=", account.id), ("external_id", "=", key)], limit=1
        )
        if bounds and bounds[0] and existing.date_from and existing.date_to:
            start, end = max(bounds[0], existing.date_from), min(bounds[1], existing.date_to)
            span = (start, end) if start <= end else bounds
        else:
            span = bounds if bounds and bounds[0] else (existing.date_from, existing.date_to)
        vals = {
            "field": error.field,
            "error_code": error.code,
            "error_params": {
                k: clean_text(v, 500) if isinstance(v, str) else v
                for k, v in error.params.items()
                if isinstance(v, str | int)
            },
            "date_from": span[0] or False,
            "date_to": span[1] or False,
            "call_date": call_date or False,
            "last_seen": now,
        }
        if existing:
            existing.write(vals)
            return existing
        try:
            payload = raw_payload(group, _PAYLOAD_SHOWN)
        except ValueError:
            payload = False
        vals.update(
            account_id=account.id,
            external_id=key,
            payload=payload,
            first_seen=now,
            attempts=0,
            next_retry=now + retry_delay(0),
        )
        try:
            with self.env.cr.savepoint():
                return self.create(vals)
        except psycopg2.IntegrityError:
            # Remembered meanwhile by a concurrent transaction (a webhook and a sync).
            _logger.info("Unreadable VBot call %s already remembered", key)
            return self.browse()

    @api.model
    def _within(self, start, end):
        """Domain of the entries VBot lists within ``[start, end]``: by their readable date,
        else by the period they were listed in."""
        return [
            "|",
            "&",
            ("call_date", ">=", start),
            ("call_date", "<=", end),
            "&",
            "&",
            ("call_date", "=", False),
            ("date_from", ">=", start),
            ("date_to", "<=", end),
        ]

    def _retry_span(self, margin):
        """Where to look for this call again: around its date, else its whole period."""
        self.ensure_one()
        if self.call_date and not self._retry_is_wide():
            start, end = self.call_date - margin, self.call_date + margin
            if self.date_from and self.date_to:
                start, end = max(start, self.date_from), min(end, self.date_to)
            if start <= end:
                return start, end
        if self.date_from and self.date_to:
            return self.date_from, self.date_to
        return self.call_date - margin, self.call_date + margin

    def _retry_is_wide(self):
        """True when a retry fetches the whole period the call was listed in."""
        self.ensure_one()
        return self.retry_wide or not self.call_date or not (self.date_from and self.date_to)

    def _retried(self, now):
        """These entries were fetched again and are still unreadable: retry later."""
        for call in self:
            attempts = call.attempts + 1
            call.write(
                {
                    "attempts": attempts,
                    "next_retry": now + retry_delay(attempts),
                    "retry_wide": False,
                }
            )
