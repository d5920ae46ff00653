"""Webhook bodies -> events: VBot's documented samples verbatim, then hostile variants.

``webhook_samples/*.json`` are the bodies of ``webhook-sample-payloads.md`` byte for byte
(``MANUAL_CALL_RECORDING`` is the ``manualCallRecording`` part of ``MANUAL_CALL_COMPLETE``,
which the doc says it is). ``IN_COMINGCALL`` has no documented body: the one below holds the
call-log fields known at ring time, as the docs' README says to assume.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime
from pathlib import Path

import pytest

from vbot_call_history.services.mapping import map_call
from vbot_call_history.services.webhook import (
    CALL,
    IGNORED,
    MAX_BODY_BYTES,
    RECORDING,
    RINGING,
    WebhookError,
    detect_event,
    load_body,
    parse_event,
)
from vbot_simulator.data import CallGenerator
from vbot_simulator.webhooks import minimal_call_log

SAMPLES = Path(__file__).parent / "webhook_samples"
GROUP_ID = "0604202611541175360ecb41aa46388bc9816f9e3925fe"
RECORD_URL = f"https://open-api-h01.vbot.vn/v2.0/api/crm/historycall/record/{GROUP_ID}"
NOW = datetime(2026, 4, 7)
RINGING_BODY = {
    "transId": GROUP_ID,
    "caller": "0364307520",
    "callee": "842455599940",
    "calleeMemberNo": "104",
    "hotline": "842455599940",
    "createAt": 1775451251000,
}
# What the database is given for a call (vbot.call._prepare_vals reads these).
STORED = (
    "external_id",
    "call_date",
    "call_type",
    "disposition",
    "disposition_raw",
    "customer_number",
    "customer_key",
    "agent_member_no",
    "hotline",
    "talk_duration",
    "duration",
    "cost",
    "record_urls",
    "has_recording",
)


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def event_of(raw: bytes | dict, **kwargs):
    body = raw if isinstance(raw, dict) else load_body(raw)
    return parse_event(body, now=NOW, **kwargs)


# --------------------------------------------------------------------------------------------
# The documented samples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("MANUAL_CALL_COMPLETE", CALL),
        ("MANUAL_CALL_LOG", CALL),
        ("HISTORY_CALL", CALL),
        ("MANUAL_CALL_RECORDING", RECORDING),
        ("AUTO_CALL_COMPLETE", IGNORED),
        ("AUTO_CALL_LOG", IGNORED),
        ("AUTO_CALL_AI_EXTRACTION", IGNORED),
    ],
)
def test_samples_are_told_apart_by_shape(name, kind):
    body = load_body(sample(name))
    detected = detect_event(body)
    assert detected == ("MANUAL_CALL_AI_EXTRACTION" if "AI" in name else name)
    assert parse_event(body, now=NOW).kind == kind


def test_manual_call_log_sample():
    event = event_of(sample("MANUAL_CALL_LOG"))
    assert event.name == "MANUAL_CALL_LOG"
    assert event.external_id == GROUP_ID
    call = event.call
    assert call["external_id"] == GROUP_ID
    # createAt 1775451251000 ms = 06/04/2026 11:54:11 in Vietnam (the id starts with it).
    assert call["call_date"] == datetime(2026, 4, 6, 4, 54, 11)
    assert call["call_type"] == "outgoing"
    assert (call["disposition"], call["disposition_raw"]) == ("answer", "ANSWER")
    # The callee is the customer; the caller is an agent on the web phone (its id is no number).
    assert call["customer_number"] == "0364307520"
    assert call["customer_key"] == "+84364307520"
    assert call["agent_member_no"] == ""
    assert call["hotline"] == "842455599940"
    assert (call["talk_duration"], call["duration"]) == (15, 21)
    assert call["cost"] == 162.6
    assert (call["record_urls"], call["has_recording"]) == ([], False)
    assert json.loads(call["payload"])["customerUid"] == "a4f839eb8b2a4be0a00777fb72658280"


def test_manual_call_complete_sample_brings_the_recording():
    log = event_of(sample("MANUAL_CALL_LOG")).call
    event = event_of(sample("MANUAL_CALL_COMPLETE"))
    assert event.name == "MANUAL_CALL_COMPLETE"
    assert event.call["record_urls"] == [RECORD_URL]
    assert event.call["has_recording"] is True
    assert event.record_urls == (RECORD_URL,)
    for key in set(STORED) - {"record_urls", "has_recording"}:
        assert event.call[key] == log[key], key


def test_history_call_sample_is_mapped_as_the_sync_maps_it():
    body = load_body(sample("HISTORY_CALL"))
    event = parse_event(body, "Asia/Ho_Chi_Minh", now=NOW)
    assert event.name == "HISTORY_CALL"
    assert event.call == map_call(body, "Asia/Ho_Chi_Minh")
    assert event.call["agent_member_no"] == "104"
    assert event.external_id == "06042026161825266115c5e7574d76974bb3cd6f4bc229"


def test_manual_call_recording_sample():
    event = event_of(sample("MANUAL_CALL_RECORDING"))
    assert (event.name, event.kind) == ("MANUAL_CALL_RECORDING", RECORDING)
    assert event.external_id == GROUP_ID
    assert event.record_urls == (RECORD_URL,)
    assert event.call is None


def test_incoming_call_rings_the_callee_extension():
    event = event_of(dict(RINGING_BODY))
    assert (event.name, event.kind) == ("IN_COMINGCALL", RINGING)
    assert event.external_id == GROUP_ID
    assert event.number == "0364307520"
    assert event.number_key == "+84364307520"
    assert event.member_nos == ("104", "842455599940")
    assert event.date == datetime(2026, 4, 6, 4, 54, 11)


def test_ignored_events_keep_their_id():
    event = event_of(sample("AUTO_CALL_LOG"))
    assert (event.kind, event.external_id) == (IGNORED, "DIY26040611512932197")


# --------------------------------------------------------------------------------------------
# Explicit event names
# --------------------------------------------------------------------------------------------


def test_an_event_name_beside_or_around_the_event_is_accepted():
    log = load_body(sample("MANUAL_CALL_LOG"))
    wrapped = event_of({"event": "MANUAL_CALL_LOG", "data": log})
    beside = event_of(dict(log, eventName="manual_call_log"))
    plain = event_of(log)
    assert wrapped.call["external_id"] == beside.call["external_id"] == GROUP_ID
    for key in STORED:
        assert wrapped.call[key] == plain.call[key] == beside.call[key]


def test_internal_calls_are_left_to_the_sync():
    """VBot's history does not list agent-to-agent calls: a webhook does not store them."""
    p2p = dict(load_body(sample("MANUAL_CALL_LOG")), callerMemberNo="101", calleeMemberNo="102")
    assert detect_event(p2p) == "P2P_CALL_LOG"
    assert event_of(p2p).kind == IGNORED
    assert event_of({"event_type": "P2P_CALL_LOG", "payload": p2p}).kind == IGNORED
    group = load_body(sample("HISTORY_CALL"))
    group["callee"][0]["member_no"] = "105"
    assert detect_event(group) == "HISTORY_CALL_PEERTOPEER"
    assert event_of(group).kind == IGNORED
    # One extension and a customer: an ordinary call.
    assert event_of(dict(p2p, calleeMemberNo="")).kind == CALL


