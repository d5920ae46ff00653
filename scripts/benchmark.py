# Run by scripts/benchmark.sh inside `odoo shell` (``env`` is given). Prints figures.
#
# One run, on the same data: our first sync (calls/s), a naive baseline (ORM create one call
# at a time, the contact found by an ilike on the number's last 9 digits) and the floor (a raw
# execute_values insert of the same mapped rows into a scratch table with the same columns
# and indexes), both on a sample and rolled back; the peak memory of this process during the
# sync; the second sync (nothing new); a sync through a simulator answering after a fixed
# latency, against the network bound (page size / latency).
import json
import os
import resource
import time

import psycopg2.extras
from odoo.addons.vbot_call_history.services.mapping import map_call

SAMPLE = 5000
NAIVE_SECONDS = 30  # the naive baseline stops there (its ilike scans every contact)
figures = {}


def peak_rss_mb():
    """This process's peak resident memory (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Start the peak (VmHWM) from the current memory (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def make_account(name, url, own_company=False, **extra):
    """A VBot account on ``url`` (a company has one: ``own_company`` makes one for it)."""
    if own_company:
        extra["company_id"] = env["res.company"].create({"name": name}).id
    account = env["vbot.account"].create(
        {
            "name": name,
            "base_url": url,
            "username": "demo",
            "password": "demo",
            "vbot_id": "VB-DEMO",
            "project_code": "PR-DEMO",
            "initial_days": 31,
            "page_size": 500,
            **extra,
        }
    )
    env.cr.commit()
    return account


customers = json.load(open(os.environ["BENCH_CUSTOMERS"], encoding="utf-8"))
Partner = env["res.partner"]
t0 = time.perf_counter()
for start in range(0, len(customers), 10000):
    Partner.create(
        [{"name": c["name"], "mobile": c["phone"]} for c in customers[start : start + 10000]]
    )
    env.cr.commit()
    env.invalidate_all()
print(f"contacts created: {len(customers)} in {time.perf_counter() - t0:.1f} s")
del customers

# The simulators are not VBot hosts: allow their host:port (README, Security).
hosts = {os.environ["BENCH_URL"].split("/")[2], os.environ["BENCH_LATENCY_URL"].split("/")[2]}
env["ir.config_parameter"].set_param("vbot_call_history.allowed_hosts", ",".join(sorted(hosts)))
account = make_account("Benchmark", os.environ["BENCH_URL"])
rss_before = peak_rss_mb()
reset_peak_rss()
for label in ("first sync", "second sync (nothing new)"):
    t0 = time.perf_counter()
    account._run_sync()  # a whole backfill in one run (Sync now hands it to the cron)
    account.invalidate_recordset()
    elapsed = time.perf_counter() - t0
    fetched = account.last_fetched_count
    figures[label] = (fetched, elapsed)
    if label == "first sync":
        figures["peak rss"] = peak_rss_mb()
    print(
        f"{label}: {fetched} calls fetched, {account.last_created_count} new, "
        f"{account.last_updated_count} updated in {elapsed:.2f} s ({fetched / elapsed:.0f} calls/s); "
        f"state {account.last_sync_state}"
    )
print(
    f"peak RSS of this process during the first sync: {figures['peak rss']:.0f} MB "
    f"(before it: {rss_before:.0f} MB)"
)
Call = env["vbot.call"]
total = Call.search_count([("account_id", "=", account.id)])
linked = Call.search_count([("account_id", "=", account.id), ("partner_id", "!=", False)])
print(f"stored: {total} calls, {linked} on a contact, {total - linked} unmatched or ambiguous")
env.cr.execute(
    "SELECT count(*) FROM (SELECT 1 FROM vbot_call GROUP BY account_id, external_id HAVING count(*) > 1) d"
)
print(f"duplicated VBot ids: {env.cr.fetchone()[0]}")
# Every call whose number belongs to exactly one contact must be on that contact.
env.cr.execute(
    """
    WITH keys AS (
        SELECT key, min(id) AS partner_id, count(DISTINCT id) AS owners
          FROM (SELECT id, vbot_phone_key AS key FROM res_partner WHERE active AND vbot_phone_key IS NOT NULL
                UNION SELECT id, vbot_mobile_key FROM res_partner WHERE active AND vbot_mobile_key IS NOT NULL) k
         GROUP BY key
    )
    SELECT count(*), count(*) FILTER (WHERE c.partner_id = keys.partner_id)
      FROM vbot_call c JOIN keys ON keys.key = c.customer_key AND keys.owners = 1
    """
)
owned, on_contact = env.cr.fetchone()
print(f"calls whose number belongs to exactly one contact: {owned}, on that contact: {on_contact}")

# --- The naive baseline: ORM create one call at a time, the contact by an ilike (rolled back).
client = account._make_client()
groups = []
for _page, page_groups in client.iter_pages(
    date_from=account.sync_history_start, date_to=account.sync_watermark
):
    groups += page_groups
    if len(groups) >= SAMPLE:
        break
mapped = [map_call(group, account.timezone or "UTC") for group in groups[:SAMPLE]]
scratch = make_account("Benchmark (naive, rolled back)", os.environ["BENCH_URL"], own_company=True)
try:
    Sudo = Call.sudo()
    t0 = time.perf_counter()
    done = 0
    for values in mapped:
        if time.perf_counter() - t0 > NAIVE_SECONDS:
            break
        done += 1
        digits = "".join(ch for ch in values["customer_number"] if ch.isdigit())[-9:]
        partner = (
            Partner.search(["|", ("phone", "ilike", digits), ("mobile", "ilike", digits)], limit=1)
            if digits
            else Partner
        )
        vals = Sudo._prepare_vals(scratch, values)
        vals.update(partner_id=partner.id, match_state="matched" if partner else "unmatched")
        Sudo.create(vals)
    env.flush_all()
    figures["naive"] = done / (time.perf_counter() - t0)
    figures["naive done"] = done
finally:
    env.cr.rollback()

# --- The floor: the same columns of already-mapped rows, a raw execute_values insert into a
# scratch table with vbot_call's columns and indexes (rolled back).
columns = [
    name
    for name, field in Call._fields.items()
    if field.store and field.column_type and name != "id"
]
quoted = ", ".join(f'"{name}"' for name in columns)
env.cr.execute(
    f"SELECT {quoted} FROM vbot_call WHERE account_id = %s ORDER BY id LIMIT %s",
    [account.id, SAMPLE],
)
rows = [
    tuple(psycopg2.extras.Json(value) if isinstance(value, list | dict) else value for value in row)
    for row in env.cr.fetchall()
]
try:
    env.cr.execute(
        "CREATE TABLE vbot_bench_floor (LIKE vbot_call INCLUDING DEFAULTS INCLUDING INDEXES)"
    )
    t0 = time.perf_counter()
    for start in range(0, len(rows), 500):  # pages of 500, as the sync
        psycopg2.extras.execute_values(
            env.cr._obj,
            f"INSERT INTO vbot_bench_floor ({quoted}) VALUES %s RETURNING id",
            rows[start : start + 500],
            page_size=500,
            fetch=True,
        )
    figures["floor"] = len(rows) / (time.perf_counter() - t0)
finally:
    env.cr.rollback()

# --- The latency run: a simulator answering every request after BENCH_LATENCY_MS.
latency = int(os.environ.get("BENCH_LATENCY_MS") or 150) / 1000
# One window over the whole history: each window costs its own countAll round trips.
far = make_account(
    "Benchmark (latency)", os.environ["BENCH_LATENCY_URL"], own_company=True, slice_hours=24 * 32
)
t0 = time.perf_counter()
far._run_sync()
far.invalidate_recordset()
elapsed = time.perf_counter() - t0
figures["latency"] = (far.last_fetched_count, elapsed, far.last_sync_state)

fetched, elapsed = figures["first sync"]
ours = fetched / elapsed
bound = 500 / latency
lat_fetched, lat_elapsed, lat_state = figures["latency"]
lat_rate = lat_fetched / lat_elapsed
print()
print(f"| {fetched} calls, page size 500 | calls/s | |")
print("|---|---:|---|")
print(
    f"| **ours** (first sync) | {ours:,.0f} | ×{ours / figures['naive']:.1f} naive, "
    f"{ours / figures['floor'] * 100:.0f} % of the floor |"
)
print(
    f"| naive baseline (ORM create + ilike, {figures['naive done']} calls) "
    f"| {figures['naive']:,.0f} | |"
)
print(f"| floor (raw execute_values, {len(rows)} mapped rows) | {figures['floor']:,.0f} | |")
print(f"| peak RSS of the syncing process | {figures['peak rss']:.0f} MB | |")
print(f"| second sync (nothing new) | {figures['second sync (nothing new)'][1]:.2f} s | |")
print(
    f"| latency run ({latency * 1000:.0f} ms, {lat_fetched} calls, {lat_state}) | {lat_rate:,.0f} "
    f"| {lat_rate / bound * 100:.0f} % of the network bound ({bound:,.0f} calls/s) |"
)
print()

# --- Screens.
busiest = Call._read_group(
    [("partner_id", "!=", False)], ["partner_id"], ["__count"], order="__count desc", limit=1
)
if busiest:
    partner, count = busiest[0]
    env.invalidate_all()
    t0 = time.perf_counter()
    for _ in range(20):
        env.invalidate_all()
        partner.vbot_call_count
    print(
        f"contact with most calls ({count}): call count in {(time.perf_counter() - t0) / 20 * 1000:.1f} ms"
    )
    t0 = time.perf_counter()
    for _ in range(20):
        Call.search(partner._vbot_call_domain(), limit=80)
    print(
        f"its Calls tab (first 80, newest first): {(time.perf_counter() - t0) / 20 * 1000:.1f} ms"
    )
t0 = time.perf_counter()
calls = Call.search([("account_id", "=", account.id)], limit=1000)
calls._match_partners()
print(f"re-matching 1000 calls: {(time.perf_counter() - t0) * 1000:.0f} ms")
env.cr.rollback()
exec(open("scripts/bench_screens.py").read())  # screen timings as a VBot user (issue 10)
