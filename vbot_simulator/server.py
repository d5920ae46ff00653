"""HTTP front of the simulator: VBot's historycall API, /token, and /_sim control endpoints."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from .audio import recording_wav
from .config import SimulatorConfig
from .state import SimulatorState

API_PREFIXES = ("/v2.0", "/v3.0")
HISTORY = "/api/crm/historycall/"
MAX_SIZE = 500
MS_THRESHOLD = 10**11
MALFORMED_BODY = b'{"error":0,"message":"success","data":['


class ApiError(Exception):
    """An error answered as the envelope ``{"error": code, "message": ..., "data": null}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def strip_prefix(path: str) -> str:
    """``/v2.0/x`` and ``/v3.0/x`` -> ``/x``; other paths unchanged."""
    for prefix in API_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :] or "/"
    return path


def _int_param(query: dict[str, str], name: str, default: int | None) -> int | None:
    """An integer query parameter, ``default`` when absent or blank; ApiError(-1) otherwise."""
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(200, -1, f"Invalid parameter {name}: {raw!r}") from None


def _epoch_param(query: dict[str, str], name: str) -> int | None:
    """``from``/``to``: epoch seconds, or milliseconds when above 10**11."""
    value = _int_param(query, name, None)
    if value is not None and value > MS_THRESHOLD:
        value //= 1000
    return value


