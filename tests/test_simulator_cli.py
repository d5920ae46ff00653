"""The simulator's command line: new flags map onto SimulatorConfig and the runtime settings."""

from __future__ import annotations

import pytest

from vbot_simulator import SimulatorConfig, SimulatorServer
from vbot_simulator.__main__ import build_parser, config_from_args, main
from vbot_simulator.config import DEFAULT_REDIRECT
from vbot_simulator.webhooks import DEFAULT_EVENTS


def config(*argv: str) -> SimulatorConfig:
    return config_from_args(build_parser().parse_args(list(argv)))


def test_defaults() -> None:
    cfg = config()
    assert (cfg.latency_ms, cfg.redirect_rate, cfg.redirect_to) == (0, 0.0, DEFAULT_REDIRECT)
    assert cfg.webhook_url == "" and cfg.webhook_events is None and not cfg.p2p_in_history
    server = SimulatorServer(cfg, port=0)
    try:
        assert server.state.webhooks.settings.events == DEFAULT_EVENTS
        assert server.state.webhooks.settings.url == ""
    finally:
        server.stop()


def test_new_flags() -> None:
    cfg = config(
        "--calls", "10", "--latency-ms", "40", "--redirect-rate", "0.25",
        "--redirect-to", "http://127.0.0.1:9/x", "--p2p-in-history",
        "--webhook-url", "http://127.0.0.1:9/hook", "--webhook-auth", "Bearer k",
        "--webhook-auth-header", "X-Auth", "--webhook-events", "MANUAL_CALL_COMPLETE,HISTORY_CALL",
        "--webhook-event-field", "event", "--webhook-missed-type-call", "1",
        "--webhook-drop-rate", "0.1", "--webhook-duplicate-rate", "0.2", "--webhook-shuffle", "5",
        "--webhook-delay-ms", "7", "--webhook-retries", "2", "--webhook-timeout", "3",
        "--webhook-seed", "9",
    )  # fmt: skip
    server = SimulatorServer(cfg, port=0)
    try:
        faults = server.state.faults
        assert (faults.latency_ms, faults.redirect_rate) == (40, 0.25)
        assert faults.redirect_to == "http://127.0.0.1:9/x"
        assert server.state.config.p2p_in_history
        assert server.state.webhooks.settings.public() == {
            "url": "http://127.0.0.1:9/hook",
            "auth": "Bearer k",
            "auth_header": "X-Auth",
            "events": ["MANUAL_CALL_COMPLETE", "HISTORY_CALL"],
            "event_field": "event",
            "missed_type_call": 1,
            "drop_rate": 0.1,
            "duplicate_rate": 0.2,
            "shuffle": 5,
            "delay_ms": 7,
            "retries": 2,
            "timeout": 3.0,
            "seed": 9,
        }
    finally:
        server.stop()


@pytest.mark.parametrize(
    "argv",
    [
        ["--webhook-url", "not a url"],
        ["--webhook-events", "NOPE"],
        ["--latency-ms", "-5"],
        ["--redirect-to", "javascript:alert(1)"],
    ],
)
def test_bad_settings_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--calls", "5", *argv]) == 2
    assert "vbot_simulator:" in capsys.readouterr().err
