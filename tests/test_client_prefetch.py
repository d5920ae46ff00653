"""The client's prefetch: the next page is fetched while the caller works on this one.

Real HTTP against the simulator with a fixed latency; the caller "stores" each page by
sleeping. Without prefetch every page costs latency + store; with it, the requests overlap
the stores, so N pages take about N x store + one latency.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from test_client import Sleeps, group_epoch, ids, v3

from vbot_call_history.services.client import (
    RAW_PAGES_WAITING,
    VBotRetryableError,
    VBotTimeBudgetError,
)
from vbot_call_history.services.mapping import map_call
from vbot_call_history.services.reader import ForkedReader

LATENCY = 0.1
STORE = 0.15
PAGES = 8
SIZE = 25
NOW = datetime.now(timezone.utc).replace(tzinfo=None)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vbot-prefetch" and t.is_alive()]


def consume(client, **options):
    t0 = time.monotonic()
    pages = []
    for page, groups in client.iter_pages(**options):
        pages.append((page, ids(groups)))
        time.sleep(STORE)
    return pages, time.monotonic() - t0


@pytest.mark.parametrize("simulator", [{"calls": PAGES * SIZE - 5, "seed": 3}], indirect=True)
def test_prefetch_overlaps_the_next_request_with_the_store(simulator):
    simulator.state.set_faults(latency_ms=int(LATENCY * 1000))
    plain, sequential = consume(v3(simulator, page_size=SIZE))
    fetched, overlapped = consume(v3(simulator, page_size=SIZE), prefetch=True)
    assert fetched == plain and len(plain) == PAGES
    # Without prefetch each page waits for its request, then is stored.
    assert sequential >= PAGES * (LATENCY + STORE)
    # With it, only the first request is waited for: about PAGES x STORE + LATENCY
    # (1.3 s here, against 2.0 s at least without).
    assert overlapped < 0.8 * PAGES * (LATENCY + STORE), overlapped
    assert overlapped >= PAGES * STORE
    assert not prefetch_threads()


@pytest.mark.parametrize("simulator", [{"calls": 200, "seed": 3}], indirect=True)
def test_prefetch_stops_when_the_caller_stops_early(simulator):
    simulator.state.set_faults(latency_ms=50)
    client = v3(simulator, page_size=20)
    pages = client.iter_pages(prefetch=True)
    first = next(pages)
    assert first[0] == 1
    pages.close()
    time.sleep(0.3)  # the request in flight, if any, ends
    assert not prefetch_threads()
    # Beyond the page read: at most the pages waiting (received, mapped) and the one in
    # flight were asked for, not the 10 pages of the listing.
    asked = len([e for e in simulator.state.request_log if "getAll" in e.path])
    assert asked <= 1 + RAW_PAGES_WAITING + 1 + 1, asked


@pytest.mark.parametrize("simulator", [{"calls": 200, "seed": 3}], indirect=True)
def test_prefetch_keeps_the_clients_retry_rules_and_raises_at_the_page(simulator):
    sleeps = Sleeps()
    client = v3(simulator, page_size=50, sleep=sleeps)
    simulator.state.set_faults(queue=["ok", "429", "500"], retry_after=2)
    pages = [page for page, _groups in client.iter_pages(prefetch=True)]
    assert pages == [1, 2, 3, 4]
    assert 2 in sleeps  # Retry-After honoured by the prefetching thread
    # Retries run out on page 2: page 1 is handed over first, then the error is raised.
    client = v3(simulator, page_size=50, max_retries=0)
    simulator.state.set_faults(queue=["ok", "500", "500"])
    seen = []
    with pytest.raises(VBotRetryableError):
        for page, _groups in client.iter_pages(prefetch=True):
            seen.append(page)
    assert seen == [1]
    # No time left: the budget error reaches the caller.
    client = v3(simulator, page_size=50)
    client.deadline = time.monotonic() - 1
    with pytest.raises(VBotTimeBudgetError):
        list(client.iter_pages(prefetch=True))
    assert not prefetch_threads()


@pytest.mark.parametrize("simulator", [{"calls": 60, "seed": 5}], indirect=True)
def test_each_group_is_serialised_once_and_mapped_from_that_text(simulator):
    """The listing's duplicate check makes each group's canonical JSON; ``prepare`` gets it,
    and the stored payload made from it is what the mapping would make itself."""
    texts = []

    def prepare(group, text):
        texts.append(text)
        return map_call(group, now=NOW, text=text)

    for prefetch in (False, True):
        texts.clear()
        for _page, groups in v3(simulator, page_size=25).iter_pages(
            prefetch=prefetch, prepare=prepare
        ):
            assert [values["payload"] for values in groups.prepared] == [
                map_call(group, now=NOW)["payload"] for group in groups
            ]
        assert len(texts) == 60
        assert all(text and json.loads(text) for text in texts)


@pytest.mark.parametrize("simulator", [{"calls": 130, "seed": 6}], indirect=True)
def test_a_forked_reader_yields_the_pages_read_here(simulator):
    """Pages read in a child process are the pages read in this one, prepared alike."""

    def prepare(group, text):
        return map_call(group, now=NOW, text=text)

    plain = [
        (page, list(groups), groups.prepared)
        for page, groups in v3(simulator, page_size=50).iter_pages(prepare=prepare)
    ]
    with ForkedReader(prepare) as reader:
        forked = [
            (page, list(groups), groups.prepared)
            for page, groups in v3(simulator, page_size=50).iter_pages(
                prefetch=True, prepare=prepare, reader=reader
            )
        ]
        assert not reader.broken
    assert forked == plain and len(plain) == 3


def _days(simulator, count):
    """The last ``count`` whole days of the simulator's calls, newest first, as spans."""
    newest = max(group_epoch(group) for group in simulator.state.calls)
    end = datetime.fromtimestamp(newest, timezone.utc).replace(tzinfo=None)
    return [(end - timedelta(days=day + 1), end - timedelta(days=day)) for day in range(count)]


