"""A hostile "other host" for security tests: it records everything sent to it.

Point a redirect fault, a webhook or a tampered recording URL at it, then assert that
``listener.requests`` is empty (or holds no credential)::

    with ForeignListener() as foreign:
        sim.state.set_faults(queue=["redirect"], redirect_to=foreign.url + "/steal")
        ...
        assert foreign.requests == []
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 4 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "ForeignHost/1.0"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def _any(self) -> None:
        body = b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if 0 < length <= MAX_BODY:
            body = self.rfile.read(length)
        elif length:
            self.close_connection = True
        self.server.record((self.command, self.path, dict(self.headers.items()), body))
        answer = self.server.body
        self.send_response(self.server.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], status: int, body: bytes) -> None:
        super().__init__(address, _Handler)
        self.status, self.body = status, body
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def record(self, request: tuple[str, str, dict[str, str], bytes]) -> None:
        with self.lock:
            self.requests.append(request)


class ForeignListener:
    """A tiny threaded HTTP server on ``host`` (127.0.0.1), port 0, that answers ``status``
    (200) with a small body to any method and path and records each request.

    ``requests`` is a list of ``(method, path, headers dict, body bytes)``; ``url`` is
    ``http://127.0.0.1:<port>``. Use it as a context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(
        self, host: str = "127.0.0.1", status: int = 200, body: bytes = b"foreign host\n"
    ) -> None:
        self._httpd = _Server((host, 0), status, body)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str], bytes]]:
        """Every request received so far (a copy)."""
        with self._httpd.lock:
            return list(self._httpd.requests)

    def clear(self) -> None:
        with self._httpd.lock:
            self._httpd.requests.clear()

    def start(self) -> ForeignListener:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"foreign-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with contextlib.suppress(OSError):
            self._httpd.server_close()

    def __enter__(self) -> ForeignListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
