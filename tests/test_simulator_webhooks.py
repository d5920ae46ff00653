"""Webhooks: VBot's events POSTed to a partner URL for each new call, with delivery faults."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from vbot_simulator import SimulatorServer
from vbot_simulator.data import parse_date_create, phone_key
from vbot_simulator.webhooks import DEFAULT_EVENTS, EVENTS

KEY = {"X-API-Key": "demo-key"}
GET_ALL = "/api/crm/historycall/getAll"
COUNT_ALL = "/api/crm/historycall/countAll"
#: manualCallLog fields, in the order of vbot-docs/v3-webhooks.md.
CALL_LOG_FIELDS = [
    "transId", "projectCode", "typeCall", "timeCall", "durationCall", "createAt", "callAt",
    "callerId", "caller", "callerName", "typeCaller", "channelCaller", "callerMemberNo",
    "calleeId", "callee", "calleeName", "typeCallee", "channelCallee", "calleeMemberNo",
    "conferenceId", "telcoCode", "disposition", "hangupCause", "sipCode", "endCall", "hotline",
    "isIvr", "groupId", "forwardBotIdEndCall", "paymentChannel", "postage",
    "autoDialServiceCharge", "campaignTransId", "customerUid", "customerName", "firstQuestion",
    "externalCallId", "groupMemberUid",
]  # fmt: skip
#: The fields of webhook-sample-payloads.md's MANUAL_CALL_LOG sample (no *MemberNo there).
SAMPLE_FIELDS = {f for f in CALL_LOG_FIELDS if not f.endswith("MemberNo")}


class Receiver:
    """A partner endpoint: records (path, headers, parsed body) and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        receiver = self
        self.status = status
        self.hits: list[tuple[str, dict[str, str], Any]] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.hits.append((self.path, dict(self.headers.items()), json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/vbot/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def bodies(self) -> list[Any]:
        with self.lock:
            return [body for _p, _h, body in self.hits]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def kind(body: dict[str, Any]) -> str:
    """Tell an event by its shape, as a partner must (no event name in the body)."""
    if "manualCallLog" in body:
        return "MANUAL_CALL_COMPLETE"
    if "recordUrl" in body:
        return "MANUAL_CALL_RECORDING"
    if "group_id" in body:
        return "HISTORY_CALL"
    if "callAt" in body:
        return "MANUAL_CALL_LOG"
    return "IN_COMINGCALL"


def seconds(value: str) -> int:
    h, m, s = value.split(":") if ":" in value else ("0", "0", value)
    return int(h) * 3600 + int(m) * 60 + int(s)


def served(srv: SimulatorServer, group_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The groups getAll serves, by id."""
    data = requests.get(srv.base_url_v3 + GET_ALL, params={"size": 500}, headers=KEY, timeout=5)
    by_id = {g["group_id"]: g for g in data.json()["data"]}
    return {gid: by_id[gid] for gid in group_ids}


def test_default_events_shapes_and_auth(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(calls=30, seed=2, webhook_url=receiver.url, webhook_auth="Bearer s3cret")
    new = srv.state.add_calls(40)
    assert srv.state.webhooks.flush(10)
    assert set(srv.state.webhooks.settings.events) == set(DEFAULT_EVENTS)
    hits = receiver.hits
    assert hits and all(path == "/vbot/hook" for path, _h, _b in hits)
    for _path, headers, _body in hits:
        assert headers["Authorization"] == "Bearer s3cret"
        assert headers["Content-Type"].startswith("application/json")
    kinds = [kind(body) for body in receiver.bodies]
    incoming = [g for g in new if g["type_call"] in ("INCALL", "MISSCALL")]
    recorded = [g for g in new if g["record_file"]]
    assert Counter(kinds) == {
        "IN_COMINGCALL": len(incoming),
        "MANUAL_CALL_LOG": 40,
        "MANUAL_CALL_RECORDING": len(recorded),
    }
    assert incoming and recorded
    for body in receiver.bodies:
        if kind(body) == "MANUAL_CALL_LOG":
            assert list(body) == CALL_LOG_FIELDS
            assert set(body) >= SAMPLE_FIELDS
        elif kind(body) == "MANUAL_CALL_RECORDING":
            assert list(body) == ["transId", "externalCallId", "recordUrl"]
        else:
            assert {"transId", "caller", "callee", "hotline", "calleeMemberNo", "createAt"} <= set(
                body
            )
            assert set(body) < set(CALL_LOG_FIELDS) and body["typeCall"] == 1
    # Per call: ring event, then the log, then the recording; every event logged as 200.
    for group in new:
        mine = [kind(b) for b in receiver.bodies if b["transId"] == group["group_id"]]
        expected = ["MANUAL_CALL_LOG"]
        if group in incoming:
            expected.insert(0, "IN_COMINGCALL")
        if group in recorded:
            expected.append("MANUAL_CALL_RECORDING")
        assert mine == expected
    log = srv.state.webhooks.log
    assert len(log) == len(hits) and {e["status"] for e in log} == {200}
    assert [e["event"] for e in log] == kinds
    assert all(e["group_id"] == json.loads(e["body"])["transId"] for e in log)


def test_call_log_agrees_with_getall(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(calls=10, seed=6, webhook_url=receiver.url)
    new = srv.state.add_calls(60)
    assert srv.state.webhooks.flush(10)
    groups = served(srv, [g["group_id"] for g in new])
    members = {m["member_no"]: m["member_name"] for m in srv.state.members}
    customers = {phone_key(c["vbot_phone"]): c["name"] for c in srv.state.customers}
    logs = [b for b in receiver.bodies if kind(b) == "MANUAL_CALL_LOG"]
    assert len(logs) == 60
    for log in logs:
        group = groups[log["transId"]]
        assert log["groupId"] == log["transId"] == group["group_id"]
        assert log["createAt"] == parse_date_create(group["date_create"]) * 1000
        assert log["typeCall"] == {"INCALL": 1, "OUTCALL": 2, "MISSCALL": 3}[group["type_call"]]
        assert log["disposition"] == group["disposition"]
        assert log["timeCall"] == seconds(group["time_call"])
        assert log["durationCall"] == seconds(group["duration_call"])
        assert log["callAt"] == log["createAt"] + (log["durationCall"] - log["timeCall"]) * 1000
        assert log["hotline"] == group["hotline_number"]
        assert log["projectCode"] == "PR-DEMO"
        assert log["externalCallId"] == group["external_call_id"]
        legs = group["caller"] + group["callee"]
        assert log["postage"] == max(leg["postage"] for leg in legs)
        customer = next(leg for leg in legs if not leg["member_no"])
        if group["type_call"] == "OUTCALL":
            agent = group["caller"][0]
            assert (log["callee"], log["typeCallee"], log["calleeMemberNo"]) == (
                customer["phone"],
                "Phone",
                "",
            )
            assert log["callerMemberNo"] == agent["member_no"] and log["callerId"] == "PR-DEMO"
            assert log["callerName"] == members[agent["member_no"]]
            side = "caller"
        else:
            answered = [leg for leg in group["callee"] if leg["disposition"] == "ANSWER"]
            agent = (answered or group["callee"])[0]
            assert (log["caller"], log["typeCaller"], log["callerMemberNo"]) == (
                customer["phone"],
                "Phone",
                "",
            )
            assert log["calleeMemberNo"] == agent["member_no"] and log["calleeId"] == "PR-DEMO"
            assert log["calleeName"] == members[agent["member_no"]]
            side = "callee"
        # An agent on a phone shows its number; on the app / SIP / web an account number.
        if agent["phone"]:
            assert log[side] == agent["phone"]
        else:
            assert len(log[side]) == 14 and log[side].isdigit()
        assert log[f"type{side.title()}"] == agent["source"]
        assert log["customerName"] == customers.get(phone_key(customer["phone"]), "")
    for rec in (b for b in receiver.bodies if kind(b) == "MANUAL_CALL_RECORDING"):
        assert rec["recordUrl"] == groups[rec["transId"]]["record_file"][0]
        assert rec["recordUrl"].startswith(srv.base_url_v2)


def test_all_events_named_header_and_event_field(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(
        calls=5,
        seed=3,
        webhook_url=receiver.url,
        webhook_auth="k-123",
        webhook_auth_header="X-VBot-Auth",
        webhook_events=",".join(EVENTS),
        webhook_event_field="event",
    )
    new = srv.state.add_calls(15, p2p=2)
    assert srv.state.webhooks.flush(10)
    assert all(
        h["X-VBot-Auth"] == "k-123" and "Authorization" not in h for _p, h, _b in receiver.hits
    )
    bodies = receiver.bodies
    assert all(next(iter(b)) == "event" for b in bodies)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        by_event.setdefault(body.pop("event"), []).append(body)
    assert set(by_event) == set(EVENTS)
    groups = served(srv, [g["group_id"] for g in new])
    assert [b["group_id"] for b in by_event["HISTORY_CALL"]] == [g["group_id"] for g in new]
    for body in by_event["HISTORY_CALL"]:
        assert body == groups[body["group_id"]]  # the getAll group itself
    logs = {b["transId"]: b for b in by_event["MANUAL_CALL_LOG"]}
    for body in by_event["MANUAL_CALL_COMPLETE"]:
        assert list(body) == ["manualCallLog", "manualCallRecording"]
        log = body["manualCallLog"]
        assert log == logs[log["transId"]]
        recording = body["manualCallRecording"]
        group = groups[log["transId"]]
        if group["record_file"]:
            assert recording == {"transId": log["transId"], "externalCallId": group["external_call_id"],
                                 "recordUrl": group["record_file"][0]}  # fmt: skip
        else:
            assert recording is None
    # Internal calls: P2P_CALL_LOG (and the legacy peer-to-peer group), never in getAll.
    internal = srv.state.p2p_calls
    assert len(internal) == 2
    assert {b["transId"] for b in by_event["P2P_CALL_LOG"]} == {g["group_id"] for g in internal}
    for body in by_event["P2P_CALL_LOG"]:
        assert list(body) == CALL_LOG_FIELDS
        assert body["callerMemberNo"] and body["calleeMemberNo"] and body["hotline"] == ""
        assert body["typeCall"] == 2 and body["customerName"] == ""
    assert by_event["HISTORY_CALL_PEERTOPEER"] == internal
    count = requests.get(srv.base_url_v3 + COUNT_ALL, headers=KEY, timeout=5).json()["data"]
    assert count == 20


def test_p2p_in_history_and_missed_type(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(calls=5, seed=3, p2p_in_history=True, webhook_url=receiver.url,
                      webhook_missed_type_call=1)  # fmt: skip
    srv.state.add_calls(30, p2p=3)
    assert srv.state.webhooks.flush(10)
    count = requests.get(srv.base_url_v3 + COUNT_ALL, headers=KEY, timeout=5).json()["data"]
    assert count == 38
    listed = {g["group_id"] for g in srv.state.calls}
    assert {g["group_id"] for g in srv.state.p2p_calls} <= listed
    logs = [b for b in receiver.bodies if kind(b) == "MANUAL_CALL_LOG"]
    assert {b["typeCall"] for b in logs} <= {1, 2}
    assert any(b["disposition"] in ("MISSCALL", "NOANSWER") and b["typeCall"] == 1 for b in logs)


def delivered_ids(
    srv: SimulatorServer, seed: int, **faults: Any
) -> tuple[list[dict[str, Any]], list[Any]]:
    rec = Receiver()
    try:
        srv.state.webhooks.clear_log()
        srv.state.webhooks.configure(url=rec.url, events=["MANUAL_CALL_LOG"], seed=seed, **faults)
        srv.state.add_calls(60)
        assert srv.state.webhooks.flush(20)
        return list(srv.state.webhooks.log), rec.bodies
    finally:
        rec.close()


def test_drop_and_duplicate_are_repeatable(sim_factory: Any) -> None:
    faults = {"drop_rate": 0.2, "duplicate_rate": 0.2}
    log_a, bodies_a = delivered_ids(sim_factory(calls=1, seed=1), 11, **faults)
    log_b, bodies_b = delivered_ids(sim_factory(calls=1, seed=1), 11, **faults)
    dropped = [e for e in log_a if e["dropped"]]
    twins = [e for e in log_a if e["duplicate"]]
    assert dropped and twins
    assert len(log_a) == 60 + len(twins)
    assert len(bodies_a) == 60 - len(dropped) + len(twins)
    assert all(e["status"] is None and e["attempts"] == 0 for e in dropped)
    assert [(e["dropped"], e["duplicate"]) for e in log_a] == [
        (e["dropped"], e["duplicate"]) for e in log_b
    ]
    assert [b["transId"][14:] for b in bodies_a] == [b["transId"][14:] for b in bodies_b]
    received = Counter(b["transId"] for b in bodies_a)
    assert {e["group_id"] for e in twins} == {gid for gid, n in received.items() if n == 2}
    assert not {e["group_id"] for e in dropped} & set(received)


def test_shuffle_reorders_within_windows(sim_factory: Any) -> None:
    srv = sim_factory(calls=1, seed=1)
    log, bodies = delivered_ids(srv, 5, shuffle=10)
    queued = [g["group_id"] for g in srv.state.calls[:60]]  # the order the events were queued
    got = [b["transId"] for b in bodies]
    assert got != queued
    for start in range(0, 60, 10):  # each window of 10 holds the same events, in another order
        assert sorted(got[start : start + 10]) == sorted(queued[start : start + 10])
    assert [e["group_id"] for e in log] == got  # the log is in delivery order
    assert [e["seq"] for e in log] == list(range(1, 61))


def test_failed_posts_are_logged_not_retried(sim_factory: Any) -> None:
    failing = Receiver(status=500)
    try:
        srv = sim_factory(
            calls=1, seed=1, webhook_url=failing.url, webhook_events="MANUAL_CALL_LOG"
        )
        srv.state.add_calls(3)
        assert srv.state.webhooks.flush(10)
        assert [(e["status"], e["attempts"], e["error"]) for e in srv.state.webhooks.log] == [
            (500, 1, "HTTP 500")
        ] * 3
        assert len(failing.hits) == 3
        srv.state.webhooks.configure(retries=2)
        srv.state.add_calls(1)
        assert srv.state.webhooks.flush(10)
        assert srv.state.webhooks.log[-1]["attempts"] == 3 and len(failing.hits) == 6
    finally:
        failing.close()
    # Nobody listening: logged with the error, no status.
    srv.state.webhooks.configure(url=failing.url, retries=0, timeout=2)
    srv.state.add_calls(1)
    assert srv.state.webhooks.flush(10)
    last = srv.state.webhooks.log[-1]
    assert last["status"] is None and last["error"]


def test_deliveries_never_block_the_api(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(calls=10, seed=1, webhook_url=receiver.url, webhook_delay_ms=250,
                      webhook_events="MANUAL_CALL_LOG")  # fmt: skip
    t0 = time.monotonic()
    srv.state.add_calls(4)
    resp = requests.get(srv.base_url_v3 + COUNT_ALL, headers=KEY, timeout=5)
    assert resp.json()["data"] == 14
    assert srv.state.webhooks.pending > 0 and len(receiver.hits) < 4
    assert not srv.state.webhooks.flush(0.05)
    assert srv.state.webhooks.flush(10)
    assert time.monotonic() - t0 >= 4 * 0.25 and len(receiver.hits) == 4


def test_webhook_control_over_http(sim_factory: Any, receiver: Receiver) -> None:
    srv = sim_factory(calls=20, seed=4)
    url = srv.url + "/_sim/webhook"
    assert requests.get(url, timeout=5).json()["settings"]["url"] == ""
    srv.state.add_calls(2)  # no URL: nothing queued
    assert srv.state.webhooks.log == []
    answer = requests.post(url, json={"url": receiver.url, "auth": "tok", "events": ["MANUAL_CALL_LOG"]},
                           timeout=5).json()  # fmt: skip
    assert answer["settings"]["auth"] == "tok" and answer["settings"]["events"] == [
        "MANUAL_CALL_LOG"
    ]
    added = requests.post(srv.url + "/_sim/calls", params={"n": 3}, timeout=5).json()
    flushed = requests.post(url + "/flush", params={"timeout": 10}, timeout=15).json()
    assert flushed == {"flushed": True, "pending": 0}
    view = requests.get(url, timeout=5).json()
    assert [e["group_id"] for e in view["log"]] == added["group_ids"]
    assert all(set(e) >= {"event", "group_id", "status", "time"} for e in view["log"])
    since = view["log"][-1]["seq"]
    # Arrivals while paging send their webhooks too.
    srv.state.set_faults(arrivals_per_request=2)
    requests.get(srv.base_url_v3 + GET_ALL, headers=KEY, timeout=5)
    requests.post(url + "/flush", timeout=15)
    assert len(requests.get(url, params={"since": since}, timeout=5).json()["log"]) == 2
    # Replay an existing call, and a raw body for hostile-payload tests.
    old = srv.state.calls[-1]["group_id"]
    assert requests.post(url + "/send", params={"group_id": old}, timeout=5).json() == {"queued": 1}
    assert requests.post(url + "/send", params={"group_id": "nope"}, timeout=5).status_code == 404
    raw = {"event": "MANUAL_CALL_LOG", "body": {"transId": "x" * 10, "createAt": "soon"}}
    assert requests.post(url + "/emit", json=raw, timeout=5).json() == {"queued": 1}
    requests.post(url + "/flush", timeout=15)
    assert receiver.bodies[-2]["transId"] == old and receiver.bodies[-1] == raw["body"]
    assert all(h["Authorization"] == "tok" for _p, h, _b in receiver.hits)
    assert requests.post(url + "/clear", timeout=5).json() == {"ok": True}
    assert requests.get(url, timeout=5).json()["log"] == []
