#!/usr/bin/env bash
# Prints figures for a large sync: the simulator serves BENCH_CALLS calls over
# BENCH_DAYS days, a fresh database syncs them twice, then contact reads are timed.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

BENCH_DB="${BENCH_DB:-vbot_bench}"
BENCH_CALLS="${BENCH_CALLS:-100000}"
BENCH_DAYS="${BENCH_DAYS:-30}"
BENCH_SEED="${BENCH_SEED:-7}"
BENCH_LATENCY_MS="${BENCH_LATENCY_MS:-150}"
BENCH_LATENCY_CALLS="${BENCH_LATENCY_CALLS:-20000}"
SIM_PORT="$(free_port)"
VAR_DIR="${REPO_DIR}/var"
mkdir -p "$VAR_DIR"

echo "== Simulator: ${BENCH_CALLS} calls over ${BENCH_DAYS} days, seed ${BENCH_SEED}, port ${SIM_PORT} =="
"$PYTHON" -m vbot_simulator --port "$SIM_PORT" --calls "$BENCH_CALLS" --days "$BENCH_DAYS" --seed "$BENCH_SEED" \
    --export-customers "$VAR_DIR/bench-customers.json" > "$VAR_DIR/bench-simulator.log" 2>&1 &
SIM_PID=$!
# A second simulator answers every request after BENCH_LATENCY_MS (a server far away): the
# latency run syncs it into a second account.
LAT_PORT="$(free_port)"
"$PYTHON" -m vbot_simulator --port "$LAT_PORT" --calls "$BENCH_LATENCY_CALLS" --days "$BENCH_DAYS" \
    --seed "$BENCH_SEED" --latency-ms "$BENCH_LATENCY_MS" > "$VAR_DIR/bench-simulator-latency.log" 2>&1 &
LAT_PID=$!
trap 'kill $SIM_PID $LAT_PID 2>/dev/null || true' EXIT

drop_db "$BENCH_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$BENCH_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -i vbot_call_history --without-demo=all --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/bench-install.log"

for _ in $(seq 1 600); do
    [ -s "$VAR_DIR/bench-customers.json" ] && break
    sleep 0.5
done

# shellcheck disable=SC2046
BENCH_URL="http://127.0.0.1:${SIM_PORT}/v2.0" BENCH_LATENCY_URL="http://127.0.0.1:${LAT_PORT}/v2.0" \
    BENCH_LATENCY_MS="$BENCH_LATENCY_MS" BENCH_CUSTOMERS="$VAR_DIR/bench-customers.json" \
    "$PYTHON" -m odoo shell $(odoo_db_args) -d "$BENCH_DB" --addons-path="$ODOO_ADDONS_PATH" \
    --no-http --log-level=warn < scripts/benchmark.py
