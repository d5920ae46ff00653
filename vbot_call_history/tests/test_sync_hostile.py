"""The hostile corpus served by the simulator, between normal calls, through a real sync.

For each payload: "stored correctly" or "skipped with a message naming the field"; every
normal call around them is stored; the account is never blocked.
"""

import importlib.util
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytz
from odoo.tests import tagged

from ..services.mapping import safe_external_id
from .common import VbotCase

_PATH = Path(__file__).resolve().parent / "hostile_payloads.py"
if "hostile_payloads" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("hostile_payloads", _PATH)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["hostile_payloads"] = _module
    _spec.loader.exec_module(_module)
hostile = sys.modules["hostile_payloads"]

VN = pytz.timezone("Asia/Ho_Chi_Minh")
_MODEL_FIELDS = {"record_urls": "recording_urls"}


def vn_now():
    return datetime.now(VN).replace(tzinfo=None, microsecond=0)


def serve(sim, groups_with_epochs):
    """Serve ``[(group, server epoch)]`` as VBot would: each group filed under its epoch."""
    state = sim.state
    state.calls = [group for group, _epoch in groups_with_epochs if _readable(group)]
    for group, epoch in groups_with_epochs:
        if not _readable(group):
            state.upsert_groups([group], epoch=epoch)


def _readable(group):
    """Whether the simulator reads the group's own date (else it needs its server date)."""
    from vbot_simulator.data import group_epoch

    return group_epoch(group) is not None


@tagged("post_install", "-at_install")
class TestHostileCorpus(VbotCase):
    sim_config = {"data": [], "days": 2}

    def test_every_hostile_payload_is_stored_or_skipped_by_field(self):
        when = vn_now() - timedelta(hours=3)
        corpus = hostile.cases(when)
        served, normals, pushed = [], [], []
        for index, case in enumerate(corpus):
            if not case.servable:
                pushed += case.groups
                continue
            at = when - timedelta(minutes=index)
            epoch = int(VN.localize(at).timestamp())
            before = hostile.normal_group(2 * index, at + timedelta(seconds=20))
            after = hostile.normal_group(2 * index + 1, at - timedelta(seconds=20))
            normals += [before["group_id"], after["group_id"]]
            served.append((before, epoch + 20))
            served += [(group, epoch) for group in case.groups]
            served.append((after, epoch - 20))
        self.assertGreaterEqual(sum(len(case.groups) for case in corpus), 50)
        serve(self.sim, served)

        log = self.account._run_sync()
        # What the simulator cannot serve goes through the same store path as a webhook.
        push = self.account._ingest_groups(pushed)
        self.assertEqual(push.state, "ok", push.message)

        self.assertNotEqual(log.state, "error", log.message)
        self.assertTrue(self.account.sync_watermark)
        stored = {call.external_id: call for call in self.calls()}
        self.assertFalse(set(normals) - set(stored), "every normal call is stored")
        unreadable = self.account.unreadable_ids
        skipped = 0
        for case in corpus:
            for group, expect in zip(case.groups, case.expect, strict=True):
                with self.subTest(case=case.name):
                    if isinstance(expect, hostile.Skipped):
                        skipped += 1
                        self.assert_skipped(group, expect, stored, unreadable, log)
                    else:
                        self.assert_stored(group, expect, stored)
        self.assertEqual(log.skipped_count, skipped)
        # VBot counts the call it lists twice (identical) twice; it is stored once.
        self.assertEqual(log.gap_count, 1, log.message)
        self.assertEqual(log.state, "warning")
        # Nothing blocks the account: the next run goes on and stores what arrives.
        new = self.sim.state.add_calls(3)
        log = self.account._run_sync()
        self.assertNotEqual(log.state, "error", log.message)
        for group in new:
            self.assertIn(group["group_id"], self.calls().mapped("external_id"))

    def assert_stored(self, group, expect, stored):
        key = hostile.expected_id(group, expect) or safe_external_id(group)
        self.assertIn(key, stored)
        call = stored[key]
        for name, check in expect.checks.items():
            value = call[_MODEL_FIELDS.get(name, name)]
            if name == "customer_key":
                value = value or None
            if name == "record_urls":
                value = value or []
            if callable(check):
                self.assertTrue(check(value), (name, str(value)[:80]))
            else:
                self.assertEqual(value, check, name)

    def assert_skipped(self, group, expect, stored, unreadable, log):
        key = safe_external_id(group)
        entries = unreadable.filtered(
            lambda u: u.external_id == key or u.external_id.startswith(key + "#dup-")
        )
        self.assertEqual(len(entries), 1, key[:80])
        self.assertEqual(entries.field, expect.field)
        self.assertIn(expect.field, entries.reason)
        line = next(
            (line for line in log.message.splitlines() if entries.external_id[:80] in line), ""
        )
        self.assertIn(expect.field, line, f"the log names the field for {key[:80]}")
        if not entries.external_id.startswith(key + "#dup-"):
            self.assertNotIn(key, stored)
