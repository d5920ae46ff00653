# Shared by the scripts behind `make demo`, `make test`, `make benchmark` and `make lint`.
# shellcheck shell=bash

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Odoo 18 (python3's own, else the project's .venv built from ODOO_SOURCE or GitHub), PostgreSQL,
# and what else the caller asks for (--chromium, --lint): scripts/bootstrap.py installs what is
# missing, prints one line per step, and answers the variables to use (PYTHON, ODOO_ROOT, PGHOST).
# A failure is one sentence on what to do.
bootstrap() {
    local out
    out="$("${PYTHON:-python3}" "$REPO_DIR/scripts/bootstrap.py" "$@")" || exit 2
    eval "$out"
    export PYTHON ODOO_ROOT
    [ -n "${PGHOST:-}" ] && export PGHOST
    export PYTHONPATH="${REPO_DIR}${PYTHONPATH:+:${PYTHONPATH}}"
    # Odoo's own addons folder (a source checkout has it beside the odoo package) and this one.
    if [ -z "${ODOO_ADDONS_PATH:-}" ]; then
        ODOO_ADDONS_PATH="$REPO_DIR"
        if [ -d "$ODOO_ROOT/addons/web" ]; then
            ODOO_ADDONS_PATH="$ODOO_ROOT/addons,$REPO_DIR"
        elif [ -d "$ODOO_ROOT/odoo/addons/web" ]; then
            ODOO_ADDONS_PATH="$ODOO_ROOT/odoo/addons,$REPO_DIR"
        fi
    fi
    export ODOO_ADDONS_PATH
}

# What every script needs first: the repository as working folder, Odoo with the Python
# requirements, and PostgreSQL with a role for this user. Extra arguments go to bootstrap.py.
prepare() {
    cd "$REPO_DIR"
    bootstrap --postgres "$@"
}

# Odoo refuses to run as the postgres role; root (or your own role) is fine.
odoo_db_args() {
    echo "--db_host=${PGHOST:-127.0.0.1} --db_port=${PGPORT:-5432} --db_user=${PGUSER:-$(id -un)}"
}

drop_db() {
    "$PYTHON" - "$1" <<'PY'
import sys, psycopg2, os
conn = psycopg2.connect(dbname="postgres", host=os.environ.get("PGHOST", "127.0.0.1"),
                        port=os.environ.get("PGPORT", "5432"), user=os.environ.get("PGUSER") or None)
conn.autocommit = True
with conn.cursor() as cr:
    cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [sys.argv[1]])
    cr.execute('DROP DATABASE IF EXISTS "%s"' % sys.argv[1].replace('"', ''))
PY
    rm -rf "${HOME}/.local/share/Odoo/filestore/$1"
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
