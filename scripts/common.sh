# Shared by scripts/test.sh and scripts/demo.sh: finds Odoo and PostgreSQL.
# shellcheck shell=bash

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="${REPO_DIR}${PYTHONPATH:+:${PYTHONPATH}}"

require_odoo() {
    if ! "$PYTHON" -c "import odoo.release as r; assert r.version_info[0] == 18, r.version" 2>/dev/null; then
        echo "ERROR: Odoo 18 is not importable by '$PYTHON' (python3 -c 'import odoo' must work)." >&2
        echo "       Install Odoo 18.0 first (see README.md, Prerequisites)." >&2
        exit 1
    fi
    # Odoo's own addons folder, next to the odoo package in a source checkout.
    if [ -z "${ODOO_ADDONS_PATH:-}" ]; then
        local root
        root="$("$PYTHON" -c 'import odoo, os; print(os.path.dirname(os.path.dirname(odoo.__file__)))')"
        ODOO_ADDONS_PATH="$REPO_DIR"
        if [ -d "$root/addons/web" ]; then
            ODOO_ADDONS_PATH="$root/addons,$REPO_DIR"
        fi
    fi
    export ODOO_ADDONS_PATH
}

# The Python packages of requirements.txt (phonenumbers, requests, pytest, ...).
ensure_python_deps() {
    if ! "$PYTHON" -c "import phonenumbers, requests, pytest, pytest_odoo, websocket" 2>/dev/null; then
        echo "Installing the Python requirements (requirements.txt)..."
        "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$REPO_DIR/requirements.txt"
    fi
}

ensure_postgres() {
    if pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" 2>/dev/null; then
        return
    fi
    echo "PostgreSQL is not answering; starting it..."
    if [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" && return
        sleep 1
    done
    echo "ERROR: PostgreSQL does not answer on ${PGHOST:-127.0.0.1}:${PGPORT:-5432}." >&2
    exit 1
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

# What every script needs first: the repository as working folder, Odoo, the Python
# requirements and PostgreSQL.
prepare() {
    cd "$REPO_DIR"
    require_odoo
    ensure_python_deps
    ensure_postgres
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