def test_the_name_tells_what_the_shape_cannot():
    # A ringing event with an outcome field still rings when it says so.
    ringing = dict(RINGING_BODY, disposition="", durationCall=0)
    assert detect_event(dict(ringing)) == "MANUAL_CALL_LOG"
    assert event_of(dict(ringing), header_name="IN_COMINGCALL").kind == RINGING
    assert event_of(dict(ringing, event="incoming-call")).kind == RINGING


def test_an_unknown_event_name_is_refused():
    with pytest.raises(WebhookError, match="unknown event"):
        event_of({"event": "SOMETHING_ELSE", "transId": "x"})


# --------------------------------------------------------------------------------------------
# A webhook call and the sync's call are the same values
# --------------------------------------------------------------------------------------------


def test_call_logs_map_as_the_sync_maps_their_groups():
    generator = CallGenerator(7, "VB-DEMO", "http://127.0.0.1:1", 60)
    now = 1_775_451_251
    groups = [generator.make_group(now - i * 97) for i in range(400)]
    for group in groups:
        synced = map_call(group)
        log = minimal_call_log(group)
        if group["record_file"]:
            body = {
                "manualCallLog": log,
                "manualCallRecording": {
                    "transId": log["transId"],
                    "recordUrl": group["record_file"][0],
                },
            }
        else:
            body = log
        event = parse_event(body, now=NOW)
        for key in STORED:
            assert event.call[key] == synced[key], (key, group)


# --------------------------------------------------------------------------------------------
# Hostile bodies: a WebhookError with a short reason, never anything else
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"transId": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'[{"transId": "x"}]', "expected a JSON object"),
        (b'"MANUAL_CALL_LOG"', "expected a JSON object"),
        (b"{}", "unknown event shape"),
        (b'{"hello": "world"}', "unknown event shape"),
    ],
)
def test_unreadable_bodies(raw, reason):
    with pytest.raises(WebhookError, match=reason):
        event_of(raw)


