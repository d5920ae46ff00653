#!/usr/bin/env bash
# The sync's fault campaign (issue 7): real Odoo processes, a hostile simulator, kill -9.
# Variables: FAULT_DB (scratch database, dropped first), FAULT_CALLS, FAULT_SEED.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

"$PYTHON" scripts/fault_campaign.py --python "$PYTHON" --addons-path "$ODOO_ADDONS_PATH" \
    --db "${FAULT_DB:-vbot_faults}" --calls "${FAULT_CALLS:-3000}" --seed "${FAULT_SEED:-7}" \
    --db-host "${PGHOST:-127.0.0.1}" --db-port "${PGPORT:-5432}" --db-user "${PGUSER:-$(id -un)}"
