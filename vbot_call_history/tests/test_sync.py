import copy
import json
from datetime import datetime, timedelta
from unittest.mock import patch

import pytz
from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from ..models.vbot_sync_run import LOCK_NAMESPACE
from ..services.client import VBotClient
from ..services.mapping import map_call
from ..services.phone import match_key, search_forms
from .common import VbotCase, account_values, start_simulator


@tagged("post_install", "-at_install")
class TestSync(VbotCase):
    def test_first_sync_stores_every_call_once(self):
        self.account._run_sync()
        calls = self.calls()
        self.assertEqual(len(calls), len(self.sim.state.calls))
        self.assertEqual(len(set(calls.mapped("external_id"))), len(calls))
        self.assertEqual(
            set(calls.mapped("external_id")), {g["group_id"] for g in self.sim.state.calls}
        )
        self.assertEqual(self.account.last_sync_state, "ok", self.account.last_sync_message)
        self.assertEqual(self.account.last_created_count, len(calls))
        self.assertTrue(self.account.sync_watermark)
        log = self.account.sync_log_ids[:1]
        self.assertEqual(log.state, "ok")
        self.assertEqual(log.created_count, len(calls))

    def test_fields_and_local_time(self):
        self.account._run_sync()
        group = next(
            g for g in self.sim.state.calls if g["record_file"] and g["type_call"] == "INCALL"
        )
        call = self.Call.search([("external_id", "=", group["group_id"])])
        self.assertEqual(len(call), 1)
        expected = map_call(group)
        # VBot's date is Vietnam time; the user in Hanoi sees exactly that time.
        local = pytz.utc.localize(call.call_date).astimezone(pytz.timezone("Asia/Ho_Chi_Minh"))
        self.assertEqual(local.strftime("%m/%d/%Y %H:%M:%S"), group["date_create"])
        user = self.env.user
        user.tz = "Asia/Ho_Chi_Minh"
        shown = fields.Datetime.context_timestamp(call.with_user(user), call.call_date)
        self.assertEqual(shown.strftime("%m/%d/%Y %H:%M:%S"), group["date_create"])
        self.assertEqual(call.call_type, "incoming")
        self.assertEqual(call.disposition, group["disposition"].lower())
        self.assertEqual(call.disposition_raw, group["disposition"])
        self.assertEqual(call.customer_number, group["caller"][0]["phone"])
        self.assertEqual(call.customer_key, expected["customer_key"])
        self.assertEqual(call.agent_member_no, expected["agent_member_no"])
        self.assertTrue(call.agent_member_no)
        self.assertEqual(call.hotline, group["hotline_number"])
        self.assertEqual(call.talk_duration, expected["talk_duration"])
        self.assertEqual(call.duration, expected["duration"])
        self.assertAlmostEqual(
            call.cost, sum(leg["postage"] for leg in group["caller"] + group["callee"]), places=2
        )
        self.assertTrue(call.has_recording)
        self.assertEqual(call.recording_urls, group["record_file"])
        self.assertEqual(json.loads(call.payload), group)
        self.assertEqual(call.company_id, self.company)

    def test_rerun_and_overlapping_windows_create_no_duplicate(self):
        self.account._run_sync()
        total = len(self.calls())
        self.account._run_sync()
        self.assertEqual(len(self.calls()), total)
        self.assertEqual(self.account.last_created_count, 0)
        self.assertEqual(self.account.last_updated_count, 0)
        # Move the watermark back ten days: the window overlaps everything stored.
        self.account.sync_watermark -= timedelta(days=10)
        self.account._run_sync()
        self.assertEqual(len(self.calls()), total)
        self.assertEqual(self.account.last_created_count, 0)
        self.assertGreater(self.account.last_fetched_count, 0)

    def test_new_calls_and_changed_calls(self):
        self.account._run_sync()
        total = len(self.calls())
        new_groups = self.sim.state.add_calls(3)
        # A recording appeared later and the disposition was corrected.
        group = next(
            g
            for g in self.sim.state.calls[5:]
            if not g["record_file"] and g["type_call"] != "MISSCALL"
        )
        group["record_file"] = [
            self.sim.url + "/v2.0/api/crm/historycall/record/" + group["group_id"]
        ]
        group["disposition"] = "ANSWER"
        self.account.sync_watermark = fields.Datetime.now() - timedelta(days=30)
        self.account._run_sync()
        self.assertEqual(len(self.calls()), total + 3)
        self.assertEqual(self.account.last_created_count, 3)
        self.assertEqual(self.account.last_updated_count, 1)
        for new in new_groups:
            self.assertTrue(self.Call.search_count([("external_id", "=", new["group_id"])]))
        call = self.Call.search([("external_id", "=", group["group_id"])])
        self.assertTrue(call.has_recording)
        self.assertEqual(call.disposition, "answer")

    def test_first_sync_reaches_back_initial_days_only(self):
        self.account.initial_days = 5
        self.account._run_sync()
        limit = fields.Datetime.now() - timedelta(days=5, minutes=1)
        expected = [g for g in self.sim.state.calls if map_call(g)["call_date"] >= limit]
        self.assertEqual(len(self.calls()), len(expected))
        self.assertTrue(all(c.call_date >= limit for c in self.calls()))

    def test_gap_is_fetched_again(self):
        """A page that lost a call is caught by countAll and the window re-fetched."""
        original = VBotClient.iter_spans
        state = {"dropped": None}

        def lossy(client, *args, **kwargs):
            # The backfill's stream of windows (a window fetched again is listed alone).
            for span, page_no, groups in original(client, *args, **kwargs):
                if state["dropped"] is None and groups:
                    state["dropped"] = groups[0]["group_id"]
                    groups = groups[1:]
                yield span, page_no, groups

        with patch.object(VBotClient, "iter_spans", lossy):
            self.account._run_sync()
        self.assertTrue(state["dropped"])
        self.assertEqual(self.Call.search_count([("external_id", "=", state["dropped"])]), 1)
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))
        self.assertIn("fetching the period again", self.account.last_sync_message)
        self.assertEqual(self.account.last_sync_state, "ok")

    def test_call_listed_late_is_found_by_the_recheck(self):
        """A call VBot lists only hours after it started (a long call) is not lost."""
        self.account._run_sync()
        total = len(self.calls())
        late = copy.deepcopy(self.sim.state.calls[0])
        late["group_id"] = "late" + late["group_id"][4:]
        started = datetime.now(pytz.timezone("Asia/Ho_Chi_Minh")) - timedelta(hours=3)
        late["date_create"] = started.strftime("%m/%d/%Y %H:%M:%S")
        with self.sim.state.lock:
            self.sim.state.calls.insert(0, late)
        self.account._run_sync()
        self.assertEqual(len(self.calls()), total + 1)
        self.assertEqual(self.Call.search_count([("external_id", "=", late["group_id"])]), 1)
        self.assertIn("fetching the period again", self.account.last_sync_message)
        # With the re-check off it would have stayed behind the watermark.
        self.account.recheck_hours = 0
        later = dict(late, group_id="later" + late["group_id"][5:])
        with self.sim.state.lock:
            self.sim.state.calls.insert(0, later)
        self.account._run_sync()
        self.assertFalse(self.Call.search_count([("external_id", "=", later["group_id"])]))

    def test_faults_are_retried(self):
        self.sim.state.set_faults(queue=["500", "429", "error", "malformed"], retry_after=0)
        self.account._run_sync()
        self.assertEqual(self.account.last_sync_state, "ok", self.account.last_sync_message)
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))

    def test_pages_while_new_calls_arrive(self):
        self.account.page_size = 25
        self.sim.state.set_faults(arrivals_per_request=2)
        self.account._run_sync()
        self.sim.state.set_faults(arrivals_per_request=0)
        ids = self.calls().mapped("external_id")
        self.assertEqual(len(ids), len(set(ids)))
        # Every call older than the sync is there; the ones that arrived are taken
        # by the window that contains them, now or at the next sync.
        self.account._run_sync()
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))

    def test_cron_syncs_each_account_and_survives_a_failing_one(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        broken = self.env["vbot.account"].create(
            account_values(self.sim, company_id=other_company.id, password="wrong")
        )
        self.env["vbot.account"]._cron_sync()
        self.assertEqual(broken.last_sync_state, "error")
        self.assertTrue(broken.last_error)
        self.assertNotIn("wrong", broken.last_error)
        self.assertFalse(self.calls(broken))
        self.assertEqual(self.account.last_sync_state, "ok")
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))

    def test_outage_is_logged_and_loses_nothing(self):
        self.account._run_sync()
        total = len(self.calls())
        watermark = self.account.sync_watermark
        self.sim.state.set_faults(fail_rate=1.0)
        with patch("time.sleep"):
            self.account._run_sync()
        self.assertEqual(self.account.last_sync_state, "error")
        self.assertEqual(self.account.sync_watermark, watermark)
        self.assertEqual(len(self.calls()), total)
        self.sim.state.set_faults(fail_rate=0.0)
        self.account._run_sync()
        self.assertEqual(self.account.last_sync_state, "ok")
        self.assertEqual(len(self.calls()), total)

    def test_old_logs_are_vacuumed_but_the_last_sync_stays_readable(self):
        self.account._run_sync()
        last = self.account.last_sync_log_id
        old = last.copy({"date_start": fields.Datetime.now() - timedelta(days=100)})
        last.date_start = fields.Datetime.now() - timedelta(days=120)
        self.env["vbot.sync.log"]._gc_old_logs()
        self.assertFalse(old.exists())
        self.assertEqual(self.account.last_sync_log_id, last)
        self.assertEqual(self.account.last_sync_state, "ok")

    def test_cron_record_exists(self):
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync")
        self.assertEqual((cron.interval_number, cron.interval_type), (5, "minutes"))
        self.assertTrue(cron.active)


