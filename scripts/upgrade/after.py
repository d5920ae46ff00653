# Run inside `odoo shell` with THIS version after `-u vbot_call_history` (scripts/upgrade_check.sh):
# every call, its contact and the sync state survived, and a sync still works and adds no
# duplicate. Exits with an error naming what was lost.
import json
import os

state = json.load(open(os.environ["VBOT_UPGRADE_STATE"], encoding="utf-8"))
problems = []
account = env["vbot.account"].with_context(active_test=False).browse(state["account_id"])
if not account.exists():
    raise SystemExit("ERROR: the upgrade lost the VBot account")
calls = env["vbot.call"].search([("account_id", "=", account.id)])
by_external = {}
for call in calls:
    by_external.setdefault(call.external_id, []).append(call)
lost = [ext for ext in state["calls"] if ext not in by_external]
doubled = [ext for ext, found in by_external.items() if len(found) > 1]
moved = [
    ext
    for ext, partner_id in state["calls"].items()
    if partner_id and ext in by_external and by_external[ext][0].partner_id.id != partner_id
]
agents = [
    ext
    for ext, user_id in state["user_calls"].items()
    if ext in by_external and by_external[ext][0].user_id.id != user_id
]
# Each call's commercial entity (18.0.2.1.0) is its contact's, filled by the migration.
entities = [
    call.external_id
    for call in calls
    if call.commercial_partner_id != call.partner_id.commercial_partner_id
]
if lost:
    problems.append(f"{len(lost)} calls lost")
if entities:
    problems.append(f"{len(entities)} calls without their contact's commercial entity")
if doubled:
    problems.append(f"{len(doubled)} calls duplicated")
if moved:
    problems.append(f"{len(moved)} calls no longer on their contact")
if agents:
    problems.append(f"{len(agents)} calls lost their agent")
if str(account.sync_watermark) != state["watermark"]:
    problems.append(f"watermark {state['watermark']} became {account.sync_watermark}")
if not account.active:
    problems.append("the account is no longer active")
if not account.sudo().password:
    problems.append("the stored password was lost")
# The call statistics (18.0.2.1.0) count every call kept, by type, after the migrations.
env.cr.execute(
    """
    SELECT t.call_type, t.n, COALESCE(s.n, 0) FROM
        (SELECT call_type, count(*) AS n FROM vbot_call GROUP BY 1) AS t
        LEFT JOIN (SELECT call_type, sum(calls) AS n FROM vbot_call_stat GROUP BY 1) AS s
        USING (call_type)
    """
)
miscounted = [row for row in env.cr.fetchall() if row[1] != row[2]]
if miscounted:
    problems.append(f"statistics differ from the calls: {miscounted}")
# Indexes of fields no longer indexed (18.0.2.1.0) are dropped, the new ones made.
env.cr.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'vbot_call'")
indexes = {row[0] for row in env.cr.fetchall()}
stale = sorted(indexes & {"vbot_call__partner_id_index", "vbot_call__call_type_index"})
if stale:
    problems.append(f"indexes left behind: {', '.join(stale)}")
if "vbot_call_commercial_date_idx" not in indexes:
    problems.append("no index of the calls by commercial entity")
if problems:
    raise SystemExit("ERROR: the upgrade broke the database: " + "; ".join(problems))
# The upgraded database keeps syncing: the scheduled job's code, nothing new, no duplicate.
env["vbot.account"]._cron_sync()
env.invalidate_all()
after = env["vbot.call"].search([("account_id", "=", account.id)])
if len(after) != len(calls) or len(set(after.mapped("external_id"))) != len(after):
    raise SystemExit(
        f"ERROR: a sync after the upgrade changed {len(calls)} calls into {len(after)}"
    )
if account.last_sync_state == "error":
    raise SystemExit(f"ERROR: a sync after the upgrade failed: {account.last_sync_message}")
env.cr.rollback()
print(
    f"upgraded: {len(calls)} calls kept, {sum(1 for p in state['calls'].values() if p)} on their "
    f"contact, watermark {account.sync_watermark}; a sync afterwards: {account.last_sync_state}"
)
