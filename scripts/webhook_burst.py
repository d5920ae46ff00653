"""Post a burst of VBot webhooks back to back and print the time per event.

    python scripts/webhook_burst.py --url URL --auth SECRET [--events 1000] [--db DB]

Each event is a distinct call's ``MANUAL_CALL_LOG``, made by the simulator's webhook builder
from its generated calls (realistic bodies, the simulator's customers as callers). They are
sent one after the other, each on its own connection as VBot does, and timed from the first
byte sent to the last byte of the answer. With ``--db`` the database is then asked whether
every call is stored, once. ``scripts/webhook_burst.sh`` sets up a database and an Odoo for it.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbot_simulator.data import CallGenerator
from vbot_simulator.members import make_members
from vbot_simulator.webhooks import PayloadBuilder


def bodies(count: int, seed: int) -> list[tuple[str, bytes]]:
    """``(group_id, body)`` of ``count`` calls of the last day, newest first."""
    generator = CallGenerator(seed, "VB-DEMO", "http://127.0.0.1:8765", max(20, count // 8))
    builder = PayloadBuilder("PR-DEMO", "VB-DEMO", make_members(seed), generator.customers)
    now = int(time.time()) - 60
    out = []
    for index in range(count):
        group = generator.make_group(now - index * 80)
        out.append((group["group_id"], json.dumps(builder.call_log(group)).encode()))
    return out


def post(url: str, auth: str, body: bytes) -> tuple[int, float, dict]:
    parts = urlsplit(url)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            parts.path,
            body=body,
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    try:
        decoded = json.loads(answer)
    except ValueError:
        decoded = {"raw": answer[:200].decode(errors="replace")}
    return response.status, elapsed, decoded


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the account's webhook URL")
    parser.add_argument("--auth", required=True, help="the account's auth header value")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--db", help="database to check that every call is stored once")
    args = parser.parse_args()

    events = bodies(args.events, args.seed)
    times, results, failures = [], {}, []
    started = time.perf_counter()
    for group_id, body in events:
        status, elapsed, answer = post(args.url, args.auth, body)
        times.append(elapsed)
        results[answer.get("result")] = results.get(answer.get("result"), 0) + 1
        if status != 200:
            failures.append((group_id, status, answer))
    wall = time.perf_counter() - started
    ms = [t * 1000 for t in times]
    print(
        f"{len(events)} events in {wall:.1f} s ({len(events) / wall:.0f} events/s): "
        f"median {statistics.median(ms):.1f} ms, p90 {percentile(ms, 0.9):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms per event"
    )
    print(f"answers: {results}; failures: {len(failures)} {failures[:3]}")
    if args.db:
        import psycopg2

        conn = psycopg2.connect(
            dbname=args.db,
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER") or None,
        )
        with conn, conn.cursor() as cr:
            cr.execute(
                """SELECT count(*), count(DISTINCT external_id)
                     FROM vbot_call WHERE external_id = ANY(%s)""",
                [[group_id for group_id, _body in events]],
            )
            stored, distinct = cr.fetchone()
            cr.execute(
                "SELECT count(*) FROM vbot_call WHERE external_id = ANY(%s) AND partner_id IS NOT NULL",
                [[group_id for group_id, _body in events]],
            )
            (linked,) = cr.fetchone()
        print(
            f"stored: {stored} calls for {len(events)} events, {distinct} distinct, {linked} on a contact"
        )
        return 0 if stored == distinct == len(events) and not failures else 1
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
