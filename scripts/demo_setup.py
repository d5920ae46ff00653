# Run by scripts/demo.sh inside `odoo shell` (``env`` is given): the demo account is pointed at
# the simulator (VBOT_SIM_URL) and activated, the simulator's customers become contacts, as a
# sales team would have typed them, then a first sync. A sync that stores no call stops the demo.
# Before it, VBot's agents are synced and the sales team (one user per agent, names typed with or
# without accents) is mapped to them by the suggestions, and owns the contacts: the Agent column
# fills in and recent missed calls become Call back activities for the contacts' salespeople.
import json
import os

from odoo.addons.vbot_call_history.services.names import fold as _fold

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
partners = Partner.create(values)
account = env.ref("vbot_call_history.demo_vbot_account")
# The simulator is not a VBot host: allow its address (README, Security) and point at it
# (the password again, as a new server forgets the stored one).
simulator = os.environ["VBOT_SIM_URL"].split("/")[2]
env["ir.config_parameter"].set_param("vbot_call_history.allowed_hosts", simulator)
account.write({"base_url": os.environ["VBOT_SIM_URL"], "active": True, "password": "demo"})
account.action_sync_members()
team = env.ref("base.user_admin")
sales_groups = [
    env.ref("base.group_user").id,
    env.ref("base.group_partner_manager").id,
    env.ref("vbot_call_history.group_vbot_user").id,
]
for index, member in enumerate(account.member_ids.filtered(lambda m: m.name and not m.user_id)):
    name = member.name if index % 2 else _fold(member.name).title()
    team |= env["res.users"].create(
        {
            "name": name,
            "login": f"agent{member.member_no}",
            "password": "demo",
            "tz": "Asia/Ho_Chi_Minh",
            "groups_id": [(6, 0, sales_groups)],
        }
    )
account.member_ids.action_apply_suggestions()
for index, partner in enumerate(partners):
    partner.user_id = team[index % len(team)]
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
with_agent = env["vbot.call"].search_count(
    [("account_id", "=", account.id), ("user_id", "!=", False)]
)
callbacks = env["mail.activity"].search_count([("vbot_callback", "=", True)])
print(
    f"{len(customers)} contacts, {calls} calls synced, {linked} on a contact, {with_agent} with "
    f"their agent, {callbacks} Call back activities. {account.last_sync_message}"
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