@tagged("post_install", "-at_install")
class TestSyncMalformed(VbotCase):
    """VBot data that cannot be read is reported, and never stops the other calls."""

    @classmethod
    def setUpClass(cls):
        base = start_simulator(calls=6, seed=9, days=2)
        groups = [dict(g) for g in base.state.calls]
        base.stop()
        groups[1]["date_create"] = "13/45/2026 99:00:00"
        groups[2]["type_call"] = "SOMETHING"
        two_hours_ago = datetime.now(pytz.timezone("Asia/Ho_Chi_Minh")) - timedelta(hours=2)
        groups[2]["date_create"] = two_hours_ago.strftime("%m/%d/%Y %H:%M:%S")
        groups[3].pop("caller")
        groups.append("not a call")
        cls.groups = groups
        cls.sim_config = {"data": groups, "days": 2}
        super().setUpClass()

    def test_bad_calls_are_logged_good_ones_stored(self):
        self.account._run_sync()
        stored = set(self.calls().mapped("external_id"))
        self.assertIn(self.groups[0]["group_id"], stored)
        self.assertIn(self.groups[3]["group_id"], stored)  # no caller legs: still a call
        self.assertNotIn(self.groups[2]["group_id"], stored)
        self.assertEqual(self.account.last_sync_state, "warning")
        message = self.account.last_sync_message
        self.assertIn("type_call", message)
        self.assertIn(self.groups[2]["group_id"], message)
        self.assertIn("cannot be read", message)
        # The unreadable call is remembered by its VBot id: a second run does not fetch
        # the whole period again, and still says a call is missing.
        unreadable = self.account.unreadable_ids
        self.assertEqual(unreadable.mapped("external_id"), [self.groups[2]["group_id"]])
        self.assertEqual(unreadable.field, "type_call")
        self.account._run_sync()
        self.assertEqual(set(self.calls().mapped("external_id")), stored)
        self.assertEqual(self.account.last_sync_state, "warning", self.account.last_sync_message)
        self.assertEqual(self.account.last_sync_log_id.skipped_count, 1)
        self.assertEqual(self.account.last_sync_log_id.gap_count, 0)
        self.assertNotIn("fetching the period again", self.account.last_sync_message)


