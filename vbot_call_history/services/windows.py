"""Planning of sync windows and retry delays: pure functions, no I/O, no Odoo.

Every datetime here is naive UTC (as Odoo stores them) and every span is inclusive at both
ends, to the second, as VBot reads ``from``/``to``: the window after ``[a, b]`` starts at
``b + 1 s``. The sync engine (``models/vbot_sync_run.py``) asks these functions *what* to
fetch and *when*; it does the fetching.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = [
    "SECOND",
    "Span",
    "backoff_delay",
    "cron_budget",
    "local_days",
    "merge_spans",
    "plan_windows",
    "recheck_span",
    "retry_delay",
    "shrink_window",
    "sync_start",
]

SECOND = timedelta(seconds=1)
Span = tuple[datetime, datetime]


def sync_start(
    watermark: datetime | None,
    history_start: datetime | None,
    now: datetime,
    *,
    overlap_minutes: int,
    initial_days: int,
) -> tuple[datetime, datetime]:
    """``(start, history_start)`` of the next regular sync.

    The first sync starts ``initial_days`` before ``now`` and that is where the history
    starts; later ones start ``overlap_minutes`` before the watermark (calls VBot recorded a
    little late), never before the history's start.
    """
    if not history_start:  # None, or Odoo's False
        history_start = min(watermark or now, now) - timedelta(days=initial_days)
    if not watermark:
        return history_start, history_start
    start = watermark - timedelta(minutes=max(overlap_minutes, 0))
    return max(start, history_start), history_start


def plan_windows(start: datetime, end: datetime, hours: int) -> list[Span]:
    """Cut ``[start, end]`` into consecutive windows of at most ``hours``, oldest first."""
    step = timedelta(hours=max(int(hours or 1), 1))
    windows: list[Span] = []
    while start <= end:
        stop = min(start + step - SECOND, end)
        windows.append((start, stop))
        start = stop + SECOND
    return windows


def recheck_span(
    now: datetime, hours: int, before: datetime, history_start: datetime | None
) -> Span | None:
    """The span of the last ``hours`` that this run did not fetch (ends before ``before``).

    Calls VBot lists late (a long call appears when it ends) fall behind the watermark: the
    re-check counts them without fetching again what this run just verified, so no call is
    counted twice in one run. None when there is nothing to re-check.
    """
    if not hours:
        return None
    start = now - timedelta(hours=hours)
    if history_start:
        start = max(start, history_start)
    end = before - SECOND
    return (start, end) if start <= end else None


def local_days(start: datetime, end: datetime, tz: str, newest_first: bool = True) -> list[Span]:
    """The local days of ``tz`` that ``[start, end]`` touches, as UTC spans clipped to it.

    VBot's users (and its ``countAll`` per day) think in local days: Hà Nội's 29 November
    is 28 November 17:00 UTC to 29 November 16:59:59 UTC.
    """
    if start > end:
        return []
    zone = ZoneInfo(tz)
    local = start.replace(tzinfo=timezone.utc).astimezone(zone).date()
    last = end.replace(tzinfo=timezone.utc).astimezone(zone).date()
    days: list[Span] = []
    while local <= last:
        day_start = _utc(datetime.combine(local, time.min, zone))
        local += timedelta(days=1)
        day_end = _utc(datetime.combine(local, time.min, zone)) - SECOND
        days.append((max(day_start, start), min(day_end, end)))
    return days[::-1] if newest_first else days


def _utc(aware: datetime) -> datetime:
    return aware.astimezone(timezone.utc).replace(tzinfo=None)


def merge_spans(spans: Iterable[Span], limit: int | None = None) -> list[Span]:
    """Overlapping or touching spans merged, oldest first; at most ``limit`` of them."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + SECOND:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    result = [(start, end) for start, end in merged]
    return result[:limit] if limit is not None else result


def retry_delay(attempts: int, base_minutes: int = 5, cap_minutes: int = 24 * 60) -> timedelta:
    """When to fetch an unreadable call again after ``attempts`` fruitless retries.

    0: at the next run; then 5, 10, 20, 40 … minutes, at most a day.
    """
    if attempts <= 0:
        return timedelta(0)
    return _doubling(attempts, base_minutes, cap_minutes)


def backoff_delay(failures: int, base_minutes: int = 5, cap_minutes: int = 24 * 60) -> timedelta:
    """How long the schedule leaves an account alone after ``failures`` failed runs in a row.

    1: 5 minutes, 2: 10, 3: 20, … at most a day (a button press always runs at once).
    """
    if failures <= 0:
        return timedelta(0)
    return _doubling(failures, base_minutes, cap_minutes)


def _doubling(n: int, base_minutes: int, cap_minutes: int) -> timedelta:
    exponent = min(n - 1, 30)
    return timedelta(minutes=min(base_minutes * 2**exponent, cap_minutes))


def shrink_window(hours: int) -> int:
    """The next window size after a window did not fit in the time budget (halved, >= 1 h)."""
    return max(1, int(hours) // 2)


def cron_budget(
    limit_time_real: float,
    limit_time_real_cron: float,
    workers: int,
    *,
    default: float = 100,
    sleep_interval: float = 60,
) -> float:
    """Seconds a scheduled sync may spend so that Odoo's cron time limit never kills it.

    The limit is ``limit_time_real_cron`` when positive, else ``limit_time_real`` (0 or
    less: none). With ``workers`` (prefork), the cron worker's watchdog also counts its
    sleep before the job (up to ``sleep_interval`` + 10 s). A margin of 15 % (at least
    10 s) is kept for the page in flight when the budget runs out; the result is between
    5 s and ``default``.
    """
    limit = limit_time_real_cron if limit_time_real_cron and limit_time_real_cron > 0 else None
    if limit is None:
        limit = limit_time_real if limit_time_real and limit_time_real > 0 else None
    if limit is None:
        return float(default)
    if workers and workers > 0:
        limit -= sleep_interval + 10
    margin = max(10.0, math.ceil(limit * 0.15))
    return float(max(5.0, min(default, limit - margin)))
