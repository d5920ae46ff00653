"""The simulator's mutable state: calls, customers, tokens, faults and the request log.

All of it lives in one :class:`SimulatorState` guarded by one lock; the HTTP handler threads
only go through its methods.
"""

from __future__ import annotations

import gc
import json
import random
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Faults, SimulatorConfig
from .data import CallGenerator, group_epoch, group_phone_keys, phone_key

FAULT_NAMES = ("500", "429", "slow", "malformed", "error", "ok")


@dataclass(frozen=True)
class Query:
    """A parsed getAll/countAll filter: epoch bounds (inclusive) and a phone match key."""

    start: int | None = None
    end: int | None = None
    phone: str | None = None  # match key; "" matches nothing (a phone with no digits)

    @property
    def is_empty(self) -> bool:
        return self.start is None and self.end is None and self.phone is None


def load_calls(data: str | Path | list[Any]) -> list[Any]:
    """The call groups of ``--data``: a JSON list, or an envelope whose ``data`` is a list."""
    if isinstance(data, list):
        return list(data)
    with open(data, encoding="utf-8") as fh:
        loaded = json.load(fh)
    if isinstance(loaded, dict) and isinstance(loaded.get("data"), list):
        loaded = loaded["data"]
    if not isinstance(loaded, list):
        raise TypeError(f"{data}: expected a JSON list of call groups")
    return loaded