@tagged("post_install", "-at_install")
class TestFetchCallsButton(VbotCase):
    sim_config = {"calls": 200, "seed": 8, "days": 60}

    def test_fetch_calls_of_one_contact_now(self):
        customer = next(c for c in self.sim.state.customers if c["kind"] == "mobile")
        partner = self.env["res.partner"].create(
            {"name": customer["name"], "phone": customer["phone"]}
        )
        self.account.initial_days = 1  # the regular sync would not reach most of them
        action = partner.action_vbot_fetch_calls()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        expected = {
            g["group_id"]
            for g in self.sim.state.calls
            if any(
                leg.get("phone")
                and not leg.get("member_no")
                and match_key(leg["phone"]) == partner.vbot_phone_key
                for leg in g["caller"] + g["callee"]
            )
        }
        self.assertTrue(expected)
        stored = self.env["vbot.call"].search(partner._vbot_call_domain())
        self.assertEqual(set(stored.mapped("external_id")), expected)
        self.assertEqual(set(self.calls().mapped("external_id")), expected)
        # VBot was asked for this number only, in its spellings.
        phones = {
            q.get("phone") for _m, path, q in self.sim.state.requests if path.endswith("getAll")
        }
        self.assertEqual(phones, set(search_forms(customer["phone"])))
        log = self.env["vbot.sync.log"].search([("run_type", "=", "numbers")])
        self.assertEqual((log.origin, log.state), ("contact", "ok"))
        # The account's last sync result is not a contact's fetch.
        self.assertFalse(self.account.last_sync_state)

    def test_fetch_calls_is_for_vbot_users(self):
        partner = self.env["res.partner"].create({"name": "Khách", "phone": "0912345678"})
        clerk = self.env["res.users"].create(
            {
                "name": "Clerk",
                "login": "clerk",
                "groups_id": [(6, 0, self.env.ref("base.group_user").ids)],
            }
        )
        with self.assertRaises(AccessError):
            partner.with_user(clerk).action_vbot_fetch_calls()
        self.assertFalse(self.sim.state.requests)

    def test_fetch_calls_without_number_or_account(self):
        partner = self.env["res.partner"].create({"name": "Không số"})
        self.assertEqual(partner.action_vbot_fetch_calls()["params"]["type"], "warning")
        self.account.active = False
        partner.phone = "0912345678"
        self.assertEqual(partner.action_vbot_fetch_calls()["params"]["type"], "warning")


