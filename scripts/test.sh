#!/usr/bin/env bash
# Runs every test: the service layer and simulator (no database), then the addon in
# a fresh Odoo 18 database (pytest-odoo, with an HTTP server for the browser tour), then an
# upgrade from the previous version of the addon (scripts/upgrade_check.sh).
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare --chromium

TEST_DB="${TEST_DB:-vbot_test}"
export VBOT_FAIL_ON_SKIP="${VBOT_FAIL_ON_SKIP:-1}"
LOG_DIR="${REPO_DIR}/var"
mkdir -p "$LOG_DIR"

echo "== 1/4 Service layer and simulator tests (no Odoo) =="
"$PYTHON" -m pytest tests -q -p no:cacheprovider

echo "== 2/4 Fresh database '$TEST_DB' with vbot_call_history installed =="
drop_db "$TEST_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$TEST_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -i vbot_call_history --without-demo=all --stop-after-init --log-level=warn \
    --logfile="$LOG_DIR/test-install.log" \
    || { tail -n 60 "$LOG_DIR/test-install.log" >&2; exit 1; }

echo "== 3/4 Odoo tests (pytest-odoo) =="
# The tests' HTTP server (tours, JSON-RPC) on a free port: another Odoo may hold 8069.
TEST_HTTP_PORT="${TEST_HTTP_PORT:-$(free_port)}"
# shellcheck disable=SC2046
"$PYTHON" -m pytest vbot_call_history/tests -q -p no:cacheprovider \
    --odoo-database="$TEST_DB" --odoo-addons-path="$ODOO_ADDONS_PATH" --odoo-http \
    --odoo-extra="http-port=$TEST_HTTP_PORT" \
    --odoo-log-level="${ODOO_LOG_LEVEL:-warn}" \
    $(for a in $(odoo_db_args); do echo "--odoo-extra=${a#--}"; done) "$@"

echo "== 4/4 Upgrade of a database made by the previous version =="
if [ $# -gt 0 ]; then
    echo "Not run: pytest arguments ($*) select a part of the tests; \`make upgrade-check\` runs it."
else
    UPGRADE_DB="${UPGRADE_DB:-${TEST_DB}_upgrade}" bash "$REPO_DIR/scripts/upgrade_check.sh"
fi
