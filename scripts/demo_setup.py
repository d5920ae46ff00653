# Run by scripts/demo.sh inside `odoo shell` (``env`` is given): the demo account is pointed at
# the simulator (VBOT_SIM_URL) and activated, the simulator's customers become contacts, as a
# sales team would have typed them, then a first sync. A sync that stores no call stops the demo.
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
# The simulator is not a VBot host: allow its address (README, Security) and point at it
# (the password again, as a new server forgets the stored one).
simulator = os.environ["VBOT_SIM_URL"].split("/")[2]
env["ir.config_parameter"].set_param("vbot_call_history.allowed_hosts", simulator)
account.write({"base_url": os.environ["VBOT_SIM_URL"], "active": True, "password": "demo"})
account._run_sync()  # the first sync at once (Sync now would hand it to the cron)
calls = env["vbot.call"].search_count([("account_id", "=", account.id)])
linked = env["vbot.call"].search_count(
    [("account_id", "=", account.id), ("partner_id", "!=", False)]
)
if not calls:
    raise SystemExit(
        f"ERROR: the demo's first sync from {account.base_url} stored no call "
        f"({account.last_sync_state}: {account.last_sync_message}); see var/simulator.log."
    )
print(
    f"{len(customers)} contacts, {calls} calls synced, {linked} on a contact. {account.last_sync_message}"
)
env.cr.commit()
