"""The sync engine: one run for one account, and the one driver that runs it.

The account (``vbot.account``) holds configuration, the watermark and the lock; a
:class:`SyncRun` owns what happens in one run — fetching, storing, verifying and counting —
and records it in its ``vbot.sync.log``. Every way a call comes in goes through here:

==============  =========================================  ======  =======  ================
kind            what it does                               lock    commits  started by
==============  =========================================  ======  =======  ================
``sync``        windows from the watermark to now, the     yes     pages,   schedule, button
                re-check, unreadable calls due, totals             windows
``deep_check``  countAll per local day vs stored, fetch    yes     pages    schedule, button
                the days that differ, totals
``numbers``     a contact's history, by phone filter       no      none     contact
``push``        groups handed over (a webhook)             no      none     webhook
==============  =========================================  ======  =======  ================

:func:`execute` is the driver: it takes the advisory lock (runs that move the watermark),
marks runs a killed process left "running" as interrupted, creates the log, runs, turns any
failure into a log line, records backoff, commits and always releases the lock. Commits
happen only in :meth:`SyncRun._commit`, at page and window boundaries of locked runs, and
never in tests. The store path is one: :meth:`SyncRun._store` maps and bounds a page
(``services.mapping``), hands the good calls to ``vbot.call._upsert_page_isolated`` (which
stores them through ``_upsert_mapped``, call by call when the page fails) and remembers
the rest in ``vbot.unreadable.call``.
"""

import bisect
import functools
import hashlib
import heapq
import itertools
import logging
import threading
import time
from array import array
from contextlib import nullcontext
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2
from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import config

from ..services.client import (
    VBotAuthError,
    VBotError,
    VBotResponseError,
    VBotRetryableError,
    VBotTimeBudgetError,
    VBotURLRefused,
)
from ..services.mapping import (
    MAX_ID,
    MappingError,
    clean_text,
    map_call,
    parse_vbot_datetime,
    safe_external_id,
)
from ..services.phone import search_forms
from ..services.reader import LazyReader
from ..services.windows import (
    SECOND,
    backoff_delay,
    local_days,
    merge_spans,
    plan_windows,
    recheck_span,
    shrink_window,
    sync_start,
)
from .vbot_call import _raise_if_concurrency
from .vbot_sync_log import dt

_logger = logging.getLogger(__name__)

LOCKED_KINDS = ("sync", "deep_check")
#: How a call a run creates first arrived (``vbot.call.origin``).
CALL_ORIGINS = {"sync": "sync", "deep_check": "sync", "numbers": "fetch", "push": "webhook"}
#: First key of ``pg_try_advisory_lock(key1, key2)``; the second is the account id.
LOCK_NAMESPACE = 0x56424F54  # "VBOT" (an int4)
MAX_SKIPPED_LINES = 50
ANALYZE_EVERY = 20000  # calls created, at least, between two ANALYZE of vbot_call
MAX_RETRY_SPANS = 20
RETRY_MARGIN = timedelta(minutes=1)
DEEP_CHECK_EVERY = timedelta(hours=1)  # at most this often on a totals mismatch


class ConnectionChanged(Exception):
    """The account's connection changed during the run (its history restarts)."""


def _testing():
    return bool(config["test_enable"] or getattr(threading.current_thread(), "testing", False))


