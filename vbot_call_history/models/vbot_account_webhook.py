"""The webhook side of a VBot account: its endpoint, its secret and what it received.

Kept apart from ``vbot_account.py`` (configuration and the sync engine): a webhook never runs
the sync; it stores one event through ``vbot.call``'s store path and is done.
"""

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import timedelta

from odoo import api, fields, models

from ..services.webhook import CALL, IGNORED, RECORDING, RINGING

_logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/vbot_call_history/webhook/"


def _new_uuid():
    return str(uuid.uuid4())


def _digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class VbotAccount(models.Model):
    _inherit = "vbot.account"

    webhook_active = fields.Boolean(
        "Receive webhooks",
        help="VBot posts each call to this account's webhook URL as it ends, and announces "
        "incoming calls while they ring. The scheduled sync still verifies every call.",
    )
    webhook_uuid = fields.Char(
        "Webhook id",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: _new_uuid(),
        groups="vbot_call_history.group_vbot_manager",
    )
    webhook_url = fields.Char(
        "Webhook URL",
        compute="_compute_webhook_url",
        groups="vbot_call_history.group_vbot_manager",
        help="Paste it as the URL of VBot's webhook page.",
    )
    # Only a SHA-256 digest of the secret is kept: it is shown once, when generated.
    webhook_secret_hash = fields.Char(
        "Webhook secret (digest)", readonly=True, copy=False, groups="base.group_system"
    )
    webhook_has_secret = fields.Boolean(
        "Auth header set",
        compute="_compute_webhook_has_secret",
        groups="vbot_call_history.group_vbot_manager",
    )
    webhook_since = fields.Datetime(
        "Webhooks since",
        readonly=True,
        copy=False,
        help="When webhooks were turned on: calls dated after it that only the sync "
        "brought are counted in the sync log.",
    )
    webhook_sync_minutes = fields.Integer(
        "Sync interval with webhooks (minutes)",
        default=60,
        help="With webhooks on, the scheduled sync verifies this account every so many "
        "minutes instead of at every run.",
    )
    webhook_log_ids = fields.One2many(
        "vbot.webhook.log", "account_id", "Webhook log", readonly=True
    )
    webhook_last_date = fields.Datetime("Last webhook", compute="_compute_webhook_stats")
    webhook_accepted_count = fields.Integer("Accepted", compute="_compute_webhook_stats")
    webhook_rejected_count = fields.Integer("Refused", compute="_compute_webhook_stats")
    webhook_last_rejection_date = fields.Datetime("Last refusal", compute="_compute_webhook_stats")
    webhook_last_rejection = fields.Char("Why it was refused", compute="_compute_webhook_stats")

    _sql_constraints = [
        ("webhook_uuid_uniq", "unique(webhook_uuid)", "A webhook id belongs to one account."),
        (
            "webhook_sync_minutes_positive",
            "check(webhook_sync_minutes > 0)",
            "The sync interval must be at least one minute.",
        ),
    ]

    def _compute_webhook_url(self):
        for account in self:
            base = account.get_base_url().rstrip("/")
            account.webhook_url = f"{base}{WEBHOOK_PATH}{account.webhook_uuid}"

    def _compute_webhook_has_secret(self):
        for account in self:
            account.webhook_has_secret = bool(account.sudo().webhook_secret_hash)

    def _compute_webhook_stats(self):
        Log = self.env["vbot.webhook.log"].sudo()
        groups = Log._read_group(
            [("account_id", "in", self.ids)],
            ["account_id", "state"],
            ["__count", "date:max"],
        )
        stats = {}
        for account, state, count, last in groups:
            entry = stats.setdefault(account.id, {"accepted": 0, "rejected": 0, "last": False})
            entry["rejected" if state == "rejected" else "accepted"] += count
            entry["last"] = max(entry["last"] or last, last)
        for account in self:
            entry = stats.get(account.id, {"accepted": 0, "rejected": 0, "last": False})
            rejection = Log.search(
                [("account_id", "=", account.id), ("state", "=", "rejected")], limit=1
            )
            account.webhook_last_date = entry["last"]
            account.webhook_accepted_count = entry["accepted"]
            account.webhook_rejected_count = entry["rejected"]
            account.webhook_last_rejection_date = rejection.date
            account.webhook_last_rejection = rejection.reason

    @api.model_create_multi
    def create(self, vals_list):
        now = fields.Datetime.now()
        for vals in vals_list:
            if vals.get("webhook_active") and not vals.get("webhook_since"):
                vals["webhook_since"] = now
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("webhook_active"):
            turned_on = self.filtered(lambda account: not account.webhook_active)
            result = super().write(vals)
            turned_on.webhook_since = fields.Datetime.now()
            return result
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_webhook_generate_secret(self):
        """Make a new auth header value, keep its digest, and show it once."""
        account = self._check_vbot_caller()
        account.ensure_one()
        secret = secrets.token_urlsafe(32)
        account._webhook_set_secret(secret)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Webhook auth header"),
            "res_model": "vbot.webhook.secret",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_account_id": account.id,
                "default_url": account.webhook_url,
                "default_secret": secret,
            },
        }

    def action_webhook_regenerate_url(self):
        """Give the account a new webhook URL; the old one answers 404 from now on."""
        for account in self._check_vbot_caller():
            account.webhook_uuid = _new_uuid()
        return True

    def vbot_incoming_card(self, number=""):
        """The incoming-call card's data about ``number`` ringing on this account.

        For VBot users working in the account's company; read with their own rights, so
        the card never shows what they could not open themselves.
        """
        account = self._check_vbot_caller("vbot_call_history.group_vbot_user")
        account.ensure_one()
        return self.env["vbot.call"]._incoming_card(account.company_id, number)

    # ------------------------------------------------------------------
    # Receiving (the controller calls these on the account of the URL, as superuser)
    # ------------------------------------------------------------------
    def _webhook_set_secret(self, secret):
        self.ensure_one()
        self.webhook_secret_hash = _digest(secret)

    def _webhook_check_secret(self, value):
        """Whether ``value`` is this account's secret (constant-time comparison)."""
        self.ensure_one()
        stored = self.sudo().webhook_secret_hash
        if not stored or not value:
            return False
        return hmac.compare_digest(_digest(value), stored)

    def _webhook_receive(self, event):
        """Act on one parsed event; returns ``(log state, result)``.

        A call is stored through ``vbot.call``'s one store path (never a second copy of a
        call the sync or an earlier webhook stored); a recording updates its call or waits
        for it; a ringing call is announced on the bus.
        """
        self.ensure_one()
        Call = self.env["vbot.call"]
        if event.kind == CALL:
            result = Call._webhook_store_call(self, event.call)
            Call._webhook_ring_end(self, event.external_id)
            return "accepted", result
        if event.kind == RECORDING:
            return "accepted", Call._webhook_store_recording(
                self, event.external_id, list(event.record_urls)
            )
        if event.kind == RINGING:
            return "accepted", Call._webhook_ring(self, event)
        if event.kind == IGNORED:
            return "ignored", "ignored"
        raise ValueError(event.kind)

    def _webhook_log(self, state, status, event="", external_id="", reason=""):
        self.ensure_one()
        self.env["vbot.webhook.log"].sudo().create(
            {
                "account_id": self.id,
                "state": state,
                "status": status,
                "event": event[:64],
                "external_id": external_id[:128],
                "reason": reason[:200],
            }
        )

    # ------------------------------------------------------------------
    # The scheduled sync with webhooks on
    # ------------------------------------------------------------------
    def _sync_due(self, now=None):
        """Whether the scheduled action syncs this account now.

        Without webhooks, at every run; with them, every ``webhook_sync_minutes`` (or at
        once while a backfill is under way).
        """
        self.ensure_one()
        if not self.webhook_active or self._has_backlog() or not self.last_sync_date:
            return True
        now = now or fields.Datetime.now()
        return self.last_sync_date <= now - timedelta(minutes=self.webhook_sync_minutes)