def _log(**changes):
    body = load_body(sample("MANUAL_CALL_LOG"))
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_log(transId=None, groupId=None), "no call id"),
        (_log(groupId={"$ne": 1}), "groupId: not an id"),
        (_log(groupId="x" * 5000), "longer than 255"),
        (_log(createAt="yesterday"), "createAt"),
        (_log(createAt=None, callAt=None), "createAt missing"),
        (_log(createAt=7_258_118_400_000), "createAt: .*plausible"),
        (_log(createAt=1_900_000_000_000), "createAt: .*plausible"),
        (_log(typeCall=9), "typeCall: unknown call type"),
        (_log(durationCall=-5), "durationCall"),
        (_log(durationCall=10**12), "durationCall: .*out of range"),
        (_log(timeCall="abc"), "timeCall"),
        (_log(postage=1e300), "postage: .*out of range"),
        ({"transId": GROUP_ID, "recordUrl": "javascript:alert(1)"}, "recordUrl"),
        ({"transId": GROUP_ID, "recordUrl": ["ftp://x"]}, "recordUrl"),
        (dict(RINGING_BODY, createAt="soon"), "createAt"),
    ],
)
def test_hostile_values_are_refused_with_the_field_named(body, reason):
    with pytest.raises(WebhookError, match=reason):
        event_of(body)


def test_text_is_cleaned_and_bounded():
    body = _log(
        caller="x" * 10_000,
        callee="0364\x00307520",
        hotline="8424\x005559" + "9" * 500,
        disposition="ANSWER\x00",
        callerMemberNo="1" * 300,
    )
    call = event_of(body).call
    assert call["customer_number"] == "0364307520"
    assert call["customer_key"] == "+84364307520"
    assert call["hotline"].startswith("84245559") and len(call["hotline"]) == 64
    assert call["disposition"] == "answer"
    assert len(call["agent_member_no"]) == 64
    assert "\x00" not in call["payload"]


def test_random_mutations_never_raise_anything_but_a_webhook_error():
    """Fields of every sample replaced by junk: a clean event or a WebhookError, nothing else."""
    rng = random.Random(9)
    junk = [
        None, "", "\x00", " ", 0, -1, 2**63, 1e308, float("inf"), True, [], {}, [1, "a"],
        {"a": None}, "9" * 300, "1775451251000", "04/06/2026 16:18:25", "ANSWER", "2",
    ]  # fmt: skip
    bodies = [load_body(sample(path.stem)) for path in sorted(SAMPLES.glob("*.json"))]
    bodies.append(dict(RINGING_BODY))
    for _ in range(3000):
        body = copy.deepcopy(rng.choice(bodies))
        target = body.get("manualCallLog", body) if rng.random() < 0.5 else body
        for key in rng.sample(sorted(target), k=min(len(target), rng.randint(1, 4))):
            target[key] = rng.choice(junk)
        try:
            event = parse_event(body, now=NOW)
        except WebhookError as error:
            assert str(error) and len(str(error)) < 200
            continue
        if event.call:
            call = event.call
            assert len(call["external_id"]) <= 255
            assert 0 <= call["duration"] < 2**31 and 0 <= call["talk_duration"] < 2**31
            assert all("\x00" not in str(call[key]) for key in STORED)


def test_the_size_limit_is_the_documented_one():
    assert MAX_BODY_BYTES == 256 * 1024


# --------------------------------------------------------------------------------------------
# The simulator's webhook sender speaks the documented shapes: they map as the sync maps
# --------------------------------------------------------------------------------------------


def test_the_simulators_webhooks_map_as_the_sync_maps_their_groups():
    from vbot_simulator.members import make_members
    from vbot_simulator.webhooks import EVENTS, PayloadBuilder

    generator = CallGenerator(5, "VB-DEMO", "http://127.0.0.1:1", 80)
    builder = PayloadBuilder("PR-DEMO", "VB-DEMO", make_members(5), generator.customers)
    now = 1_775_451_251
    seen = set()
    for index in range(400):
        group = generator.make_group(now - index * 61)
        synced = map_call(group)
        for name, body in builder.events(group, EVENTS, 3):
            event = parse_event(json.loads(json.dumps(body)), now=NOW)
            seen.add((name, event.kind))
            assert event.name == name
            if event.kind == CALL:
                recorded = name in ("MANUAL_CALL_COMPLETE", "HISTORY_CALL")
                for key in STORED:
                    if key in ("record_urls", "has_recording") and not recorded:
                        continue
                    assert event.call[key] == synced[key], (name, key, group)
            elif event.kind == RECORDING:
                assert event.external_id == synced["external_id"]
                assert list(event.record_urls) == synced["record_urls"]
            else:
                assert event.kind == RINGING
                assert event.external_id == synced["external_id"]
                assert event.number_key == (synced["customer_key"] or "")
                assert group["callee"][0]["member_no"] in event.member_nos
        internal = generator.p2p_group(generator.new_key(), now - index * 61)
        for name, body in builder.events(internal, EVENTS, 3, p2p=True):
            assert parse_event(body, now=NOW).kind == IGNORED, name
    assert {kind for _name, kind in seen} == {CALL, RECORDING, RINGING}
