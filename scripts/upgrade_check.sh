#!/usr/bin/env bash
# Existing databases keep working: a database made by the previous version of the addon (the
# commit in scripts/upgrade/previous-version, else the newest commit of main's line whose
# manifest has another version; UPGRADE_FROM=<git ref> chooses another) syncs calls from
# the simulator, is upgraded with `-u vbot_call_history` to this version, and must keep every
# call, its contact, its agent, the watermark and the credentials, then sync again without a
# duplicate. Run by `make test` (step 4) after the other tests; `make upgrade-check` alone.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

UPGRADE_DB="${UPGRADE_DB:-vbot_upgrade}"
VAR_DIR="${REPO_DIR}/var"
mkdir -p "$VAR_DIR"
manifest_version() {
    "$PYTHON" -c "import ast, sys; print(ast.literal_eval(sys.stdin.read())['version'])"
}

current="$(manifest_version < vbot_call_history/__manifest__.py)"
# The last landed commit of the previous version (updated when the version changes again).
old_ref="${UPGRADE_FROM:-$(grep -v '^#' scripts/upgrade/previous-version | head -n 1)}"
if [ -n "$old_ref" ] && ! git cat-file -e "${old_ref}^{commit}" 2>/dev/null; then
    echo "The previous version's commit ${old_ref} is not in this clone (a shallow clone?): searching main's line."
    old_ref=""
fi
if [ -z "$old_ref" ]; then
    # Along main's own line (first parents, newest first): the newest commit of another version.
    for commit in $(git rev-list --first-parent HEAD 2>/dev/null); do
        version="$(git show "${commit}:vbot_call_history/__manifest__.py" 2>/dev/null | manifest_version 2>/dev/null || true)"
        if [ -n "$version" ] && [ "$version" != "$current" ]; then
            old_ref="$commit"
            break
        fi
    done
fi
if [ -z "$old_ref" ]; then
    echo "No earlier version of the addon in this clone's history (version $current): nothing to upgrade from."
    exit 0
fi
old_version="$(git show "${old_ref}:vbot_call_history/__manifest__.py" | manifest_version)"
echo "Upgrading a database of version ${old_version} ($(git rev-parse --short "$old_ref")) to ${current}"

OLD_TREE="$(mktemp -d "${TMPDIR:-/tmp}/vbot-upgrade.XXXXXX")"
SIM_PORT="$(free_port)"
SIM_PID=""
cleanup() {
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
    rm -rf "$OLD_TREE"
}
trap cleanup EXIT
git archive "$old_ref" vbot_call_history | tar -x -C "$OLD_TREE"
ODOO_ADDONS="${ODOO_ADDONS_PATH%,"$REPO_DIR"}"

rm -f "$VAR_DIR/upgrade-customers.json"
"$PYTHON" -m vbot_simulator --port "$SIM_PORT" --calls 400 --seed 11 --days 10 \
    --export-customers "$VAR_DIR/upgrade-customers.json" > "$VAR_DIR/upgrade-simulator.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 50); do
    [ -s "$VAR_DIR/upgrade-customers.json" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$VAR_DIR/upgrade-simulator.log" >&2; exit 1; }
    sleep 0.2
done

export VBOT_CUSTOMERS="$VAR_DIR/upgrade-customers.json"
export VBOT_SIM_URL="http://127.0.0.1:${SIM_PORT}/v2.0"
export VBOT_UPGRADE_STATE="$VAR_DIR/upgrade-state.json"
drop_db "$UPGRADE_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$UPGRADE_DB" --addons-path="$ODOO_ADDONS,$OLD_TREE" \
    -i vbot_call_history --without-demo=all --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/upgrade-install.log" \
    || { tail -n 40 "$VAR_DIR/upgrade-install.log" >&2; exit 1; }
# shellcheck disable=SC2046
"$PYTHON" -m odoo shell $(odoo_db_args) -d "$UPGRADE_DB" --addons-path="$ODOO_ADDONS,$OLD_TREE" \
    --no-http --log-level=warn < scripts/upgrade/before.py
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$UPGRADE_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -u vbot_call_history --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/upgrade-update.log" \
    || { tail -n 40 "$VAR_DIR/upgrade-update.log" >&2; exit 1; }
if grep -q " ERROR \| CRITICAL " "$VAR_DIR/upgrade-update.log"; then
    grep -A 20 " ERROR \| CRITICAL " "$VAR_DIR/upgrade-update.log" | head -n 40 >&2
    echo "ERROR: the upgrade logged errors (var/upgrade-update.log)." >&2
    exit 1
fi
# shellcheck disable=SC2046
"$PYTHON" -m odoo shell $(odoo_db_args) -d "$UPGRADE_DB" --addons-path="$ODOO_ADDONS_PATH" \
    --no-http --log-level=warn < scripts/upgrade/after.py
drop_db "$UPGRADE_DB"
