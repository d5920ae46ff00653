from odoo import api, fields, models


class VbotCallPending(models.Model):
    """What a webhook said about a call that is not stored yet, or that is ringing.

    A recording event can arrive before its call log (VBot sends them apart, and a sender
    may reorder or drop them): its URL waits here and is applied when the call is stored,
    by a webhook or by the sync. A ringing call keeps here who was shown its card, so the
    call log of that call can take the card away.
    """

    _name = "vbot.call.pending"
    _description = "VBot webhook data waiting for its call"

    account_id = fields.Many2one("vbot.account", required=True, ondelete="cascade")
    external_id = fields.Char("VBot ID", required=True)
    record_urls = fields.Json("Recording URLs")
    ring_partner_ids = fields.Json("Shown to", help="Partners (of users) shown the card.")
    ring_date = fields.Datetime("Rang at")

    _sql_constraints = [
        (
            "external_id_account_uniq",
            "unique(account_id, external_id)",
            "One pending row per call.",
        ),
    ]

    @api.autovacuum
    def _gc_pending(self):
        """Rings older than a day and recordings of calls that never came (a week)."""
        now = fields.Datetime.now()
        old_rings = self.search(
            [("ring_date", "<", fields.Datetime.subtract(now, days=1)), ("record_urls", "=", False)]
        )
        old = self.search([("create_date", "<", fields.Datetime.subtract(now, days=7))])
        (old_rings | old).unlink()

    # ------------------------------------------------------------------
    # Used by vbot.call (as superuser): recordings waiting for their call, rings
    # ------------------------------------------------------------------
    @api.model
    def _find(self, account, external_id):
        return self.search(
            [("account_id", "=", account.id), ("external_id", "=", external_id)], limit=1
        )

    @api.model
    def _keep_recording(self, account, external_id, urls):
        pending = self._find(account, external_id)
        if pending:
            known = pending.record_urls or []
            pending.record_urls = known + [url for url in urls if url not in known]
        else:
            self.create({"account_id": account.id, "external_id": external_id, "record_urls": urls})

    @api.model
    def _keep_ring(self, account, external_id, partners):
        values = {"ring_partner_ids": partners.ids, "ring_date": fields.Datetime.now()}
        pending = self._find(account, external_id)
        if pending:
            pending.write(values)
        else:
            self.create(dict(values, account_id=account.id, external_id=external_id))

    @api.model
    def _pop_ring(self, account, external_id):
        """The partners shown the ringing card of this call (forgotten from now on)."""
        pending = self._find(account, external_id)
        if not pending.ring_partner_ids:
            return self.env["res.partner"]
        partners = self.env["res.partner"].browse(pending.ring_partner_ids).exists()
        if pending.record_urls:
            pending.write({"ring_partner_ids": False, "ring_date": False})
        else:
            pending.unlink()
        return partners

    @api.model
    def _apply_recordings(self, account, calls):
        """Give ``calls`` the recordings webhooks delivered before them (one query)."""
        if not calls:
            return
        by_external = {call.external_id: call for call in calls}
        self.flush_model()
        self.env.cr.execute(
            """
            SELECT id, external_id, record_urls FROM vbot_call_pending
             WHERE account_id = %s AND external_id = ANY(%s) AND record_urls IS NOT NULL
            """,
            [account.id, list(by_external)],
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return
        for _id, external_id, urls in rows:
            by_external[external_id]._vbot_add_recording(urls or [])
        pending = self.browse([row[0] for row in rows])
        rings = pending.filtered("ring_partner_ids")
        rings.record_urls = False
        (pending - rings).unlink()
