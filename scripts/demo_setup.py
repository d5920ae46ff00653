# Run by scripts/demo.sh inside `odoo shell` (``env`` is given): the simulator's
# customers become contacts, as a sales team would have typed them, then a sync.
import json
import os

customers = json.load(open(os.environ["VBOT_CUSTOMERS"], encoding="utf-8"))
Partner = env["res.partner"]
company = Partner.create({"name": "Công ty TNHH Thương mại An Phát", "is_company": True})
values = []
for index, customer in enumerate(customers):
    field = "mobile" if index % 3 else "phone"
    vals = {"name": customer["name"], field: customer["phone"]}
    if index % 11 == 5:
        vals["parent_id"] = company.id
    values.append(vals)
Partner.create(values)
account = env.ref("vbot_call_history.demo_vbot_account")
# The simulator is not a VBot host: allow its address (README, Security) and point at it.
simulator = f"127.0.0.1:{os.environ.get('VBOT_SIM_PORT', '8765')}"
env["ir.config_parameter"].set_param("vbot_call_history.allowed_hosts", simulator)
account.write({"base_url": f"http://{simulator}/v2.0", "password": "demo"})
account.action_sync()
calls = env["vbot.call"].search_count([("account_id", "=", account.id)])
linked = env["vbot.call"].search_count(
    [("account_id", "=", account.id), ("partner_id", "!=", False)]
)
print(
    f"{len(customers)} contacts, {calls} calls synced, {linked} on a contact. {account.last_sync_message}"
)
env.cr.commit()
