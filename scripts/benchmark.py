# Run by scripts/benchmark.sh inside `odoo shell` (``env`` is given). Prints figures.
import json
import os
import time

customers = json.load(open(os.environ["BENCH_CUSTOMERS"], encoding="utf-8"))
Partner = env["res.partner"]
t0 = time.perf_counter()
partners = Partner.create([{"name": c["name"], "mobile": c["phone"]} for c in customers])
env.cr.commit()
print(f"contacts created: {len(partners)} in {time.perf_counter() - t0:.1f} s")

# The simulator is not a VBot host: allow its host:port (README, Security).
env["ir.config_parameter"].set_param(
    "vbot_call_history.allowed_hosts", os.environ["BENCH_URL"].split("/")[2]
)
account = env["vbot.account"].create(
    {
        "name": "Benchmark",
        "base_url": os.environ["BENCH_URL"],
        "username": "demo",
        "password": "demo",
        "vbot_id": "VB-DEMO",
        "project_code": "PR-DEMO",
        "initial_days": 31,
        "page_size": 500,
    }
)
env.cr.commit()
for label in ("first sync", "second sync (nothing new)"):
    t0 = time.perf_counter()
    account._run_sync()  # a whole backfill in one run (Sync now hands it to the cron)
    account.invalidate_recordset()
    elapsed = time.perf_counter() - t0
    fetched = account.last_fetched_count
    print(
        f"{label}: {fetched} calls fetched, {account.last_created_count} new, "
        f"{account.last_updated_count} updated in {elapsed:.1f} s ({fetched / elapsed:.0f} calls/s); "
        f"state {account.last_sync_state}"
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