class SimulatorState:
    """Data and settings of one simulator, safe to use from many threads.

    Public attributes (read them, do not rebind): ``calls`` (call groups, newest first, exactly
    what getAll serves), ``customers`` (``{name, phone, vbot_phone, kind}``), ``requests``
    (``(method, path, query)`` of every request received), ``config``, ``base_url``.
    """

    _CACHE_SIZE = 16

    def __init__(self, config: SimulatorConfig, base_url: str) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.anchor = int(config.now if config.now is not None else time.time())
        self._started = time.monotonic()
        n_customers = 0 if config.data is not None else max(20, config.calls // 8)
        self._generator = CallGenerator(config.seed, config.vbot_id, self.base_url, n_customers)
        self.customers: list[dict[str, str]] = self._generator.customers
        # Precomputed filter keys, parallel to self.calls.
        self._epochs: list[int | None] = []
        self._phones: list[tuple[str, ...]] = []
        self._by_id: dict[str, Any] = {}
        self._indexed_len = -1
        self._version = 0
        self._cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        # Millions of fresh dicts would trigger repeated full GC passes: pause the collector.
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            if config.data is not None:
                self.calls: list[Any] = load_calls(config.data)
                self._reindex()
            else:
                self.calls, epochs = self._generator.make_history(
                    config.calls, config.days, self.anchor
                )
                self._reindex(list(epochs))
        finally:
            if gc_enabled:
                gc.enable()
        # Auth.
        self._access_tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self._refresh_tokens: set[str] = set()
        # Faults, with their own RNG so runs repeat.
        self._fault_rng = random.Random(config.seed)
        self.faults = Faults()
        self.set_faults(**Faults.as_kwargs(config))

    # -- index -------------------------------------------------------------------------------

    def _reindex(self, epochs: list[int | None] | None = None) -> None:
        """Recompute every precomputed key (also used if ``calls`` was changed by hand).

        ``epochs`` may be passed when already known (generated data) to skip date parsing.
        """
        self._epochs = epochs if epochs is not None else [group_epoch(g) for g in self.calls]
        self._phones = [group_phone_keys(g) for g in self.calls]
        self._by_id = {}
        for group in reversed(self.calls):  # the first occurrence wins
            if isinstance(group, dict) and isinstance(group.get("group_id"), str):
                self._by_id[group["group_id"]] = group
        self._indexed_len = len(self.calls)
        self._version += 1
        self._cache.clear()

    def _ensure_index(self) -> None:
        if self._indexed_len != len(self.calls):
            self._reindex()

    def now(self) -> int:
        """Simulated clock: the anchor plus the time elapsed since start."""
        return self.anchor + int(time.monotonic() - self._started)

    # -- data --------------------------------------------------------------------------------

    def add_calls(self, n: int) -> list[dict[str, Any]]:
        """Insert ``n`` new groups dated "now" at the head of ``calls``; return them newest first."""
        with self.lock:
            return self._add_calls_locked(n)

    def _add_calls_locked(self, n: int) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        self._ensure_index()
        head = next((e for e in self._epochs if e is not None), None)
        epoch = max(self.now(), head or 0)
        new = [self._generator.make_group(epoch) for _ in range(n)]
        self.calls[0:0] = new
        self._epochs[0:0] = [epoch] * len(new)
        self._phones[0:0] = [group_phone_keys(g) for g in new]
        for group in new:
            self._by_id.setdefault(group["group_id"], group)
        self._indexed_len = len(self.calls)
        self._version += 1
        self._cache.clear()
        return new

    def _matching(self, query: Query) -> list[int]:
        """Indices of the groups matching ``query`` (lock held), cached per data version."""
        key = (query.start, query.end, query.phone)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        indices = range(len(self.calls))
        if query.start is not None or query.end is not None:
            lo = query.start if query.start is not None else -(2**63)
            hi = query.end if query.end is not None else 2**63
            epochs = self._epochs
            indices = [i for i in indices if epochs[i] is not None and lo <= epochs[i] <= hi]
        if query.phone is not None:
            wanted, phones = query.phone, self._phones
            indices = [i for i in indices if wanted in phones[i]]
        result = list(indices)
        self._cache[key] = result
        if len(self._cache) > self._CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def page(self, query: Query, page: int, size: int, arrivals: bool = False) -> list[Any]:
        """One page (1-based) of the groups matching ``query``, newest first.

        With ``arrivals``, the configured number of new calls is inserted first.
        """
        with self.lock:
            if arrivals and self.faults.arrivals_per_request > 0:
                self._add_calls_locked(self.faults.arrivals_per_request)
            self._ensure_index()
            start = (page - 1) * size
            if query.is_empty:
                return self.calls[start : start + size]
            indices = self._matching(query)[start : start + size]
            return [self.calls[i] for i in indices]

    def count(self, query: Query) -> int:
        """How many groups match ``query`` (agrees with :meth:`page`)."""
        with self.lock:
            self._ensure_index()
            return len(self.calls) if query.is_empty else len(self._matching(query))

    def find_recording(self, call_id: str) -> Any | None:
        """The group with this ``group_id`` if it has a recording, else None."""
        with self.lock:
            self._ensure_index()
            group = self._by_id.get(call_id)
        if isinstance(group, dict) and group.get("record_file"):
            return group
        return None

    @staticmethod
    def make_query(start: int | None, end: int | None, phone: str | None) -> Query:
        """Build a :class:`Query`; an empty ``phone`` means no phone filter."""
        return Query(start, end, phone_key(phone) if phone else None)

    # -- auth --------------------------------------------------------------------------------

    def issue_token(self) -> dict[str, Any]:
        """A new access token (valid ``token_ttl`` s) and a refresh token, as /token answers."""
        ttl = self.config.token_ttl
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.lock:
            self._access_tokens[access] = time.time() + ttl
            self._refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": max(0, ttl - 1),
            "refresh_token": refresh,
        }

    def check_password(self, username: str | None, password: str | None) -> bool:
        return (
            username is not None
            and password is not None
            and secrets.compare_digest(username.encode(), self.config.username.encode())
            and secrets.compare_digest(password.encode(), self.config.password.encode())
        )

    def check_refresh_token(self, token: str | None) -> bool:
        with self.lock:
            return bool(token) and token in self._refresh_tokens

    def check_access_token(self, token: str) -> bool:
        with self.lock:
            expiry = self._access_tokens.get(token)
            if expiry is None:
                return False
            if time.time() >= expiry:
                del self._access_tokens[token]
                return False
            return True

    def check_api_key(self, key: str) -> bool:
        return secrets.compare_digest(key.encode(), self.config.api_key.encode())

    def expire_tokens(self) -> None:
        """Invalidate every issued access token; refresh tokens stay valid."""
        with self.lock:
            self._access_tokens.clear()

    # -- faults ------------------------------------------------------------------------------

    def set_faults(
        self,
        fail_rate: float = 0,
        rate_limit_rate: float = 0,
        retry_after: int = 1,
        slow_rate: float = 0,
        slow_seconds: float = 2,
        malformed_rate: float = 0,
        error_rate: float = 0,
        arrivals_per_request: int = 0,
        queue: list[str] | None = None,
    ) -> None:
        """Replace all fault settings (arguments not given go back to their defaults).

        ``queue`` lists fault names consumed one per API request, before the rates apply:
        ``'500'``, ``'429'``, ``'slow'``, ``'malformed'``, ``'error'`` (HTTP 200, error=500 in
        the envelope) or ``'ok'``. Rates are probabilities of one draw per request, taken in
        the order fail, rate limit, slow, malformed, error.
        """
        names = [str(name) for name in (queue or [])]
        unknown = [name for name in names if name not in FAULT_NAMES]
        if unknown:
            raise ValueError(f"unknown fault names {unknown}; use {list(FAULT_NAMES)}")
        rates = (fail_rate, rate_limit_rate, slow_rate, malformed_rate, error_rate)
        if any(not 0 <= float(r) <= 1 for r in rates) or sum(float(r) for r in rates) > 1:
            raise ValueError("fault rates must be in [0, 1] and sum to at most 1")
        with self.lock:
            self.faults = Faults(
                fail_rate=float(fail_rate),
                rate_limit_rate=float(rate_limit_rate),
                retry_after=int(retry_after),
                slow_rate=float(slow_rate),
                slow_seconds=float(slow_seconds),
                malformed_rate=float(malformed_rate),
                error_rate=float(error_rate),
                arrivals_per_request=int(arrivals_per_request),
                queue=names,
            )

    def next_fault(self) -> str:
        """The fault for the next API request: the queue first, then one draw on the rates."""
        with self.lock:
            f = self.faults
            if f.queue:
                return f.queue.pop(0)
            bands = (
                ("500", f.fail_rate),
                ("429", f.rate_limit_rate),
                ("slow", f.slow_rate),
                ("malformed", f.malformed_rate),
                ("error", f.error_rate),
            )
            if not any(rate for _, rate in bands):
                return "ok"
            r = self._fault_rng.random()
            for name, rate in bands:
                if r < rate:
                    return name
                r -= rate
            return "ok"

    # -- log ---------------------------------------------------------------------------------

    def log_request(self, method: str, path: str, query: dict[str, str]) -> None:
        with self.lock:
            self.requests.append((method, path, query))
