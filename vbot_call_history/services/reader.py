"""Reading pages of call groups in a child process, so that a backfill uses a second core.

The sync's own process stores pages (Odoo, PostgreSQL); reading them - the canonical JSON
of each group, its digest, the mapping (:func:`~.client.read_page`) - is plain Python that
competes with it for one interpreter lock. :class:`ForkedReader` runs it in a child forked
from the sync's process: the parent only pickles the groups out and the mapped values back
(about 7 us a call, against 50 to 100 us of reading).

The child is forked, not spawned, so it runs exactly the code the parent runs, with no
import nor configuration of its own. It touches no file, socket, lock or database of the
parent: it reads its pipe, computes, writes its pipe; it freezes what it inherited from the
garbage collector (a connection of the parent collected there would close the parent's
session) and leaves with ``os._exit``. It ends when the pipe closes (the parent is gone or
closed it). A page it cannot take (a group too deep to pickle) or a child that died is read
in the parent instead, as without a child: nothing is lost, only the second core.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import threading
import warnings
from collections.abc import Callable
from typing import Any

from .client import read_page

_logger = logging.getLogger(__name__)

__all__ = ["ForkedReader", "LazyReader", "can_fork"]


def can_fork() -> bool:
    """Whether this platform forks (Linux, macOS; not Windows)."""
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


class ForkedReader:
    """:func:`~.client.read_page` with ``prepare``, in a forked child; call it with a page.

    One page at a time (a lock): pages are read in order anyway. :meth:`close` ends the
    child; so does the parent's exit (the pipe closes, the child is a daemon).
    """

    def __init__(self, prepare: Callable[[Any, str | None], Any]) -> None:
        self.prepare = prepare
        self._lock = threading.Lock()
        context = multiprocessing.get_context("fork")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child_conn, self._conn, prepare),
            name="vbot-reader",
            daemon=True,
        )
        enabled = gc.isenabled()
        gc.disable()  # nothing of the parent is collected in the child before _serve
        try:
            with warnings.catch_warnings():
                # Python 3.12 warns on fork with threads; the child uses none (see above).
                warnings.simplefilter("ignore", DeprecationWarning)
                self._process.start()
        finally:
            if enabled:
                gc.enable()
        child_conn.close()
        self.broken = False

    def __call__(self, groups: list[Any]) -> list[tuple[Any, Any, Any]]:
        if not self.broken:
            with self._lock:
                try:
                    self._conn.send(groups)
                except (RecursionError, ValueError, TypeError, AttributeError) as error:
                    # Not picklable (nested too deeply): this page is read here.
                    _logger.info("VBot page read in the sync's process: %s", error)
                    return read_page(groups, self.prepare)
                except OSError as error:
                    self._broken(error)
                else:
                    try:
                        status, result = self._conn.recv()
                    except (EOFError, OSError) as error:
                        self._broken(error)
                    else:
                        if status == "ok":
                            return result
                        self._broken(result)
        return read_page(groups, self.prepare)

    def _broken(self, reason: Any) -> None:
        _logger.warning(
            "VBot page reader stopped (%s); pages are read in the sync's process", reason
        )
        self.broken = True
        self.close()

    def close(self) -> None:
        """End the child (it exits when its pipe closes)."""
        self._conn.close()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2)

    def __enter__(self) -> ForkedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Any, parent_conn: Any, prepare: Callable[[Any, str | None], Any]) -> None:
    """The child: read each page received, send the result back, until the pipe closes."""
    gc.freeze()  # what the parent held stays as it is: never collected (nor finalized) here
    gc.enable()
    parent_conn.close()  # the parent's end: the pipe closes when the parent closes it
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    while True:
        try:
            groups = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", read_page(groups, prepare))
        except Exception as error:  # sent to the parent, which reads the page itself
            answer = ("error", f"{type(error).__name__}: {error}")
        try:
            conn.send(answer)
        except (RecursionError, ValueError, TypeError, AttributeError) as error:
            conn.send(("error", f"{type(error).__name__}: {error}"))
        except OSError:
            return


class LazyReader:
    """:func:`~.client.read_page` with ``prepare``: here while pages are short, in a
    :class:`ForkedReader` from the first full page on (a listing of more pages), which then
    serves every later listing. A sync that is up to date (a short page) never forks."""

    def __init__(self, prepare: Callable[[Any, str | None], Any], page_size: int) -> None:
        self.prepare = prepare
        self.page_size = page_size
        self.forked: ForkedReader | None = None
        self.forkable = can_fork()

    def __call__(self, groups: list[Any]) -> list[tuple[Any, Any, Any]]:
        if self.forked is None and self.forkable and len(groups) >= self.page_size:
            try:
                self.forked = ForkedReader(self.prepare)
            except OSError as error:  # no process left to fork: read here
                _logger.warning("VBot pages are read in the sync's process: %s", error)
                self.forkable = False
        if self.forked is not None:
            return self.forked(groups)
        return read_page(groups, self.prepare)

    def close(self) -> None:
        if self.forked is not None:
            self.forked.close()
            self.forked = None