class SyncRun:
    """One run of the engine for one account; see the module docstring."""

    def __init__(self, account, log, kind="sync", *, deadline=None, clock=time.monotonic):
        self.account = account
        self.env = account.env
        self.log = log
        self.kind = kind
        self.deadline = deadline
        self.clock = clock
        self.now = fields.Datetime.now().replace(microsecond=0)
        self.tz = account.timezone or "UTC"
        self.Call = self.env["vbot.call"].sudo()
        self.Unreadable = self.env["vbot.unreadable.call"].sudo()
        self.commits = kind in LOCKED_KINDS and not _testing()
        self.generation = account.sync_generation
        # Counters of this run (distinct VBot ids), written to the log at each commit. The
        # ids fetched are kept small (a run may fetch a million calls).
        self.fetched = _KeySet()
        self.unreadable = set()
        self.remembered = set()  # unreadable calls seen by this run (not retried by it)
        self.created = self.updated = self.gap = 0
        # With webhooks on: calls of the webhook era this sync brought, that no webhook did.
        self.webhook_since = account.webhook_since if account.webhook_active else False
        self.webhook_missed = 0
        # Calls stored since the last commit: a failure rolls them back, so they count
        # only once committed.
        self.pending_created = self.pending_updated = self.pending_missed = 0
        self.resolved = self.gone = 0
        self.more_skipped = 0
        self.skipped_lines = 0
        self.out_of_time = False
        self._client = None
        # Calls created since PostgreSQL last counted the table, and its estimate of the
        # account's calls (see _analyze_if_grown).
        self.since_analyze = 0
        self.analyzed_rows = 0
        # A backfill's pages: one stream over its windows (see _start_stream); how pages
        # are read (see _reader).
        self.stream, self.stream_spans, self.reader = None, [], None
        self.prepare = functools.partial(map_group, tz=self.tz, now=self.now)

    # ------------------------------------------------------------------
    # Plumbing
    # ------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            self._client = self.account._make_client()
            if self.deadline is not None and self.clock is time.monotonic:
                self._client.deadline = self.deadline
        return self._client

    def _time_is_up(self):
        if self.deadline is not None and self.clock() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time

    def _flush_counters(self):
        self.log.write(
            {
                "fetched_count": len(self.fetched),
                "created_count": self.created + self.pending_created,
                "updated_count": self.updated + self.pending_updated,
                "webhook_missed_count": self.webhook_missed + self.pending_missed,
                "skipped_count": len(self.unreadable),
                "gap_count": self.gap,
            }
        )

    def _commit(self):
        """The one place a run commits: what is stored and logged so far stays."""
        self._flush_counters()
        if self.commits:
            self.env.cr.commit()  # pylint: disable=invalid-commit
            self._settle()
            self._analyze_if_grown()

    def _analyze_if_grown(self):
        """Have PostgreSQL count the calls again when a backfill outgrew what it knows.

        Its plans come from the table's statistics. When they know fewer calls of this
        account than the run created since they were made (a new account beside others,
        a fresh backfill of a million calls; autovacuum may be off, or late), the planner
        takes the account for a handful of calls, and the lookup of a page's VBot ids
        scans every call of the account (a page then costs what the account holds). The
        planner's own estimate of the account's calls is read (EXPLAIN) once the run has
        created ANALYZE_EVERY calls, and again each time it has created as many as that
        estimate: the table is analyzed when the estimate is below what this run alone
        created. A few times per backfill, a fraction of a second each.
        """
        if self.since_analyze < max(ANALYZE_EVERY, self.analyzed_rows):
            return
        self.analyzed_rows = self.Call._planned_count([("account_id", "=", self.account.id)])
        if self.since_analyze <= self.analyzed_rows:
            return
        self.env.cr.execute("ANALYZE vbot_call")
        if self.commits:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        self.analyzed_rows = self.Call._planned_count([("account_id", "=", self.account.id)])
        self.since_analyze = 0

    def _settle(self):
        self.created += self.pending_created
        self.updated += self.pending_updated
        self.webhook_missed += self.pending_missed
        self.pending_created = self.pending_updated = self.pending_missed = 0

    def _rolled_back(self):
        """A failure rolled back what was stored since the last commit (or, in a savepoint,
        since the start): those calls are not counted."""
        self.pending_created = self.pending_updated = self.pending_missed = 0

    def _save_account(self, check_generation=False, **vals):
        """Write sync state on the account in a transaction of its own.

        The page work is committed first, so that the write is the whole transaction: a
        form saved meanwhile (PostgreSQL's serialization failure under REPEATABLE READ) costs
        a retry, never the run. With ``check_generation``, stops the run when the connection
        changed since it started (the history restarts: the watermark must not move).
        """
        if not self.commits:
            if check_generation and self.account.sync_generation != self.generation:
                raise ConnectionChanged()
            self.account.write(vals)
            return
        self._commit()
        for attempt in range(6):
            try:
                if check_generation:
                    self.account.invalidate_recordset(["sync_generation"])
                    if self.account.sync_generation != self.generation:
                        raise ConnectionChanged()
                self.account.write(vals)
                self.env.cr.commit()  # pylint: disable=invalid-commit
                return
            except (
                psycopg2.errors.SerializationFailure,
                psycopg2.errors.LockNotAvailable,
                psycopg2.errors.DeadlockDetected,
            ):
                self.env.cr.rollback()
                if attempt == 5:
                    raise
                time.sleep(0.05 * 2**attempt)

    def _event(self, code, level="info", **params):
        self.log._add_event(code, level, **params)

    # ------------------------------------------------------------------
    # Kinds of run
    # ------------------------------------------------------------------
    def sync(self):
        """Windows from the watermark (minus the overlap) to now, oldest first, each fetched,
        verified with countAll and then moving the watermark; then the unreadable calls due
        for a retry, the re-check of the last hours, and VBot's total against ours."""
        account = self.account
        start, history_start = sync_start(
            account.sync_watermark,
            account.sync_history_start,
            self.now,
            overlap_minutes=account.overlap_minutes,
            initial_days=account.initial_days,
        )
        if account.sync_history_start != history_start:
            self._save_account(check_generation=True, sync_history_start=history_start)
        hours = account.sync_window_hours or account.slice_hours
        self.log.write({"window_start": start})
        caught_up = True
        windows = list(plan_windows(start, self.now, hours))
        if len(windows) > 1:  # a backfill
            self._start_stream(windows)
        try:
            for window_start, window_end in windows:
                if self._time_is_up():
                    self._event("budget", date=dt(window_start))
                    caught_up = False
                    break
                if not self._sync_span(window_start, window_end, fetch=True):
                    smaller = shrink_window(hours)
                    self._event(
                        "budget_window", start=dt(window_start), end=dt(window_end), hours=smaller
                    )
                    if smaller != account.sync_window_hours:
                        self._save_account(sync_window_hours=smaller)
                    caught_up = False
                    break
                self._save_account(check_generation=True, sync_watermark=window_end)
                self.log.write({"window_end": window_end})
        finally:
            self._stop_stream()
        if not caught_up:
            return
        if account.sync_window_hours:
            self._save_account(sync_window_hours=0)
        # Calls VBot may have corrected first: then the re-check counts them as stored.
        if not self._time_is_up():
            self._retry_unreadable()
        span = recheck_span(self.now, account.recheck_hours, start, history_start)
        if span and not self._time_is_up():
            self._sync_span(*span, fetch=False)
        if not self._time_is_up():
            self._check_totals(trigger_deep_check=True)

    def deep_check(self, days=None):
        """countAll per local day against what is stored, newest day first; the days that
        differ are fetched again. ``days`` (default the account's) are always checked; older
        days of the history too when the totals still differ."""
        account = self.account
        history_start, watermark = account.sync_history_start, account.sync_watermark
        if not (history_start and watermark):
            self._event("nothing_synced")
            return
        total = self.client.count()
        self._save_account(vbot_count_total=total)
        self._event("vbot_total", count=total)
        end = min(watermark, self.now)
        recent_start = max(
            history_start, self.now - timedelta(days=days or account.deep_check_days)
        )
        spans = local_days(recent_start, end, self.tz)
        if recent_start > history_start:
            vbot, odoo, known = self._totals(history_start, watermark)
            if vbot > odoo + len(known):
                spans += local_days(history_start, recent_start - SECOND, self.tz)
        for span_start, span_end in spans:
            if self._time_is_up():
                self._event("budget", date=dt(span_end))
                return
            if not self._sync_span(span_start, span_end, fetch=False):
                return
            self._commit()
        self._check_totals(trigger_deep_check=False)

    def numbers(self, numbers=()):
        """A contact's history: VBot is asked for every spelling of each number."""
        forms = list(dict.fromkeys(form for number in numbers for form in search_forms(number)))
        self.log.write({"phone_filter": ", ".join(forms)[:255]})
        self._event("numbers", numbers=", ".join(forms))
        for form in forms:
            self._fetch(None, None, phone=form)

    def push(self, groups=()):
        """Call groups handed over (a webhook): stored like fetched ones, period unknown."""
        groups = list(groups or ())
        self._event("pushed", count=len(groups))
        listing = _Listing(None)
        self._store(groups, listing)
        self._close_listing(listing)

    # ------------------------------------------------------------------
    # Fetch, store, verify
    # ------------------------------------------------------------------
    def _sync_span(self, start, end, fetch):
        """Fetch (when asked), verify and, if VBot counts calls that are neither stored nor
        known unreadable, fetch the span again. Returns False when the time ran out first."""
        if fetch and self._fetch(start, end) is None:
            return False
        expected = self.client.count(date_from=start, date_to=end)
        stored, known = self._stored(start, end)
        if expected > stored + len(known):
            self._event(
                "refetch",
                start=dt(start),
                end=dt(end),
                expected=expected,
                stored=stored,
                unreadable=len(known),
            )
            if self._fetch(start, end) is None:
                return False
            stored, known = self._stored(start, end)
        missing = expected - stored - len(known)
        if missing > 0:
            self.gap += missing
            self._event("gap", "warning", start=dt(start), end=dt(end), missing=missing)
        if known:
            self.unreadable |= known
            self._event(
                "unreadable_in_span", "warning", start=dt(start), end=dt(end), count=len(known)
            )
        return True

    def _fetch(self, start, end, phone=None):
        """Store every page VBot lists for the span (or phone); the keys seen, or None when
        the time ran out before the last page."""
        listing = _Listing((start, end) if start else None)
        if phone is None and self.stream_spans and self.stream_spans[0] == (start, end):
            # A backfill's window: its pages come from the run's stream (see _start_stream).
            self.stream_spans.pop(0)
            pages = self._stream_pages()
        else:
            # The next page is fetched while this one is stored (a thread doing only HTTP).
            # Pages are mapped there too (plain Python, no database).
            pages = self.client.iter_pages(
                date_from=start,
                date_to=end,
                phone=phone,
                prefetch=True,
                prepare=self.prepare,
                reader=self._reader(),
            )
        try:
            for _page_no, groups in pages:
                self._store(groups, listing, getattr(groups, "prepared", None))
                self._commit()
                if self._time_is_up():
                    return None
        except VBotTimeBudgetError:
            self.out_of_time = True
            return None
        finally:
            pages.close()
        self._close_listing(listing)
        return listing.touched

    def _start_stream(self, windows):
        """The pages of every window of a backfill, as one stream running ahead: the next
        window's first page is fetched while this one's last pages are stored
        (``iter_spans``). A window fetched again (its count differs) is listed on its own.
        """
        self.stream = self.client.iter_spans(
            windows, prefetch=True, prepare=self.prepare, reader=self._reader()
        )
        self.stream_spans = list(windows)

    def _reader(self):
        """How this run reads pages: for a sync or a deep check, in a child process from
        the first full page on (``services.reader``: a second core maps a backfill while
        this process stores); else here (a contact's fetch, in a request)."""
        if self.reader is None and self.kind in LOCKED_KINDS:
            self.reader = LazyReader(self.prepare, self.client.page_size)
        return self.reader

    def _stream_pages(self):
        """``(page, groups)`` of the stream's next window, up to its end."""
        for _span, page, groups in self.stream:
            if page is None:
                return
            yield page, groups

    def _stop_stream(self):
        if self.stream is not None:
            self.stream.close()
            self.stream, self.stream_spans = None, []

    def _stop_reading(self):
        self._stop_stream()
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _store(self, groups, listing, prepared=None):
        """Map, bound and store one page of ``listing``; remember what cannot be read or stored.

        Within one listing (one fetch), the same id twice with the same content is one call;
        with another content, the second is reported, never merged silently. A call that
        cannot be read is placed between its readable neighbours (see :class:`_Listing`).
        ``prepared`` is :func:`map_group` of each group when done already (by the prefetch).
        """
        if prepared is None:
            prepared = [self.prepare(group) for group in groups]
        mapped = [(group, *item) for group, item in zip(groups, prepared, strict=True)]
        dates = [values and values["call_date"] for _group, values, _error in mapped]
        for group, error, bounds in listing.place(dates, mapped):
            self._unreadable(group, error, bounds, listing.touched)
        seen, touched = listing.seen, listing.touched
        good, raw = [], {}
        for group, values, error in mapped:
            if error is not None:
                continue
            key = values["external_id"]
            touched.add(key)
            self.fetched.add(key)
            payload_hash = hash(values["payload"])
            if key in seen:
                if seen[key] != payload_hash:
                    digest = hashlib.sha1(values["payload"].encode("utf-8")).hexdigest()[:12]
                    error = MappingError(
                        "group_id",
                        f"another call of the answer has the id {key!r}",
                        "duplicate_id",
                        value=repr(key)[:60],
                    )
                    self._unreadable(
                        group,
                        error,
                        listing.bounds,
                        touched,
                        key=f"{key}#dup-{digest}",
                        call_date=values["call_date"],
                    )
                continue
            seen[key] = payload_hash
            good.append(values)
            raw[key] = group
        created, updated, failures = self.Call._upsert_page_isolated(
            self.account, good, origin=CALL_ORIGINS.get(self.kind, "sync")
        )
        self.pending_created += len(created)
        self.since_analyze += len(created)
        self.pending_updated += len(updated)
        if self.webhook_since and self.kind in LOCKED_KINDS:
            self.pending_missed += len(
                created.filtered(lambda call: call.call_date >= self.webhook_since)
            )
        failed = set()
        for values, error in failures:
            failed.add(values["external_id"])
            self._unreadable(
                raw[values["external_id"]],
                error,
                listing.bounds,
                touched,
                key=values["external_id"],
                call_date=values["call_date"],
            )
        self._resolve(
            [values["external_id"] for values in good if values["external_id"] not in failed]
        )

    def _close_listing(self, listing):
        """The listing ended: calls after its last readable one lie down to its start."""
        for group, error, bounds in listing.close():
            self._unreadable(group, error, bounds, listing.touched)

    def _unreadable(self, group, error, bounds, touched, key=None, call_date=None):
        key = _storable_key(key or safe_external_id(group))
        touched.add(key)
        self.remembered.add(key)
        self.fetched.add(key)
        if call_date is None and error.field != "date_create" and isinstance(group, dict):
            try:
                call_date = parse_vbot_datetime(group.get("date_create"), self.tz, now=self.now)
            except MappingError:
                call_date = None
        try:
            with self.env.cr.savepoint():
                self.Unreadable._remember(
                    self.account,
                    key,
                    error,
                    group,
                    call_date=call_date,
                    bounds=bounds,
                    now=self.now,
                )
        except (psycopg2.Error, ValueError) as failure:
            _raise_if_concurrency(failure)
            _logger.warning("VBot call %r could not be remembered as unreadable: %s", key, failure)
        if key in self.unreadable:
            return
        self.unreadable.add(key)
        if self.skipped_lines < MAX_SKIPPED_LINES:
            self.skipped_lines += 1
            reason = {"code": error.code, "p": {"field": error.field, "value": "", **error.params}}
            self._event("call_skipped", "warning", call=key[:80], reason=reason)
        else:
            self.more_skipped += 1

    def _resolve(self, keys):
        """Calls stored now that were remembered as unreadable: forget them."""
        if not keys:
            return
        try:
            with self.env.cr.savepoint():
                solved = self.Unreadable.search(
                    [("account_id", "=", self.account.id), ("external_id", "in", keys)]
                )
                if solved:
                    self.unreadable -= set(solved.mapped("external_id"))
                    self.resolved += len(solved)
                    solved.unlink()
        except (psycopg2.Error, ValueError) as failure:  # bookkeeping never stops a run
            _raise_if_concurrency(failure)
            _logger.warning(
                "VBot account %s: unreadable calls not resolved: %s", self.account.id, failure
            )

    def _stored(self, start, end):
        """(calls stored in the span, keys of the unreadable calls VBot lists in it)."""
        stored = self.Call.search_count(
            [
                ("account_id", "=", self.account.id),
                ("call_date", ">=", start),
                ("call_date", "<=", end),
            ]
        )
        known = self.Unreadable.search_fetch(
            [("account_id", "=", self.account.id), *self.Unreadable._within(start, end)],
            ["external_id"],
        )
        return stored, set(known.mapped("external_id"))

    def _retry_unreadable(self):
        """Fetch again the periods of the unreadable calls due for a retry.

        A call with a readable date is looked for around it (a minute either side), else
        in the whole period VBot listed it in. Still unreadable: retried later (5, 10, 20 …
        minutes). Not listed any more in the whole period: forgotten (VBot dropped it).
        """
        due = self.Unreadable.search(
            [
                ("account_id", "=", self.account.id),
                ("next_retry", "<=", self.now),
                "|",
                ("call_date", "!=", False),
                "&",
                ("date_from", "!=", False),
                ("date_to", "!=", False),
            ],
            order="next_retry",
            limit=500,
        ).filtered(lambda call: call.external_id not in self.remembered)
        spans = merge_spans([call._retry_span(RETRY_MARGIN) for call in due], MAX_RETRY_SPANS)
        for start, end in spans:
            if self._time_is_up():
                return
            seen = self._fetch(start, end)
            if seen is None:
                return
            for call in due.exists():
                span = call._retry_span(RETRY_MARGIN)
                if not (start <= span[0] and span[1] <= end):
                    continue
                if call.external_id in seen:
                    call._retried(self.now)
                elif call._retry_is_wide():
                    self.gone += 1
                    self.unreadable.discard(call.external_id)
                    call.unlink()
                else:
                    call.write({"retry_wide": True, "next_retry": self.now})
            self._commit()

    def _totals(self, start, end):
        vbot = self.client.count(date_from=start, date_to=end)
        odoo, known = self._stored(start, end)
        return vbot, odoo, known

    def _check_totals(self, trigger_deep_check):
        """VBot's count of the whole synced history against Odoo's: any difference is a
        warning; one that unreadable calls do not explain asks for a deep check."""
        account = self.account
        start, end = account.sync_history_start, account.sync_watermark
        if not (start and end):
            return
        vbot, odoo, known = self._totals(start, end)
        self._save_account(vbot_count_span=vbot, odoo_count_span=odoo, vbot_count_date=self.now)
        params = {"vbot": vbot, "odoo": odoo, "start": dt(start), "end": dt(end)}
        if vbot == odoo:
            self._event("totals", **params)
            return
        self.unreadable |= known
        self._event("totals_mismatch", "warning", unreadable=len(known), **params)
        if trigger_deep_check and vbot > odoo + len(known):
            last = account.last_deep_check_log_id.date_start
            if not last or self.now - last > DEEP_CHECK_EVERY:
                self._event("totals_deep_check")
                self.env.ref("vbot_call_history.ir_cron_vbot_deep_check").sudo()._trigger()

    def _close(self):
        """The run's closing lines."""
        if self.more_skipped:
            self._event("more_skipped", count=self.more_skipped)
        if self.resolved:
            self._event("resolved", count=self.resolved)
        if self.gone:
            self._event("gone", count=self.gone)
        if self.webhook_since and self.kind in LOCKED_KINDS:
            self._event("webhook_missed", count=self.webhook_missed + self.pending_missed)
        self._flush_counters()