@pytest.mark.parametrize("simulator", [{"calls": 200, "seed": 8, "days": 4}], indirect=True)
def test_spans_stream_the_pages_of_each_span_in_turn(simulator):
    """Each span's pages, as iter_pages lists them alone, then its end."""
    spans = _days(simulator, 4)
    expected = []
    for span in spans:
        expected += [
            (span, page, ids(groups))
            for page, groups in v3(simulator, page_size=20).iter_pages(*span)
        ]
        expected.append((span, None, None))
    assert sum(1 for _s, page, _g in expected if page) > 8
    for prefetch in (False, True):
        streamed = [
            (span, page, groups if page is None else ids(groups))
            for span, page, groups in v3(simulator, page_size=20).iter_spans(
                spans, prefetch=prefetch
            )
        ]
        assert streamed == expected
    assert not prefetch_threads()


@pytest.mark.parametrize("simulator", [{"calls": 40, "seed": 9, "days": 4}], indirect=True)
def test_the_next_spans_first_page_is_fetched_while_this_span_is_stored(simulator):
    """One page a span: without the stream each span waits for its request; with it, only
    the first does."""
    spans = _days(simulator, 4)
    simulator.state.set_faults(latency_ms=int(LATENCY * 1000))

    def consume(pages):
        t0 = time.monotonic()
        for _page, _groups in pages:
            time.sleep(STORE)
        return time.monotonic() - t0

    client = v3(simulator, page_size=50)
    alone = sum(consume(client.iter_pages(*span, prefetch=True)) for span in spans)
    streamed = consume(
        (page, groups)
        for _span, page, groups in v3(simulator, page_size=50).iter_spans(spans, prefetch=True)
        if page is not None
    )
    assert alone >= len(spans) * (LATENCY + STORE)
    assert streamed < len(spans) * STORE + 2 * LATENCY, (streamed, alone)
    assert not prefetch_threads()


@pytest.mark.parametrize("simulator", [{"calls": PAGES * SIZE - 5, "seed": 4}], indirect=True)
def test_two_requests_are_in_flight_once_a_first_page_is_full(simulator):
    """A far server: with prefetch, its latency is paid about once per two pages."""
    simulator.state.set_faults(latency_ms=int(LATENCY * 1000))
    t0 = time.monotonic()
    plain = [ids(groups) for _page, groups in v3(simulator, page_size=SIZE).iter_pages()]
    one_by_one = time.monotonic() - t0
    t0 = time.monotonic()
    fetched = [
        ids(groups) for _page, groups in v3(simulator, page_size=SIZE).iter_pages(prefetch=True)
    ]
    two_at_once = time.monotonic() - t0
    assert fetched == plain and len(plain) == PAGES
    assert one_by_one >= PAGES * LATENCY
    # The first page alone, then two at a time: about (1 + PAGES / 2) latencies.
    assert two_at_once < 0.75 * PAGES * LATENCY, (two_at_once, one_by_one)
    time.sleep(LATENCY * 2)  # the request after the last page ends
    assert not prefetch_threads()
