"""A VBot call group -> the values a user sees on the call (time, direction, contact, agent)."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from vbot_call_history.services.mapping import (
    CALL_TYPES,
    DISPOSITIONS,
    MappingError,
    canonical_json,
    classify,
    map_call,
    map_calls,
    map_member,
    map_members,
    parse_duration,
    parse_vbot_datetime,
    raw_payload,
)

GROUP_ID = "06042026161825266115c5e7574d76974bb3cd6f4bc229"
RECORD = f"https://open-api-h01.vbot.vn/v2.0/api/crm/historycall/record/{GROUP_ID}"
KEYS = {
    "external_id",
    "call_date",
    "call_type",
    "disposition",
    "disposition_raw",
    "customer_number",
    "customer_key",
    "customer_display",
    "customer_name",
    "answered",
    "agent_member_no",
    "agent_member_nos",
    "hotline",
    "talk_duration",
    "duration",
    "cost",
    "record_urls",
    "has_recording",
    "payload",
}


def real_group() -> dict:
    """The real production sample of the notes, as a whole call group."""
    return {
        "hotline_number": "842455599940",
        "date_create": "04/06/2026 16:18:25",
        "caller": [
            {
                "phone": "0364307520",
                "vbot_id": "",
                "date_create": "04/06/2026 16:18:25",
                "disposition": "ANSWER",
                "time_call": "00:01:12",
                "postage": 0,
                "duration_call": 78,
                "source": "Phone",
                "member_no": "",
            }
        ],
        "callee": [
            {
                "phone": "",
                "vbot_id": "VB0001",
                "date_create": "04/06/2026 16:18:27",
                "disposition": "ANSWER",
                "time_call": "00:01:12",
                "postage": 86.72,
                "duration_call": 76,
                "source": "App_SDK",
                "member_no": "104",
            }
        ],
        "time_call": "00:01:12",
        "duration_call": "00:01:18",
        "type_call": "INCALL",
        "group_id": GROUP_ID,
        "disposition": "ANSWER",
        "record_file": [RECORD],
        "external_call_id": "",
    }


def leg(phone="", member_no="", disposition="", postage=None, source="Phone") -> dict:
    return {
        "phone": phone,
        "member_no": member_no,
        "disposition": disposition,
        "postage": postage,
        "source": source,
    }


def test_real_sample():
    values = map_call(real_group())
    assert set(values) == KEYS
    assert values["external_id"] == GROUP_ID
    assert values["call_date"] == datetime(2026, 4, 6, 9, 18, 25)  # 16:18:25 in Hà Nội
    assert values["call_date"].tzinfo is None
    assert values["call_type"] == "incoming"
    assert values["disposition"] == "answer"
    assert values["disposition_raw"] == "ANSWER"
    assert values["customer_number"] == "0364307520"
    assert values["customer_key"] == "+84364307520"
    assert values["customer_display"] == "0364 307 520"
    assert values["customer_name"] == ""
    assert values["answered"] is True
    assert values["agent_member_no"] == "104"
    assert values["agent_member_nos"] == ["104"]
    assert values["hotline"] == "842455599940"
    assert values["talk_duration"] == 72
    assert values["duration"] == 78
    assert values["cost"] == pytest.approx(86.72)
    assert values["record_urls"] == [RECORD]
    assert values["has_recording"] is True
    assert json.loads(values["payload"]) == real_group()
    assert values["payload"] == json.dumps(real_group(), ensure_ascii=False, sort_keys=True)


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("04/06/2026 16:18:25", datetime(2026, 4, 6, 9, 18, 25)),
        (" 04/06/2026 16:18:25 ", datetime(2026, 4, 6, 9, 18, 25)),
        ("01/01/2026 03:00:00", datetime(2025, 12, 31, 20, 0, 0)),  # crosses midnight and year
        ("04/06/2026 16:18", datetime(2026, 4, 6, 9, 18, 0)),
        ("2026-04-06 16:18:25", datetime(2026, 4, 6, 9, 18, 25)),
        ("2026-04-06T16:18:25", datetime(2026, 4, 6, 9, 18, 25)),
        ("2026-04-06T09:18:25+00:00", datetime(2026, 4, 6, 9, 18, 25)),
        (1775467105, datetime(2026, 4, 6, 9, 18, 25)),
        (1775467105000, datetime(2026, 4, 6, 9, 18, 25)),
        ("1775467105", datetime(2026, 4, 6, 9, 18, 25)),
        (1775467105.0, datetime(2026, 4, 6, 9, 18, 25)),
    ],
)
def test_parse_vbot_datetime(value, expected):
    assert parse_vbot_datetime(value) == expected


def test_parse_vbot_datetime_other_zone():
    assert parse_vbot_datetime("04/06/2026 16:18:25", "UTC") == datetime(2026, 4, 6, 16, 18, 25)
    assert parse_vbot_datetime("04/06/2026 16:18:25", "Asia/Bangkok") == datetime(
        2026, 4, 6, 9, 18, 25
    )


@pytest.mark.parametrize(
    "value",
    [
        "13/45/2026 99:00:00",
        "06/04/2026 25:00:00",
        "yesterday",
        "",
        None,
        123,  # 1970: not a plausible epoch
        True,
        [],
        "04/06/2026",
    ],
)
def test_parse_vbot_datetime_rejects(value):
    with pytest.raises(MappingError) as info:
        parse_vbot_datetime(value)
    assert info.value.field == "date_create"
    assert str(info.value).startswith("date_create: ")


def test_date_error_message_names_the_value_and_format():
    group = real_group()
    group["date_create"] = "13/45/2026 99:00:00"
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert str(info.value) == (
        "date_create: cannot read '13/45/2026 99:00:00' as MM/DD/YYYY HH:mm:ss"
    )


def test_unknown_time_zone():
    with pytest.raises(MappingError) as info:
        map_call(real_group(), tz="Mars/Olympus")
    assert info.value.field == "tz"


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:01:12", 72),
        ("01:00:00", 3600),
        ("1:02:03", 3723),
        ("26:00:00", 93600),
        ("02:05", 125),
        ("120", 120),
        (" 120 ", 120),
        ("120.0", 120),
        (120, 120),
        (120.0, 120),
        (0, 0),
        (None, 0),
        ("", 0),
        ("  ", 0),
    ],
)
def test_parse_duration(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value", ["-5", -5, "abc", "00:61:00", "1:2:3:4", float("nan"), float("inf"), True, [1]]
)
def test_parse_duration_rejects(value):
    with pytest.raises(MappingError) as info:
        parse_duration(value)
    assert info.value.field == "duration_call"


@pytest.mark.parametrize(
    ("time_call", "duration_call", "talk", "total"),
    [("00:01:12", "00:01:18", 72, 78), ("72", "78", 72, 78), (72, 78, 72, 78), (None, "", 0, 0)],
)
def test_durations_in_both_forms(time_call, duration_call, talk, total):
    group = real_group()
    group["time_call"], group["duration_call"] = time_call, duration_call
    values = map_call(group)
    assert (values["talk_duration"], values["duration"]) == (talk, total)


# -- direction and outcome -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_call", "expected"),
    [
        ("INCALL", "incoming"),
        ("incall", "incoming"),
        ("CALLIN", "incoming"),
        (1, "incoming"),
        ("1", "incoming"),
        ("OUTCALL", "outgoing"),
        ("Outcall", "outgoing"),
        ("CALLOUT", "outgoing"),
        (2, "outgoing"),
        ("2", "outgoing"),
        ("MISSCALL", "missed"),
        ("misscall", "missed"),
        (3, "missed"),
        ("3", "missed"),
    ],
)
def test_every_type_call(type_call, expected):
    group = real_group()
    group["type_call"] = type_call
    assert map_call(group)["call_type"] == expected


@pytest.mark.parametrize("type_call", ["CALL", "", None, 4, "sample string 5"])
def test_unknown_type_call(type_call):
    group = real_group()
    group["type_call"] = type_call
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert info.value.field == "type_call"


def test_labels():
    assert len(DISPOSITIONS) == 16
    assert [key for key, _en, _vi in DISPOSITIONS[:14]] == [
        "misscall",
        "answer",
        "busy",
        "noanswer",
        "cancel",
        "congestion",
        "chanunavail",
        "dontcall",
        "torture",
        "invalidargs",
        "someoneanswered",
        "logout",
        "botivr",
        "more",
    ]
    assert DISPOSITIONS[0] == ("misscall", "Missed call", "Cuộc gọi nhỡ")
    assert DISPOSITIONS[1][2] == "Nghe máy"
    assert DISPOSITIONS[-2:] == [
        ("incall", "Busy in another call", "Đang trong cuộc gọi khác"),
        ("normal_clearing", "Normal clearing", "Kết thúc bình thường"),
    ]
    assert [key for key, _en, _vi in CALL_TYPES] == ["incoming", "outgoing", "missed"]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ANSWER", "answer"),
        ("answer", "answer"),
        ("NoAnswer", "noanswer"),
        ("NORMAL_CLEARING", "normal_clearing"),
        ("INCALL", "incall"),
        ("SOMEONEANSWERED", "someoneanswered"),
        ("TRANSFERRED", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_disposition_case_insensitive_and_unknown_kept_raw(raw, key):
    group = real_group()
    group["disposition"] = raw
    values = map_call(group)
    assert values["disposition"] == key
    assert values["disposition_raw"] == (raw or "")


# -- customer and agent ----------------------------------------------------------------------


def test_outgoing_customer_is_the_callee():
    group = real_group()
    group.update(
        type_call="OUTCALL",
        caller=[leg(phone="0901111111", member_no="105", disposition="ANSWER", postage=120)],
        callee=[leg(phone="0912345678", disposition="ANSWER", postage=0)],
    )
    values = map_call(group)
    assert values["customer_number"] == "0912345678"
    assert values["customer_key"] == "+84912345678"
    assert values["agent_member_no"] == "105"
    assert values["cost"] == 120.0


def test_customer_is_not_blindly_the_first_leg():
    group = real_group()
    # An agent's leg first on the caller side, the customer second.
    group["caller"] = [leg(phone="0901111111", member_no="101"), leg(phone="0987654321")]
    values = map_call(group)
    assert values["customer_number"] == "0987654321"


def test_customer_found_on_the_other_side():
    group = real_group()
    group["caller"] = [leg(member_no="101", source="SIP")]
    group["callee"] = [leg(phone="0987654321")]
    assert map_call(group)["customer_number"] == "0987654321"


def test_no_customer():
    group = real_group()
    group["caller"] = [leg(phone="", member_no="")]
    group["callee"] = [leg(member_no="104")]
    values = map_call(group)
    assert values["customer_number"] == ""
    assert values["customer_key"] is None


def test_customer_that_is_not_a_phone_number():
    group = real_group()
    group["caller"] = [leg(phone="anonymous")]
    values = map_call(group)
    assert values["customer_number"] == "anonymous"
    assert values["customer_key"] is None


def test_legacy_customer_number_gets_todays_key():
    group = real_group()
    group["caller"] = [leg(phone="01681234567")]
    assert map_call(group)["customer_key"] == "+84381234567"


def test_several_agents_rang_the_one_who_answered_wins():
    group = real_group()
    group["callee"] = [
        leg(member_no="101", disposition="NOANSWER", postage="10.5"),
        leg(member_no=102, disposition="answer", postage=20),
        leg(member_no="103", disposition="CANCEL", postage=None),
        leg(member_no="101", disposition="NOANSWER", postage=""),
    ]
    values = map_call(group)
    assert values["agent_member_no"] == "102"
    assert values["agent_member_nos"] == ["101", "102", "103"]
    assert values["cost"] == pytest.approx(30.5)


def test_no_one_answered_the_first_agent_is_kept():
    group = real_group()
    group["disposition"] = "NOANSWER"
    group["callee"] = [leg(member_no="101", disposition="NOANSWER"), leg(member_no="102")]
    values = map_call(group)
    assert values["agent_member_no"] == "101"
    assert values["agent_member_nos"] == ["101", "102"]


def test_no_agent():
    group = real_group()
    group["callee"] = []
    values = map_call(group)
    assert values["agent_member_no"] == ""
    assert values["agent_member_nos"] == []


def test_legs_none_or_junk_elements():
    group = real_group()
    group["caller"] = None
    group["callee"] = [None, "x", leg(phone="0987654321")]
    values = map_call(group)
    assert values["customer_number"] == "0987654321"
    assert values["cost"] == 0.0


@pytest.mark.parametrize("side", ["caller", "callee"])
def test_legs_not_a_list(side):
    group = real_group()
    group[side] = {"phone": "0912345678"}
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert info.value.field == side


@pytest.mark.parametrize(
    ("postages", "expected"),
    [([None, ""], 0.0), (["86.72", 13.28], 100.0), (["86,72", "n/a"], 86.72), ([1, 2.5], 3.5)],
)
def test_cost_tolerates_strings_and_blanks(postages, expected):
    group = real_group()
    group["caller"] = [leg(phone="0364307520", postage=postages[0])]
    group["callee"] = [leg(member_no="104", postage=postages[1])]
    assert map_call(group)["cost"] == pytest.approx(expected)


# -- recordings, hotline, ids ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_file", "urls"),
    [
        ([RECORD], [RECORD]),
        ([RECORD, "", None, " ", RECORD + "?2"], [RECORD, RECORD + "?2"]),
        (RECORD, [RECORD]),
        ("", []),
        (None, []),
        ([], []),
        (42, []),
    ],
)
def test_record_urls(record_file, urls):
    group = real_group()
    group["record_file"] = record_file
    values = map_call(group)
    assert values["record_urls"] == urls
    assert values["has_recording"] is bool(urls)


@pytest.mark.parametrize(("hotline", "expected"), [(842455599940, "842455599940"), (None, "")])
def test_hotline_as_text(hotline, expected):
    group = real_group()
    group["hotline_number"] = hotline
    assert map_call(group)["hotline"] == expected


def test_external_id_falls_back_to_external_call_id():
    group = real_group()
    group["group_id"] = ""
    group["external_call_id"] = "crm-42"
    assert map_call(group)["external_id"] == "crm-42"


def test_hash_id_is_stable_and_independent_of_key_order():
    group = real_group()
    group["group_id"] = None
    del group["external_call_id"]
    first = map_call(group)["external_id"]
    assert first.startswith("sha1:")
    assert len(first) == len("sha1:") + 40
    shuffled = dict(reversed(list(copy.deepcopy(group).items())))
    shuffled["caller"] = [dict(reversed(list(shuffled["caller"][0].items())))]
    assert map_call(shuffled)["external_id"] == first
    assert map_call(copy.deepcopy(group))["external_id"] == first
    other = copy.deepcopy(group)
    other["date_create"] = "04/06/2026 16:18:26"
    assert map_call(other)["external_id"] != first


def test_payload_is_canonical():
    shuffled = dict(reversed(list(real_group().items())))
    assert map_call(shuffled)["payload"] == map_call(real_group())["payload"]
    group = real_group()
    group["caller"][0]["source"] = "Điện thoại"
    assert "Điện thoại" in map_call(group)["payload"]


# -- malformed groups ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date_create": None}, "date_create"),
        ({"date_create": "13/45/2026 99:00:00"}, "date_create"),
        ({"type_call": "???"}, "type_call"),
        ({"time_call": "-00:00:05"}, "time_call"),
        ({"duration_call": "soon"}, "duration_call"),
        ({"caller": "0912345678"}, "caller"),
        ({"callee": 5}, "callee"),
    ],
)
def test_malformed_group_names_the_field(change, field):
    group = real_group()
    group.update(change)
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_missing_date_create():
    group = real_group()
    del group["date_create"]
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert info.value.field == "date_create"


@pytest.mark.parametrize("group", [None, [], "call", 42])
def test_not_a_group(group):
    with pytest.raises(MappingError) as info:
        map_call(group)
    assert info.value.field == "group"


def test_map_calls_keeps_the_good_ones():
    bad_date = real_group()
    bad_date["date_create"] = "not a date"
    second = real_group()
    second["group_id"] = "second"
    mapped, errors = map_calls([real_group(), bad_date, None, second], "Asia/Ho_Chi_Minh")
    assert [values["external_id"] for values in mapped] == [GROUP_ID, "second"]
    assert [(index, error.field) for index, error in errors] == [(1, "date_create"), (2, "group")]
    assert map_calls([]) == ([], [])


# -- what counts as missed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_call", "disposition", "talk", "call_type", "answered"),
    [
        # VBot's MISSCALL is missed whatever else it says.
        ("MISSCALL", "MISSCALL", "00:00:00", "missed", False),
        ("MISSCALL", "NOANSWER", "00:00:00", "missed", False),
        ("MISSCALL", "ANSWER", "00:00:05", "missed", False),
        # Incoming calls nobody took are missed too (they used to escape the Missed filter).
        ("INCALL", "NOANSWER", "00:00:00", "missed", False),
        ("INCALL", "BUSY", "00:00:00", "missed", False),
        ("INCALL", "CANCEL", "00:00:00", "missed", False),
        ("INCALL", "DONTCALL", "00:00:00", "missed", False),
        ("INCALL", "CHANUNAVAIL", "00:00:00", "missed", False),
        ("INCALL", "INCALL", "00:00:00", "missed", False),
        ("INCALL", "MORE", "00:00:00", "missed", False),
        # Someone took it: answered, not missed.
        ("INCALL", "ANSWER", "00:01:12", "incoming", True),
        ("INCALL", "SOMEONEANSWERED", "00:01:12", "incoming", True),
        ("INCALL", "NORMAL_CLEARING", "00:01:12", "incoming", True),
        # The CallBot took it: neither missed nor answered by a person.
        ("INCALL", "BOTIVR", "00:00:40", "incoming", False),
        # An outcome VBot did not document: talk time decides.
        ("INCALL", "TRANSFERRED", "00:00:30", "incoming", True),
        ("INCALL", "", "00:00:00", "missed", False),
        # Outgoing calls are never missed; answered when the customer picked up.
        ("OUTCALL", "ANSWER", "00:02:00", "outgoing", True),
        ("OUTCALL", "NOANSWER", "00:00:00", "outgoing", False),
        ("OUTCALL", "BUSY", "00:00:00", "outgoing", False),
    ],
)
def test_missed_and_answered_are_decided_once(type_call, disposition, talk, call_type, answered):
    group = real_group()
    group.update(type_call=type_call, disposition=disposition, time_call=talk)
    values = map_call(group)
    assert (values["call_type"], values["answered"]) == (call_type, answered)


def test_classify_directly():
    assert classify("missed", "answer", 10) == ("missed", False)
    assert classify("incoming", "noanswer", 0) == ("missed", False)
    assert classify("incoming", "other", 0) == ("missed", False)
    assert classify("incoming", "other", 3) == ("incoming", True)
    assert classify("outgoing", "other", 0) == ("outgoing", False)


@pytest.mark.parametrize(
    ("phone", "display"),
    [
        ("0364307520", "0364 307 520"),
        ("84364307520", "0364 307 520"),
        ("+84364307520", "0364 307 520"),
        ("01681234567", "0381 234 567"),
        ("02838221234", "028 3822 1234"),
        ("19001234", "1900 1234"),
        ("anonymous", "anonymous"),
    ],
)
def test_customer_number_read_nationally(phone, display):
    group = real_group()
    group["caller"][0]["phone"] = phone
    values = map_call(group)
    assert values["customer_display"] == display
    assert values["customer_number"] == phone  # the raw value is kept


def test_customer_name_when_vbot_sends_one():
    group = real_group()
    group["customerName"] = "  Anh Đạt\x00 "
    assert map_call(group)["customer_name"] == "Anh Đạt"
    group["customerName"] = {"not": "text"}
    assert map_call(group)["customer_name"] == ""
    group["customerName"] = "x" * 500
    assert len(map_call(group)["customer_name"]) == 128


# -- members ---------------------------------------------------------------------------------


def test_map_member():
    member = map_member(
        {
            "member_name": "Nguyễn Văn An",
            "member_type": 2,
            "member_ext_number": 104,
            "member_no": "104",
            "member_status": 1,
            "member_money": 7.1,
        }
    )
    assert member == {"member_no": "104", "name": "Nguyễn Văn An", "ext_number": "104", "status": 1}
    # Numbers where text is expected, text where numbers are: tolerated.
    assert map_member({"member_no": 105, "member_status": "x"}) == {
        "member_no": "105",
        "name": "",
        "ext_number": "",
        "status": None,
    }


@pytest.mark.parametrize("item", [None, "104", {"member_name": "A"}, {"member_no": ""}])
def test_map_member_rejects(item):
    with pytest.raises(MappingError):
        map_member(item)


def test_map_members_keeps_the_good_ones_and_the_last_of_a_repeat():
    members, errors = map_members(
        [
            {"member_no": "101", "member_name": "A"},
            "junk",
            {"member_no": "101", "member_name": "B"},
            {"member_no": "102"},
        ]
    )
    assert [(m["member_no"], m["name"]) for m in members] == [("101", "B"), ("102", "")]
    assert [index for index, _error in errors] == [1]


@pytest.mark.parametrize(
    "group",
    [
        {"b": 1, "a": "x"},
        {"a": "lone \ud800 surrogate", "nul": "a\x00b"},
        {"big": "é" * (300 * 1024)},
    ],
)
def test_the_payload_made_from_a_text_already_made_is_the_same(group):
    """The listing serialises each group once; the payload made from that text is the one
    made from the group (surrogates replaced, a payload too big summarised)."""
    text = canonical_json(group)
    assert raw_payload(group, text=text) == raw_payload(group)
    made = raw_payload(group)
    assert "\ud800" not in made and len(made) <= 256 * 1024
    assert json.loads(made)
