"""Planning of sync windows, local days, retry and backoff delays, the cron's time budget."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from vbot_call_history.services.windows import (
    SECOND,
    backoff_delay,
    cron_budget,
    local_days,
    merge_spans,
    plan_windows,
    recheck_span,
    retry_delay,
    shrink_window,
    sync_start,
)

NOW = datetime(2026, 11, 29, 9, 0, 0)


def test_first_sync_starts_initial_days_back():
    start, history = sync_start(None, None, NOW, overlap_minutes=15, initial_days=30)
    assert start == history == NOW - timedelta(days=30)


def test_later_syncs_start_an_overlap_before_the_watermark():
    history = NOW - timedelta(days=30)
    watermark = NOW - timedelta(hours=1)
    start, kept = sync_start(watermark, history, NOW, overlap_minutes=15, initial_days=30)
    assert start == watermark - timedelta(minutes=15)
    assert kept == history


def test_the_overlap_never_reaches_before_the_history():
    history = NOW - timedelta(days=1)
    start, _ = sync_start(history, history, NOW, overlap_minutes=60, initial_days=1)
    assert start == history


def test_a_restarted_history_starts_again_from_initial_days():
    # Changing the API URL clears the watermark and the history's start.
    start, history = sync_start(None, None, NOW, overlap_minutes=15, initial_days=7)
    assert start == history == NOW - timedelta(days=7)


def test_a_migrated_account_gets_a_history_start():
    watermark = NOW - timedelta(hours=2)
    start, history = sync_start(watermark, None, NOW, overlap_minutes=15, initial_days=30)
    assert history == watermark - timedelta(days=30)
    assert start == watermark - timedelta(minutes=15)


def test_windows_are_consecutive_inclusive_and_oldest_first():
    start = NOW - timedelta(hours=50)
    windows = plan_windows(start, NOW, 24)
    assert windows[0] == (start, start + timedelta(hours=24) - SECOND)
    assert windows[-1][1] == NOW
    assert len(windows) == 3
    for (_, end), (next_start, _) in itertools.pairwise(windows):
        assert next_start == end + SECOND
    assert plan_windows(NOW, NOW, 24) == [(NOW, NOW)]
    assert plan_windows(NOW, NOW - SECOND, 24) == []
    assert len(plan_windows(start, NOW, 0)) == 51  # at least an hour


def test_recheck_covers_what_this_run_did_not_fetch():
    before = NOW - timedelta(minutes=20)
    assert recheck_span(NOW, 24, before, None) == (NOW - timedelta(hours=24), before - SECOND)
    history = NOW - timedelta(hours=3)
    assert recheck_span(NOW, 24, before, history) == (history, before - SECOND)
    assert recheck_span(NOW, 0, before, None) is None
    # A run that fetched the whole re-check period has nothing left to re-check.
    assert recheck_span(NOW, 24, NOW - timedelta(hours=30), None) is None


def test_local_days_in_vietnam():
    start = datetime(2026, 11, 26, 20, 0, 0)  # 27/11 03:00 in Hà Nội
    end = datetime(2026, 11, 29, 9, 0, 0)  # 29/11 16:00
    days = local_days(start, end, "Asia/Ho_Chi_Minh")
    assert days == [
        (datetime(2026, 11, 28, 17, 0, 0), end),
        (datetime(2026, 11, 27, 17, 0, 0), datetime(2026, 11, 28, 16, 59, 59)),
        (datetime(2026, 11, 26, 17, 0, 0) + timedelta(hours=3), datetime(2026, 11, 27, 16, 59, 59)),
    ]
    assert local_days(start, end, "Asia/Ho_Chi_Minh", newest_first=False) == days[::-1]
    assert local_days(end, start, "UTC") == []


def test_merge_spans():
    a = (NOW, NOW + timedelta(minutes=2))
    b = (NOW + timedelta(minutes=1), NOW + timedelta(minutes=5))
    c = (NOW + timedelta(minutes=5) + SECOND, NOW + timedelta(minutes=6))
    d = (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert merge_spans([d, c, b, a]) == [(a[0], c[1]), d]
    assert merge_spans([d, a], limit=1) == [a]


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(0, 0), (1, 5), (2, 10), (3, 20), (4, 40), (9, 1280), (10, 1440)]
)
def test_unreadable_calls_are_retried_at_the_next_run_then_less_and_less(attempts, minutes):
    assert retry_delay(attempts) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("failures", "minutes"), [(0, 0), (1, 5), (2, 10), (3, 20), (4, 40), (50, 1440)]
)
def test_a_failing_account_backs_off(failures, minutes):
    assert backoff_delay(failures) == timedelta(minutes=minutes)


def test_shrink_window():
    assert [shrink_window(h) for h in (24, 12, 3, 2, 1)] == [12, 6, 1, 1, 1]


@pytest.mark.parametrize(
    ("real", "cron", "workers", "budget"),
    [
        (120, -1, 0, 100),  # threaded: the 120 s limit, minus 18 s of margin
        (120, -1, 2, 40),  # prefork: the watchdog also counts up to 70 s of sleep
        (120, 300, 0, 100),  # a longer cron limit: the default budget
        (120, 40, 0, 30),
        (0, 0, 0, 100),  # no limit at all
        (30, -1, 4, 5),  # never below 5 s
    ],
)
def test_the_cron_budget_stays_under_odoo_limits(real, cron, workers, budget):
    assert cron_budget(real, cron, workers) == budget
    limit = cron if cron > 0 else real
    if limit > 0:
        assert budget < limit