class SimulatorHandler(BaseHTTPRequestHandler):
    """One request; everything stateful goes through ``self.server.state``."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "VBotSimulator/1.0"
    timeout = 60  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def state(self) -> SimulatorState:
        return self.server.state

    def log_message(self, format: str, *args: Any) -> None:
        """One line per request on stderr, only with ``--verbose``."""
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def log_error(self, format: str, *args: Any) -> None:
        """Errors always go to stderr."""
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, headers=headers)

    def _envelope(
        self, status: int, code: int, message: str, data: Any = None, **headers: str
    ) -> None:
        self._json(status, {"error": code, "message": message, "data": data}, headers or None)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.state.log_request(self.command, split.path, query)
        path = strip_prefix(split.path)
        method = "GET" if self.command == "HEAD" else self.command
        try:
            body = self._read_body()
            if path == "/token":
                self._require(method, "POST")
                self._token(body)
            elif path.startswith("/_sim/"):
                self._control(method, path, query, body)
            elif path in (HISTORY + "getAll", HISTORY + "countAll") or path.startswith(
                HISTORY + "record/"
            ):
                self._require(method, "GET")
                self._api(path, query)
            else:
                raise ApiError(404, 404, f"Not found: {split.path}")
        except ApiError as err:
            self._envelope(err.status, err.code, err.message)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:
            self.log_error("internal error: %r", err)
            self._envelope(500, 500, "Internal simulator error")

    @staticmethod
    def _require(method: str, wanted: str) -> None:
        if method != wanted:
            raise ApiError(405, 405, f"Method {method} not allowed")

    # -- /token ------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        """v2 OAuth-style token: grant_type password or refresh_token (form or JSON body)."""
        content_type = self.headers.get("Content-Type", "")
        form: dict[str, str]
        if "json" in content_type:
            try:
                loaded = json.loads(body or b"{}")
            except ValueError:
                raise ApiError(400, 400, "Invalid JSON body") from None
            form = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        else:
            decoded = body.decode("utf-8", "replace")
            form = {k: v[0] for k, v in parse_qs(decoded, keep_blank_values=True).items()}
        grant = form.get("grant_type") or "password"
        state = self.state
        if grant == "password":
            if not state.check_password(form.get("username"), form.get("password")):
                raise ApiError(401, 401, "Invalid username or password")
        elif grant == "refresh_token":
            if not state.check_refresh_token(form.get("refresh_token")):
                raise ApiError(401, 401, "Invalid refresh token")
        else:
            raise ApiError(400, 400, f"Unsupported grant_type {grant!r}")
        self._json(200, state.issue_token())

    # -- /_sim -------------------------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        """Simulator control endpoints (no auth)."""
        state = self.state
        if path == "/_sim/faults":
            self._require(method, "POST")
            try:
                settings = json.loads(body or b"{}")
                if not isinstance(settings, dict):
                    raise TypeError("expected a JSON object")
                state.set_faults(**settings)
            except (TypeError, ValueError) as err:
                raise ApiError(400, 400, f"Bad faults: {err}") from None
            self._json(200, {"ok": True, "faults": vars(state.faults)})
        elif path == "/_sim/calls":
            self._require(method, "POST")
            n = _int_param(query, "n", 1) or 0
            new = state.add_calls(n)
            self._json(200, {"added": len(new), "group_ids": [g["group_id"] for g in new]})
        elif path == "/_sim/customers":
            self._require(method, "GET")
            self._json(200, state.customers)
        elif path == "/_sim/expire_tokens":
            self._require(method, "POST")
            state.expire_tokens()
            self._json(200, {"ok": True})
        else:
            raise ApiError(404, 404, f"Not found: {path}")

    # -- API ---------------------------------------------------------------------------------

    def _authenticate(self, query: dict[str, str], ids_required: bool = True) -> None:
        """X-API-Key (v3) or Bearer token + vbot_id + project_code (v2), on any prefix.

        The recording URL carries no query, so with ``ids_required=False`` the ids are only
        checked when given.
        """
        state = self.state
        key = self.headers.get("X-API-Key")
        if key and state.check_api_key(key):
            return
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not state.check_access_token(token.strip()):
            raise ApiError(401, 401, "Unauthorized: missing, invalid or expired credentials")
        config = state.config
        ids = (query.get("vbot_id"), query.get("project_code"))
        if not ids_required and ids == (None, None):
            return
        if ids != (config.vbot_id, config.project_code):
            raise ApiError(200, -1, "Invalid vbot_id or project_code")

    def _api(self, path: str, query: dict[str, str]) -> None:
        """Authenticate, apply the next fault, then answer getAll / countAll / record."""
        is_record = path.startswith(HISTORY + "record/")
        self._authenticate(query, ids_required=not is_record)
        fault = self.state.next_fault()
        if fault == "500":
            raise ApiError(500, 500, "Internal Server Error")
        if fault == "429":
            retry_after = str(self.state.faults.retry_after)
            self._envelope(429, 429, "Too Many Requests", **{"Retry-After": retry_after})
            return
        if fault == "malformed":
            self._send(200, MALFORMED_BODY)
            return
        if fault == "error":
            raise ApiError(200, 500, "Internal error")
        if fault == "slow":
            time.sleep(self.state.faults.slow_seconds)
        if is_record:
            self._record(unquote(path[len(HISTORY + "record/") :]))
            return
        state = self.state
        q = state.make_query(
            _epoch_param(query, "from"), _epoch_param(query, "to"), query.get("phone")
        )
        if path.endswith("/countAll"):
            self._envelope(200, 0, "success", state.count(q))
            return
        page = _int_param(query, "page", 1)
        size = _int_param(query, "size", 50)
        assert page is not None and size is not None
        if page < 1:
            raise ApiError(200, -1, "Invalid parameter page: must be >= 1")
        if not 1 <= size <= MAX_SIZE:
            raise ApiError(200, -1, f"Invalid parameter size: must be 1..{MAX_SIZE}")
        self._envelope(200, 0, "success", state.page(q, page, size, arrivals=True))

    def _record(self, call_id: str) -> None:
        if self.state.find_recording(call_id) is None:
            raise ApiError(404, 404, f"Recording not found: {call_id}")
        body = recording_wav(call_id)
        wanted = _byte_range(self.headers.get("Range"), len(body))
        if wanted is None:
            self._send(200, body, content_type="audio/wav", headers={"Accept-Ranges": "bytes"})
            return
        start, end = wanted
        self._send(
            206,
            body[start : end + 1],
            content_type="audio/wav",
            headers={"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(body)}"},
        )


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes of a single ``Range: bytes=a-b`` header, None for the whole file."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or not (match[1] or match[2]) or size == 0:
        return None
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(size - int(match[2]), 0), size - 1
    if start > end:
        return None
    return start, end


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its state and can drop open connections on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], verbose: bool) -> None:
        super().__init__(address, SimulatorHandler)
        self.verbose = verbose
        self.state: SimulatorState  # set by SimulatorServer once the port is known
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SimulatorServer:
    """A VBot call-history API on ``host:port`` (port 0 picks a free one).

    The socket is bound and the data generated in the constructor, so :attr:`url` and
    :attr:`state` are usable before :meth:`start`, which serves in a daemon thread.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or SimulatorConfig()
        self._httpd = _Server((host, port), verbose=self.config.verbose)
        bound_host, bound_port = self._httpd.server_address[:2]
        url_host = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
        if ":" in str(url_host):
            url_host = f"[{url_host}]"
        self.host, self.port = str(bound_host), int(bound_port)
        self.url = f"http://{url_host}:{self.port}"
        self.base_url_v2 = self.url + "/v2.0"
        self.base_url_v3 = self.url + "/v3.0"
        self.state = SimulatorState(self.config, self.url)
        self._httpd.state = self.state
        self._thread: threading.Thread | None = None

    def start(self) -> SimulatorServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"vbot-sim-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or an interrupt."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving, close the listening socket and any open connection."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
