#!/usr/bin/env bash
# `make i18n`: exports the addon's translatable terms (vbot_call_history.pot) from a scratch
# database and brings vi.po up to date with it: every Vietnamese translation kept by its English
# source, terms no longer used dropped, both files sorted as the pre-commit po check wants. It
# ends by listing the terms that have no Vietnamese yet (they must be translated by hand).
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

I18N_DB="${I18N_DB:-vbot_i18n}"
VAR_DIR="${REPO_DIR}/var"
mkdir -p "$VAR_DIR"
drop_db "$I18N_DB"
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$I18N_DB" --addons-path="$ODOO_ADDONS_PATH" \
    -i vbot_call_history --without-demo=all --stop-after-init --log-level=warn \
    --logfile="$VAR_DIR/i18n-install.log" \
    || { tail -n 40 "$VAR_DIR/i18n-install.log" >&2; exit 1; }
# shellcheck disable=SC2046
"$PYTHON" -m odoo $(odoo_db_args) -d "$I18N_DB" --addons-path="$ODOO_ADDONS_PATH" \
    --modules=vbot_call_history --i18n-export="$VAR_DIR/vbot_call_history.pot" \
    --stop-after-init --log-level=warn
drop_db "$I18N_DB"
"$PYTHON" scripts/i18n_merge.py "$VAR_DIR/vbot_call_history.pot" vbot_call_history/i18n
