"""The forked page reader: the same reading as in the sync's process, or that reading."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timezone

import pytest

from vbot_call_history.services.client import read_page
from vbot_call_history.services.mapping import MappingError, map_call
from vbot_call_history.services.reader import ForkedReader, LazyReader, can_fork

NOW = datetime.now(timezone.utc).replace(tzinfo=None)

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def prepare(group, text):
    try:
        return map_call(group, now=NOW, text=text), None
    except MappingError as error:
        return None, error


def page(simulator_groups):
    """Good groups, a bad one (its MappingError travels back), not an object, a copy."""
    bad = dict(simulator_groups[0], date_create="not a date", group_id="bad-1")
    return [*simulator_groups, bad, "not an object", dict(simulator_groups[1])]


@pytest.fixture
def groups(simulator):
    from vbot_simulator.data import CallGenerator

    generator = CallGenerator(3, "VB-DEMO", "http://127.0.0.1:1/v2.0", 50)
    made, _epochs = generator.make_history(40, 5, int(time.time()))
    return page(made)


def _same(read, expected):
    assert len(read) == len(expected)
    for (key, digest, (values, error)), (key2, digest2, (values2, error2)) in zip(
        read, expected, strict=True
    ):
        assert (key, digest, values) == (key2, digest2, values2)
        assert (error and (error.field, error.code, str(error), error.params)) == (
            error2 and (error2.field, error2.code, str(error2), error2.params)
        )


def test_the_child_reads_a_page_as_this_process_does(groups):
    expected = read_page(groups, prepare)
    assert any(error for _k, _d, (_v, error) in expected)  # the bad group's error
    with ForkedReader(prepare) as reader:
        _same(reader(groups), expected)
        _same(reader(groups[:3]), expected[:3])
        assert not reader.broken
        pid = reader._process.pid
    assert not reader._process.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_group_too_deep_to_send_is_read_here(groups):
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    hostile = [*groups[:2], dict(groups[0], group_id="deep", caller=deep)]
    with ForkedReader(prepare) as reader:
        read = reader(hostile)
        assert not reader.broken  # one page read here; the child goes on
        _same(reader(groups), read_page(groups, prepare))
    assert read[2][2][1].code in ("too_nested", "not_a_list")


def test_a_child_that_died_leaves_the_reading_here(groups):
    with ForkedReader(prepare) as reader:
        os.kill(reader._process.pid, signal.SIGKILL)
        reader._process.join(timeout=5)
        _same(reader(groups), read_page(groups, prepare))
        assert reader.broken
        _same(reader(groups), read_page(groups, prepare))


def test_pages_are_read_here_until_a_full_page_comes(groups):
    """A sync that is up to date (short pages) never forks; the first full page starts
    the child, which reads every later page."""
    reader = LazyReader(prepare, page_size=len(groups))
    try:
        _same(reader(groups[:5]), read_page(groups[:5], prepare))
        assert reader.forked is None
        _same(reader(groups), read_page(groups, prepare))
        child = reader.forked
        assert child is not None and child._process.is_alive()
        _same(reader(groups[:5]), read_page(groups[:5], prepare))
        assert reader.forked is child and not child.broken
    finally:
        reader.close()
    assert not child._process.is_alive()
