"""The sync engine (issue 7): each numbered defect reproduced, and what replaced it.

Every ``test_defect_N_…`` fails on version 1 of the sync and passes now.
"""

import copy
import itertools
import secrets
from datetime import datetime, timedelta
from unittest.mock import patch

import pytz
from odoo import fields
from odoo.tests import TransactionCase, tagged

from ..models.vbot_sync_run import SyncRun, _KeySet
from ..services.mapping import map_call
from ..services.phone import LEGACY_MOBILE_PREFIXES, match_key
from ..services.reader import ForkedReader
from .common import VbotCase, account_values, allow_hosts, start_simulator

VN = pytz.timezone("Asia/Ho_Chi_Minh")
FMT = "%m/%d/%Y %H:%M:%S"


def vn_now():
    return datetime.now(VN).replace(tzinfo=None, microsecond=0)


def get_all_requests(sim):
    return [query for _method, path, query in sim.state.requests if path.endswith("getAll")]


@tagged("post_install", "-at_install")
class TestSyncEngine(VbotCase):
    sim_config = {"calls": 120, "seed": 11, "days": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.history = [copy.deepcopy(group) for group in cls.sim.state.calls]

    def setUp(self):
        super().setUp()
        # Every test starts from the same VBot history (the database rolls back, VBot not).
        self.sim.state.calls = copy.deepcopy(self.history)
        self.sim.state.set_faults()
        self.sim.state.clear_requests()

    def stored_ids(self):
        return set(self.calls().mapped("external_id"))

    def copy_of_a_call(self, group_id, minutes_ago, **changes):
        group = copy.deepcopy(self.sim.state.calls[0])
        group.update(
            group_id=group_id,
            date_create=(vn_now() - timedelta(minutes=minutes_ago)).strftime(FMT),
        )
        group.update(changes)
        return group

    # ------------------------------------------------------------------
    # 1. One bad call blocks the account for ever
    # ------------------------------------------------------------------
    def test_defect_1_a_poison_call_never_blocks_the_account(self):
        self.account._run_sync()
        customer = copy.deepcopy(self.sim.state.calls[0]["caller"][0])
        customer.update(phone="0912\x00345678", member_no="")
        poison = [
            self.copy_of_a_call("poison-duration", 30, duration_call=10**12),
            self.copy_of_a_call("poison-nul", 31, caller=[customer], type_call="INCALL"),
            self.copy_of_a_call("P" * 10_000, 32),
        ]
        self.sim.state.upsert_groups(poison)
        later = self.sim.state.add_calls(5)

        log = self.account._run_sync()

        self.assertNotEqual(log.state, "error", log.message)
        stored = self.stored_ids()
        self.assertFalse({g["group_id"] for g in later} - stored, "later calls are stored")
        nul = self.Call.search([("external_id", "=", "poison-nul")])
        self.assertEqual(nul.customer_number, "0912345678")
        self.assertEqual(nul.customer_key, "+84912345678")
        self.assertTrue([i for i in stored if i.startswith("P" * 100) and len(i) == 255])
        self.assertNotIn("poison-duration", stored)
        entry = self.account.unreadable_ids
        self.assertEqual(entry.mapped("external_id"), ["poison-duration"])
        self.assertEqual(entry.field, "duration_call")
        self.assertIn("poison-duration skipped: duration_call", log.message)
        self.assertGreater(
            self.account.sync_watermark, fields.Datetime.now() - timedelta(minutes=1)
        )

    def test_defect_1_the_store_path_skips_only_the_call_the_database_refuses(self):
        groups = self.sim.state.calls[:5]
        good_1, good_2 = map_call(groups[0]), map_call(groups[1])
        # Values that escaped the mapping's bounds (the safety net under it).
        too_long = dict(map_call(groups[2]), duration=10**12)
        nul = dict(map_call(groups[3]), customer_number="09\x0012")
        # Random (incompressible) text: too big for a btree index row.
        huge_id = dict(map_call(groups[4]), external_id="Y" + secrets.token_hex(5000))

        created, updated, failures = self.Call._upsert_page_isolated(
            self.account, [good_1, too_long, nul, huge_id, good_2]
        )

        self.assertEqual(
            set(created.mapped("external_id")), {good_1["external_id"], good_2["external_id"]}
        )
        self.assertFalse(updated)
        refused = {values["external_id"]: error for values, error in failures}
        self.assertEqual(refused[too_long["external_id"]].field, "duration_call")
        self.assertEqual(refused[nul["external_id"]].field, "phone")
        self.assertEqual(refused[huge_id["external_id"]].field, "group_id")
        self.assertTrue(all(error.code == "db_rejected" for error in refused.values()))

    # ------------------------------------------------------------------
    # 2. Corrected calls are lost
    # ------------------------------------------------------------------
    def test_defect_2_a_call_sent_unreadably_then_corrected_is_stored(self):
        self.account._run_sync()
        group = self.sim.state.add_calls(1, age_hours=2)[0]
        self.sim.state.upsert_groups([dict(group, type_call="SOMETHING")])

        log = self.account._run_sync()

        self.assertEqual(log.state, "warning", log.message)
        self.assertNotIn(group["group_id"], self.stored_ids())
        self.assertEqual(self.account.unreadable_ids.external_id, group["group_id"])
        # VBot sends it readably now.
        self.sim.state.upsert_groups([group])

        log = self.account._run_sync()

        self.assertIn(group["group_id"], self.stored_ids())
        self.assertFalse(self.account.unreadable_ids)
        self.assertIn("1 call(s) that VBot had sent unreadably are stored now", log.message)
        self.assertEqual(self.account._run_sync().state, "ok")

    # ------------------------------------------------------------------
    # 3. Late calls older than the re-check window are lost silently
    # ------------------------------------------------------------------
    def test_defect_3_late_calls_beyond_the_recheck_are_found_and_never_ok(self):
        self.account._run_sync()
        late = self.sim.state.add_calls(1, age_hours=30) + self.sim.state.add_calls(1, age_hours=50)
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_deep_check")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

        log = self.account._run_sync()

        # The regular run does not reach them, but says VBot holds more: never "ok".
        self.assertEqual(log.state, "warning", log.message)
        self.assertTrue(self.account.count_mismatch)
        total = len(self.sim.state.calls)
        self.assertIn(f"VBot holds {total} calls", self.account.count_summary)
        self.assertIn(f"Odoo holds {total - 2}", self.account.count_summary)
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )

        deep = self.account._run_sync("deep_check", "schedule")

        self.assertEqual(deep.state, "ok", deep.message)
        self.assertFalse({g["group_id"] for g in late} - self.stored_ids())
        self.assertEqual(self.account.last_deep_check_log_id, deep)
        self.assertFalse(self.account.count_mismatch)
        self.assertEqual(self.account._run_sync().state, "ok")

    # ------------------------------------------------------------------
    # 4. A killed sync stays "running"; the budget only between windows
    # ------------------------------------------------------------------
    def test_defect_4_a_run_left_running_by_a_killed_process_is_interrupted(self):
        dead = self.env["vbot.sync.log"].create(
            {
                "account_id": self.account.id,
                "date_start": fields.Datetime.now() - timedelta(hours=1),
            }
        )
        self.account.last_sync_log_id = dead
        self.assertEqual(dead.state, "running")

        log = self.account._run_sync()

        self.assertEqual(dead.state, "interrupted")
        self.assertTrue(dead.date_end)
        self.assertIn("Interrupted", dead.message)
        self.assertEqual(log.state, "ok", log.message)
        self.assertEqual(self.account.last_sync_log_id, log)

    def test_defect_4_the_time_budget_is_checked_between_pages(self):
        self.account.write({"page_size": 5, "slice_hours": 24 * 40})  # one window, 24 pages
        ticks = itertools.count(0, 10)  # each look at the clock: 10 s later

        log = self.account._run_sync("sync", "schedule", deadline=45, clock=lambda: next(ticks))

        pages = get_all_requests(self.sim)
        # The pages stored before the time ran out, and those prefetched (a few, two
        # requests in flight): not the whole window.
        self.assertLess(len(pages), 16)
        self.assertNotEqual(log.state, "error", log.message)
        self.assertIn("Time budget used up", log.message)
        # The window was not verified: the watermark stays; the next run tries smaller windows.
        self.assertFalse(self.account.sync_watermark)
        self.assertEqual(self.account.sync_window_hours, 24 * 20)

        self.assertEqual(self.account._run_sync().state, "ok")
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))
        self.assertEqual(self.account.sync_window_hours, 0)

    # ------------------------------------------------------------------
    # 5. The cron spins
    # ------------------------------------------------------------------
    def cron_progress(self):
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        return progress, self.env["vbot.account"].with_context(ir_cron_progress_id=progress.id)

    def test_defect_5_a_stuck_account_is_no_work_remaining_and_backs_off(self):
        self.account.password = "wrong"  # every run fails; the whole history is behind
        progress, accounts = self.cron_progress()

        accounts._cron_sync()

        self.assertEqual(progress.remaining, 0)  # Odoo does not run the job again at once
        self.assertEqual(self.account.last_sync_state, "error")
        self.assertEqual(self.account.sync_failure_count, 1)
        self.assertIn("The last 1 run(s) failed", self.account.sync_failure_note)
        wait = self.account.sync_retry_at - fields.Datetime.now()
        self.assertTrue(timedelta(minutes=4) < wait <= timedelta(minutes=5), wait)
        logs = self.account.sync_log_ids
        accounts._cron_sync()  # within the backoff: left alone
        self.assertEqual(self.account.sync_log_ids, logs)
        self.account.sync_retry_at = fields.Datetime.now() - timedelta(seconds=1)
        accounts._cron_sync()
        self.assertEqual(self.account.sync_failure_count, 2)
        wait = self.account.sync_retry_at - fields.Datetime.now()
        self.assertTrue(timedelta(minutes=9) < wait <= timedelta(minutes=10), wait)
        # Sync now tries at once, and a success ends the backoff.
        self.account.password = "demo"
        self.account._run_sync("sync", "button")
        self.assertEqual((self.account.sync_failure_count, self.account.sync_retry_at), (0, False))
        self.assertFalse(self.account.sync_failure_note)

    def test_defect_5_only_accounts_that_made_progress_count_as_remaining(self):
        looks = []

        def time_is_up(run):
            looks.append(1)
            run.out_of_time = run.out_of_time or len(looks) > 2
            return run.out_of_time

        progress, accounts = self.cron_progress()
        with patch.object(SyncRun, "_time_is_up", time_is_up):
            accounts._cron_sync()

        self.assertTrue(self.account.sync_watermark)  # it moved ...
        self.assertTrue(self.account.sync_backlog)  # ... and history is still behind
        self.assertEqual((progress.done, progress.remaining), (1, 1))

    # ------------------------------------------------------------------
    # 7. Smaller defects
    # ------------------------------------------------------------------
    def test_defect_7_an_int_and_a_string_id_with_the_same_digits_are_not_merged_silently(self):
        self.account._run_sync()
        as_int = self.copy_of_a_call(990001, 60)
        as_text = self.copy_of_a_call("990001", 61)
        as_text["caller"] = [dict(as_text["caller"][0], phone="0987654321")]
        self.sim.state.upsert_groups([as_int, as_text])

        log = self.account._run_sync()

        self.assertEqual(self.Call.search_count([("external_id", "=", "990001")]), 1)
        entry = self.account.unreadable_ids
        self.assertTrue(entry.external_id.startswith("990001#dup-"))
        self.assertEqual(entry.field, "group_id")
        self.assertIn("group_id", log.message)
        self.assertEqual((log.skipped_count, log.gap_count), (1, 0))
        self.assertEqual(log.state, "warning")

    def test_a_call_without_a_readable_date_is_placed_between_its_neighbours(self):
        self.account._run_sync()
        epoch = int(datetime.now().timestamp()) - 2 * 3600  # VBot files it 2 hours ago
        broken = self.copy_of_a_call("undated", 120, date_create="garbage")
        self.sim.state.upsert_groups([broken], epoch=epoch)

        self.account._run_sync()

        entry = self.account.unreadable_ids
        self.assertEqual((entry.external_id, entry.field), ("undated", "date_create"))
        self.assertFalse(entry.call_date)
        # Between the readable calls listed around it, not "somewhere in the last day".
        self.assertLess(entry.date_to - entry.date_from, timedelta(hours=12))
        log = self.account._run_sync()
        self.assertNotIn("fetching the period again", log.message)  # it is accounted for
        self.assertEqual((log.skipped_count, log.gap_count), (1, 0))

    def test_defect_7_counters_count_each_unreadable_call_once(self):
        self.account._run_sync()
        for hours in (1, 3):
            group = self.sim.state.add_calls(1, age_hours=hours)[0]
            self.sim.state.upsert_groups([dict(group, type_call="SOMETHING")])

        log = self.account._run_sync()

        self.assertEqual((log.skipped_count, log.gap_count), (2, 0), log.message)
        self.assertEqual(log.message.count("skipped: type_call"), 2)

    def test_defect_7_dates_in_1970_or_2099_are_refused(self):
        self.account._run_sync()
        epoch = int((datetime.now() - timedelta(hours=1)).timestamp())
        old = self.copy_of_a_call("in-1970", 60, date_create="1970-01-01 07:00:00")
        future = self.copy_of_a_call("in-2099", 60, date_create="2099-01-01T00:00:00")
        self.sim.state.upsert_groups([old, future], epoch=epoch)

        log = self.account._run_sync()

        self.assertFalse({"in-1970", "in-2099"} & self.stored_ids())
        self.assertEqual(set(self.account.unreadable_ids.mapped("field")), {"date_create"})
        self.assertIn("in-1970 skipped: date_create", log.message)
        self.assertIn("in-2099 skipped: date_create", log.message)

    def test_defect_7_a_new_api_url_restarts_the_history(self):
        self.account._run_sync()
        other = start_simulator(calls=60, seed=12, days=40)
        self.addCleanup(other.stop)
        allow_hosts(self.env, other)
        generation = self.account.sync_generation

        self.account.write({"base_url": other.base_url_v2, "password": "demo"})

        self.assertFalse(self.account.sync_watermark)
        self.assertFalse(self.account.sync_history_start)
        self.assertEqual(self.account.sync_generation, generation + 1)
        self.account._run_sync()
        limit = fields.Datetime.now() - timedelta(days=30, minutes=1)
        expected = {g["group_id"] for g in other.state.calls if map_call(g)["call_date"] >= limit}
        self.assertTrue(expected)
        self.assertFalse(expected - self.stored_ids())

    def test_moving_to_v3_on_the_same_server_keeps_the_history(self):
        self.account._run_sync()
        watermark = self.account.sync_watermark
        self.account.write(
            {"api_version": "v3", "base_url": self.sim.base_url_v3, "api_key": "demo-key"}
        )
        self.assertEqual(self.account.sync_watermark, watermark)
        self.assertEqual(self.account._run_sync().state, "ok")

    def test_defect_7_sync_now_hands_a_first_backfill_to_the_cron(self):
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

        action = self.account.action_sync()

        self.assertEqual(action["params"]["type"], "info")
        self.assertFalse(get_all_requests(self.sim))  # nothing fetched in the browser's request
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )
        self.assertTrue(self.account.sync_backlog)
        cron.method_direct_trigger()
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))
        self.assertEqual(self.account.last_sync_log_id.origin, "schedule")
        self.assertFalse(self.account.sync_backlog)
        self.assertEqual(self.account.sync_progress, 100.0)
        # Caught up: Sync now runs at once.
        self.assertEqual(self.account.action_sync()["params"]["type"], "success")
        self.assertEqual(self.account.last_sync_log_id.origin, "button")

    def test_sync_progress_is_shown_while_catching_up(self):
        now = fields.Datetime.now()
        self.account.write(
            {
                "sync_history_start": now - timedelta(days=10),
                "sync_watermark": now - timedelta(days=5),
            }
        )
        self.assertTrue(self.account.sync_backlog)
        self.assertAlmostEqual(self.account.sync_progress, 50.0, delta=0.5)

    def test_defect_7_fetch_calls_finds_a_pre_2018_number(self):
        old_prefix = {new: old for old, new in LEGACY_MOBILE_PREFIXES.items()}
        customer = next(
            c
            for c in self.sim.state.customers
            if c["kind"] == "mobile" and match_key(c["vbot_phone"])[3:5] in old_prefix
        )
        national = "0" + match_key(customer["vbot_phone"])[3:]
        legacy = "0" + old_prefix[national[1:3]] + national[3:]
        legacy = f"{legacy[:4]} {legacy[4:7]} {legacy[7:]}"  # "0122 556 7594"
        partner = self.env["res.partner"].create({"name": customer["name"], "phone": legacy})
        expected = {
            g["group_id"]
            for g in self.sim.state.calls
            if match_key(map_call(g)["customer_number"]) == partner.vbot_phone_key
        }
        self.assertTrue(expected)

        action = partner.action_vbot_fetch_calls()

        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        stored = self.env["vbot.call"].search(partner._vbot_call_domain())
        self.assertEqual(set(stored.mapped("external_id")), expected)
        phones = {q.get("phone") for q in get_all_requests(self.sim)}
        self.assertEqual(phones, {legacy, national})

    # ------------------------------------------------------------------
    # The engine as one unit
    # ------------------------------------------------------------------
    def test_each_log_row_says_what_started_it(self):
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync")
        cron.method_direct_trigger()
        self.account.action_sync()
        partner = self.env["res.partner"].create({"name": "Khách", "phone": "0912345678"})
        partner.action_vbot_fetch_calls()
        self.account._ingest_groups([self.copy_of_a_call("pushed-1", 5)])
        self.account.action_deep_check()
        origins = {(log.run_type, log.origin) for log in self.account.sync_log_ids}
        self.assertEqual(
            origins,
            {
                ("sync", "schedule"),
                ("sync", "button"),
                ("numbers", "contact"),
                ("push", "webhook"),
                ("deep_check", "button"),
            },
        )

    def test_webhook_entry_point_stores_through_the_same_path(self):
        partner = self.env["res.partner"].create({"name": "Khách", "phone": "0912 345 678"})
        customer = dict(self.sim.state.calls[0]["caller"][0], phone="0912345678", member_no="")
        good = self.copy_of_a_call("pushed-good", 5, caller=[customer], type_call="INCALL")
        bad = self.copy_of_a_call("pushed-bad", 5, duration_call=-1)

        log = self.account._ingest_groups([good, bad])

        self.assertEqual((log.run_type, log.origin, log.state), ("push", "webhook", "warning"))
        call = self.Call.search([("external_id", "=", "pushed-good")])
        self.assertEqual(call.partner_id, partner)
        self.assertEqual(self.account.unreadable_ids.external_id, "pushed-bad")
        self.assertIn("pushed-bad skipped: duration_call", log.message)
        # The same call again (VBot retries a webhook): still one call.
        again = self.account._ingest_groups([good])
        self.assertEqual((again.created_count, again.updated_count), (0, 0))
        self.assertEqual(self.Call.search_count([("external_id", "=", "pushed-good")]), 1)
        # The next sync lists it too: no duplicate.
        self.sim.state.upsert_groups([good])
        self.account._run_sync()
        self.assertEqual(self.Call.search_count([("external_id", "=", "pushed-good")]), 1)

    def test_account_shows_what_vbot_and_odoo_hold(self):
        log = self.account._run_sync()
        total = len(self.sim.state.calls)
        self.assertEqual(log.state, "ok")
        self.assertEqual(
            (self.account.vbot_count_span, self.account.odoo_count_span), (total, total)
        )
        self.assertIn(f"VBot holds {total} calls, Odoo holds {total}", self.account.count_summary)
        self.assertFalse(self.account.count_mismatch)

    def test_deep_check_is_its_own_daily_job_and_looks_back_the_days_asked(self):
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_deep_check")
        self.assertEqual((cron.interval_number, cron.interval_type, cron.active), (1, "days", True))
        self.account._run_sync()
        self.account.deep_check_days = 3
        self.sim.state.requests.clear()
        cron.method_direct_trigger()
        log = self.account.last_deep_check_log_id
        self.assertEqual((log.state, log.origin), ("ok", "schedule"), log.message)
        counts = [q for _m, p, q in self.sim.state.requests if p.endswith("countAll")]
        per_day = [q for q in counts if "from" in q]
        # 4 or 5 local days (the first and today are partial), and the synced history's
        # total, before and after.
        self.assertIn(len(per_day), (6, 7))
        self.assertFalse(get_all_requests(self.sim))  # nothing differed: nothing fetched

    def test_a_sync_never_raises(self):
        with patch.object(SyncRun, "sync", side_effect=RuntimeError("boom")):
            log = self.account._run_sync()
        self.assertEqual(log.state, "error")
        self.assertIn("RuntimeError: boom", log.error)
        with patch.object(type(self.account), "_try_lock", side_effect=RuntimeError("lock")):
            self.assertFalse(self.account._run_sync())

    def test_a_backfill_the_statistics_do_not_know_is_analyzed(self):
        """Statistics made before an account's backfill take it for a handful of calls
        (its VBot ids would then be looked up by scanning all its calls): the run has the
        table analyzed once it created more calls than the planner expects, not before."""
        # Another company's account holds more calls than this one will.
        company = self.env["res.company"].create({"name": "Other VBot company"})
        other = self.env["vbot.account"].create(
            account_values(self.sim, name="Other", company_id=company.id)
        )
        other._run_sync()
        self.env.flush_all()
        self.env.cr.execute(
            """INSERT INTO vbot_call (account_id, company_id, external_id, call_date, call_type,
                                      origin, match_state)
               SELECT account_id, company_id, external_id || '-' || copy, call_date, call_type,
                      origin, match_state
                 FROM vbot_call, generate_series(1, 3) AS copy WHERE account_id = %s""",
            [other.id],
        )
        self.env.cr.execute("ANALYZE vbot_call")  # before this account had a call
        self.account._run_sync()
        domain = [("account_id", "=", self.account.id)]
        stored = self.Call.search_count(domain)
        self.assertGreater(stored, 100)
        self.assertLess(self.Call._planned_count(domain), stored / 2)
        log = self.env["vbot.sync.log"].create(
            {"account_id": self.account.id, "date_start": fields.Datetime.now()}
        )
        run = SyncRun(self.account, log)
        with patch("odoo.addons.vbot_call_history.models.vbot_sync_run.ANALYZE_EVERY", 50):
            run.since_analyze = 40  # fewer than ANALYZE_EVERY: not even looked at
            run._analyze_if_grown()
            self.assertEqual(run.since_analyze, 40)
            run.since_analyze = stored
            run._analyze_if_grown()
            self.assertEqual(run.since_analyze, 0)
            planned = self.Call._planned_count(domain)
            self.assertGreater(planned, stored / 2)
            self.assertEqual(run.analyzed_rows, planned)
            # Created calls the statistics already count: no ANALYZE until they double.
            run.since_analyze = planned
            run._analyze_if_grown()
            self.assertEqual(run.since_analyze, planned)

    def test_a_backfill_is_read_in_a_child_process_and_stored_the_same(self):
        """Full pages start the child process that reads (maps) them: every call is stored
        once, on its contact, as when pages are read in the sync's own process."""
        self.account.page_size = 10
        calls = ForkedReader.__call__
        with patch.object(ForkedReader, "__call__", autospec=True, side_effect=calls) as child:
            self.account._run_sync()
        self.assertGreater(child.call_count, 5)
        self.assertEqual(self.account.last_sync_state, "ok", self.account.last_sync_message)
        forked = {(c.external_id, c.call_date, c.partner_id.id, c.payload) for c in self.calls()}
        self.assertEqual(len(forked), len(self.sim.state.calls))
        self.calls().unlink()
        self.account.write({"sync_watermark": False, "sync_history_start": False})
        with patch.object(ForkedReader, "__init__", side_effect=OSError("no fork here")):
            self.account._run_sync()
        here = {(c.external_id, c.call_date, c.partner_id.id, c.payload) for c in self.calls()}
        self.assertEqual(forked, here)


