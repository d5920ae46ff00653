"""Configuration of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

#: Where a ``redirect`` fault points unless told: a name that never resolves.
DEFAULT_REDIRECT = "http://vbot-redirect.invalid/"


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
    latency_ms: int = 0
    redirect_rate: float = 0.0
    redirect_to: str = DEFAULT_REDIRECT

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
    :meth:`SimulatorState.set_faults`; the ``webhook_*`` fields those of
    :meth:`WebhookDispatcher.configure <vbot_simulator.webhooks.WebhookDispatcher.configure>`
    (without the prefix). ``p2p_in_history`` lists internal agent-to-agent calls in getAll too
    (VBot does not: they only come as ``P2P_CALL_LOG`` webhooks).
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
    p2p_in_history: bool = False
    webhook_url: str = ""
    webhook_auth: str = ""
    webhook_auth_header: str = "Authorization"
    webhook_events: tuple[str, ...] | list[str] | str | None = None  # None = the default set
    webhook_event_field: str = ""
    webhook_missed_type_call: int = 3
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_shuffle: int = 0
    webhook_delay_ms: int = 0
    webhook_retries: int = 0
    webhook_timeout: float = 5.0
    webhook_seed: int | None = None

    def webhook_settings(self) -> dict[str, Any]:
        """The ``webhook_*`` fields without their prefix (``events`` left out when None)."""
        out = {
            f.name.removeprefix("webhook_"): getattr(self, f.name)
            for f in fields(self)
            if f.name.startswith("webhook_")
        }
        if out["events"] is None:
            del out["events"]
        return out