# ----------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------
def execute(account, kind="sync", origin="schedule", *, deadline=None, clock=None, **options):
    """Run ``kind`` for ``account`` and record it; the one driver of the engine.

    Never raises — except, for the unlocked kinds run in a request (``numbers``, ``push``),
    PostgreSQL's concurrency errors (serialization failure, deadlock), so that Odoo retries
    the request. Returns the run's log, or an empty log when another run of the account
    holds the lock (the cron skips it; a button says so).
    """
    account = account.sudo()
    env = account.env
    Log = env["vbot.sync.log"].sudo()
    locked = kind in LOCKED_KINDS
    try:
        if locked and not account._try_lock():
            _logger.info("VBot account %s is already being synced; skipped", account.id)
            return Log
    except Exception:
        _logger.exception("VBot account %s: the sync lock could not be taken", account.id)
        return Log
    try:
        if locked:
            account._mark_interrupted()
        log = Log.create(
            {
                "account_id": account.id,
                "date_start": fields.Datetime.now(),
                "origin": origin,
                "run_type": kind,
            }
        )
        run = SyncRun(account, log, kind, deadline=deadline, clock=clock or time.monotonic)
        if kind == "sync":
            run._save_account(last_sync_log_id=log.id)
        elif kind == "deep_check":
            run._save_account(last_deep_check_log_id=log.id)
        else:
            run._commit()
        error_event, warning_event = None, None
        try:
            with _guard(env, locked):
                try:
                    getattr(run, kind)(**options)
                finally:
                    run._stop_reading()
                run._close()
            run._settle()
        except ConnectionChanged:
            warning_event = {"code": "connection_changed"}
            run._settle()
        except Exception as error:
            if not locked and _is_concurrency(error):
                # In a request (a contact's fetch, a webhook): Odoo retries the request in a
                # new transaction, which sees what the concurrent one stored.
                raise
            error_event = error_event_for(account.base_url, error)
            if error_event["code"] == "error_other":
                _logger.exception("VBot %s of account %s failed", kind, account.id)
            else:
                _logger.info("VBot %s of account %s failed: %s", kind, account.id, error)
            if run.commits:
                env.cr.rollback()
            run._rolled_back()
        if warning_event:
            log._add_event(warning_event["code"], "warning")
        run._flush_counters()
        log._finish(error_event)
        if kind == "sync":
            failures = account.sync_failure_count + 1 if error_event else 0
            run._save_account(
                sync_failure_count=failures,
                sync_retry_at=(run.now + backoff_delay(failures)) if failures else False,
            )
        run._commit()
        return log
    finally:
        if locked:
            account._unlock()


