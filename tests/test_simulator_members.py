"""Members (agents): /api/member/getAll, countAll and getByMemberNo under v2 and v3 auth."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
import requests

from vbot_simulator import SimulatorServer
from vbot_simulator.members import make_members

KEY = {"X-API-Key": "demo-key"}
IDS = {"vbot_id": "VB-DEMO", "project_code": "PR-DEMO"}
FIELDS = {
    "member_name": str,
    "member_type": int,
    "member_color": str,
    "member_ext_number": int,
    "member_no": str,
    "member_status": int,
    "member_money": float,
    "expiration_date": str,
}


def v3(srv: SimulatorServer, path: str, **params: Any) -> requests.Response:
    return requests.get(
        srv.base_url_v3 + "/api/member/" + path, params=params, headers=KEY, timeout=5
    )


def bearer(srv: SimulatorServer) -> dict[str, str]:
    token = requests.post(
        srv.base_url_v2 + "/token", data={"username": "demo", "password": "demo"}, timeout=5
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def fold(name: str) -> str:
    """A name without accents, as a careless matcher sees it."""
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


def test_members_v3(simulator: SimulatorServer) -> None:
    body = v3(simulator, "getAll", page=1, size=50).json()
    assert body["error"] == 0 and body["message"] == "success"
    members = body["data"]
    assert members == simulator.state.members
    assert requests.get(simulator.url + "/_sim/members", timeout=5).json() == members
    for member in members:
        assert {k: type(v) for k, v in member.items()} == FIELDS
        assert member["member_ext_number"] == int(member["member_no"])  # the documented relation
        assert member["member_color"].startswith("#") and len(member["member_color"]) == 7
        assert member["member_status"] in (0, 1) and member["member_type"] in (1, 2)
        assert len(member["member_name"].split()) == 3
    assert v3(simulator, "countAll").json()["data"] == len(members) == 14
    # Paging.
    pages = [v3(simulator, "getAll", page=p, size=10).json()["data"] for p in (1, 2)]
    assert pages[0] + pages[1] == members
    assert v3(simulator, "getAll", page=3, size=10).json()["data"] == []
    assert v3(simulator, "getAll", size=0).json()["error"] == -1
    # By number.
    for member in members:
        assert (
            v3(simulator, "getByMemberNo", member_no=member["member_no"]).json()["data"] == member
        )
    missing = v3(simulator, "getByMemberNo", member_no="999")
    assert (
        missing.status_code == 404
        and missing.json()["error"] == 404
        and missing.json()["data"] is None
    )
    assert v3(simulator, "getByMemberNo").json()["error"] == -1


@pytest.mark.parametrize("simulator", [{"calls": 2000, "seed": 5}], indirect=True)
def test_members_match_the_calls(simulator: SimulatorServer) -> None:
    members = {m["member_no"]: m for m in simulator.state.members}
    in_calls = {
        leg["member_no"]
        for group in simulator.state.calls
        for leg in group["caller"] + group["callee"]
        if leg["member_no"]
    }
    assert in_calls == {str(n) for n in range(101, 113)}
    assert in_calls < set(members)
    never = set(members) - in_calls
    assert len(never) == 2  # one suspended agent, one supervisor
    assert {members[n]["member_status"] for n in never} == {0, 1}
    assert all(members[n]["member_status"] == 1 for n in in_calls)
    # Two agents who take calls look alike once accents are folded: same family and middle name.
    folded: dict[str, list[str]] = {}
    for number in in_calls:
        folded.setdefault(fold(members[number]["member_name"]), []).append(number)
    pairs = [numbers for numbers in folded.values() if len(numbers) > 1]
    assert len(pairs) == 1 and len(pairs[0]) == 2
    a, b = (members[n]["member_name"] for n in pairs[0])
    assert a != b and a.split()[:2] == b.split()[:2]


def test_members_v2_need_token_and_ids(simulator: SimulatorServer) -> None:
    headers = bearer(simulator)
    url = simulator.base_url_v2 + "/api/member/"
    ok = requests.get(
        url + "getAll", params={**IDS, "page": 1, "size": 5}, headers=headers, timeout=5
    ).json()
    assert ok["error"] == 0 and ok["data"] == simulator.state.members[:5]
    one = requests.get(
        url + "getByMemberNo", params={**IDS, "member_no": "104"}, headers=headers, timeout=5
    )
    assert one.json()["data"]["member_no"] == "104"
    assert requests.get(url + "getAll", headers=headers, timeout=5).json()["error"] == -1  # no ids
    assert requests.get(url + "getAll", params=IDS, timeout=5).status_code == 401
    assert (
        requests.get(
            url + "getAll", params=IDS, headers={"X-API-Key": "wrong"}, timeout=5
        ).status_code
        == 401
    )
    # X-API-Key on the v2 prefix works too, as for the history endpoints.
    assert requests.get(url + "countAll", headers=KEY, timeout=5).json()["data"] == 14
    assert requests.post(url + "getAll", headers=KEY, timeout=5).status_code == 405


def test_members_deterministic_per_seed() -> None:
    assert make_members(3) == make_members(3)
    assert make_members(3) != make_members(4)
    assert [m["member_no"] for m in make_members(3)] == [m["member_no"] for m in make_members(4)]
