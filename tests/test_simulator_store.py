"""The simulator's lean call store: state.calls made on demand, bisected windows, fast JSON."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest
import requests

from vbot_simulator import SimulatorConfig, SimulatorServer, SimulatorState
from vbot_simulator.data import (
    BLOCK,
    CallGenerator,
    group_epoch,
    group_phone_keys,
    parse_date_create,
)
from vbot_simulator.state import NO_EPOCH, CallList, Query

NOW = 1775000000
GET_ALL = "/api/crm/historycall/getAll"
COUNT_ALL = "/api/crm/historycall/countAll"
KEY = {"X-API-Key": "demo-key"}


def state(**kw: Any) -> SimulatorState:
    return SimulatorState(SimulatorConfig(**{"now": NOW, **kw}), "http://127.0.0.1:1")


def api(srv: SimulatorServer, path: str, **params: Any) -> Any:
    resp = requests.get(srv.base_url_v3 + path, params=params, headers=KEY, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["error"] == 0, body
    return body["data"]


def brute(st: SimulatorState, start: int | None, end: int | None) -> list[str]:
    """group_ids in a window, the slow obvious way (served order)."""
    lo = start if start is not None else -(2**62)
    hi = end if end is not None else 2**62
    out = []
    for group in st.calls:
        epoch = group_epoch(group)
        if epoch is not None and lo <= epoch <= hi:
            out.append(group["group_id"])
    return out


def ids(groups: list[Any]) -> list[str]:
    return [g["group_id"] for g in groups]


# -- the list ------------------------------------------------------------------------------


def test_calls_is_a_lazy_list() -> None:
    st = state(calls=300, seed=4)
    calls = st.calls
    assert isinstance(calls, list) and isinstance(calls, CallList)
    assert len(calls) == 300 and bool(calls)
    first = calls[0]
    assert calls[0] is first  # made once, then kept
    assert calls[-1] == calls[299] and calls[-1] is calls[299]
    assert ids(calls[10:13]) == [calls[i]["group_id"] for i in (10, 11, 12)]
    assert ids(calls[::100]) == [calls[i]["group_id"] for i in (0, 100, 200)]
    listed = list(calls)
    assert len(listed) == 300 and listed[5] is calls[5]
    assert [g["group_id"] for g in reversed(calls)] == ids(listed)[::-1]
    assert calls == listed and listed == calls
    assert not calls != listed  # noqa: SIM202 (the operator itself is tested)
    assert json.loads(json.dumps(calls)) == listed
    assert copy.deepcopy(calls) == listed and pickle.loads(pickle.dumps(calls)) == listed
    assert ([1] + calls)[1:] == listed  # noqa: RUF005 (list + CallList is tested)
    assert (calls + [1])[:-1] == listed  # noqa: RUF005
    assert first in calls and calls.index(first) == 0 and calls.count(first) == 1
    epochs = [parse_date_create(g["date_create"]) for g in calls]
    assert epochs == sorted(epochs, reverse=True)
    with pytest.raises(IndexError):
        calls[300]


def test_same_content_on_every_read_and_across_instances() -> None:
    a, b = state(calls=500, seed=9), state(calls=500, seed=9)
    # Read in different orders: a block is made the same way whatever is read first.
    seen_b = {i: b.calls[i] for i in (499, 250, 31, 32, 0)}
    for i, group in seen_b.items():
        assert a.calls[i] == group
    assert json.dumps(list(a.calls)) == json.dumps(list(b.calls))
    assert json.dumps(list(state(calls=500, seed=10).calls)) != json.dumps(list(a.calls))
    # A fresh copy of a slot is equal to what is kept in the list.
    assert a._make_slot(7) == a.calls[7] and a._make_slot(7) is not a.calls[7]


def test_fast_json_is_exactly_the_dict() -> None:
    gen = CallGenerator(3, 'VB "quoted" \\ ê', 'http://h:1/"x', 500)
    forced = {5: "BOTIVR", 40: "MISSCALL", 41: "ANSWER"}
    for block in range(40):
        epochs = [NOW - block * 997 - i * 13 for i in range(BLOCK)]
        for record in gen.block(block, epochs, forced):
            text = gen.as_json(record)
            group = gen.as_group(record)
            assert json.loads(text) == group
            assert text == json.dumps(group, ensure_ascii=False, separators=(",", ":"))
            assert gen.record_phones(record) == group_phone_keys(group)


def test_http_pages_equal_state_calls(simulator: SimulatorServer) -> None:
    groups = api(simulator, GET_ALL, page=1, size=500)
    assert groups == list(simulator.state.calls)
    assert api(simulator, GET_ALL, page=2, size=7) == simulator.state.calls[7:14]


def test_mutating_a_group_is_served(simulator: SimulatorServer) -> None:
    st = simulator.state
    group = st.calls[3]
    group["disposition"] = "EDITED"
    group["caller"][0]["phone"] = "0999000111"
    served = api(simulator, GET_ALL, page=1, size=5)[3]
    assert served["disposition"] == "EDITED"
    assert api(simulator, COUNT_ALL, phone="0999000111") == 1
    # Assigning an entry replaces it (and the index follows).
    replacement = dict(st.calls[8], group_id="replaced-8")
    st.calls[8] = replacement
    assert api(simulator, GET_ALL, page=1, size=10)[8]["group_id"] == "replaced-8"
    # Appending, inserting, deleting: served as the list says.
    with st.lock:
        st.calls.append(dict(st.calls[0], group_id="appended"))
        del st.calls[0]
    assert len(st.calls) == 200
    assert api(simulator, COUNT_ALL) == 200
    assert ids(api(simulator, GET_ALL, page=1, size=500))[-1] == "appended"


def test_rebinding_calls(simulator: SimulatorServer) -> None:
    st = simulator.state
    st.calls = list(st.calls)[:10]
    assert isinstance(st.calls, CallList)
    assert api(simulator, COUNT_ALL) == 10
    assert api(simulator, GET_ALL, size=50) == list(st.calls)


# -- windows -------------------------------------------------------------------------------


def windows(st: SimulatorState) -> list[tuple[int | None, int | None]]:
    epochs = [group_epoch(g) for g in st.calls]
    known = sorted(e for e in epochs if e is not None)
    mid = known[len(known) // 2]
    return [
        (NOW - 30 * 86400, NOW),
        (mid, mid),
        (mid - 3600, mid + 3600),
        (None, mid),
        (mid + 1, None),
        (known[0], known[0]),
        (known[-1], known[-1]),
        (known[-1] + 1, None),
        (None, known[0] - 1),
        (NOW + 10, NOW + 20),
    ]


def check_windows(st: SimulatorState) -> None:
    for start, end in windows(st):
        q = Query(start, end, None)
        expected = brute(st, start, end)
        assert st.count(q) == len(expected), (start, end)
        got = ids(st.page(q, 1, 500)) + ids(st.page(q, 2, 500))
        assert got == expected[:1000], (start, end)


def test_windows_bisect_while_sorted() -> None:
    st = state(calls=700, seed=2)
    assert st._sorted
    check_windows(st)
    # Same-second calls: many share an epoch.
    dense = state(calls=900, seed=2, days=0)
    assert len({group_epoch(g) for g in dense.calls}) < 900
    check_windows(dense)


def test_windows_scan_after_an_out_of_order_insert() -> None:
    st = state(calls=400, seed=5)
    late = dict(st.calls[0], group_id="late-one", date_create="03/10/2026 10:00:00")
    with st.lock:
        st.calls.insert(0, late)  # dated a month ago, at the head: the list is unsorted
    assert st.count(Query(None, None, None)) == 401
    assert not st._sorted
    check_windows(st)
    epoch = parse_date_create("03/10/2026 10:00:00")
    assert "late-one" in ids(st.page(Query(epoch, epoch), 1, 50))


def test_unreadable_dates_are_outside_every_window(sim_factory: Any) -> None:
    srv = sim_factory(data=[{"group_id": "a", "date_create": "04/01/2026 06:00:00"},
                            {"group_id": "b", "date_create": "junk"}, 42, None])  # fmt: skip
    st = srv.state
    assert list(st._epochs)[1:] == [NO_EPOCH] * 3
    assert api(srv, COUNT_ALL) == 4
    assert api(srv, COUNT_ALL, to=NOW) == 1
    assert api(srv, GET_ALL, size=10) == [st.calls[0], st.calls[1], 42, None]


def test_phone_filter_on_generated_calls(simulator: SimulatorServer) -> None:
    st = simulator.state
    number = next(c for c in st.customers if c["kind"] == "mobile")["vbot_phone"]
    expected = [
        g["group_id"]
        for g in st.calls
        if any(
            leg["phone"] and leg["phone"][-9:] == number[-9:] for leg in g["caller"] + g["callee"]
        )
    ]
    assert api(simulator, COUNT_ALL, phone=number) == len(expected)
    assert ids(api(simulator, GET_ALL, phone=number, size=500)) == expected


def test_records_of_generated_calls_found_by_id(simulator: SimulatorServer) -> None:
    st = simulator.state
    wanted = [g["group_id"] for g in st.calls if g["record_file"]][:5]
    fresh = SimulatorState(st.config, st.base_url)  # nothing made yet
    for group_id in wanted:
        assert fresh.find_recording(group_id)["group_id"] == group_id
    assert fresh.find_recording("01012020000000nothing") is None
    assert fresh.find_group("not-an-id") is None


@pytest.mark.parametrize("simulator", [{"calls": 5000, "seed": 3}], indirect=True)
def test_arrivals_keep_the_order(simulator: SimulatorServer) -> None:
    st = simulator.state
    st.set_faults(arrivals_per_request=4)
    for page in range(1, 4):
        api(simulator, GET_ALL, page=page, size=100)
    assert len(st.calls) == 5012 and st._sorted
    epochs = list(st._epochs)
    assert epochs == sorted(epochs, reverse=True)
    assert epochs == [group_epoch(g) for g in st.calls]