class _KeySet:
    """A set of VBot ids that only counts them, kept small for a million ids.

    Each id is kept as its 64-bit hash (``hash()``: stable within the process), the older
    ones in a sorted ``array`` (8 bytes each), the recent ones in a set merged into it
    every :attr:`MERGE` ids. Two ids with the same hash would count once: about one chance
    in 10**7 for a million ids.
    """

    MERGE = 100_000

    def __init__(self):
        self.old = array("q")
        self.recent = set()

    def add(self, key):
        code = hash(key)
        if code in self.recent:
            return
        old = self.old
        index = bisect.bisect_left(old, code)
        if index < len(old) and old[index] == code:
            return
        self.recent.add(code)
        if len(self.recent) >= self.MERGE:
            self.old = array("q", heapq.merge(old, sorted(self.recent)))
            self.recent = set()

    def __len__(self):
        return len(self.old) + len(self.recent)


class _Listing:
    """What a run knows while it reads one listing of VBot (the pages of one fetch).

    VBot lists calls newest first. While the readable dates do go down, a call that cannot
    be read lies between the readable calls listed around it — on its page or the pages
    before and after — which pins it within seconds, so that counting a period knows whether
    it is in it. Once the listing is out of order (or without a period: a contact's numbers,
    a webhook), such a call is only known to be within the listing's period.
    """

    def __init__(self, bounds):
        self.bounds = bounds
        self.seen = {}  # VBot id -> hash of its payload
        self.touched = set()  # every key met, readable or not
        self.ordered = bool(bounds and bounds[0])
        self.newer = None  # the last readable date met
        self.tail = []  # unreadable calls after it: (group, error, newer)

    def place(self, dates, mapped):
        """``(group, error, bounds)`` of this page's unreadable calls that can be placed now."""
        readable = [date for date in dates if date]
        if readable and (
            any(newer < older for newer, older in itertools.pairwise(readable))
            or (self.newer is not None and self.newer < readable[0])
        ):
            self.ordered = False
        placed = []
        if readable:  # the calls left at the end of the previous page lie above this one
            placed += [(g, e, self._span(readable[0], newer)) for g, e, newer in self.tail]
            self.tail = []
        for index, (group, _values, error) in enumerate(mapped):
            if error is None:
                continue
            newer = next((d for d in reversed(dates[:index]) if d), None) or self.newer
            older = next((d for d in dates[index + 1 :] if d), None)
            if older is None:
                self.tail.append((group, error, newer))
            else:
                placed.append((group, error, self._span(older, newer)))
        if readable:
            self.newer = readable[-1]
        return placed

    def close(self):
        placed = [(g, e, self._span(None, newer)) for g, e, newer in self.tail]
        self.tail = []
        return placed

    def _span(self, older, newer):
        if not self.ordered:
            return self.bounds
        start = max(older, self.bounds[0]) if older else self.bounds[0]
        end = min(newer, self.bounds[1]) if newer else self.bounds[1]
        return (start, end) if start <= end else self.bounds