@tagged("post_install", "-at_install")
class TestSyncLock(TransactionCase):
    """A sync of an account that another run is syncing stops at once."""

    def test_second_sync_of_a_locked_account_is_refused(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create({"name": "Lock test company"})
            account = env["vbot.account"].create(
                {
                    "name": "Lock test",
                    "company_id": company.id,
                    "base_url": "https://open-api-h01.vbot.vn/v2.0",  # never reached
                    "username": "demo",
                    "password": "demo",
                }
            )
            # Synced a minute ago: "Sync now" runs at once (no backfill to hand over).
            account.sync_watermark = fields.Datetime.now() - timedelta(minutes=1)
            # Another transaction must see the account: this test commits it, and
            # deletes it at the end.
            cr.commit()  # pylint: disable=invalid-commit
        try:
            with self.registry.cursor() as holder:
                holder.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, account.id])
                mine = self.env["vbot.account"].browse(account.id)
                action = mine.action_sync()
                self.assertEqual(action["params"]["type"], "warning")
                self.assertIn("already running", action["params"]["message"])
                self.assertFalse(mine.sync_log_ids)
                self.env["vbot.account"]._cron_sync()  # the cron skips it too, without waiting
                self.assertFalse(mine.sync_log_ids)
                holder.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, account.id])
                holder.rollback()
        finally:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["vbot.account"].browse(account.id).unlink()
                env["res.company"].browse(company.id).unlink()
                cr.commit()  # pylint: disable=invalid-commit
