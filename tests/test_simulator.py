"""Tests of the VBot call-history simulator (vbot_simulator), driven over real HTTP."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import wave
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from vbot_simulator import SimulatorServer, phone_key
from vbot_simulator.data import DISPOSITIONS, parse_date_create

ROOT = Path(__file__).resolve().parent.parent
NOW = 1775000000  # pinned anchor: 2026-04-01 06:33:20 +07:00
GET_ALL = "/api/crm/historycall/getAll"
COUNT_ALL = "/api/crm/historycall/countAll"
RECORD = "/api/crm/historycall/record/"
IDS = {"vbot_id": "VB-DEMO", "project_code": "PR-DEMO"}


class Client:
    """A minimal v2 client: token, then Bearer + vbot_id/project_code."""

    def __init__(self, srv: SimulatorServer, base: str | None = None) -> None:
        self.srv = srv
        self.base = base or srv.base_url_v2
        self.session = requests.Session()
        self.token = self.get_token()["access_token"]

    def get_token(self, **form: str) -> dict[str, Any]:
        data = {
            "username": "demo",
            "password": "demo",
            "grant_type": "password",
            **form,
        }
        resp = self.session.post(self.base + "/token", data=data, timeout=5)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get(self, path: str, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.session.get(
            self.base + path, params={**IDS, **params}, headers=headers, timeout=10
        )

    def data(self, path: str, **params: Any) -> Any:
        resp = self.get(path, **params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["error"] == 0, body
        return body["data"]

    def count(self, **params: Any) -> int:
        return self.data(COUNT_ALL, **params)

    def all_groups(self, size: int = 100, **params: Any) -> list[dict[str, Any]]:
        groups, page = [], 1
        while True:
            batch = self.data(GET_ALL, page=page, size=size, **params)
            groups.extend(batch)
            if len(batch) < size:
                return groups
            page += 1


@pytest.fixture
def client(simulator: SimulatorServer) -> Client:
    return Client(simulator)


# -- auth ----------------------------------------------------------------------------------


def test_token_issue_and_use(simulator: SimulatorServer) -> None:
    c = Client(simulator)
    tok = c.get_token()
    assert tok["token_type"] == "bearer"
    assert tok["expires_in"] == 899
    assert tok["access_token"] and tok["refresh_token"]
    assert c.count() == 200


def test_token_bad_credentials(simulator: SimulatorServer) -> None:
    for form in (
        {"username": "demo", "password": "nope", "grant_type": "password"},
        {"grant_type": "refresh_token", "refresh_token": "bogus"},
    ):
        resp = requests.post(simulator.base_url_v2 + "/token", data=form, timeout=5)
        assert resp.status_code == 401
        assert resp.json() == {
            "error": 401,
            "message": resp.json()["message"],
            "data": None,
        }


@pytest.mark.parametrize("simulator", [{"calls": 10, "token_ttl": 1}], indirect=True)
def test_token_expiry_and_refresh(simulator: SimulatorServer) -> None:
    c = Client(simulator)
    refresh = c.get_token()["refresh_token"]
    assert c.get(COUNT_ALL).status_code == 200
    time.sleep(1.1)
    resp = c.get(COUNT_ALL)
    assert resp.status_code == 401 and resp.json()["error"] == 401
    c.token = c.get_token(grant_type="refresh_token", refresh_token=refresh)["access_token"]
    assert c.count() == 10


def test_expire_tokens_keeps_refresh_tokens(simulator: SimulatorServer) -> None:
    c = Client(simulator)
    refresh = c.get_token()["refresh_token"]
    simulator.state.expire_tokens()
    assert c.get(COUNT_ALL).status_code == 401
    c.token = c.get_token(grant_type="refresh_token", refresh_token=refresh)["access_token"]
    assert c.count() == 200
    # Same over HTTP.
    assert requests.post(simulator.url + "/_sim/expire_tokens", timeout=5).json() == {"ok": True}
    assert c.get(COUNT_ALL).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
        {"X-API-Key": "bad"},
    ],
)
def test_unauthorized(simulator: SimulatorServer, headers: dict[str, str]) -> None:
    resp = requests.get(simulator.base_url_v2 + GET_ALL, params=IDS, headers=headers, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["error"] == 401 and resp.json()["data"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"vbot_id": "VB-OTHER", "project_code": "PR-DEMO"},
        {"project_code": "PR-DEMO"},
        {},
    ],
)
def test_wrong_vbot_id_is_error_minus_one(client: Client, params: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {client.token}"}
    resp = requests.get(client.base + GET_ALL, params=params, headers=headers, timeout=5)
    assert resp.status_code == 200
    assert resp.json()["error"] == -1 and resp.json()["data"] is None


@pytest.mark.parametrize("prefix", ["/v3.0", "/v2.0", ""])
def test_v3_api_key_on_any_prefix(simulator: SimulatorServer, prefix: str) -> None:
    resp = requests.get(
        simulator.url + prefix + COUNT_ALL, headers={"X-API-Key": "demo-key"}, timeout=5
    )
    assert resp.json() == {"error": 0, "message": "success", "data": 200}


def test_bearer_at_root_and_v3_prefix(simulator: SimulatorServer) -> None:
    for base in (simulator.url, simulator.base_url_v3):
        assert Client(simulator, base).count() == 200


# -- listing and paging ------------------------------------------------------------------


@pytest.mark.parametrize("simulator", [{"calls": 500, "seed": 1}], indirect=True)
def test_count_and_paging_cover_everything(client: Client) -> None:
    assert client.count() == 500
    groups = client.all_groups(size=75)
    ids = [g["group_id"] for g in groups]
    assert len(ids) == 500 and len(set(ids)) == 500
    epochs = [parse_date_create(g["date_create"]) for g in groups]
    assert epochs == sorted(epochs, reverse=True)  # newest first
    assert client.data(GET_ALL, page=1000, size=50) == []
    assert len(client.data(GET_ALL)) == 50  # default page 1, size 50
    assert len(client.data(GET_ALL, page=1, size=500)) == 500


@pytest.mark.parametrize(
    "params", [{"size": 0}, {"size": 501}, {"size": "x"}, {"page": "1.5"}, {"page": 0}]
)
def test_bad_paging_is_error_minus_one(client: Client, params: dict[str, Any]) -> None:
    body = client.get(GET_ALL, **params).json()
    assert body["error"] == -1 and body["data"] is None


def test_bad_from_is_error_minus_one(client: Client) -> None:
    assert client.get(COUNT_ALL, **{"from": "yesterday"}).json()["error"] == -1


def test_unknown_path_is_404(client: Client) -> None:
    resp = client.get("/api/crm/nothing")
    assert resp.status_code == 404
    assert resp.json()["error"] == 404 and resp.json()["data"] is None


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("simulator", [{"calls": 500, "now": NOW}], indirect=True)
def test_from_to_halves_and_milliseconds(client: Client) -> None:
    total = client.count()
    start, mid, end = NOW - 30 * 86400, NOW - 15 * 86400, NOW
    first = client.count(**{"from": start, "to": mid})
    second = client.count(**{"from": mid + 1, "to": end})
    assert first > 0 and second > 0 and first + second == total
    assert client.count(**{"from": start * 1000, "to": mid * 1000}) == first  # ms accepted
    assert client.count(**{"from": mid + 1}) == second  # either bound alone
    assert client.count(to=mid) == first
    # countAll agrees with getAll, and the groups really are in range.
    groups = client.all_groups(size=60, **{"from": start, "to": mid})
    assert len(groups) == first
    assert all(start <= parse_date_create(g["date_create"]) <= mid for g in groups)


@pytest.mark.parametrize("simulator", [{"calls": 300, "now": NOW}], indirect=True)
def test_from_to_inclusive(client: Client) -> None:
    group = client.data(GET_ALL, page=3, size=10)[4]
    epoch = parse_date_create(group["date_create"])
    ids = {g["group_id"] for g in client.data(GET_ALL, size=500, **{"from": epoch, "to": epoch})}
    assert group["group_id"] in ids
    # Vietnam local time: date_create is UTC+7.
    local = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch + 7 * 3600))
    assert local == group["date_create"]


def customer_number(srv: SimulatorServer, kind: str = "mobile") -> str:
    """The vbot_phone of the pool customer with the most calls among those of ``kind``."""
    counts = Counter(
        phone_key(leg["phone"]) for g in srv.state.calls for leg in g["caller"] + g["callee"]
    )
    candidates = [c for c in srv.state.customers if c["kind"] == kind]
    return max(candidates, key=lambda c: counts[phone_key(c["vbot_phone"])])["vbot_phone"]


@pytest.mark.parametrize("simulator", [{"calls": 400}], indirect=True)
def test_phone_filter_any_format(simulator: SimulatorServer, client: Client) -> None:
    national = customer_number(simulator)  # 0912345678
    n9 = national[1:]
    formats = [
        national,
        "+84" + n9,
        "84" + n9,
        "0084" + n9,
        f"{national[:4]} {national[4:7]} {national[7:]}",
        f"(+84) {n9[:2]}-{n9[2:5]}-{n9[5:]}",
    ]
    counts = {fmt: client.count(phone=fmt) for fmt in formats}
    assert len(set(counts.values())) == 1, counts
    expected = sum(
        1
        for g in simulator.state.calls
        if any(phone_key(leg["phone"]) == n9 for leg in g["caller"] + g["callee"])
    )
    assert counts[national] == expected > 0
    groups = client.all_groups(size=7, phone="+84" + n9)
    assert len(groups) == expected
    assert client.count(phone="0999999999") == 0
    assert client.count(phone="") == 400  # empty phone = no filter


@pytest.mark.parametrize("simulator", [{"calls": 400, "now": NOW}], indirect=True)
def test_count_agrees_with_getall_under_combined_filters(
    simulator: SimulatorServer, client: Client
) -> None:
    number = customer_number(simulator)
    params = {"phone": number, "from": NOW - 20 * 86400, "to": NOW - 2 * 86400}
    assert client.count(**params) == len(client.all_groups(size=3, **params))


# -- recordings ----------------------------------------------------------------------------


def test_record_is_a_wav(simulator: SimulatorServer, client: Client) -> None:
    group = next(g for g in simulator.state.calls if g["record_file"])
    url = group["record_file"][0]
    assert url == simulator.base_url_v2 + RECORD + group["group_id"]
    resp = client.session.get(url, headers={"Authorization": f"Bearer {client.token}"}, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "audio/wav"
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    with wave.open(io.BytesIO(resp.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (
            1,
            2,
            8000,
        )
        assert 1 <= wav.getnframes() / 8000 <= 3
    again = client.get(RECORD + group["group_id"])
    assert again.content == resp.content  # deterministic
    # Recordings need auth too.
    assert requests.get(url, timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-44", -44, None)],
)
def test_record_serves_byte_ranges(
    simulator: SimulatorServer, client: Client, header: str, first: int, last: int | None
) -> None:
    group = next(g for g in simulator.state.calls if g["record_file"])
    whole = client.get(RECORD + group["group_id"])
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.session.get(
        group["record_file"][0],
        headers={"Authorization": f"Bearer {client.token}", "Range": header},
        timeout=5,
    )
    assert part.status_code == 206
    expected = whole.content[first : None if last is None else last + 1]
    assert part.content == expected
    start = first if first >= 0 else len(whole.content) + first
    end = start + len(expected) - 1
    assert part.headers["Content-Range"] == f"bytes {start}-{end}/{len(whole.content)}"


def test_record_unknown_or_absent_is_404(simulator: SimulatorServer, client: Client) -> None:
    no_record = next(g for g in simulator.state.calls if not g["record_file"])
    for call_id in ("nope", no_record["group_id"]):
        resp = client.get(RECORD + call_id)
        assert resp.status_code == 404
        assert resp.json()["error"] == 404 and resp.json()["data"] is None


# -- generated data ------------------------------------------------------------------------


def test_generated_data_shape(simulator: SimulatorServer) -> None:
    calls, customers = simulator.state.calls, simulator.state.customers
    assert set(DISPOSITIONS) <= {g["disposition"] for g in calls}
    assert Counter(g["disposition"] for g in calls).most_common(1)[0][0] == "ANSWER"
    assert {g["type_call"] for g in calls} == {"INCALL", "OUTCALL", "MISSCALL"}
    leg_keys = {"phone", "vbot_id", "date_create", "disposition", "time_call", "postage",
                "duration_call", "source", "member_no"}  # fmt: skip
    for g in calls:
        assert len(g["group_id"]) == 46
        assert parse_date_create(g["date_create"]) is not None
        for leg in g["caller"] + g["callee"]:
            assert set(leg) == leg_keys and isinstance(leg["duration_call"], int)
        if g["type_call"] == "MISSCALL":
            assert g["disposition"] in {"MISSCALL", "NOANSWER", "CANCEL"}
        if g["disposition"] != "ANSWER":
            assert g["record_file"] == []
    assert len(customers) == 25
    kinds = Counter(c["kind"] for c in customers)
    assert kinds["legacy"] >= 2 and kinds["service"] >= 1 and kinds["landline"] >= 1
    legacy = next(c for c in customers if c["kind"] == "legacy")
    assert len(legacy["phone"].replace(" ", "")) == 11 and len(legacy["vbot_phone"]) == 10
    assert legacy["phone"].replace(" ", "")[-7:] == legacy["vbot_phone"][-7:]


def test_determinism(sim_factory: Any) -> None:
    a, b, c = (sim_factory(calls=120, seed=s, now=NOW) for s in (7, 7, 8))

    def dump(srv: SimulatorServer) -> str:
        return json.dumps([srv.state.calls, srv.state.customers]).replace(srv.url, "URL")

    assert dump(a) == dump(b)
    assert dump(a) != dump(c)


def test_customers_endpoint(simulator: SimulatorServer) -> None:
    resp = requests.get(simulator.url + "/_sim/customers", timeout=5)
    assert resp.json() == simulator.state.customers


# -- --data --------------------------------------------------------------------------------


def test_data_file_served_as_is(tmp_path: Path, sim_factory: Any) -> None:
    groups: list[Any] = [
        {"group_id": "g1", "date_create": "04/06/2026 16:18:25", "caller": [{"phone": "0912345678"}],
         "callee": [], "record_file": ["http://elsewhere/record/g1"]},
        {"group_id": "g2", "date_create": "not a date", "caller": "junk"},
        "not a dict",
        {"group_id": "g3"},
        {"group_id": "g4", "date_create": "04/05/2026 08:00:00", "caller": [None, {"phone": 5}]},
    ]  # fmt: skip
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(groups))
    srv = sim_factory(data=str(path))
    assert srv.state.customers == []
    c = Client(srv)
    assert c.count() == 5
    assert c.data(GET_ALL, size=10) == groups
    in_range = {"from": 1775000000, "to": 1776000000}  # Apr 2026, both dated groups
    assert [g["group_id"] for g in c.data(GET_ALL, **in_range)] == ["g1", "g4"]
    assert c.count(**in_range) == 2
    assert [g["group_id"] for g in c.data(GET_ALL, phone="+84 912 345 678")] == ["g1"]
    assert c.get(RECORD + "g1").headers["Content-Type"] == "audio/wav"
    assert c.get(RECORD + "g3").status_code == 404


# -- faults --------------------------------------------------------------------------------


def test_fault_queue_each_kind(client: Client) -> None:
    state = client.srv.state
    state.set_faults(
        queue=["500", "429", "malformed", "error", "slow", "ok"],
        retry_after=3,
        slow_seconds=0.3,
    )
    r = client.get(GET_ALL)
    assert r.status_code == 500 and r.json()["error"] == 500
    r = client.get(GET_ALL)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3" and r.json()["error"] == 429
    r = client.get(GET_ALL)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    r = client.get(COUNT_ALL)
    assert r.status_code == 200 and r.json() == {
        "error": 500,
        "message": "Internal error",
        "data": None,
    }
    t0 = time.monotonic()
    assert client.count() == 200
    assert time.monotonic() - t0 >= 0.3
    assert client.count() == 200  # 'ok', then the queue is empty
    assert client.count() == 200


def test_fault_rates_repeatable(sim_factory: Any) -> None:
    def run() -> list[int]:
        srv = sim_factory(calls=5, seed=3)
        srv.state.set_faults(fail_rate=0.3, rate_limit_rate=0.2, error_rate=0.1)
        c = Client(srv)
        return [c.get(COUNT_ALL).status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {200, 429, 500} <= set(first)


def test_faults_spare_token_and_control(simulator: SimulatorServer) -> None:
    simulator.state.set_faults(fail_rate=1)
    c = Client(simulator)  # /token still works
    assert c.get(COUNT_ALL).status_code == 500
    assert requests.get(simulator.url + "/_sim/customers", timeout=5).status_code == 200


def test_faults_over_http(client: Client) -> None:
    url = client.srv.url + "/_sim/faults"
    assert (
        requests.post(url, json={"queue": ["429"], "retry_after": 2}, timeout=5).status_code == 200
    )
    r = client.get(COUNT_ALL)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert requests.post(url, json={"queue": ["bogus"]}, timeout=5).status_code == 400
    assert requests.post(url, json={"nope": 1}, timeout=5).status_code == 400


def test_arrivals_move_the_head(client: Client) -> None:
    state = client.srv.state
    first = client.data(GET_ALL, size=5)
    state.set_faults(arrivals_per_request=3)
    second = client.data(GET_ALL, size=5)
    assert [g["group_id"] for g in second[3:]] == [g["group_id"] for g in first[:2]]
    assert client.count() == 203  # countAll does not add arrivals
    assert parse_date_create(second[0]["date_create"]) >= parse_date_create(first[0]["date_create"])


def test_add_calls(client: Client) -> None:
    new = client.srv.state.add_calls(2)
    assert [g["group_id"] for g in client.data(GET_ALL, size=2)] == [g["group_id"] for g in new]
    resp = requests.post(client.srv.url + "/_sim/calls", params={"n": 4}, timeout=5)
    assert resp.json()["added"] == 4
    assert client.count() == 206


def test_concurrent_requests(client: Client) -> None:
    def fetch(page: int) -> int:
        c = Client(client.srv)
        return len(c.data(GET_ALL, page=page, size=20))

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(fetch, range(1, 33))) == 200
    assert len(client.srv.state.requests) > 64


# -- CLI -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_subprocess(tmp_path: Path) -> None:
    port = free_port()
    export = tmp_path / "customers.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vbot_simulator", "--port", str(port), "--calls", "20", "--seed", "1",
         "--export-customers", str(export)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                resp = requests.get(
                    url + "/v3.0" + COUNT_ALL,
                    headers={"X-API-Key": "demo-key"},
                    timeout=1,
                )
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        assert resp.json()["data"] == 20
        customers = requests.get(url + "/_sim/customers", timeout=5).json()
        assert json.loads(export.read_text(encoding="utf-8")) == customers
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}/v2.0" in out and "demo-key" in out
