"""Configuration of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SimulatorConfig:
    """Everything that shapes a simulator run.

    Data is deterministic for ``(seed, calls, days, now)``. ``now`` is the anchor epoch (seconds);
    ``None`` means the current time at construction. ``data`` replaces the generated calls: a path
    to a JSON file (a list shaped like getAll's ``data``, or a whole envelope) or the list itself.
    The fault fields are the initial values of :meth:`SimulatorState.set_faults`.
    """

    calls: int = 200
    seed: int = 1
    days: int = 30
    now: float | None = None
    data: str | Path | list[Any] | None = None
    username: str = "demo"
    password: str = "demo"
    vbot_id: str = "VB-DEMO"
    project_code: str = "PR-DEMO"
    api_key: str = "demo-key"
    token_ttl: int = 900
    # Initial faults (see SimulatorState.set_faults).
    fail_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    malformed_rate: float = 0.0
    error_rate: float = 0.0
    arrivals_per_request: int = 0
    verbose: bool = False
