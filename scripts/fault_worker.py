"""One real Odoo process for the fault campaign (scripts/fault_campaign.py).

    python scripts/fault_worker.py --db DB [odoo options] ACTION [JSON]

Opens the database as a cron worker would (real commits, no test mode), does ACTION and
prints one JSON line: ``setup`` (the account and contacts), ``sync`` (the scheduled
sync, ``{"budget": s}``), ``run`` (one run at once, as Sync now), ``deep`` (a deep
check), ``save`` (the account form saved with ``{"vals": {...}}``, committed after
``{"hold": s}`` seconds), ``report`` (account state).
The campaign kills some of these processes with SIGKILL on purpose.
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="")
    parser.add_argument("action")
    parser.add_argument("payload", nargs="?", default="{}")
    args = parser.parse_args()
    payload = json.loads(args.payload)

    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    options = [
        f"--db_host={args.db_host}",
        f"--db_port={args.db_port}",
        f"--addons-path={args.addons_path}",
        "--log-level=warn",
        "-d",
        args.db,
    ]
    if args.db_user:
        options.append(f"--db_user={args.db_user}")
    config.parse_config(options)
    odoo.service.server.load_server_wide_modules()
    registry = Registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        result = ACTIONS[args.action](env, payload)
        cr.commit()
    print(json.dumps(result, default=str), flush=True)


def _account(env):
    return env["vbot.account"].search([], limit=1)


def setup(env, payload):
    env["ir.config_parameter"].set_param("vbot_call_history.allowed_hosts", payload["allow"])
    env["vbot.account"].with_context(active_test=False).search([]).unlink()
    account = env["vbot.account"].create(payload["account"])
    for customer in payload.get("customers", []):
        env["res.partner"].create({"name": customer["name"], "phone": customer["phone"]})
    return {"account": account.id}


def sync(env, payload):
    started = time.monotonic()
    account = _account(env)
    before = set(account.sync_log_ids.ids)
    env["vbot.account"]._cron_sync(time_budget=payload.get("budget", 20))
    env.cr.commit()
    account.invalidate_recordset()
    new = account.sync_log_ids.filtered(lambda log: log.id not in before)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "logs": [_log(log) for log in new],
        "skipped": not new,
    }


def run(env, payload):
    """A run at once, as "Sync now" of a caught-up account (ignores the backoff)."""
    account = _account(env)
    log = account._run_sync("sync", "button", deadline=time.monotonic() + payload.get("budget", 20))
    return {"logs": [_log(log)] if log else [], "skipped": not log}


def deep(env, payload):
    account = _account(env)
    log = account._run_sync("deep_check", "schedule", deadline=time.monotonic() + 60)
    return {"logs": [_log(log)] if log else [], "skipped": not log}


def save(env, payload):
    account = _account(env)
    account.write(payload["vals"])
    env.flush_all()
    time.sleep(payload.get("hold", 0))
    return {"saved": True}


def report(env, payload):
    account = _account(env)
    return {
        "watermark": account.sync_watermark,
        "history_start": account.sync_history_start,
        "backlog": account.sync_backlog,
        "failures": account.sync_failure_count,
        "retry_at": account.sync_retry_at,
        "unreadable": account.unreadable_ids.mapped("external_id"),
        "summary": account.count_summary,
    }


def _log(log):
    return {
        "id": log.id,
        "state": log.state,
        "run_type": log.run_type,
        "date_start": log.date_start,
        "message": log.message,
    }


ACTIONS = {
    "setup": setup,
    "sync": sync,
    "run": run,
    "deep": deep,
    "save": save,
    "report": report,
}

if __name__ == "__main__":
    main()
