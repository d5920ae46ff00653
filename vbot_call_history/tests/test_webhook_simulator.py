"""The simulator posts webhooks to the test server as VBot would: dropped, duplicated,
shuffled. With one sync after them, the database holds exactly VBot's calls."""

import time
from datetime import datetime, timezone

from odoo.tests import HttpCase, tagged

from ..services.phone import match_key
from .common import WEBHOOK_SECRET, account_values, allow_hosts, enable_webhooks, start_simulator


@tagged("post_install", "-at_install")
class TestWebhooksFromTheSimulator(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The history ends two hours ago; the calls of the webhook era come after it.
        cls.anchor = int(time.time()) - 2 * 3600
        cls.sim = start_simulator(calls=60, seed=23, days=1, now=cls.anchor)
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        cls.account = cls.env["vbot.account"].create(account_values(cls.sim, initial_days=2))
        cls.path = enable_webhooks(cls.account)
        cls.account.webhook_since = _utc(cls.anchor + 60)
        # The customers as a sales team typed them (every format a CRM holds).
        cls.partners = cls.env["res.partner"].create(
            [{"name": c["name"], "mobile": c["phone"]} for c in cls.sim.state.customers]
        )

    def test_dropped_duplicated_shuffled_webhooks_then_one_sync(self):
        webhooks = self.sim.state.webhooks
        webhooks.configure(
            url=f"{self.base_url()}{self.path}",
            auth=WEBHOOK_SECRET,
            drop_rate=0.2,
            duplicate_rate=0.2,
            shuffle=8,
            seed=5,
        )
        self.env.flush_all()  # the server's requests read the account from the database
        new = []
        for batch in range(8):
            epoch = self.anchor + 600 + batch * 300
            new += self.sim.state.add_calls(5, at_epoch=epoch, p2p=batch % 2)
        self.assertTrue(webhooks.flush(timeout=240), "the simulator delivered every event")
        self.env.invalidate_all()

        log = webhooks.log
        sent = [entry for entry in log if not entry["dropped"]]
        self.assertTrue(any(entry["dropped"] for entry in log))
        self.assertTrue(any(entry["duplicate"] for entry in log))
        self.assertEqual(
            {entry["status"] for entry in sent}, {200}, [e for e in sent if e["status"] != 200]
        )
        delivered_logs = {e["group_id"] for e in sent if e["event"] == "MANUAL_CALL_LOG"}
        internal = {g["group_id"] for g in self.sim.state.p2p_calls}
        self.assertTrue(internal & {e["group_id"] for e in sent}, "internal calls were posted")

        # Before the sync: the calls whose log arrived, once each; nothing else.
        Call = self.env["vbot.call"]
        calls = Call.search([("account_id", "=", self.account.id)])
        self.assertEqual(set(calls.mapped("external_id")), delivered_logs - internal)
        self.assertEqual(set(calls.mapped("origin")), {"webhook"})

        self.account._run_sync()
        self.env.invalidate_all()
        calls = Call.search([("account_id", "=", self.account.id)])
        groups = {group["group_id"]: group for group in self.sim.state.calls}
        # Exactly the simulator's calls, once each (internal calls are not in its history).
        self.assertEqual(len(calls), len(groups))
        self.assertEqual(sorted(calls.mapped("external_id")), sorted(groups))
        by_key = {}
        for partner in self.partners:
            by_key.setdefault(partner.vbot_mobile_key, []).append(partner)
        recorded = 0
        for call in calls:
            group = groups[call.external_id]
            # On the right contact.
            customer = next(
                (
                    leg["phone"]
                    for leg in (
                        group["caller"] if group["type_call"] != "OUTCALL" else group["callee"]
                    )
                    if leg["phone"] and not leg["member_no"]
                ),
                "",
            )
            owners = by_key.get(match_key(customer), [])
            expected = owners[0] if len(owners) == 1 else self.env["res.partner"]
            self.assertEqual(call.partner_id, expected, call.external_id)
            # With its recording.
            self.assertEqual(call.has_recording, bool(group["record_file"]), call.external_id)
            if group["record_file"]:
                recorded += 1
                self.assertEqual(call.recording_urls, group["record_file"])
            self.assertEqual(
                call.origin,
                "webhook" if call.external_id in delivered_logs else "sync",
                call.external_id,
            )
        self.assertGreater(recorded, 10)
        pending = self.env["vbot.call.pending"].search([("record_urls", "!=", False)])
        self.assertFalse(pending.filtered(lambda p: p.external_id in groups), "recordings applied")
        # The sync says how many calls of the webhook era no webhook delivered.
        missed = {g["group_id"] for g in new} - delivered_logs
        self.assertTrue(missed)
        sync_log = self.account.last_sync_log_id
        self.assertEqual(sync_log.webhook_missed_count, len(missed))
        self.assertIn(f"{len(missed)} call(s) arrived only through the sync", sync_log.message)


def _utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)
