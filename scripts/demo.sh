#!/usr/bin/env bash
# The demo: the local VBot simulator, a fresh database whose contacts are the
# simulator's customers (numbers in every format a CRM holds), a first sync, and
# Odoo serving on http://localhost:8069 (login admin / admin). Ctrl-C stops both.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

DEMO_DB="${DEMO_DB:-vbot_demo}"
SIM_PORT="${SIM_PORT:-8765}"
HTTP_PORT="${HTTP_PORT:-8069}"
SIM_CALLS="${SIM_CALLS:-2000}"
SIM_SEED="${SIM_SEED:-1}"
VAR_DIR="${REPO_DIR}/var"
mkdir -p "$VAR_DIR"

rm -f "$VAR_DIR/customers.json"
echo "== Starting the VBot simulator on 127.0.0.1:${SIM_PORT} (${SIM_CALLS} calls, seed ${SIM_SEED}) =="
"$PYTHON" -m vbot_simulator --port "$SIM_PORT" --calls "$SIM_CALLS" --seed "$SIM_SEED" \
    --export-customers "$VAR_DIR/customers.json" > "$VAR_DIR/simulator.log" 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    [ -s "$VAR_DIR/customers.json" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$VAR_DIR/simulator.log" >&2; exit 1; }
    sleep 0.2
done

echo "== Creating database '${DEMO_DB}' with demo data =="
drop_db "$DEMO_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$DEMO_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -i contacts,vbot_call_history --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/demo-install.log" \
    || { tail -n 60 "$VAR_DIR/demo-install.log" >&2; exit 1; }

echo "== Adding the simulator's customers as contacts and syncing =="
# shellcheck disable=SC2046
VBOT_CUSTOMERS="$VAR_DIR/customers.json" VBOT_SIM_URL="http://127.0.0.1:${SIM_PORT}/v2.0" VBOT_HTTP_PORT="$HTTP_PORT" \
    "$PYTHON" -m odoo shell $(odoo_db_args) -d "$DEMO_DB" \
    --addons-path="$ODOO_ADDONS_PATH" --no-http --log-level=warn < scripts/demo_setup.py

echo "== Odoo on http://localhost:${HTTP_PORT}  (login: admin / password: admin) =="
echo "   Contacts -> any contact -> the Calls tab; Contacts -> Calls for every call."
echo "   A call rings: curl -X POST 'http://127.0.0.1:${SIM_PORT}/_sim/calls?n=1&type=INCALL' pops up a card."
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$DEMO_DB" --db-filter="^${DEMO_DB}\$" \
    --addons-path="$ODOO_ADDONS_PATH" --http-interface=127.0.0.1 --http-port="$HTTP_PORT" \
    --log-level=info
