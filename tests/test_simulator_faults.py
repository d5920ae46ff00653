"""Simulator faults and logs: latency, redirects, the request log, hostile input."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from vbot_simulator import ForeignListener, SimulatorServer
from vbot_simulator.config import DEFAULT_REDIRECT
from vbot_simulator.state import Query

GET_ALL = "/api/crm/historycall/getAll"
COUNT_ALL = "/api/crm/historycall/countAll"
RECORD = "/api/crm/historycall/record/"
MEMBERS = "/api/member/getAll"
KEY = {"X-API-Key": "demo-key"}
IDS = {"vbot_id": "VB-DEMO", "project_code": "PR-DEMO"}


def v3(srv: SimulatorServer, path: str, **kw: Any) -> requests.Response:
    kw.setdefault("timeout", 10)
    return requests.get(srv.base_url_v3 + path, headers=KEY, **kw)


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


# -- latency -------------------------------------------------------------------------------


def test_latency_delays_every_api_request(simulator: SimulatorServer) -> None:
    st = simulator.state
    recorded = next(g for g in st.calls if g["record_file"])["group_id"]
    st.set_faults(latency_ms=150)
    calls = {
        "token": lambda: requests.post(
            simulator.base_url_v2 + "/token",
            data={"username": "demo", "password": "demo"},
            timeout=10,
        ),
        "getAll": lambda: v3(simulator, GET_ALL),
        "countAll": lambda: v3(simulator, COUNT_ALL),
        "record": lambda: v3(simulator, RECORD + recorded),
        "members": lambda: v3(simulator, MEMBERS),
        "getByMemberNo": lambda: v3(
            simulator, "/api/member/getByMemberNo", params={"member_no": "101"}
        ),
        "unauthorized": lambda: requests.get(simulator.base_url_v3 + COUNT_ALL, timeout=10),
    }
    for name, call in calls.items():
        resp, elapsed = timed(call)
        assert elapsed >= 0.15, name
        assert resp.status_code == (401 if name == "unauthorized" else 200), name
    # /_sim is the simulator's own: no latency.
    st.set_faults(latency_ms=3000)
    _, elapsed = timed(lambda: requests.get(simulator.url + "/_sim/customers", timeout=10))
    assert elapsed < 1.5


def test_latency_is_waited_in_parallel_without_the_lock(simulator: SimulatorServer) -> None:
    st = simulator.state
    st.set_faults(latency_ms=600)
    with ThreadPoolExecutor(8) as pool:
        t0 = time.monotonic()
        futures = [pool.submit(v3, simulator, COUNT_ALL) for _ in range(8)]
        time.sleep(0.1)
        # While eight requests wait, the state answers at once: no lock is held.
        assert st.count(Query()) == 200
        st.add_calls(1)
        assert not any(f.done() for f in futures)
        results = [f.result() for f in futures]
        elapsed = time.monotonic() - t0
    assert all(r.status_code == 200 for r in results)
    assert elapsed >= 0.6
    assert elapsed < 8 * 0.6 / 2  # concurrent, not one after another


@pytest.mark.parametrize("simulator", [{"calls": 20, "latency_ms": 250}], indirect=True)
def test_latency_from_config_and_over_http(simulator: SimulatorServer) -> None:
    _, elapsed = timed(lambda: v3(simulator, COUNT_ALL))
    assert elapsed >= 0.25
    resp = requests.post(simulator.url + "/_sim/faults", json={"latency_ms": 0}, timeout=5)
    assert resp.json()["faults"]["latency_ms"] == 0
    # 429 with latency: the same answer, later.
    simulator.state.set_faults(latency_ms=200, queue=["429"], retry_after=4)
    resp, elapsed = timed(lambda: v3(simulator, COUNT_ALL))
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "4" and elapsed >= 0.2
    assert (
        requests.post(
            simulator.url + "/_sim/faults", json={"latency_ms": -1}, timeout=5
        ).status_code
        == 400
    )


# -- redirects -----------------------------------------------------------------------------


def test_redirect_fault_points_elsewhere(
    simulator: SimulatorServer, foreign: ForeignListener
) -> None:
    st = simulator.state
    recorded = next(g for g in st.calls if g["record_file"])["group_id"]
    target = foreign.url + "/collect"
    st.set_faults(queue=["redirect", "redirect", "redirect"], redirect_to=target)
    for path in (GET_ALL, RECORD + recorded, MEMBERS):
        resp = v3(simulator, path, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"] == target
    assert foreign.requests == []  # a client that does not follow sends nothing
    assert v3(simulator, COUNT_ALL).json()["data"] == 200  # the queue is used up
    # Following it would hand the key to the other host: what the security tests guard.
    st.set_faults(queue=["redirect"], redirect_to=target)
    v3(simulator, COUNT_ALL)
    assert [(m, p, h.get("X-API-Key")) for m, p, h, _b in foreign.requests] == [
        ("GET", "/collect", "demo-key")
    ]


def test_redirect_rate_spares_token_and_control(simulator: SimulatorServer) -> None:
    st = simulator.state
    st.set_faults(redirect_rate=1)
    assert st.faults.redirect_to == DEFAULT_REDIRECT
    token = requests.post(
        simulator.base_url_v2 + "/token", data={"username": "demo", "password": "demo"}, timeout=5
    )
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    resp = requests.get(
        simulator.base_url_v2 + COUNT_ALL,
        params=IDS,
        headers=bearer,
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302 and resp.headers["Location"] == DEFAULT_REDIRECT
    assert requests.get(simulator.url + "/_sim/members", timeout=5).status_code == 200
    for bad in ({"redirect_to": "ftp://x/"}, {"redirect_to": "nowhere"}, {"redirect_rate": 2}):
        assert requests.post(simulator.url + "/_sim/faults", json=bad, timeout=5).status_code == 400


def test_foreign_listener_records_anything(foreign: ForeignListener) -> None:
    assert foreign.url == f"http://127.0.0.1:{foreign.port}"
    resp = requests.put(
        foreign.url + "/a/b?c=1", data=b"secret", headers={"X-Token": "t"}, timeout=5
    )
    assert resp.status_code == 200 and resp.content
    assert requests.delete(foreign.url + "/", timeout=5).status_code == 200
    (m1, p1, h1, b1), (m2, p2, _h2, b2) = foreign.requests
    assert (m1, p1, h1["X-Token"], b1) == ("PUT", "/a/b?c=1", "t", b"secret")
    assert (m2, p2, b2) == ("DELETE", "/", b"")
    foreign.clear()
    assert foreign.requests == []


# -- the request log -----------------------------------------------------------------------


def test_every_request_is_logged_with_headers(simulator: SimulatorServer) -> None:
    st = simulator.state
    recorded = next(g for g in st.calls if g["record_file"])["group_id"]
    token = requests.post(
        simulator.base_url_v2 + "/token", data={"username": "demo", "password": "demo"}, timeout=5
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    requests.get(simulator.base_url_v2 + GET_ALL, params=IDS, headers=bearer, timeout=5)
    requests.get(simulator.base_url_v2 + RECORD + recorded, headers=bearer, timeout=5)
    requests.get(simulator.base_url_v2 + MEMBERS, params=IDS, headers=bearer, timeout=5)
    requests.post(
        simulator.url + "/_sim/calls", params={"n": 1}, headers={"X-Test": "yes"}, timeout=5
    )
    paths = [path for _m, path, _q in st.requests]
    assert paths == [
        "/v2.0/token",
        "/v2.0" + GET_ALL,
        "/v2.0" + RECORD + recorded,
        "/v2.0" + MEMBERS,
        "/_sim/calls",
    ]
    assert all(isinstance(r, tuple) and len(r) == 3 for r in st.requests)
    assert len(st.request_log) == len(st.request_headers) == 5
    assert [r.path for r in st.request_log] == paths
    assert b"password=demo" in st.request_log[0].body
    for headers in st.request_headers[1:4]:
        assert headers["Authorization"] == f"Bearer {token}"
    assert st.request_headers[4]["X-Test"] == "yes"
    assert st.request_count() == 5
    assert st.request_count("/api/") == 3 and st.request_count("/record/") == 1
    # Over HTTP, with headers; DELETE clears.
    view = requests.get(
        simulator.url + "/_sim/requests", params={"path_contains": "token"}, timeout=5
    ).json()
    assert view["count"] == 1 and "password=demo" in view["requests"][0]["body"]
    assert requests.delete(simulator.url + "/_sim/requests", timeout=5).json() == {"ok": True}
    assert st.requests == [] and st.request_log == [] and st.request_count() == 0


# -- hostile input -------------------------------------------------------------------------


def raw_request(
    srv: SimulatorServer, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_sim/faults", b"{not json"),
        ("POST", "/_sim/faults", b"[1, 2]"),
        ("POST", "/_sim/faults", b'{"fail_rate": "lots"}'),
        ("POST", "/_sim/faults", b'{"queue": 5}'),
        ("POST", "/_sim/faults", b"[" * 100_000 + b"]" * 100_000),
        ("POST", "/_sim/faults", b"\xff\xfe\x00"),
        ("POST", "/_sim/groups", b'{"groups": "x"}'),
        ("POST", "/_sim/groups", b'{"groups": [], "epoch": "soon"}'),
        ("POST", "/_sim/groups", b"nope"),
        ("POST", "/_sim/groups/remove", b'{"group_ids": [1]}'),
        ("POST", "/_sim/webhook", b'{"url": "ftp://x"}'),
        ("POST", "/_sim/webhook", b'{"nope": 1}'),
        ("POST", "/_sim/webhook", b'{"drop_rate": 7}'),
        ("POST", "/_sim/webhook", b'{"events": ["BOGUS"]}'),
        ("POST", "/_sim/webhook", b'{"auth": "a\\r\\nX-Injected: 1"}'),
        ("POST", "/_sim/webhook", '{"auth": "khóa bí mật"}'.encode()),
        ("POST", "/_sim/webhook", b'{"auth_header": "X Bad: 1"}'),
        ("POST", "/_sim/webhook/emit", b'{"body": 1}'),
        ("POST", "/_sim/calls?n=1000000000", b""),
        ("POST", "/_sim/calls?n=-1", b""),
        ("POST", "/_sim/calls?n=x", b""),
        ("POST", "/_sim/calls?age_hours=nan", b""),
        ("POST", "/_sim/calls?age_hours=1e308", b""),
        ("POST", "/_sim/calls?at_epoch=99999999999999999999999", b""),
        ("POST", "/_sim/webhook/flush?timeout=x", b""),
        ("GET", "/_sim/requests?since=x", b""),
    ],
)
def test_hostile_control_input_is_a_400(
    simulator: SimulatorServer, method: str, path: str, body: bytes
) -> None:
    status, answer = raw_request(simulator, method, path, {"Content-Length": str(len(body))}, body)
    assert status == 400, answer
    assert answer["error"] == 400 and answer["data"] is None and answer["message"]
    assert v3(simulator, COUNT_ALL).json()["data"] == 200  # still serving


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"page": 10**15, "size": 500}, 200, 0),
        ({"page": "9" * 5000}, 200, -1),
        ({"size": 10**12}, 200, -1),
        ({"from": "1" * 400}, 200, 0),
        ({"from": "-" + "9" * 30, "to": "9" * 30}, 200, 0),
        ({"phone": "\x00" * 50}, 200, 0),
        ({"phone": "😀" * 1000}, 200, 0),
    ],
)
def test_hostile_api_parameters(
    simulator: SimulatorServer, params: dict[str, Any], status: int, error: int
) -> None:
    resp = v3(simulator, GET_ALL, params=params)
    assert resp.status_code == status
    assert resp.json()["error"] == error


def test_hostile_framing(simulator: SimulatorServer) -> None:
    path = "/_sim/faults"
    assert raw_request(simulator, "POST", path, {"Content-Length": "-5"})[0] == 400
    assert raw_request(simulator, "POST", path, {"Content-Length": "abc"})[0] == 400
    assert raw_request(simulator, "POST", path, {"Content-Length": str(10**12)})[0] == 413
    assert (
        raw_request(simulator, "POST", path, {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n")[0]
        == 411
    )
    assert raw_request(simulator, "PATCH", "/v3.0" + GET_ALL, KEY)[0] == 405
    assert raw_request(simulator, "GET", "/v3.0/%ff%fe/../../etc/passwd", KEY)[0] == 404
    assert raw_request(simulator, "GET", "/_sim/nothing", {})[0] == 404
    assert raw_request(simulator, "DELETE", "/_sim/customers", {})[0] == 405
    assert v3(simulator, COUNT_ALL).json()["data"] == 200
