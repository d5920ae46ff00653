"""HTTP front of the simulator: VBot's historycall and member APIs, /token, /_sim control."""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .audio import recording_wav
from .config import SimulatorConfig
from .data import CALL_TYPES
from .state import MAX_ADD, SimulatorState
from .webhooks import EVENTS

API_PREFIXES = ("/v2.0", "/v3.0")
HISTORY = "/api/crm/historycall/"
MEMBER = "/api/member/"
MEMBER_PATHS = (MEMBER + "getAll", MEMBER + "countAll", MEMBER + "getByMemberNo")
MAX_SIZE = 500
MAX_BODY = 32 * 1024 * 1024
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
        raise ApiError(200, -1, f"Invalid parameter {name}: {raw[:40]!r}") from None


def _epoch_param(query: dict[str, str], name: str) -> int | None:
    """``from``/``to``: epoch seconds, or milliseconds when above 10**11."""
    value = _int_param(query, name, None)
    if value is not None and value > MS_THRESHOLD:
        value //= 1000
    return value


def _sim_number(query: dict[str, str], name: str, kind: type, default: Any = None) -> Any:
    """A number in a /_sim query string; HTTP 400 when it is not one."""
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(400, 400, f"Bad parameter {name}: {raw[:40]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, 400, f"Bad parameter {name}: {raw[:40]!r}")
    return value


def _sim_type_call(query: dict[str, str]) -> str | None:
    """``type`` of ``POST /_sim/calls``: INCALL, OUTCALL or MISSCALL (any case); HTTP 400 else."""
    raw = (query.get("type") or "").strip().upper()
    if not raw:
        return None
    if raw not in CALL_TYPES:
        raise ApiError(400, 400, f"Bad parameter type: {raw[:20]!r}; use one of {CALL_TYPES}")
    return raw


def _json_body(body: bytes, default: Any = None) -> Any:
    """The JSON of a /_sim body; HTTP 400 when it is not JSON."""
    if not body.strip():
        return default
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, 400, "Invalid JSON body") from None


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
        if self.close_connection:
            self.send_header("Connection", "close")
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
        """The request body; 400/411/413 (and the connection closed) when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise ApiError(411, 411, "Length Required: chunked bodies are not supported")
        raw = self.headers.get("Content-Length")
        if raw is None or raw.strip() == "":
            return b""
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ApiError(400, 400, "Bad Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, 413, f"Body too large (at most {MAX_BODY} bytes)")
        return self.rfile.read(length) if length else b""

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

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        path = strip_prefix(split.path)
        method = "GET" if self.command == "HEAD" else self.command
        body, unreadable = b"", None
        try:
            body = self._read_body()
        except ApiError as err:
            unreadable = err
        except OSError:
            self.close_connection = True
            return
        self.state.log_request(self.command, split.path, query, dict(self.headers.items()), body)
        try:
            if unreadable is not None:
                raise unreadable
            is_history = path in (HISTORY + "getAll", HISTORY + "countAll") or path.startswith(
                HISTORY + "record/"
            )
            if path == "/token" or is_history or path in MEMBER_PATHS:
                self._latency()
            if path == "/token":
                self._require(method, "POST")
                self._token(body)
            elif path.startswith("/_sim/"):
                self._control(method, path, query, body)
            elif is_history or path in MEMBER_PATHS:
                self._require(method, "GET")
                self._api(path, query)
            else:
                raise ApiError(404, 404, f"Not found: {split.path[:200]}")
        except ApiError as err:
            self._envelope(err.status, err.code, err.message)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:
            self.log_error("internal error: %r", err)
            self._envelope(500, 500, "Internal simulator error")

    def _latency(self) -> None:
        """The configured network latency (no lock held while waiting)."""
        delay = self.state.faults.latency_ms
        if delay > 0:
            time.sleep(delay / 1000)

    @staticmethod
    def _require(method: str, *wanted: str) -> None:
        if method not in wanted:
            raise ApiError(405, 405, f"Method {method[:20]} not allowed")

    # -- /token ------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        """v2 OAuth-style token: grant_type password or refresh_token (form or JSON body)."""
        content_type = self.headers.get("Content-Type", "")
        form: dict[str, str]
        if "json" in content_type:
            try:
                loaded = json.loads(body or b"{}")
            except (ValueError, RecursionError):
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
            raise ApiError(400, 400, f"Unsupported grant_type {grant[:40]!r}")
        self._json(200, state.issue_token())

    # -- /_sim -------------------------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        """Simulator control endpoints (no auth); bad input is a 400, never a crash."""
        try:
            self._control_route(method, path, query, body)
        except (TypeError, ValueError, OverflowError, RecursionError) as err:
            raise ApiError(400, 400, f"Bad request: {str(err)[:300]}") from None

    def _control_route(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        state = self.state
        if path == "/_sim/faults":
            self._require(method, "GET", "POST")
            if method == "POST":
                settings = _json_body(body, {})
                if not isinstance(settings, dict):
                    raise TypeError("expected a JSON object")
                try:
                    state.set_faults(**settings)
                except (TypeError, ValueError) as err:
                    raise ApiError(400, 400, f"Bad faults: {str(err)[:300]}") from None
            self._json(200, {"ok": True, "faults": vars(state.faults)})
        elif path == "/_sim/calls":
            self._require(method, "POST")
            n = _sim_number(query, "n", int, 1)
            p2p = _sim_number(query, "p2p", int, 0)
            if not 0 <= n <= MAX_ADD or not 0 <= p2p <= MAX_ADD:
                raise ApiError(400, 400, f"n and p2p must be in 0..{MAX_ADD}")
            new = state.add_calls(
                n,
                age_hours=_sim_number(query, "age_hours", float),
                at_epoch=_sim_number(query, "at_epoch", int),
                p2p=p2p,
                type_call=_sim_type_call(query),
            )
            internal = state.p2p_calls[:p2p] if p2p else []
            self._json(
                200,
                {
                    "added": len(new),
                    "group_ids": [g["group_id"] for g in new],
                    "p2p_group_ids": [g["group_id"] for g in internal],
                },
            )
        elif path == "/_sim/groups":
            self._require(method, "POST", "DELETE")
            if method == "DELETE":
                self._remove_groups(query, body)
                return
            payload = _json_body(body)
            epoch = None
            if isinstance(payload, dict):
                epoch = payload.get("epoch")
                if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
                    raise ApiError(400, 400, "epoch must be an integer (epoch seconds)")
                if epoch is not None and epoch > MS_THRESHOLD:
                    epoch //= 1000
                payload = payload.get("groups")
            if not isinstance(payload, list):
                raise ApiError(400, 400, 'expected a JSON list of groups or {"groups": [...]}')
            results = state.upsert_groups(payload, epoch)
            self._json(200, {"ok": True, "results": results, "count": state.count(_ALL)})
        elif path == "/_sim/groups/remove":
            self._require(method, "POST")
            self._remove_groups(query, body)
        elif path == "/_sim/customers":
            self._require(method, "GET")
            self._json(200, state.customers)
        elif path == "/_sim/members":
            self._require(method, "GET")
            self._json(200, state.members)
        elif path == "/_sim/p2p_calls":
            self._require(method, "GET")
            self._json(200, state.p2p_calls)
        elif path == "/_sim/expire_tokens":
            self._require(method, "POST")
            state.expire_tokens()
            self._json(200, {"ok": True})
        elif path == "/_sim/requests":
            self._require(method, "GET", "DELETE")
            if method == "DELETE":
                state.clear_requests()
                self._json(200, {"ok": True})
                return
            self._json(200, _requests_view(state, query))
        elif path.startswith("/_sim/webhook"):
            self._webhook_control(method, path, query, body)
        else:
            raise ApiError(404, 404, f"Not found: {path[:200]}")

    def _remove_groups(self, query: dict[str, str], body: bytes) -> None:
        payload = _json_body(body, {})
        ids: Any = payload.get("group_ids", []) if isinstance(payload, dict) else payload
        if query.get("group_id"):
            ids = [*(ids or []), *query["group_id"].split(",")]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, 400, 'expected {"group_ids": [...]} or ?group_id=a,b')
        self._json(200, {"removed": self.state.remove_groups(ids)})

    def _webhook_control(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        hooks = self.state.webhooks
        if path == "/_sim/webhook":
            self._require(method, "GET", "POST")
            if method == "POST":
                changes = _json_body(body, {})
                if not isinstance(changes, dict):
                    raise TypeError("expected a JSON object of webhook settings")
                try:
                    hooks.configure(**changes)
                except (TypeError, ValueError) as err:
                    raise ApiError(400, 400, f"Bad webhook settings: {str(err)[:300]}") from None
            since = _sim_number(query, "since", int, 0)
            with hooks._cond:
                log = [e for e in hooks.log if e["seq"] > since]
            self._json(
                200,
                {
                    "settings": hooks.settings.public(),
                    "events": list(EVENTS),
                    "pending": hooks.pending,
                    "log": log,
                },
            )
        elif path == "/_sim/webhook/flush":
            self._require(method, "POST")
            timeout = _sim_number(query, "timeout", float, 10.0)
            done = hooks.flush(min(max(timeout, 0.0), 120.0))
            self._json(200, {"flushed": done, "pending": hooks.pending})
        elif path == "/_sim/webhook/emit":
            self._require(method, "POST")
            payload = _json_body(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
                raise ApiError(400, 400, 'expected {"event": NAME, "body": ANY}')
            group_id = payload.get("group_id")
            queued = hooks.emit(
                payload["event"], payload.get("body"), group_id if isinstance(group_id, str) else ""
            )
            self._json(200, {"queued": queued})
        elif path == "/_sim/webhook/send":
            self._require(method, "POST")
            try:
                queued = self.state.send_webhooks(query.get("group_id", ""))
            except KeyError:
                raise ApiError(404, 404, "No such group_id") from None
            self._json(200, {"queued": queued})
        elif path == "/_sim/webhook/clear":
            self._require(method, "POST")
            hooks.clear_log()
            self._json(200, {"ok": True})
        else:
            raise ApiError(404, 404, f"Not found: {path[:200]}")

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
        """Authenticate, apply the next fault, then answer history, record or member calls."""
        is_record = path.startswith(HISTORY + "record/")
        self._authenticate(query, ids_required=not is_record)
        state = self.state
        fault = state.next_fault()
        if fault == "500":
            raise ApiError(500, 500, "Internal Server Error")
        if fault == "429":
            retry_after = str(state.faults.retry_after)
            self._envelope(429, 429, "Too Many Requests", **{"Retry-After": retry_after})
            return
        if fault == "malformed":
            self._send(200, MALFORMED_BODY)
            return
        if fault == "error":
            raise ApiError(200, 500, "Internal error")
        if fault == "redirect":
            self._envelope(302, 302, "Found", Location=state.faults.redirect_to)
            return
        if fault == "slow":
            time.sleep(state.faults.slow_seconds)
        if is_record:
            self._record(unquote(path[len(HISTORY + "record/") :]))
            return
        if path.startswith(MEMBER):
            self._members(path, query)
            return
        q = state.make_query(
            _epoch_param(query, "from"), _epoch_param(query, "to"), query.get("phone")
        )
        if path.endswith("/countAll"):
            self._envelope(200, 0, "success", state.count(q))
            return
        page, size = self._paging(query)
        data = state.page_json(q, page, size, arrivals=True)
        self._send(200, b'{"error":0,"message":"success","data":' + data.encode("utf-8") + b"}")

    @staticmethod
    def _paging(query: dict[str, str]) -> tuple[int, int]:
        page = _int_param(query, "page", 1)
        size = _int_param(query, "size", 50)
        assert page is not None and size is not None
        if page < 1:
            raise ApiError(200, -1, "Invalid parameter page: must be >= 1")
        if not 1 <= size <= MAX_SIZE:
            raise ApiError(200, -1, f"Invalid parameter size: must be 1..{MAX_SIZE}")
        return page, size

    def _members(self, path: str, query: dict[str, str]) -> None:
        members = self.state.members
        if path.endswith("/countAll"):
            self._envelope(200, 0, "success", len(members))
        elif path.endswith("/getAll"):
            page, size = self._paging(query)
            start = (page - 1) * size
            self._envelope(200, 0, "success", members[start : start + size])
        else:
            member_no = (query.get("member_no") or "").strip()
            if not member_no:
                raise ApiError(200, -1, "Invalid parameter member_no")
            member = self.state.member(member_no)
            if member is None:
                raise ApiError(404, 404, f"Member not found: {member_no[:40]}")
            self._envelope(200, 0, "success", member)

    def _record(self, call_id: str) -> None:
        if self.state.find_recording(call_id) is None:
            raise ApiError(404, 404, f"Recording not found: {call_id[:100]}")
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


_ALL = SimulatorState.make_query(None, None, None)


def _requests_view(state: SimulatorState, query: dict[str, str]) -> dict[str, Any]:
    """``GET /_sim/requests``: the request log with headers (bodies as text)."""
    contains = query.get("path_contains") or None
    since = _sim_number(query, "since", int, 0)
    with state.lock:
        records = list(enumerate(state.request_log))[since:]
    out = [
        {
            "index": i,
            "method": r.method,
            "path": r.path,
            "query": r.query,
            "headers": r.headers,
            "body": r.body.decode("utf-8", "replace"),
            "time": r.time,
        }
        for i, r in records
        if contains is None or contains in r.path
    ]
    return {"count": len(out), "requests": out}


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
        try:
            self.state = SimulatorState(self.config, self.url)
        except BaseException:
            self._httpd.server_close()
            raise
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
        self.state.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
