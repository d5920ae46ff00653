"""Command line: ``python3 -m vbot_simulator --port 8765 [--calls 200] [--seed 1] ...``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from .config import DEFAULT_REDIRECT, SimulatorConfig
from .server import SimulatorServer
from .webhooks import DEFAULT_EVENTS, EVENTS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m vbot_simulator",
        description="Serve a fake VBot call-history API (v2 /token + Bearer, v3 X-API-Key).",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8765,
        help="TCP port (0 = any free port; default 8765)",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    data = p.add_argument_group("data")
    data.add_argument("--calls", type=int, default=200, help="number of generated call groups")
    data.add_argument("--seed", type=int, default=1, help="random seed (data and faults)")
    data.add_argument("--days", type=int, default=30, help="spread calls over this many days")
    data.add_argument("--now", type=float, default=None, help="anchor epoch seconds (default: now)")
    data.add_argument(
        "--data", metavar="FILE", help="serve the call groups of this JSON file as-is"
    )
    data.add_argument("--export-customers", metavar="FILE", help="write the customers JSON here")
    auth = p.add_argument_group("credentials")
    auth.add_argument("--username", default="demo")
    auth.add_argument("--password", default="demo")
    auth.add_argument("--vbot-id", default="VB-DEMO")
    auth.add_argument("--project-code", default="PR-DEMO")
    auth.add_argument("--api-key", default="demo-key")
    auth.add_argument("--token-ttl", type=int, default=900, help="access token lifetime, seconds")
    faults = p.add_argument_group("faults (per API request)")
    faults.add_argument("--fail-rate", type=float, default=0.0, help="share of HTTP 500")
    faults.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of HTTP 429")
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429, seconds")
    faults.add_argument("--slow-rate", type=float, default=0.0, help="share of slow answers")
    faults.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a slow answer")
    faults.add_argument(
        "--malformed-rate", type=float, default=0.0, help="share of non-JSON bodies"
    )
    faults.add_argument("--error-rate", type=float, default=0.0, help="share of HTTP 200 error=500")
    faults.add_argument(
        "--arrivals-per-request",
        type=int,
        default=0,
        help="new calls inserted before each getAll",
    )
    faults.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="answer every API request (token, history, record, members) after N ms",
    )
    faults.add_argument(
        "--redirect-rate", type=float, default=0.0, help="share of 302 answers to --redirect-to"
    )
    faults.add_argument(
        "--redirect-to", default=DEFAULT_REDIRECT, help="Location of a redirect fault"
    )
    data.add_argument(
        "--p2p-in-history",
        action="store_true",
        help="list internal agent-to-agent calls in getAll too (VBot does not)",
    )
    hooks = p.add_argument_group("webhooks (POSTed for each new call)")
    hooks.add_argument("--webhook-url", help="partner URL receiving the events")
    hooks.add_argument("--webhook-auth", help="value of the auth header sent with each event")
    hooks.add_argument("--webhook-auth-header", help="name of that header (default Authorization)")
    hooks.add_argument(
        "--webhook-events",
        help=f"comma-separated events to send (default {','.join(DEFAULT_EVENTS)}; "
        f"known: {','.join(EVENTS)})",
    )
    hooks.add_argument(
        "--webhook-event-field",
        help="add the event name to each body under this key (the docs' bodies have none)",
    )
    hooks.add_argument(
        "--webhook-missed-type-call",
        type=int,
        choices=(1, 3),
        help="typeCall of a missed call (default 3)",
    )
    hooks.add_argument("--webhook-drop-rate", type=float, help="share of events never sent")
    hooks.add_argument("--webhook-duplicate-rate", type=float, help="share of events sent twice")
    hooks.add_argument(
        "--webhook-shuffle", type=int, help="deliver windows of N events in random order"
    )
    hooks.add_argument("--webhook-delay-ms", type=int, help="wait before each POST")
    hooks.add_argument(
        "--webhook-retries", type=int, help="extra attempts after a failed POST (default 0)"
    )
    hooks.add_argument("--webhook-timeout", type=float, help="seconds per POST (default 5)")
    hooks.add_argument("--webhook-seed", type=int, help="RNG seed of webhook faults")
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="log one line per request to stderr",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Map parsed arguments onto a :class:`SimulatorConfig`."""
    fields: dict[str, Any] = {
        name: getattr(args, name)
        for name in SimulatorConfig.__dataclass_fields__
        if hasattr(args, name) and getattr(args, name) is not None
    }
    return SimulatorConfig(**fields)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        server = SimulatorServer(config_from_args(args), host=args.host, port=args.port)
    except (OSError, TypeError, ValueError) as err:
        print(f"vbot_simulator: {err}", file=sys.stderr)
        return 2
    state, cfg = server.state, server.config
    if args.export_customers:
        with open(args.export_customers, "w", encoding="utf-8") as fh:
            json.dump(state.customers, fh, ensure_ascii=False, indent=2)
    source = (
        f"from {cfg.data}"
        if cfg.data
        else f"seed {cfg.seed}, {cfg.days} days before {state.anchor}"
    )
    print(
        f"VBot simulator on {server.url}  ({len(state.calls)} calls, {source}; "
        f"{len(state.customers)} customers, {len(state.members)} members)\n"
        f"  v2: {server.base_url_v2}  POST /token username={cfg.username} password={cfg.password}"
        f"  then vbot_id={cfg.vbot_id} project_code={cfg.project_code}\n"
        f"  v3: {server.base_url_v3}  X-API-Key: {cfg.api_key}\n"
        f"  control: POST {server.url}/_sim/faults | /_sim/calls?n=K | /_sim/groups |"
        f" /_sim/webhook | /_sim/expire_tokens; GET {server.url}/_sim/customers | /_sim/members"
        + (f"\n  webhooks: POST {cfg.webhook_url}" if cfg.webhook_url else ""),
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
