"""The hostile corpus through the mapping: every value bounded, or the group refused by field.

The same corpus goes through a real sync in ``vbot_call_history/tests/test_sync_hostile.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from vbot_call_history.services.mapping import MappingError, map_call, safe_external_id

_PATH = Path(__file__).resolve().parents[1] / "vbot_call_history/tests/hostile_payloads.py"
_spec = importlib.util.spec_from_file_location("hostile_payloads", _PATH)
hostile = importlib.util.module_from_spec(_spec)
sys.modules["hostile_payloads"] = hostile  # dataclasses look their module up
_spec.loader.exec_module(hostile)

NOW = datetime(2026, 11, 29, 2, 0, 0)  # UTC
LOCAL = NOW + timedelta(hours=7)
CASES = hostile.cases(LOCAL - timedelta(hours=1))
INT4 = 2**31 - 1


def test_the_corpus_is_big_enough():
    assert sum(len(case.groups) for case in CASES) >= 50
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if not c.engine_only], ids=lambda c: c.name)
def test_each_hostile_group_is_bounded_or_refused_by_field(case):
    (group,), (expect,) = case.groups, case.expect
    if isinstance(expect, hostile.Skipped):
        with pytest.raises(MappingError) as info:
            map_call(group, now=NOW)
        assert info.value.field == expect.field, str(info.value)
        assert info.value.code
        assert len(str(info.value)) < 300  # the message never carries a 1 MB value
        return
    values = map_call(group, now=NOW)
    wanted = hostile.expected_id(group, expect) or safe_external_id(group)
    assert values["external_id"] == wanted
    for name, check in expect.checks.items():
        if callable(check):
            assert check(values[name]), (name, str(values[name])[:80])
        else:
            assert values[name] == check, name
    assert_storable(values)


def assert_storable(values):
    """What PostgreSQL accepts in the columns, as the model defines them."""
    for name, value in values.items():
        if isinstance(value, str):
            assert "\x00" not in value, name
            value.encode("utf-8")  # no lone surrogate
            if name != "payload":
                assert len(value) <= 255, name
    for name in ("talk_duration", "duration"):
        assert 0 <= values[name] <= INT4
    assert abs(values["cost"]) < 1e12
    assert len(values["payload"]) <= 256 * 1024
    json.loads(values["payload"])
    assert all(len(url) <= 2048 for url in values["record_urls"])
    assert datetime(2010, 1, 1) <= values["call_date"] <= NOW + timedelta(days=1)


def test_normal_group_maps():
    values = map_call(hostile.normal_group(7, LOCAL), now=NOW)
    assert values["external_id"] == "norm-00007"
    assert values["call_date"] == NOW
    assert_storable(values)
