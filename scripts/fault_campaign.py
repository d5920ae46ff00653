"""Fault campaign of the sync (issue 7): real Odoo processes against a hostile simulator.

    python scripts/fault_campaign.py [--db vbot_faults] [--calls 3000] [--seed 7]

Builds a scratch database with the addon, starts a simulator in this process (so that it
can be bent between and during runs) and runs the sync in real Odoo processes
(``scripts/fault_worker.py``: real commits, real advisory locks), through:

1. a backfill under storms: 5xx, 429, error envelopes, torn JSON, slow pages, calls
   arriving while paging, every access token expired every 0.1 s;
2. kill -9 of a sync at a random page, three times (the history restarted each time);
3. two syncs started together while the account form is saved;
4. late calls, listed 2 h, 30 h and 50 h after their date;
5. calls first sent unreadably, then corrected;
6. the hostile corpus (``vbot_call_history/tests/hostile_payloads.py``) between normal calls.

After every run it checks that a log saying "ok" hides no loss (every readable call VBot
lists in the synced history is stored), and at the end it compares the database with the
simulator: every call once, no duplicate, no call VBot does not hold, the unreadable ones
remembered. It prints figures and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vbot_call_history.services.mapping import MappingError, map_call, safe_external_id  # noqa: E402
from vbot_simulator import SimulatorConfig, SimulatorServer  # noqa: E402

VN = timezone(timedelta(hours=7))
FMT = "%m/%d/%Y %H:%M:%S"


class Campaign:
    def __init__(self, args):
        self.args = args
        self.python = args.python
        self.rng = random.Random(args.seed)
        self.violations: list[str] = []
        self.runs: list[dict] = []
        self.figures: dict[str, int | float | str] = {}
        self.faults_served: dict[str, int] = {}
        self.inserted_at: dict[str, float] = {}  # group_id -> wall time it appeared
        self.unreadable_expected: set[str] = set()

    # -- infrastructure ------------------------------------------------------------------------

    def db(self):
        return psycopg2.connect(
            dbname=self.args.db,
            host=self.args.db_host,
            port=self.args.db_port,
            user=self.args.db_user or None,
        )

    def odoo_args(self):
        args = [
            f"--db_host={self.args.db_host}",
            f"--db_port={self.args.db_port}",
            f"--addons-path={self.args.addons_path}",
        ]
        if self.args.db_user:
            args.append(f"--db_user={self.args.db_user}")
        return args

    def build_database(self):
        conn = psycopg2.connect(
            dbname="postgres",
            host=self.args.db_host,
            port=self.args.db_port,
            user=self.args.db_user or None,
        )
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [self.args.db],
            )
            cr.execute(f'DROP DATABASE IF EXISTS "{self.args.db}"')
        conn.close()
        subprocess.run(
            [
                self.python,
                "-m",
                "odoo",
                *self.odoo_args(),
                "-d",
                self.args.db,
                "-i",
                "vbot_call_history",
                "--without-demo=all",
                "--stop-after-init",
                "--log-level=warn",
            ],
            check=True,
            env=self.env(),
        )

    def env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def worker(self, action, payload=None, background=False):
        command = [
            self.python,
            str(REPO / "scripts" / "fault_worker.py"),
            "--db",
            self.args.db,
            "--addons-path",
            self.args.addons_path,
            "--db-host",
            self.args.db_host,
            "--db-port",
            str(self.args.db_port),
            "--db-user",
            self.args.db_user,
            action,
            json.dumps(payload or {}),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env()
        )
        if background:
            return process
        return self.result(process)

    def result(self, process):
        out, err = process.communicate()
        if process.returncode != 0:
            if process.returncode == -signal.SIGKILL:
                return {"killed": True}
            raise RuntimeError(f"worker failed ({process.returncode}): {err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    # -- the simulator -------------------------------------------------------------------------

    def start_simulator(self):
        self.sim = SimulatorServer(
            SimulatorConfig(calls=self.args.calls, seed=self.args.seed, days=40),
            host="127.0.0.1",
            port=0,
        ).start()
        state = self.sim.state
        original = state.next_fault

        def counting_next_fault():
            fault = original()
            self.faults_served[fault] = self.faults_served.get(fault, 0) + 1
            return fault

        state.next_fault = counting_next_fault
        add = state._add_calls_locked

        def recording_add(*args, **kwargs):
            new, internal = add(*args, **kwargs)
            for group in new:
                self.inserted_at[group["group_id"]] = time.time()
            return new, internal

        state._add_calls_locked = recording_add

    def expire_tokens_every(self, seconds):
        stop = threading.Event()

        def loop():
            while not stop.wait(seconds):
                self.sim.state.expire_tokens()

        threading.Thread(target=loop, daemon=True).start()
        return stop

    def readable_calls(self):
        """{VBot id: call date} of every call VBot lists that can be read, now."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        calls, seen = {}, set()
        for group in list(self.sim.state.calls):
            try:
                values = map_call(group, now=now)
            except MappingError:
                continue
            key = values["external_id"]
            if key in seen:  # a second call claiming an id: remembered as unreadable
                continue
            seen.add(key)
            calls[key] = values["call_date"]
        return calls

    # -- checks --------------------------------------------------------------------------------

    def stored(self):
        with self.db() as conn, conn.cursor() as cr:
            cr.execute("SELECT external_id, call_date FROM vbot_call")
            rows = cr.fetchall()
            cr.execute("SELECT sync_history_start, sync_watermark FROM vbot_account")
            span = cr.fetchone()
        return rows, span

    def check_run(self, phase, result):
        """A log that says "ok" must hide no loss in the synced history."""
        for log in result.get("logs", []):
            self.runs.append({"phase": phase, "state": log["state"], "type": log["run_type"]})
            if log["state"] != "ok":
                continue
            rows, (start, end) = self.stored()
            if not (start and end):
                continue
            stored = {row[0] for row in rows}
            started = datetime.fromisoformat(str(log["date_start"])).replace(tzinfo=timezone.utc)
            missing = [
                key
                for key, date in self.readable_calls().items()
                if start <= date <= end
                and key not in stored
                and self.inserted_at.get(key, 0) < started.timestamp()
            ]
            if missing:
                self.violations.append(
                    f"{phase}: log {log['id']} says ok but {len(missing)} call(s) are missing"
                )

    def sync_until_caught_up(self, phase, budget=15, limit=60):
        for _ in range(limit):
            result = self.worker("sync", {"budget": budget})
            if result.get("skipped"):  # backing off after a failure: Sync now
                result = self.worker("run", {"budget": budget})
            self.check_run(phase, result)
            report = self.worker("report")
            if not report["backlog"] and result["logs"] and result["logs"][-1]["state"] != "error":
                return report
        self.violations.append(f"{phase}: not caught up after {limit} runs")
        return self.worker("report")

    # -- phases --------------------------------------------------------------------------------

    def phase_storm(self):
        state = self.sim.state
        state.set_faults(
            fail_rate=0.08,
            rate_limit_rate=0.08,
            retry_after=0,
            error_rate=0.04,
            malformed_rate=0.02,
            slow_rate=0.02,
            slow_seconds=0.3,
            arrivals_per_request=1,
        )
        stop = self.expire_tokens_every(0.1)
        try:
            self.sync_until_caught_up("storm")
        finally:
            stop.set()
            state.set_faults()

    def restart_history(self, other_name):
        """Point the account at the same VBot under another host name: its history starts
        again (the calls it holds stay, once)."""
        host = "localhost" if other_name else "127.0.0.1"
        url = f"http://{host}:{self.sim.port}/v2.0"
        self.worker("save", {"vals": {"base_url": url, "password": "demo"}})

    def phase_kill(self, kills=3):
        state = self.sim.state
        killed = 0
        for round_no in range(kills):
            self.restart_history(other_name=round_no % 2 == 0)
            state.set_faults(slow_rate=1.0, slow_seconds=0.15)
            state.clear_requests()
            target = self.rng.randint(3, 25)
            process = self.worker("sync", {"budget": 120}, background=True)
            while process.poll() is None:
                pages = sum(1 for r in list(state.requests) if r[1].endswith("getAll"))
                if pages >= target:
                    os.kill(process.pid, signal.SIGKILL)
                    killed += 1
                    break
                time.sleep(0.02)
            self.result(process)
            state.set_faults()
            report = self.sync_until_caught_up(f"after kill {round_no + 1}", budget=60)
            with self.db() as conn, conn.cursor() as cr:
                cr.execute("SELECT count(*) FROM vbot_sync_log WHERE state = 'running'")
                if cr.fetchone()[0]:
                    self.violations.append("a killed run's log is still running")
            del report
        self.figures["kill -9"] = killed
        with self.db() as conn, conn.cursor() as cr:
            cr.execute("SELECT count(*) FROM vbot_sync_log WHERE state = 'interrupted'")
            self.figures["runs marked interrupted"] = cr.fetchone()[0]

    def phase_concurrency(self):
        state = self.sim.state
        self.restart_history(other_name=False)
        state.set_faults(slow_rate=1.0, slow_seconds=0.1)
        first = self.worker("run", {"budget": 120}, background=True)
        second = self.worker("sync", {"budget": 120}, background=True)
        time.sleep(4)
        saved = self.worker("save", {"vals": {"name": "Saved during the sync"}, "hold": 1})
        results = [self.result(first), self.result(second)]
        state.set_faults()
        ran = [r for r in results if r.get("logs")]
        for result in results:
            self.check_run("concurrency", result)
            for log in result.get("logs", []):
                if log["state"] == "error" or "took over" in (log["message"] or ""):
                    self.violations.append(f"concurrency: a sync failed: {log['message']}")
        if len(ran) != 1 or not saved.get("saved"):
            self.violations.append(f"concurrency: {len(ran)} syncs ran (1 expected)")
        self.figures["concurrent syncs that ran / skipped"] = f"{len(ran)} / {2 - len(ran)}"
        self.sync_until_caught_up("after concurrency", budget=60)

    def phase_late(self):
        state = self.sim.state
        late = {}
        for hours in (2, 30, 50):
            late[hours] = [g["group_id"] for g in state.add_calls(3, age_hours=hours)]
        result = self.worker("sync", {"budget": 60})
        self.check_run("late calls", result)
        states = [log["state"] for log in result["logs"]]
        if "ok" in states:
            self.violations.append("late calls: the regular run said ok with calls missing")
        deep = self.worker("deep")
        self.check_run("deep check", deep)
        rows, _span = self.stored()
        stored = {row[0] for row in rows}
        found = {hours: sum(1 for key in keys if key in stored) for hours, keys in late.items()}
        self.figures["late calls found (2 h / 30 h / 50 h)"] = " / ".join(
            f"{found[h]} of {len(late[h])}" for h in (2, 30, 50)
        )
        if any(found[h] != len(late[h]) for h in late):
            self.violations.append(f"late calls lost: {found}")

    def phase_corrected(self):
        state = self.sim.state
        groups = state.add_calls(4, age_hours=1)
        state.upsert_groups([dict(g, type_call="SOMETHING") for g in groups])
        result = self.worker("sync", {"budget": 60})
        self.check_run("unreadable", result)
        state.upsert_groups(groups)  # VBot corrects them
        result = self.worker("sync", {"budget": 60})
        self.check_run("corrected", result)
        rows, _span = self.stored()
        stored = {row[0] for row in rows}
        found = sum(1 for g in groups if g["group_id"] in stored)
        self.figures["corrected calls stored"] = f"{found} of {len(groups)}"
        if found != len(groups):
            self.violations.append(f"corrected calls lost: {len(groups) - found}")

    def serve(self, group, epoch):
        """Add a group to VBot's history as it is (a second group may claim an id)."""
        state = self.sim.state
        group_id = group.get("group_id") if isinstance(group, dict) else None
        if isinstance(group_id, str) and state.find_group(group_id) is not None:
            with state.lock:  # upsert would replace the first one: list both, side by side
                position = next(
                    i
                    for i, listed in enumerate(state.calls)
                    if isinstance(listed, dict) and listed.get("group_id") == group_id
                )
                state.calls.insert(position + 1, group)
            state.reindex()
        else:
            state.upsert_groups([group], epoch=epoch)

    def phase_poison(self):
        path = REPO / "vbot_call_history/tests/hostile_payloads.py"
        spec = importlib.util.spec_from_file_location("hostile_payloads", path)
        hostile = importlib.util.module_from_spec(spec)
        sys.modules["hostile_payloads"] = hostile
        spec.loader.exec_module(hostile)
        when = datetime.now(VN).replace(tzinfo=None) - timedelta(hours=3)
        state = self.sim.state
        cases = [
            case
            for case in hostile.cases(when)
            if case.servable and case.name != "one call sent twice, identical"
        ]
        expected_stored, expected_skipped, normals = set(), set(), []
        for index, case in enumerate(cases):
            at = when - timedelta(minutes=index)
            epoch = int(at.replace(tzinfo=VN).timestamp())
            before = hostile.normal_group(index, at + timedelta(seconds=20), prefix="campaign")
            normals.append(before["group_id"])
            state.upsert_groups([before])
            for group, expect in zip(case.groups, case.expect, strict=True):
                self.serve(group, epoch)
                key = safe_external_id(group)
                if isinstance(expect, hostile.Skipped):
                    expected_skipped.add(key)
                else:
                    expected_stored.add(hostile.expected_id(group, expect) or key)
        result = self.worker("sync", {"budget": 60})
        self.check_run("poison", result)
        rows, _span = self.stored()
        stored = {row[0] for row in rows}
        report = self.worker("report")
        remembered = set(report["unreadable"])
        lost_normals = [key for key in normals if key not in stored]
        not_stored = expected_stored - stored
        not_remembered = {
            key
            for key in expected_skipped
            if key not in remembered and not any(r.startswith(key + "#dup-") for r in remembered)
        }
        self.unreadable_expected = remembered
        self.figures["hostile payloads (stored / skipped by field)"] = (
            f"{len(expected_stored) - len(not_stored)} / {len(expected_skipped) - len(not_remembered)}"
        )
        if lost_normals or not_stored or not_remembered:
            self.violations.append(
                f"poison: {len(lost_normals)} normal, {len(not_stored)} storable lost, "
                f"{len(not_remembered)} skipped without a trace"
            )

    def final_comparison(self):
        result = self.worker("run", {"budget": 60})
        self.check_run("final", result)
        rows, (start, end) = self.stored()
        ids = [row[0] for row in rows]
        stored = set(ids)
        readable = self.readable_calls()
        in_span = {key for key, date in readable.items() if start <= date <= end}
        listed = {safe_external_id(g) for g in list(self.sim.state.calls)} | set(readable)
        report = self.worker("report")
        with self.db() as conn, conn.cursor() as cr:
            cr.execute("SELECT count(*) FROM vbot_sync_log WHERE state = 'running'")
            running = cr.fetchone()[0]
            cr.execute("SELECT state, count(*) FROM vbot_sync_log GROUP BY state ORDER BY state")
            by_state = dict(cr.fetchall())
        self.figures.update(
            {
                "calls VBot lists (readable, in the synced history)": len(in_span),
                "calls stored": len(ids),
                "missing": len(in_span - stored),
                "duplicates": len(ids) - len(stored),
                "stored calls VBot does not list": len(stored - listed),
                "unreadable calls remembered": len(report["unreadable"]),
                "logs by state": json.dumps(by_state),
                "logs still running": running,
                "API requests (getAll, countAll)": sum(self.faults_served.values()),
                "faults served": json.dumps(
                    {k: v for k, v in sorted(self.faults_served.items()) if k != "ok"}
                ),
            }
        )
        if in_span - stored:
            self.violations.append(f"final: {len(in_span - stored)} calls missing")
        if len(ids) != len(stored):
            self.violations.append("final: duplicates")
        if stored - listed:
            self.violations.append(f"final: {len(stored - listed)} calls VBot does not list")
        if running:
            self.violations.append("final: logs still running")

    # -- main ----------------------------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        self.start_simulator()
        print(f"Simulator {self.sim.url}: {len(self.sim.state.calls)} calls over 40 days")
        self.build_database()
        customers = self.sim.state.customers[:100]
        self.worker(
            "setup",
            {
                "allow": f"127.0.0.1:{self.sim.port} localhost:{self.sim.port}",
                "account": {
                    "name": "Fault campaign",
                    "base_url": self.sim.base_url_v2,
                    "api_version": "v2",
                    "username": "demo",
                    "password": "demo",
                    "vbot_id": "VB-DEMO",
                    "project_code": "PR-DEMO",
                    "initial_days": 30,
                    "page_size": 50,
                    "slice_hours": 24,
                },
                "customers": customers,
            },
        )
        phases = [
            ("storms", self.phase_storm),
            ("kill -9", self.phase_kill),
            ("two syncs and a form save", self.phase_concurrency),
            ("late calls", self.phase_late),
            ("corrected calls", self.phase_corrected),
            ("hostile payloads", self.phase_poison),
            ("final comparison", self.final_comparison),
        ]
        for name, phase in phases:
            phase_started = time.monotonic()
            phase()
            print(f"  {name}: {time.monotonic() - phase_started:.0f} s", flush=True)
        self.sim.stop()
        states = {}
        for run in self.runs:
            states[run["state"]] = states.get(run["state"], 0) + 1
        self.figures["runs checked (by state)"] = json.dumps(states)
        self.figures["logs saying ok over a loss"] = sum(
            1 for v in self.violations if "says ok" in v or "said ok" in v
        )
        self.figures["duration"] = f"{time.monotonic() - started:.0f} s"
        print("\nFigures")
        for key, value in self.figures.items():
            print(f"  {key}: {value}")
        if self.violations:
            print("\nVIOLATIONS")
            for violation in self.violations:
                print(f"  - {violation}")
            return 1
        print("\nNo violation: every call once, nothing lost, no 'ok' over a loss.")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("FAULT_DB", "vbot_faults"))
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--python", default=os.environ.get("PYTHON", sys.executable))
    parser.add_argument("--addons-path", default=os.environ.get("ODOO_ADDONS_PATH", str(REPO)))
    parser.add_argument("--db-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--db-port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--db-user", default=os.environ.get("PGUSER", ""))
    sys.exit(Campaign(parser.parse_args()).run())


if __name__ == "__main__":
    main()
