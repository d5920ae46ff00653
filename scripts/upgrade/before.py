# Run inside `odoo shell` with the PREVIOUS version of the addon (scripts/upgrade_check.sh):
# contacts, an account on the simulator, a sync; then what must survive the upgrade is written
# to VBOT_UPGRADE_STATE.
import json
import os

customers = json.load(open(os.environ["VBOT_CUSTOMERS"], encoding="utf-8"))
env["res.partner"].create(
    [{"name": c["name"], "mobile": c["phone"]} for c in customers[: len(customers) // 2]]
)
# The simulator is not a VBot host: allowed as an administrator would (versions since
# 18.0.2.0.0 refuse other hosts; earlier ones ignore the parameter).
env["ir.config_parameter"].set_param(
    "vbot_call_history.allowed_hosts", os.environ["VBOT_SIM_URL"].split("/")[2]
)
Account = env["vbot.account"].with_context(active_test=False)
Account.search([]).unlink()
account = Account.create(
    {
        "name": "VBot before the upgrade",
        "base_url": os.environ["VBOT_SIM_URL"],
        "api_version": "v2",
        "username": "demo",
        "password": "demo",
        "vbot_id": "VB-DEMO",
        "project_code": "PR-DEMO",
        "initial_days": 30,
    }
)
if hasattr(account, "_run_sync"):
    account._run_sync()  # since 18.0.2.0.0, Sync now hands the sync to the scheduled job
else:
    account.action_sync()
calls = env["vbot.call"].search([("account_id", "=", account.id)])
state = {
    "account_id": account.id,
    "watermark": str(account.sync_watermark),
    "last_state": account.last_sync_state,
    "calls": {call.external_id: call.partner_id.id for call in calls},
    "user_calls": {call.external_id: call.user_id.id for call in calls if call.user_id},
}
if not calls or not any(state["calls"].values()):
    raise SystemExit(f"ERROR: the previous version synced no call ({account.last_sync_message})")
json.dump(state, open(os.environ["VBOT_UPGRADE_STATE"], "w", encoding="utf-8"))
env.cr.commit()
print(
    f"previous version: {len(calls)} calls, {sum(1 for p in state['calls'].values() if p)} on a "
    f"contact, synced up to {state['watermark']} ({state['last_state']})"
)
