"""Late and corrected calls: calls VBot lists late, and broken calls it fixes later."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from vbot_simulator import SimulatorServer
from vbot_simulator.data import group_epoch, parse_date_create

NOW = 1775000000
KEY = {"X-API-Key": "demo-key"}
GET_ALL = "/api/crm/historycall/getAll"
COUNT_ALL = "/api/crm/historycall/countAll"
RECORD = "/api/crm/historycall/record/"


def get(srv: SimulatorServer, path: str, **params: Any) -> Any:
    body = requests.get(srv.base_url_v3 + path, params=params, headers=KEY, timeout=5).json()
    assert body["error"] == 0, body
    return body["data"]


def window(srv: SimulatorServer, start: int, end: int) -> list[Any]:
    groups = get(srv, GET_ALL, size=500, **{"from": start, "to": end})
    return [g.get("group_id") if isinstance(g, dict) else g for g in groups]


def sim_post(srv: SimulatorServer, path: str, **kw: Any) -> requests.Response:
    return requests.post(srv.url + path, timeout=5, **kw)


def assert_sorted_index(srv: SimulatorServer) -> None:
    st = srv.state
    epochs = [group_epoch(g) for g in st.calls]
    assert epochs == sorted(epochs, reverse=True) and st._sorted


@pytest.mark.parametrize("simulator", [{"calls": 300, "now": NOW}], indirect=True)
def test_calls_listed_late_land_in_their_window(simulator: SimulatorServer) -> None:
    st = simulator.state
    now = st.now()
    before = window(simulator, now - 4 * 3600, now - 2 * 3600)
    late = st.add_calls(2, age_hours=3)
    epoch = parse_date_create(late[0]["date_create"])
    assert {parse_date_create(g["date_create"]) for g in late} == {epoch}
    assert now - 3 * 3600 <= epoch <= now - 3 * 3600 + 2  # the clock may tick meanwhile
    assert_sorted_index(simulator)
    after = window(simulator, now - 4 * 3600, now - 2 * 3600)
    assert sorted(after) == sorted(before + [g["group_id"] for g in late])
    assert get(simulator, COUNT_ALL, **{"from": epoch, "to": epoch}) >= 2
    # Over HTTP, and at an exact epoch; the head is untouched.
    head = st.calls[0]["group_id"]
    resp = sim_post(simulator, "/_sim/calls", params={"n": 3, "age_hours": 24 * 10}).json()
    at = sim_post(simulator, "/_sim/calls", params={"n": 1, "at_epoch": NOW - 20 * 86400}).json()
    assert resp["added"] == 3 and at["added"] == 1
    assert st.calls[0]["group_id"] == head
    assert_sorted_index(simulator)
    assert at["group_ids"][0] in window(simulator, NOW - 20 * 86400, NOW - 20 * 86400)
    assert get(simulator, COUNT_ALL) == 306
    # Python API with at_epoch.
    (group,) = st.add_calls(1, at_epoch=NOW - 86400)
    assert group_epoch(group) == NOW - 86400 and group in st.calls
    with pytest.raises(ValueError):
        st.add_calls(1, at_epoch=-1)


@pytest.mark.parametrize("simulator", [{"calls": 300, "now": NOW}], indirect=True)
def test_poison_then_corrected_call(simulator: SimulatorServer) -> None:
    st = simulator.state
    good = copy.deepcopy(get(simulator, GET_ALL, page=3, size=50)[7])  # a call 107th from the top
    epoch = parse_date_create(good["date_create"])
    count, in_window = get(simulator, COUNT_ALL), window(simulator, epoch, epoch)
    assert good["group_id"] in in_window
    # VBot first serves it broken (its date unreadable); it still knows the date.
    poison = dict(good, date_create="13/45/2026 99:00:00", caller="junk")
    answer = sim_post(simulator, "/_sim/groups", json={"groups": [poison], "epoch": epoch}).json()
    assert answer["results"] == [
        {"group_id": good["group_id"], "action": "replaced", "position": 107}
    ]
    assert answer["count"] == count == get(simulator, COUNT_ALL)
    assert get(simulator, GET_ALL, page=3, size=50)[7] == poison
    assert window(simulator, epoch, epoch) == in_window  # counted and listed where it was
    assert get(simulator, COUNT_ALL, **{"from": epoch, "to": epoch}) == len(in_window)
    # Then the corrected version replaces it in place.
    fixed = dict(good, disposition="ANSWER", time_call="00:00:42")
    sim_post(simulator, "/_sim/groups", json=[fixed])
    assert get(simulator, GET_ALL, page=3, size=50)[7] == fixed
    assert get(simulator, COUNT_ALL) == count and st.calls[107] == fixed
    assert_sorted_index(simulator)


@pytest.mark.parametrize("simulator", [{"calls": 200, "now": NOW}], indirect=True)
def test_new_raw_groups_are_sorted_into_place(simulator: SimulatorServer) -> None:
    st = simulator.state
    template = copy.deepcopy(st.calls[20])
    dated = dict(template, group_id="05032026101010raw-dated", date_create="03/05/2026 10:10:10")
    dated["record_file"] = [simulator.base_url_v2 + RECORD + dated["group_id"]]
    undated = {"group_id": "raw-undated", "date_create": None}
    results = st.upsert_groups([dated, undated, "junk", {"no": "id"}], epoch=NOW - 5 * 86400)
    assert [r["action"] for r in results] == ["inserted"] * 4
    assert get(simulator, COUNT_ALL) == 204
    epoch = parse_date_create("03/05/2026 10:10:10")
    assert "05032026101010raw-dated" in window(simulator, epoch, epoch)
    fallback = window(simulator, NOW - 5 * 86400, NOW - 5 * 86400)
    assert {"raw-undated", "junk", None} <= set(fallback)  # junk counted at the given epoch
    assert st._sorted  # placed by their server-side dates
    record = requests.get(
        simulator.base_url_v3 + RECORD + dated["group_id"], headers=KEY, timeout=5
    )
    assert record.headers["Content-Type"] == "audio/wav"
    # Without an epoch, an unreadable group is dated now.
    st.upsert_groups([{"group_id": "now-ish", "date_create": "??"}])
    assert "now-ish" in window(simulator, st.now() - 5, st.now() + 5)


@pytest.mark.parametrize("simulator", [{"calls": 120, "now": NOW}], indirect=True)
def test_remove_groups(simulator: SimulatorServer) -> None:
    ids = [g["group_id"] for g in get(simulator, GET_ALL, size=10)]
    assert sim_post(
        simulator, "/_sim/groups/remove", json={"group_ids": [*ids[:2], "nope"]}
    ).json() == {"removed": 2}
    resp = requests.delete(
        simulator.url + "/_sim/groups", params={"group_id": f"{ids[2]},{ids[3]}"}, timeout=5
    )
    assert resp.json() == {"removed": 2}
    assert simulator.state.remove_groups([ids[4]]) == 1
    assert get(simulator, COUNT_ALL) == 115
    assert [g["group_id"] for g in get(simulator, GET_ALL, size=5)] == ids[5:10]
    assert (
        requests.get(simulator.base_url_v3 + RECORD + ids[0], headers=KEY, timeout=5).status_code
        == 404
    )
    assert_sorted_index(simulator)


@pytest.mark.parametrize("simulator", [{"calls": 20, "now": NOW}], indirect=True)
def test_new_calls_of_a_chosen_type(simulator: SimulatorServer) -> None:
    for wanted in ("INCALL", "OUTCALL", "MISSCALL"):
        made = simulator.state.add_calls(5, type_call=wanted)
        assert {g["type_call"] for g in made} == {wanted}
    over_http = sim_post(simulator, "/_sim/calls", params={"n": 4, "type": "incall"})
    ids = set(over_http.json()["group_ids"])
    assert {g["type_call"] for g in simulator.state.calls if g["group_id"] in ids} == {"INCALL"}
    refused = sim_post(simulator, "/_sim/calls", params={"n": 1, "type": "fax"})
    assert refused.status_code == 400 and "type" in refused.json()["message"]
