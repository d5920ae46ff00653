#!/usr/bin/env bash
# Prints figures for a webhook burst: a fresh database with the simulator's customers as
# contacts and an account receiving webhooks, Odoo serving it, then BURST_EVENTS call logs
# posted back to back by scripts/webhook_burst.py.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

BURST_DB="${BURST_DB:-vbot_burst}"
BURST_EVENTS="${BURST_EVENTS:-1000}"
HTTP_PORT="$(free_port)"
VAR_DIR="${REPO_DIR}/var"
mkdir -p "$VAR_DIR"

drop_db "$BURST_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$BURST_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -i vbot_call_history --without-demo=all --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/burst-install.log"

# shellcheck disable=SC2046
BURST_EVENTS="$BURST_EVENTS" BURST_OUT="$VAR_DIR/burst-webhook.json" "$PYTHON" -m odoo shell \
    $(odoo_db_args) -d "$BURST_DB" --addons-path="$ODOO_ADDONS_PATH" --no-http --log-level=warn <<'PY'
import json, os, secrets
from vbot_simulator.data import CallGenerator
events = int(os.environ["BURST_EVENTS"])
customers = CallGenerator(31, "VB-DEMO", "http://127.0.0.1:8765", max(20, events // 8)).customers
env["res.partner"].create([{"name": c["name"], "mobile": c["phone"]} for c in customers])
account = env["vbot.account"].create({"name": "Burst", "webhook_active": True})
secret = secrets.token_urlsafe(24)
account._webhook_set_secret(secret)
json.dump({"uuid": account.webhook_uuid, "secret": secret}, open(os.environ["BURST_OUT"], "w"))
env.cr.commit()
PY

# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$BURST_DB" --db-filter="^${BURST_DB}\$" \
    --addons-path="$ODOO_ADDONS_PATH" --http-interface=127.0.0.1 --http-port="$HTTP_PORT" \
    --max-cron-threads=0 --log-level=warn --logfile="$VAR_DIR/burst-odoo.log" &
ODOO_PID=$!
trap 'kill $ODOO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:${HTTP_PORT}/web/health" && break
    sleep 0.5
done

UUID="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$VAR_DIR/burst-webhook.json")"
SECRET="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$VAR_DIR/burst-webhook.json")"
"$PYTHON" scripts/webhook_burst.py --url "http://127.0.0.1:${HTTP_PORT}/vbot_call_history/webhook/${UUID}" \
    --auth "$SECRET" --events "$BURST_EVENTS" --db "$BURST_DB"
