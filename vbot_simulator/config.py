"""Configuration of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class Faults:
    """Fault settings; see :meth:`SimulatorState.set_faults`."""

    fail_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    malformed_rate: float = 0.0
    error_rate: float = 0.0
    arrivals_per_request: int = 0
    queue: list[str] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """These settings as keyword arguments of :meth:`SimulatorState.set_faults`."""
        return {f.name: getattr(self, f.name) for f in fields(Faults)}


@dataclass
class SimulatorConfig(Faults):
    """Everything that shapes a simulator run.

    Data is deterministic for ``(seed, calls, days, now)``. ``now`` is the anchor epoch (seconds);
    ``None`` means the current time at construction. ``data`` replaces the generated calls: a path
    to a JSON file (a list shaped like getAll's ``data``, or a whole envelope) or the list itself.
    The fault fields (inherited from :class:`Faults`) are the initial values of
    :meth:`SimulatorState.set_faults`.
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
    verbose: bool = False