def map_group(group, text=None, *, tz, now):
    """``(values, error)``: the group mapped, or why it cannot be.

    Plain Python (no database): the prefetch runs it while a page is stored, in a child
    process during a backfill (``services.reader``). ``text`` is the group's canonical
    JSON when the listing made it already.
    """
    try:
        return map_call(group, tz, now=now, text=text), None
    except MappingError as error:
        return None, error
    except RecursionError:
        return None, MappingError("group", "nested too deeply to be read", "too_nested")


def _is_concurrency(error):
    try:
        _raise_if_concurrency(error)
    except Exception:
        return True
    return False


def _storable_key(key):
    """A key any column takes: clean text of at most MAX_ID characters (distinct stays distinct)."""
    text = clean_text(key, None)
    if len(text) > MAX_ID:
        text = f"{text[: MAX_ID - 46]}~sha1:{hashlib.sha1(text.encode('utf-8')).hexdigest()}"
    return text


def _guard(env, locked):
    """What a failed run leaves: tests roll back to a savepoint, a locked run rolls back its
    transaction (its pages are committed), an unlocked one (in a request) its savepoint."""
    if _testing() or not locked:
        return env.cr.savepoint()
    return nullcontext()


def error_event_for(base_url, error):
    """A failure as a log event: VBot unreachable (naming the host), credentials refused,
    an unreadable answer, or the configuration."""
    host = urlsplit(base_url or "").hostname or base_url or "?"
    event = getattr(error, "vbot_event", None)
    if event:
        return event
    if isinstance(error, VBotURLRefused):
        params = {"why": error.code, "host": error.host or "", "detail": str(error)[:200]}
        return {"code": "url_refused", "p": params}
    if isinstance(error, VBotAuthError):
        code = "error_token" if error.reason == "token" else "error_auth"
        return {"code": code, "p": {"host": host}}
    if isinstance(error, VBotTimeBudgetError):
        return {"code": "error_unreachable", "p": {"host": host, "reason": "timeout"}}
    if isinstance(error, VBotRetryableError):
        code = "error_unreachable" if error.unreachable else "error_server"
        return {"code": code, "p": {"host": host, "reason": error.reason or str(error)}}
    if isinstance(error, VBotResponseError):
        if error.reason == "not_json":
            return {"code": "error_not_json", "p": {"host": host}}
        if error.reason == "shape":
            return {"code": "error_bad_shape", "p": {"host": host, "path": error.path}}
        if error.reason == "envelope":
            message = error.vbot_message or str(error.code)
            return {
                "code": "error_vbot",
                "p": {"host": host, "message": message, "code": str(error.code)},
            }
        return {"code": "error_response", "p": {"host": host, "detail": _detail(error)}}
    if isinstance(error, VBotError | UserError):
        return {"code": "error_other", "p": {"detail": _detail(error)}}
    return {"code": "error_other", "p": {"detail": f"{type(error).__name__}: {_detail(error)}"}}


def _detail(error):
    text = str(error.args[0] if isinstance(error, UserError) and error.args else error)
    return text[:300]
