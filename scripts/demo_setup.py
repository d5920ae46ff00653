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
if os.environ.get("VBOT_HTTP_PORT"):
    # Webhooks: the simulator posts each new call to Odoo as VBot would (README, Webhooks),
    # and a ringing call pops up a card in the web client.
    import secrets
    import urllib.request

    secret = secrets.token_urlsafe(24)
    account.webhook_active = True
    account._webhook_set_secret(secret)
    hook = f"http://127.0.0.1:{os.environ['VBOT_HTTP_PORT']}/vbot_call_history/webhook/{account.webhook_uuid}"
    sim_root = os.environ["VBOT_SIM_URL"].rsplit("/v2.0", 1)[0]
    urllib.request.urlopen(
        urllib.request.Request(
            f"{sim_root}/_sim/webhook",
            # Each event waits 8 s: the card shows for the 8 s between the ring and the log.
            data=json.dumps({"url": hook, "auth": secret, "delay_ms": 8000}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        ),
        timeout=10,
    ).read()
    print(f"Webhooks: the simulator posts new calls to {hook}")
env.cr.commit()
