"""The simulator's mutable state: calls, customers, members, tokens, faults, webhooks, the log.

All of it lives in one :class:`SimulatorState` guarded by one lock; the HTTP handler threads
only go through its methods.

Calls are held lean: a generated history is a list of :class:`_Slot` placeholders plus an array
of epochs, and a slot becomes a call group dict only when something reads it (:class:`CallList`).
A parallel array of epochs (one per position) answers from/to windows by bisection while the
list is sorted newest first, and by a scan otherwise.
"""

from __future__ import annotations

import gc
import json
import random
import secrets
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from operator import neg
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_REDIRECT, Faults, SimulatorConfig
from .data import BLOCK, VN_TZ, CallGenerator, Record, group_epoch, group_phone_keys, phone_key
from .members import make_members
from .webhooks import PayloadBuilder, WebhookDispatcher, validate_settings

FAULT_NAMES = ("500", "429", "slow", "malformed", "error", "redirect", "ok")
#: Epoch stored for a group whose date is unreadable: below every from/to window.
NO_EPOCH = -(2**63)
_MAX_EPOCH = 2**63 - 1
#: 9999-12-31 23:59:59 UTC: the last second a date_create can show.
MAX_EPOCH_SECONDS = 253402300799
#: Most calls one add_calls may make (a guard against a typo such as n=10**9).
MAX_ADD = 100_000


@dataclass(frozen=True)
class Query:
    """A parsed getAll/countAll filter: epoch bounds (inclusive) and a phone match key."""

    start: int | None = None
    end: int | None = None
    phone: str | None = None  # match key; "" matches nothing (a phone with no digits)

    @property
    def is_empty(self) -> bool:
        return self.start is None and self.end is None and self.phone is None