@tagged("post_install", "-at_install")
class TestSyncFailures(VbotCase):
    """A failed run says what went wrong: VBot unreachable (naming the host), credentials
    refused, or an answer that cannot be read."""

    sim_config = {"calls": 20, "seed": 5, "days": 3}

    def test_unreachable_vbot_is_named(self):
        allow_hosts(self.env, "127.0.0.1:9")
        self.account.write({"base_url": "http://127.0.0.1:9/v2.0", "password": "demo"})
        with patch("time.sleep"):
            log = self.account._run_sync()
        self.assertEqual(log.state, "error")
        self.assertIn("VBot at 127.0.0.1 could not be reached", log.error)

    def test_refused_credentials(self):
        self.account.password = "wrong"
        log = self.account._run_sync()
        self.assertIn("refused the credentials", log.error)
        self.assertNotIn("wrong", log.message)

    def test_unreadable_answer(self):
        self.sim.state.set_faults(malformed_rate=1.0)
        with patch("time.sleep"):
            log = self.account._run_sync()
        self.assertIn("answered something unreadable", log.error)

    def test_missing_credentials(self):
        other_company = self.env["res.company"].create({"name": "No key Co"})
        account = self.env["vbot.account"].create(
            account_values(self.sim, company_id=other_company.id, api_version="v3")
        )
        log = account._run_sync()
        self.assertEqual(log.error, "Set the API key of the VBot account first.")


class TestKeySet(TransactionCase):
    """The run's set of fetched ids: counts distinct ids across its merges."""

    def test_counts_each_id_once_across_merges(self):
        keys = _KeySet()
        keys.MERGE = 7
        for round_ in range(3):
            for number in range(50):
                keys.add(f"id-{number}")
            self.assertEqual(len(keys), 50, round_)
        self.assertGreater(len(keys.old), 40)  # most of them merged into the array
        keys.add(123)
        keys.add("123")
        self.assertEqual(len(keys), 52)