@dataclass(frozen=True)
class RequestRecord:
    """One request as received: ``state.request_log`` holds one per entry of ``state.requests``."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    time: float = field(default_factory=time.time)


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


def id_epoch(group_id: Any) -> int | None:
    """The epoch a generated ``group_id`` starts with (``ddmmyyyyHHMMSS``, Vietnam time)."""
    if not isinstance(group_id, str) or len(group_id) < 14 or not group_id[:14].isdigit():
        return None
    try:
        local = datetime.strptime(group_id[:14], "%d%m%Y%H%M%S")
    except ValueError:
        return None
    return int(local.replace(tzinfo=VN_TZ).timestamp())


def _check_epoch(value: Any) -> int:
    """An epoch in seconds between 1970 and 9999; ValueError otherwise."""
    epoch = int(value)
    if not 0 <= epoch <= MAX_EPOCH_SECONDS:
        raise ValueError(f"epoch out of range: {epoch}")
    return epoch


def _sorted_desc(epochs: array[int]) -> bool:
    return all(a >= b for a, b in pairwise(epochs))


class _Slot(int):
    """A history call not made into a dict yet: its slot number."""

    __slots__ = ()


_raw_get = list.__getitem__
_raw_set = list.__setitem__
_raw_del = list.__delitem__
_raw_iter = list.__iter__


class CallList(list):  # type: ignore[type-arg]
    """``state.calls``: a list of call groups, newest first, made on demand.

    It is a real ``list`` (``json.dumps``, ``isinstance(x, list)``, ``len``, indexing, slicing,
    iteration, ``insert``/``append``/item assignment all work), whose items may still be
    placeholders of generated calls. Reading an item makes its dict and keeps it, so the same
    object comes back next time and a test may mutate it; changing the list marks it
    ``dirty`` so the state re-indexes it.
    """

    __slots__ = ("_make", "dirty")

    def __init__(self, items: Iterable[Any] = (), make: Callable[[int], Any] | None = None) -> None:
        super().__init__(items)
        self._make = make
        self.dirty = False

    # -- reads: placeholders become dicts, kept in place ---------------------------------------

    def _get(self, index: int) -> Any:
        raw = _raw_get(self, index)
        if type(raw) is _Slot and self._make is not None:
            raw = self._make(raw)
            _raw_set(self, index, raw)
        return raw

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(len(self)))]
        return self._get(index)

    def __iter__(self) -> Iterator[Any]:
        i = 0
        while i < len(self):
            yield self._get(i)
            i += 1

    def __reversed__(self) -> Iterator[Any]:
        i = len(self) - 1
        while i >= 0:
            if i < len(self):
                yield self._get(i)
            i -= 1

    def __contains__(self, value: object) -> bool:
        return any(item is value or item == value for item in self)

    def index(self, value: Any, start: int = 0, stop: int = 2**62) -> int:  # type: ignore[override]
        return list(self).index(value, start, min(stop, len(self)))

    def count(self, value: Any) -> int:
        return list(self).count(value)

    def copy(self) -> list[Any]:  # type: ignore[override]
        return list(self)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, list) else NotImplemented

    def __ne__(self, other: object) -> bool:
        return list(self) != list(other) if isinstance(other, list) else NotImplemented

    def __lt__(self, other: Any) -> bool:
        return list(self) < list(other)

    def __le__(self, other: Any) -> bool:
        return list(self) <= list(other)

    def __gt__(self, other: Any) -> bool:
        return list(self) > list(other)

    def __ge__(self, other: Any) -> bool:
        return list(self) >= list(other)

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> list[Any]:  # type: ignore[override]
        return list(self) + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        return list(other) + list(self)

    def __mul__(self, n: Any) -> list[Any]:  # type: ignore[override]
        return list(self) * n

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return repr(list(self))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (list, (list(self),))

    # -- writes: mark dirty ------------------------------------------------------------------

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self.dirty = True

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self.dirty = True

    def __iadd__(self, other: Any) -> CallList:  # type: ignore[override]
        super().extend(other)
        self.dirty = True
        return self

    def __imul__(self, n: Any) -> CallList:  # type: ignore[override]
        super().__imul__(n)
        self.dirty = True
        return self

    def insert(self, index: Any, value: Any) -> None:
        super().insert(index, value)
        self.dirty = True

    def append(self, value: Any) -> None:
        super().append(value)
        self.dirty = True

    def extend(self, values: Iterable[Any]) -> None:
        super().extend(values)
        self.dirty = True

    def pop(self, index: Any = -1) -> Any:
        value = self._get(index)
        super().pop(index)
        self.dirty = True
        return value

    def remove(self, value: Any) -> None:
        del self[self.index(value)]

    def clear(self) -> None:
        super().clear()
        self.dirty = True

    def reverse(self) -> None:
        super().reverse()
        self.dirty = True

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        items = list(self)
        items.sort(key=key, reverse=reverse)
        _raw_set(self, slice(None), items)
        self.dirty = True


class SimulatorState:
    """Data and settings of one simulator, safe to use from many threads.

    Public attributes (read them; ``calls`` may be rebound to a new list): ``calls`` (call
    groups, newest first, exactly what getAll serves; a :class:`CallList`), ``customers``
    (``{name, phone, vbot_phone, kind}``), ``members`` (the member API's objects),
    ``p2p_calls`` (internal calls made by ``add_calls(p2p=...)``, newest first), ``requests``
    (``(method, path, query)`` of every request received) and ``request_log`` (the same
    requests as :class:`RequestRecord` with headers and body), ``webhooks``
    (:class:`~vbot_simulator.webhooks.WebhookDispatcher`), ``faults``, ``config``, ``base_url``.
    """

    _CACHE_SIZE = 16
    _BLOCKS_CACHED = 64

    def __init__(self, config: SimulatorConfig, base_url: str) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.request_log: list[RequestRecord] = []
        self.anchor = int(config.now if config.now is not None else time.time())
        self._started = time.monotonic()
        n_customers = 0 if config.data is not None else max(20, config.calls // 8)
        gen = CallGenerator(config.seed, config.vbot_id, self.base_url, n_customers)
        self._generator = gen
        self.customers: list[dict[str, str]] = gen.customers
        self.members: list[dict[str, Any]] = make_members(config.seed)
        self.p2p_calls: list[dict[str, Any]] = []
        # Index, parallel to the calls: epoch per position (NO_EPOCH when unreadable), phone keys
        # (made on the first phone query), group_id -> dict for dict items.
        self._slot_epochs: array[int] = array("q")
        self._forced: dict[int, str] = {}
        self._epochs: array[int] = array("q")
        self._sorted = False
        self._phones: list[tuple[str, ...]] | None = None
        self._by_id: dict[str, Any] = {}
        self._hints: dict[int, tuple[Any, int]] = {}  # id(group) -> (group, epoch) of /_sim/groups
        self._indexed_len = -1
        self._version = 0
        self._cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._blocks: OrderedDict[int, list[Record]] = OrderedDict()
        self._blocks_lock = threading.Lock()
        # Millions of fresh objects would trigger repeated full GC passes: pause the collector.
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            if config.data is not None:
                self._calls = CallList(load_calls(config.data), self._make_slot)
                self._reindex()
            else:
                self._slot_epochs, self._forced = gen.history(
                    config.calls, config.days, self.anchor
                )
                self._calls = CallList(map(_Slot, range(len(self._slot_epochs))), self._make_slot)
                self._reindex(array("q", self._slot_epochs))
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
        # Webhooks.
        self.webhooks = WebhookDispatcher(validate_settings(config.webhook_settings()), config.seed)
        self._payloads = PayloadBuilder(
            config.project_code, config.vbot_id, self.members, self.customers
        )

    # -- calls -------------------------------------------------------------------------------

    @property
    def calls(self) -> CallList:
        return self._calls

    @calls.setter
    def calls(self, value: Iterable[Any]) -> None:
        with self.lock:
            self._calls = CallList(value, self._make_slot)
            self._reindex()

    def _slot_record(self, slot: int) -> Record:
        """The record of history slot ``slot`` (from a small cache of blocks)."""
        block = slot // BLOCK
        cache = self._blocks
        records = cache.get(block)
        if records is None:
            first = block * BLOCK
            epochs = self._slot_epochs[first : first + BLOCK]
            records = self._generator.block(block, epochs, self._forced)
            with self._blocks_lock:
                cache[block] = records
                if len(cache) > self._BLOCKS_CACHED:
                    cache.popitem(last=False)
        return records[slot - block * BLOCK]

    def _make_slot(self, slot: int) -> dict[str, Any]:
        """The group of history slot ``slot`` (a new dict each time; pure)."""
        return self._generator.as_group(self._slot_record(slot))

    def _resolve(self, raw: Any) -> Any:
        """The group of a raw item: a new dict for a slot, else the item itself."""
        return self._make_slot(raw) if type(raw) is _Slot else raw

    def _encode(self, raw: Any) -> str:
        """The JSON of a raw item as getAll sends it (slots are written without a dict)."""
        if type(raw) is _Slot:
            return self._generator.as_json(self._slot_record(raw))
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))

    # -- index -------------------------------------------------------------------------------

    def _item_epoch(self, raw: Any) -> int:
        """The server-side date of an item: its date_create, else the epoch it was posted with."""
        if type(raw) is _Slot:
            return self._slot_epochs[raw]
        epoch = group_epoch(raw)
        if epoch is None:
            hint = self._hints.get(id(raw))
            if hint is not None and hint[0] is raw:
                return hint[1]
            return NO_EPOCH
        return epoch

    def reindex(self) -> None:
        """Recompute the index from ``calls`` (after mutating a group's date in place)."""
        with self.lock:
            self._reindex()

    def _reindex(self, epochs: array[int] | None = None) -> None:
        """Recompute every precomputed key (also used if ``calls`` was changed by hand).

        ``epochs`` may be passed when already known (generated data) to skip date parsing.
        """
        calls = self._calls
        items = list(_raw_iter(calls))
        if epochs is None:
            item_epoch = self._item_epoch
            epochs = array("q", [item_epoch(raw) for raw in items])
        self._epochs = epochs
        self._sorted = _sorted_desc(epochs)
        self._phones = None
        alive = self._reindex_ids(items)
        self._hints = {k: v for k, v in self._hints.items() if k in alive}
        calls.dirty = False
        self._indexed_len = len(calls)
        self._version += 1
        self._cache.clear()

    def _ensure_index(self) -> None:
        if self._calls.dirty or self._indexed_len != len(self._calls):
            self._reindex()

    def _changed(self) -> None:
        self._indexed_len = len(self._calls)
        self._version += 1
        self._cache.clear()

    def _phone_index(self) -> list[tuple[str, ...]]:
        """Phone keys per position, made on the first phone query (every group is made once,
        block by block, without going through the block cache)."""
        if self._phones is None:
            gen = self._generator
            record_phones = gen.record_phones
            pool: dict[str, str] = {}
            phones = []
            block, first, records = -1, 0, []
            for raw in _raw_iter(self._calls):
                if type(raw) is _Slot:
                    if raw // BLOCK != block:
                        block = raw // BLOCK
                        first = block * BLOCK
                        epochs = self._slot_epochs[first : first + BLOCK]
                        records = gen.block(block, epochs, self._forced)
                    keys = record_phones(records[raw - first])
                else:
                    keys = group_phone_keys(raw)
                phones.append(tuple([pool.setdefault(k, k) for k in keys]))
            self._phones = phones
        return self._phones

    def _window(self, lo: int, hi: int) -> range:
        """Positions with ``lo <= epoch <= hi`` of a sorted list (bisection)."""
        epochs = self._epochs
        first = bisect_left(epochs, -hi, key=neg)
        last = bisect_right(epochs, -lo, key=neg)
        return range(first, max(first, last))

    def _positions(self, epoch: int) -> Sequence[int]:
        """Positions whose epoch is ``epoch``."""
        if self._sorted:
            return self._window(epoch, epoch)
        return [i for i, e in enumerate(self._epochs) if e == epoch]

    def _insert_position(self, epoch: int) -> int:
        """Where a call dated ``epoch`` goes: before every call not newer than it."""
        if self._sorted:
            return bisect_left(self._epochs, -epoch, key=neg)
        return next((i for i, e in enumerate(self._epochs) if e <= epoch), len(self._epochs))

    def _matching(self, query: Query) -> Sequence[int]:
        """Positions of the groups matching ``query`` (lock held); scans are cached per version."""
        key = (query.start, query.end, query.phone)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        positions: Sequence[int] = range(len(self._calls))
        scanned = False
        if query.start is not None or query.end is not None:
            lo = query.start if query.start is not None else NO_EPOCH + 1
            hi = query.end if query.end is not None else _MAX_EPOCH
            if self._sorted:
                positions = self._window(lo, hi)
            else:
                epochs = self._epochs
                positions = [i for i in positions if lo <= epochs[i] <= hi]
                scanned = True
        if query.phone is not None:
            wanted, phones = query.phone, self._phone_index()
            positions = [i for i in positions if wanted in phones[i]]
            scanned = True
        if scanned:
            result = list(positions)
            self._cache[key] = result
            if len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
            return result
        return positions

    def _locate(self, group_id: str) -> int | None:
        """Position of the first group with ``group_id`` (lock held, index fresh), or None."""
        calls = self._calls
        obj = self._by_id.get(group_id)
        if obj is not None:
            for i in self._positions(self._item_epoch(obj)):
                if _raw_get(calls, i) is obj:
                    return i
        epoch = id_epoch(group_id)
        if epoch is not None:
            for i in self._positions(epoch):
                raw = _raw_get(calls, i)
                if type(raw) is _Slot:
                    if self._slot_record(raw)[7] == group_id:
                        return i
                elif isinstance(raw, dict) and raw.get("group_id") == group_id:
                    return i
        if obj is not None:
            return next((i for i, raw in enumerate(_raw_iter(calls)) if raw is obj), None)
        return None

    def _insert_locked(self, position: int, groups: list[Any], epochs: list[int]) -> None:
        """Insert items at ``position`` and keep the index up to date (lock held, index fresh)."""
        if not groups:
            return
        list.__setitem__(self._calls, slice(position, position), groups)
        self._epochs[position:position] = array("q", epochs)
        if self._phones is not None:
            self._phones[position:position] = [group_phone_keys(g) for g in groups]
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("group_id"), str):
                self._by_id.setdefault(group["group_id"], group)
        if self._sorted:
            e = self._epochs
            lo, hi = max(position - 1, 0), min(position + len(groups), len(e) - 1)
            self._sorted = all(e[i] >= e[i + 1] for i in range(lo, hi))
        self._changed()

    def now(self) -> int:
        """Simulated clock: the anchor plus the time elapsed since start."""
        return self.anchor + int(time.monotonic() - self._started)

    # -- data --------------------------------------------------------------------------------

    def add_calls(
        self,
        n: int,
        age_hours: float | None = None,
        at_epoch: int | None = None,
        p2p: int = 0,
        type_call: str | None = None,
    ) -> list[dict[str, Any]]:
        """Insert ``n`` new call groups and return them; webhooks are sent for each.

        ``type_call`` (INCALL, OUTCALL or MISSCALL) makes them all of that type: an incoming
        one (INCALL, MISSCALL) rings, so it sends ``IN_COMINGCALL`` first.

        By default they are dated "now" and go to the head of ``calls``. With ``at_epoch``
        (epoch seconds) or ``age_hours`` (hours before now) they are dated then and sorted into
        their place, so they land in windows a client may have synced already. ``p2p`` more
        internal agent-to-agent calls are made at the same date: they go to ``p2p_calls`` and
        the ``P2P_CALL_LOG`` webhook, and into ``calls`` only with ``config.p2p_in_history``.
        """
        if not 0 <= n <= MAX_ADD or not 0 <= p2p <= MAX_ADD:
            raise ValueError(f"n and p2p must be in 0..{MAX_ADD}")
        if at_epoch is None and age_hours is not None:
            at_epoch = self.now() - round(float(age_hours) * 3600)
        if at_epoch is not None:
            at_epoch = _check_epoch(at_epoch)
        with self.lock:
            new, internal = self._add_calls_locked(n, at_epoch, p2p, type_call)
        self._send_webhooks(new, internal)
        return new

    def _add_calls_locked(
        self, n: int, at_epoch: int | None = None, p2p: int = 0, type_call: str | None = None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if n <= 0 and p2p <= 0:
            return [], []
        self._ensure_index()
        gen = self._generator
        if at_epoch is None:
            head = next((e for e in self._epochs if e != NO_EPOCH), None)
            epoch = max(self.now(), head or 0)
            position = 0
        else:
            epoch = int(at_epoch)
            position = self._insert_position(epoch)
        new = [gen.make_group(epoch, type_call=type_call) for _ in range(n)]
        internal = [gen.p2p_group(gen.new_key(), epoch) for _ in range(p2p)]
        self.p2p_calls[0:0] = internal
        listed = new + internal if self.config.p2p_in_history else new
        self._insert_locked(position, listed, [epoch] * len(listed))
        return new, internal

    def upsert_groups(self, groups: list[Any], epoch: int | None = None) -> list[dict[str, Any]]:
        """Insert raw groups as they are; one whose ``group_id`` exists replaces it in place.

        A new group is sorted into its place by its server-side date: its ``date_create`` when
        readable, else ``epoch``, else now (VBot knows the date of a call even when it sends a
        broken field). Returns ``{"group_id", "action": "inserted"|"replaced", "position"}``
        per group. No webhook is sent.
        """
        if not isinstance(groups, list):
            raise TypeError("expected a list of groups")
        results = []
        with self.lock:
            self._ensure_index()
            fallback = _check_epoch(epoch) if epoch is not None else self.now()
            for group in groups:
                readable = group_epoch(group)
                server_epoch = readable if readable is not None else fallback
                if readable is None:
                    self._hints[id(group)] = (group, server_epoch)
                group_id = group.get("group_id") if isinstance(group, dict) else None
                position = self._locate(group_id) if isinstance(group_id, str) else None
                if position is None:
                    position = self._insert_position(server_epoch)
                    self._insert_locked(position, [group], [server_epoch])
                    action = "inserted"
                else:
                    self._replace_locked(position, group, server_epoch)
                    action = "replaced"
                results.append({"group_id": group_id, "action": action, "position": position})
        return results

    def _replace_locked(self, position: int, group: Any, epoch: int) -> None:
        old = _raw_get(self._calls, position)
        old_id = old.get("group_id") if isinstance(old, dict) else None
        if isinstance(old_id, str) and self._by_id.get(old_id) is old:
            del self._by_id[old_id]
        _raw_set(self._calls, position, group)
        self._epochs[position] = epoch
        if self._phones is not None:
            self._phones[position] = group_phone_keys(group)
        if isinstance(group, dict) and isinstance(group.get("group_id"), str):
            self._by_id.setdefault(group["group_id"], group)
        if self._sorted:
            e = self._epochs
            lo, hi = max(position - 1, 0), min(position + 1, len(e) - 1)
            self._sorted = all(e[i] >= e[i + 1] for i in range(lo, hi))
        self._changed()

    def remove_groups(self, group_ids: Iterable[str]) -> int:
        """Remove the first group of each id; returns how many were removed."""
        removed = 0
        with self.lock:
            self._ensure_index()
            for group_id in group_ids:
                position = self._locate(group_id) if isinstance(group_id, str) else None
                if position is None:
                    continue
                _raw_del(self._calls, position)
                del self._epochs[position]
                if self._phones is not None:
                    del self._phones[position]
                self._by_id.pop(group_id, None)
                removed += 1
            if removed:
                self._reindex_ids()
                self._changed()
        return removed

    def _reindex_ids(self, items: list[Any] | None = None) -> set[int]:
        """Rebuild ``group_id -> group`` of the dict items; returns the ids of every non-slot."""
        self._by_id = {}
        alive: set[int] = set()
        for raw in reversed(items if items is not None else list(_raw_iter(self._calls))):
            if type(raw) is _Slot:
                continue
            alive.add(id(raw))  # the first occurrence wins:
            if isinstance(raw, dict) and isinstance(raw.get("group_id"), str):
                self._by_id[raw["group_id"]] = raw
        return alive

    def find_group(self, group_id: str) -> Any | None:
        """The first group with this ``group_id``, or None."""
        with self.lock:
            self._ensure_index()
            position = self._locate(group_id)
            if position is None:
                return None
            raw = _raw_get(self._calls, position)
            return self._make_slot(raw) if type(raw) is _Slot else raw

    def _page_raw(self, query: Query, page: int, size: int, arrivals: bool) -> list[Any]:
        new: list[dict[str, Any]] = []
        with self.lock:
            if arrivals and self.faults.arrivals_per_request > 0:
                new, _ = self._add_calls_locked(self.faults.arrivals_per_request)
            self._ensure_index()
            start = max(page - 1, 0) * size
            if query.is_empty:
                raws = _raw_get(self._calls, slice(start, start + size))
            else:
                calls = self._calls
                raws = [_raw_get(calls, i) for i in self._matching(query)[start : start + size]]
        if new:
            self._send_webhooks(new, [])
        return raws

    def page(self, query: Query, page: int, size: int, arrivals: bool = False) -> list[Any]:
        """One page (1-based) of the groups matching ``query``, newest first.

        With ``arrivals``, the configured number of new calls is inserted first.
        """
        resolve = self._resolve
        return [resolve(raw) for raw in self._page_raw(query, page, size, arrivals)]

    def page_json(self, query: Query, page: int, size: int, arrivals: bool = False) -> str:
        """:meth:`page` as JSON text (what getAll's ``data`` is), made without the lock held
        and, for generated calls, without making dicts."""
        encode = self._encode
        return (
            "["
            + ",".join([encode(raw) for raw in self._page_raw(query, page, size, arrivals)])
            + "]"
        )

    def count(self, query: Query) -> int:
        """How many groups match ``query`` (agrees with :meth:`page`)."""
        with self.lock:
            self._ensure_index()
            return len(self._calls) if query.is_empty else len(self._matching(query))

    def find_recording(self, call_id: str) -> Any | None:
        """The group with this ``group_id`` if it has a recording, else None."""
        group = self.find_group(call_id)
        if isinstance(group, dict) and group.get("record_file"):
            return group
        return None

    @staticmethod
    def make_query(start: int | None, end: int | None, phone: str | None) -> Query:
        """Build a :class:`Query`; an empty ``phone`` means no phone filter."""
        return Query(start, end, phone_key(phone) if phone else None)

    # -- members -----------------------------------------------------------------------------

    def member(self, member_no: str) -> dict[str, Any] | None:
        """The member with this ``member_no``, or None."""
        return next((m for m in self.members if m["member_no"] == member_no), None)

    # -- webhooks ----------------------------------------------------------------------------

    def _send_webhooks(self, groups: list[dict[str, Any]], internal: list[dict[str, Any]]) -> int:
        settings = self.webhooks.settings
        if not settings.url or not (groups or internal):
            return 0
        events: list[tuple[str, str, Any]] = []
        build = self._payloads.events
        for group_list, p2p in ((groups, False), (internal, True)):
            for group in group_list:
                for name, body in build(group, settings.events, settings.missed_type_call, p2p):
                    events.append((name, group["group_id"], body))
        return self.webhooks.enqueue(events)

    def send_webhooks(self, group_id: str) -> int:
        """Queue the webhooks of an existing call (listed or internal) again; how many queued."""
        internal = next((g for g in self.p2p_calls if g.get("group_id") == group_id), None)
        if internal is not None:
            return self._send_webhooks([], [internal])
        group = self.find_group(group_id)
        if not isinstance(group, dict):
            raise KeyError(group_id)
        return self._send_webhooks([group], [])

    def webhook_events(self, group: dict[str, Any], p2p: bool = False) -> list[tuple[str, Any]]:
        """``(event, body)`` the configured webhooks would send for ``group`` (nothing sent)."""
        s = self.webhooks.settings
        return self._payloads.events(group, s.events, s.missed_type_call, p2p)

    def close(self) -> None:
        """Stop background work (the webhook thread)."""
        self.webhooks.close()

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
        latency_ms: int = 0,
        redirect_rate: float = 0,
        redirect_to: str = DEFAULT_REDIRECT,
    ) -> None:
        """Replace all fault settings (arguments not given go back to their defaults).

        ``queue`` lists fault names consumed one per API request, before the rates apply:
        ``'500'``, ``'429'``, ``'slow'``, ``'malformed'``, ``'error'`` (HTTP 200, error=500 in
        the envelope), ``'redirect'`` (302 to ``redirect_to``) or ``'ok'``. Rates are
        probabilities of one draw per request, taken in the order fail, rate limit, slow,
        malformed, error, redirect. ``latency_ms`` delays every API answer (``/token``
        included, ``/_sim`` not) by that many milliseconds, without holding any lock.
        """
        names = [str(name) for name in (queue or [])]
        unknown = [name for name in names if name not in FAULT_NAMES]
        if unknown:
            raise ValueError(f"unknown fault names {unknown}; use {list(FAULT_NAMES)}")
        rates = (fail_rate, rate_limit_rate, slow_rate, malformed_rate, error_rate, redirect_rate)
        if any(not 0 <= float(r) <= 1 for r in rates) or sum(float(r) for r in rates) > 1:
            raise ValueError("fault rates must be in [0, 1] and sum to at most 1")
        if not 0 <= int(latency_ms) <= 600_000:
            raise ValueError("latency_ms must be in 0..600000")
        if not 0 <= float(slow_seconds) <= 3600 or not 0 <= int(retry_after) <= 86400:
            raise ValueError("slow_seconds must be in 0..3600, retry_after in 0..86400")
        if not 0 <= int(arrivals_per_request) <= MAX_ADD:
            raise ValueError(f"arrivals_per_request must be in 0..{MAX_ADD}")
        target = urlsplit(str(redirect_to))
        if target.scheme not in ("http", "https") or not target.netloc:
            raise ValueError(f"redirect_to must be an http(s) URL: {redirect_to!r}")
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
                latency_ms=int(latency_ms),
                redirect_rate=float(redirect_rate),
                redirect_to=str(redirect_to),
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
                ("redirect", f.redirect_rate),
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

    def log_request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        record = RequestRecord(method, path, query, dict(headers or {}), body)
        with self.lock:
            self.requests.append((method, path, query))
            self.request_log.append(record)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """Headers of each request, parallel to ``request_log``."""
        with self.lock:
            return [record.headers for record in self.request_log]

    def request_count(self, path_contains: str | None = None) -> int:
        """How many requests ``requests`` holds (whose path contains ``path_contains``)."""
        with self.lock:
            if path_contains is None:
                return len(self.requests)
            return sum(1 for _m, path, _q in self.requests if path_contains in path)

    def clear_requests(self) -> None:
        """Forget the request log (``requests`` and ``request_log``)."""
        with self.lock:
            self.requests.clear()
            self.request_log.clear()
