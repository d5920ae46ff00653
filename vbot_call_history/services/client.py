"""HTTP client of VBot's Open API call history (``/api/crm/historycall/...``).

Plain Python on :mod:`requests`; it knows nothing of Odoo. Every request goes through
:meth:`VBotClient._request`, which

* authenticates: v2 sends ``Authorization: Bearer <token>`` plus ``vbot_id`` and
  ``project_code`` in the query; the token comes from ``POST {base}/token`` and is renewed
  30 s before it expires (refresh token first, then the password). v3 sends ``X-API-Key``.
* sends only to the account's own origin (the scheme, host and port of ``base_url``), on
  hosts its :class:`~.urlpolicy.UrlPolicy` allows (VBot's ``https://*.vbot.vn`` by
  default), checking the connected address too; never follows redirects; reads no proxy
  or ``.netrc`` from the environment. A refused URL raises :class:`VBotURLRefused` before
  a byte is sent.
* sets a timeout on every request.
* retries with capped exponential backoff and jitter on connection errors, timeouts, HTTP
  5xx, HTTP 429 (waiting ``Retry-After`` seconds, capped) and on an envelope ``error`` >= 500
  or 429 answered with HTTP 200. A body that is not JSON is retried at most twice (a torn
  answer), then raises :class:`VBotResponseError`. When the retries run out it raises
  :class:`VBotRetryableError` (its :attr:`~VBotRetryableError.reason` says what failed last).
* with a :attr:`~VBotClient.deadline` (a ``time.monotonic()`` value), never waits past it:
  a retry that would end after it raises :class:`VBotTimeBudgetError`, and the read timeout
  of a request is cut to the time left.
* on a 401/403 (HTTP status or envelope) in v2 drops the token, authenticates again once and
  repeats the request; a second refusal raises :class:`VBotAuthError`.
* raises :class:`VBotResponseError` (with the envelope's ``code``) for any other envelope
  ``error`` != 0 and for answers of the wrong shape.

No password, API key, token or ``Authorization`` header ever reaches a log record or an
exception message; logs name the path (never the query) and the HTTP status.
"""

from __future__ import annotations

import collections
import copy
import functools
import hashlib
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests

from .mapping import MappingError, canonical_json, safe_external_id
from .urlpolicy import UrlPolicy, UrlRefused, parse_url, policy_session

__all__ = [
    "VBotAuthError",
    "VBotClient",
    "VBotError",
    "VBotResponseError",
    "VBotRetryableError",
    "VBotTimeBudgetError",
    "VBotURLRefused",
]

_logger = logging.getLogger(__name__)

HISTORY = "/api/crm/historycall"
MEMBERS = "/api/member"
MAX_MEMBER_PAGES = 1000  # 100k agents: far beyond any call center; stops a runaway loop
MAX_PAGE_SIZE = 500
TOKEN_MARGIN = 30  # seconds before expires_in runs out that a token counts as expired
RAW_PAGES_WAITING = 2  # pages received ahead of the mapping (prefetch)
MALFORMED_RETRIES = 2  # a body that is not JSON is asked for again at most this often
_MESSAGE_MAX = 200
_BYTE_RANGE = re.compile(r"bytes=\d*-\d*")


class VBotError(Exception):
    """Anything that went wrong talking to VBot; ``str()`` is short and holds no secret."""


class VBotAuthError(VBotError):
    """VBot refused the credentials (bad password or key, or 401/403 after one re-login).

    :attr:`reason` is ``'token'`` when VBot refused a token it had just issued (the login
    itself worked: the password is right), ``'credentials'`` otherwise.
    """

    def __init__(self, message: str, reason: str = "credentials") -> None:
        super().__init__(message)
        self.reason = reason


class VBotRetryableError(VBotError):
    """A transient failure (connection, timeout, 5xx, 429) that outlived every retry.

    :attr:`reason` is the last failure: ``'timeout'``, ``'connection error'`` (VBot could
    not be reached), ``'HTTP 503'``, ``'HTTP 429'``, ``'envelope error 500'`` (it answered
    with an error).
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def unreachable(self) -> bool:
        """True when VBot never answered (no connection, or no answer in time)."""
        return self.reason in ("timeout", "connection error")


class VBotTimeBudgetError(VBotError):
    """The client's deadline came before VBot answered (not VBot's fault: try later)."""


class VBotURLRefused(VBotError):
    """The URL is not one credentials may be sent to (policy, origin, address).

    :attr:`code` and :attr:`host` come from :class:`~.urlpolicy.UrlRefused`.
    """

    def __init__(self, refused: UrlRefused) -> None:
        super().__init__(f"VBot URL refused: {refused}")
        self.code, self.host = refused.code, refused.host


class VBotResponseError(VBotError):
    """VBot answered, but not with what was asked: an error envelope, not JSON, bad shape.

    :attr:`code` is the envelope's ``error`` (or the HTTP status when there is none).
    :attr:`reason`: ``'not_json'``, ``'shape'`` (JSON, but not what was asked: see
    :attr:`path`) or ``'envelope'`` (VBot's own error; :attr:`vbot_message` is its text).
    """

    def __init__(
        self,
        message: str,
        code: int | None = None,
        reason: str = "",
        path: str = "",
        vbot_message: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.path = path
        self.vbot_message = vbot_message


class TokenStore(Protocol):
    """Where v2 tokens are kept between clients (e.g. one per account and process)."""

    def get(self) -> dict[str, Any] | None: ...

    def set(self, token: dict[str, Any] | None) -> None: ...


class MemoryTokenStore:
    """The default :class:`TokenStore`: this client's memory only."""

    def __init__(self) -> None:
        self._token: dict[str, Any] | None = None

    def get(self) -> dict[str, Any] | None:
        return self._token

    def set(self, token: dict[str, Any] | None) -> None:
        self._token = token or None


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class _Unauthorized(Exception):
    """Internal: VBot answered 401/403 to a request."""


DateLike = datetime | int | float | None


class Page(list):
    """A page of groups with what :meth:`VBotClient.iter_pages`'s ``prepare`` made of it."""

    #: ``prepare(group, text)`` of each group, in order (see :func:`read_page`).
    prepared: list[Any] | None = None


class VBotClient:
    """One VBot account's call history. Not thread-safe: one client per thread or job."""

    def __init__(
        self,
        base_url: str,
        api_version: str = "v2",
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        vbot_id: str | None = None,
        project_code: str | None = None,
        timeout: float | tuple[float, float] = (5, 30),
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30,
        page_size: int = 100,
        date_unit: str = "s",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token_store: TokenStore | None = None,
        url_policy: UrlPolicy | None = None,
    ) -> None:
        if api_version not in ("v2", "v3"):
            raise ValueError(f"api_version must be 'v2' or 'v3', not {api_version!r}")
        if date_unit not in ("s", "ms"):
            raise ValueError(f"date_unit must be 's' or 'ms', not {date_unit!r}")
        self.url_policy = url_policy or UrlPolicy()
        try:
            self._origin = self.url_policy.check_url(str(base_url or "").rstrip("/")).origin
        except UrlRefused as refused:
            raise VBotURLRefused(refused) from None
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.username = username or ""
        self._password = password or ""
        self._api_key = api_key or ""
        self.vbot_id = vbot_id or ""
        self.project_code = project_code or ""
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.page_size = min(max(1, int(page_size or 100)), MAX_PAGE_SIZE)
        self.date_unit = date_unit
        # A stub session (tests) has no transport to mount; _send checks the origin anyway.
        self.session = (
            policy_session(self.url_policy, session)
            if session is None or isinstance(session, requests.Session)
            else session
        )
        self.sleep = sleep
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        #: A ``time.monotonic()`` value after which no request or retry starts (None: none).
        self.deadline: float | None = None
        # A stored token is only used by a client of the same login on the same server.
        self._account = hashlib.sha256(f"{self.base_url}\n{self.username}".encode()).hexdigest()
        self._random = random.Random()

    def __repr__(self) -> str:
        return f"<VBotClient {self.api_version} {self.base_url}>"

    # -- authentication ---------------------------------------------------------------------

    def authenticate(self) -> None:
        """Log in now (v2: password grant on ``/token``); v3 has nothing to do.

        Raises :class:`VBotAuthError` when VBot refuses the credentials.
        """
        if self.api_version == "v3":
            if not self._api_key:
                raise VBotAuthError("VBot v3 needs an API key")
            return
        self._login(use_refresh=False)

    def _login(self, use_refresh: bool) -> str:
        """Get a new access token (refresh token first when allowed), store and return it."""
        if not (self.username and self._password):
            raise VBotAuthError("VBot v2 needs a username and a password")
        stored = self._stored_token() or {}
        refresh = stored.get("refresh_token") if use_refresh else None
        self.token_store.set(None)
        answer = None
        if refresh:
            try:
                answer = self._token_request(
                    {"grant_type": "refresh_token", "refresh_token": refresh}
                )
            except (VBotAuthError, VBotResponseError):
                _logger.info("VBot refresh token refused; logging in with the password")
        if answer is None:
            answer = self._token_request(
                {
                    "grant_type": "password",
                    "username": self.username,
                    "password": self._password,
                }
            )
        return self._keep_token(answer)

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        payload = self._request("POST", "/token", data=form, auth=False)
        if isinstance(payload, dict) and "access_token" not in payload:
            payload = payload.get("data")  # {data: {...}} or {error: 0, data: {...}}
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise VBotResponseError(
                "VBot /token answered without an access token", reason="shape", path="/token"
            )
        return payload

    def _keep_token(self, answer: dict[str, Any]) -> str:
        try:
            expires_in = float(answer.get("expires_in"))
        except (TypeError, ValueError):
            expires_at = None  # unknown lifetime: rely on the 401 re-login
        else:
            expires_at = time.time() + expires_in - TOKEN_MARGIN
        token = {
            "account": self._account,
            "access_token": str(answer["access_token"]),
            "refresh_token": str(answer.get("refresh_token") or ""),
            "expires_at": expires_at,
        }
        self.token_store.set(token)
        return token["access_token"]

    def _stored_token(self) -> dict[str, Any] | None:
        token = self.token_store.get()
        if isinstance(token, dict) and token.get("account") == self._account:
            return token
        return None

    def _access_token(self) -> str:
        """A valid v2 access token: the stored one, refreshed once it has expired."""
        token = self._stored_token()
        if not token or not token.get("access_token"):
            return self._login(use_refresh=False)
        expires_at = token.get("expires_at")
        if expires_at is not None and time.time() >= expires_at:
            return self._login(use_refresh=True)
        return token["access_token"]

    def _auth(self, params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        """Headers and query parameters that authenticate one request."""
        if self.api_version == "v3":
            if not self._api_key:
                raise VBotAuthError("VBot v3 needs an API key")
            return {"X-API-Key": self._api_key}, params
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        return headers, {"vbot_id": self.vbot_id, "project_code": self.project_code, **params}

    # -- the one request method -------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        data: dict[str, str] | None = None,
        stream: bool = False,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one API request; return the decoded JSON (or the open response if ``stream``).

        ``path`` is relative to ``base_url`` or an absolute URL (recordings). See the module
        docstring for the retry and re-authentication rules.
        """
        url = path if "://" in path else self.base_url + path
        shown = urlsplit(url).path  # what logs and messages show: never the query
        relogged = False
        malformed = 0
        attempt = 0
        while True:
            try:
                return self._attempt(
                    method,
                    url,
                    shown,
                    params=params or {},
                    data=data,
                    stream=stream,
                    auth=auth,
                    headers=headers,
                )
            except _Unauthorized:
                if not auth or relogged or self.api_version == "v3":
                    raise VBotAuthError(
                        f"VBot refused the credentials on {shown}",
                        "token" if relogged else "credentials",
                    ) from None
                relogged = True
                _logger.info("VBot %s: unauthorized, logging in again", shown)
                self._login(use_refresh=True)
                continue
            except _Retry as retry:
                if retry.reason == "not JSON":
                    malformed += 1
                    if malformed > MALFORMED_RETRIES or attempt >= self.max_retries:
                        raise VBotResponseError(
                            f"VBot {shown}: the answer is not JSON", reason="not_json", path=shown
                        ) from None
                if attempt >= self.max_retries:
                    raise VBotRetryableError(
                        f"VBot {shown}: {retry.reason} after {attempt + 1} attempts",
                        retry.reason,
                    ) from None
                wait = self._wait(attempt, retry.wait)
                if self.deadline is not None and time.monotonic() + wait >= self.deadline:
                    raise VBotTimeBudgetError(
                        f"VBot {shown}: {retry.reason}; no time left to retry"
                    ) from None
                attempt += 1
                _logger.info(
                    "VBot %s: %s; retry %d/%d in %.1f s",
                    shown,
                    retry.reason,
                    attempt,
                    self.max_retries,
                    wait,
                )
                self.sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        shown: str,
        *,
        params: dict[str, Any],
        data: dict[str, str] | None,
        stream: bool,
        auth: bool,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One try: the decoded JSON, or the open response of a streamed file."""
        response = self._send(
            method, url, params=params, data=data, stream=stream, auth=auth, headers=headers
        )
        is_json = "json" in response.headers.get("Content-Type", "")
        if stream and response.status_code in (200, 206) and not is_json:
            return response
        payload = self._decode(response, shown)
        if stream:
            raise VBotResponseError(
                f"VBot {shown}: expected a file, got JSON", 0, reason="shape", path=shown
            )
        return payload

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any],
        data: dict[str, str] | None,
        stream: bool,
        auth: bool,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send with credentials and a timeout; 401/403, 429, 5xx and network errors raise.

        Only to this account's origin: any other URL raises :class:`VBotURLRefused` before
        the credentials are even computed.
        """
        self._check_origin(url)
        headers = {"Accept": "application/json", **(headers or {})}
        if auth:
            auth_headers, params = self._auth(params)
            headers.update(auth_headers)
        try:
            response = self.session.request(
                method,
                url,
                params=params or None,
                data=data,
                headers=headers,
                timeout=self._timeout(),
                stream=stream,
                allow_redirects=False,
            )
        except UrlRefused as refused:
            _logger.warning("VBot request to %s refused: %s", refused.host or "?", refused)
            raise VBotURLRefused(refused) from None
        except requests.Timeout:
            raise _Retry("timeout") from None
        except requests.ConnectionError:
            raise _Retry("connection error") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise _Retry("not JSON") from None
        except requests.RequestException as error:
            raise VBotError(
                f"VBot {urlsplit(url).path}: the request failed ({type(error).__name__})"
            ) from None
        status = response.status_code
        if status in (401, 403):
            response.close()
            raise _Unauthorized()
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After")
            response.close()
            raise _Retry(f"HTTP {status}", _seconds(retry_after) if status == 429 else None)
        return response

    def _timeout(self) -> float | tuple[float, float]:
        """The request timeout; its read part never runs past :attr:`deadline`."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise VBotTimeBudgetError("VBot: no time left for another request")
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        return (min(connect, max(left, 1.0)), min(read, max(left, 1.0)))

    def _check_origin(self, url: str) -> None:
        """Raise :class:`VBotURLRefused` unless ``url`` is on this account's origin."""
        try:
            target = parse_url(url)
        except UrlRefused as refused:
            raise VBotURLRefused(refused) from None
        if target.origin != self._origin:
            raise VBotURLRefused(
                UrlRefused(
                    "origin",
                    f"{target.netloc} ({target.scheme}) is not the VBot account's server",
                    target.host,
                )
            )

    @staticmethod
    def _decode(response: requests.Response, shown: str) -> Any:
        """The JSON of an answer whose envelope (if any) says success; raise otherwise."""
        status = response.status_code
        try:
            payload = response.json()
        except (ValueError, RecursionError):
            payload = None
            if status == 200:
                raise _Retry("not JSON") from None
        finally:
            response.close()
        code = _envelope_code(payload)
        if code in (401, 403):
            raise _Unauthorized()
        if code is not None and (code == 429 or code >= 500):
            raise _Retry(f"envelope error {code}")
        if status != 200 or (code is not None and code != 0):
            message = payload.get("message") if isinstance(payload, dict) else None
            code = code if code is not None else status
            text = str(message or f"HTTP {status}")[:_MESSAGE_MAX]
            raise VBotResponseError(
                f"VBot {shown}: {text} (error {code})",
                code,
                reason="envelope",
                path=shown,
                vbot_message=text,
            )
        return payload

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to sleep before retry ``attempt + 1``: Retry-After, else backoff + jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        ceiling = min(self.backoff * 2**attempt, self.max_backoff)
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    # -- call history -----------------------------------------------------------------------

    def _filters(self, date_from: DateLike, date_to: DateLike, phone: str | None) -> dict:
        params: dict[str, Any] = {}
        if phone:
            params["phone"] = phone
        if date_from is not None:
            params["from"] = self._epoch(date_from)
        if date_to is not None:
            params["to"] = self._epoch(date_to)
        return params

    def _epoch(self, value: DateLike) -> int:
        """A date as an int in ``date_unit``; naive datetimes are UTC, numbers epoch seconds."""
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            seconds = aware.timestamp()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            raise TypeError(f"expected a datetime or epoch seconds, not {type(value).__name__}")
        return int(seconds * 1000) if self.date_unit == "ms" else int(seconds)

    def count(
        self, date_from: DateLike = None, date_to: DateLike = None, phone: str | None = None
    ) -> int:
        """How many calls VBot holds for these filters (``countAll``)."""
        payload = self._request(
            "GET", f"{HISTORY}/countAll", self._filters(date_from, date_to, phone)
        )
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, str) and data.strip().isdigit():
            data = int(data)
        if not isinstance(data, int) or isinstance(data, bool):
            raise VBotResponseError(
                "VBot countAll: data is not a number", reason="shape", path="countAll"
            )
        return data

    def fetch_page(
        self,
        page: int,
        *,
        date_from: DateLike = None,
        date_to: DateLike = None,
        phone: str | None = None,
        size: int | None = None,
    ) -> list[dict[str, Any]]:
        """One page (from 1) of call groups, newest first (``getAll``). A null data is []."""
        size = min(max(1, size or self.page_size), MAX_PAGE_SIZE)
        params = {**self._filters(date_from, date_to, phone), "page": page, "size": size}
        payload = self._request("GET", f"{HISTORY}/getAll", params)
        data = payload.get("data") if isinstance(payload, dict) else []
        if data is None:
            return []
        if not isinstance(data, list):
            raise VBotResponseError(
                "VBot getAll: data is not a list", reason="shape", path="getAll"
            )
        return data

    def iter_pages(
        self,
        date_from: DateLike = None,
        date_to: DateLike = None,
        phone: str | None = None,
        start_page: int = 1,
        prefetch: bool = False,
        prepare: Callable[[Any, str | None], Any] | None = None,
        reader: Callable[[list[Any]], list[tuple[Any, Any, Any]]] | None = None,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield ``(page_number, groups)`` up to the first page shorter than the page size.

        New calls arriving at the head while paging push older ones onto later pages; a
        group identical to one already yielded in this iteration is dropped (a page may then
        come out shorter, or empty). A group with an id already seen but a different content
        is yielded: the caller decides what two versions of one id mean. An empty last page
        is not yielded; a full page holding only groups already seen ends the iteration (a
        server ignoring ``page`` would otherwise loop forever).

        With ``prefetch``, the next page is asked for while the caller works on this one
        (see :meth:`iter_spans`); what is yielded and raised is the same. With ``prepare``
        (a function of a group and its canonical JSON that touches no database: the
        mapping), ``groups`` is a :class:`Page` whose ``prepared`` holds what it made of
        each group, prepared ahead when prefetching (a list made from it, e.g. a slice, is a
        plain list without it). ``reader`` is :func:`read_page` with that ``prepare`` run
        elsewhere (:class:`~.reader.ForkedReader`: in another process).
        """
        spans = self.iter_spans(
            [(date_from, date_to)],
            phone=phone,
            start_page=start_page,
            prefetch=prefetch,
            prepare=prepare,
            reader=reader,
        )
        try:
            for _span, page, groups in spans:
                if page is not None:
                    yield page, groups
        finally:
            spans.close()

    def _raw_pages(self, date_from, date_to, phone, page, in_flight=1, done=None):
        """The pages as VBot sends them, from ``page`` to the first short (or empty) one,
        or until ``done()`` says the caller wants no more.

        With ``in_flight=2`` (a prefetch), once a first full page says more follow, two
        requests are kept in flight, each by a copy of this client in a thread of its own
        (same retry rules): a far server's latency is paid once per two pages. The request
        after the last page is then made for nothing (VBot answers an empty page).
        """
        size = self.page_size
        pool, pending, copies = None, collections.deque(), []
        local = threading.local()

        def fetch(number):
            client = self
            if pool is not None:  # a thread of the pool: its own copy of the client
                if not hasattr(local, "client"):
                    local.client = self._worker()
                    copies.append(local.client)
                client = local.client
            return client.fetch_page(
                number, date_from=date_from, date_to=date_to, phone=phone, size=size
            )

        try:
            asked = page
            groups = fetch(page)
            while True:
                if in_flight > 1 and len(groups) >= size:
                    if pool is None:
                        pool = ThreadPoolExecutor(in_flight, thread_name_prefix="vbot-prefetch")
                    while len(pending) < in_flight:
                        asked += 1
                        pending.append(pool.submit(fetch, asked))
                yield page, groups
                if len(groups) < size or (done and done()):
                    return
                page += 1
                groups = pending.popleft().result() if pending else fetch(page)
        finally:
            for future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=False)
                for client in copies:
                    client.session.close()

    def iter_spans(
        self,
        spans: list[tuple[DateLike, DateLike]],
        phone: str | None = None,
        start_page: int = 1,
        prefetch: bool = False,
        prepare: Callable[[Any, str | None], Any] | None = None,
        reader: Callable[[list[Any]], list[tuple[Any, Any, Any]]] | None = None,
    ) -> Iterator[tuple[tuple[DateLike, DateLike], int | None, list[Any] | None]]:
        """:meth:`iter_pages` of each span in turn (the first from ``start_page``), as one
        stream: ``(span, page_number, groups)``, then ``(span, None, None)`` when the span
        is over.

        With ``prefetch`` the stream runs ahead of the caller, in two threads. The first
        only sends requests and decodes JSON (no database, no cursor), through copies of
        this client with their own HTTP sessions (same credentials, token store, deadline
        and retry rules: 429/Retry-After, 5xx, timeouts): two requests in flight once a full
        page says more follow (see :meth:`_raw_pages`), a few pages waiting. The second
        drops the groups already seen and reads the pages (:func:`read_page`, or
        ``reader``), so that the next request leaves as soon as a page has arrived, and the
        next span's first page while the caller stores this one's last. What they raise is
        raised here, at the page it failed on. When the caller stops early (or the time is
        up), they stop after the requests in flight; their pages are dropped.
        """
        stopped: set[tuple[DateLike, DateLike]] = set()
        if prefetch:
            worker = self._worker()
            raw = worker._raw_spans(
                spans,
                stopped,
                phone,
                start_page,
                close=worker.session is not self.session,
                in_flight=2,
            )
            # Pages that arrived wait (two at most) while a slow store catches up: the
            # next request still leaves at once.
            source = _ahead(
                self._fresh_spans(_ahead(raw, waiting=RAW_PAGES_WAITING), stopped, prepare, reader)
            )
        else:
            raw = self._raw_spans(spans, stopped, phone, start_page)
            source = self._fresh_spans(raw, stopped, prepare, reader)
        try:
            yield from source
        finally:
            source.close()

    def _raw_spans(self, spans, stopped, phone=None, start_page=1, close=False, in_flight=1):
        """:meth:`_raw_pages` of each span, then ``(span, None, None)``; a span in
        ``stopped`` (its listing ended early) is left before its next page (after the
        requests already in flight)."""
        try:
            for index, span in enumerate(spans):
                first = start_page if index == 0 else 1
                pages = self._raw_pages(
                    span[0],
                    span[1],
                    phone,
                    first,
                    in_flight,
                    done=lambda span=span: span in stopped,
                )
                try:
                    for page, groups in pages:
                        yield span, page, groups
                finally:
                    pages.close()
                yield span, None, None
        finally:
            if close:
                self.session.close()

    def _fresh_spans(self, raw, stopped, prepare=None, reader=None):
        """The pages of :meth:`iter_spans` from ``raw`` (see :meth:`iter_pages`): groups
        already yielded in their span dropped; a span stopped at an empty page, a short
        one, or a full page of groups already seen (the server ignores ``page``)."""
        read = reader or functools.partial(read_page, prepare=prepare)
        # Per id, a digest of each version yielded (not the groups: a listing may hold
        # hundreds of thousands of calls).
        seen: dict[str, list[bytes]] = {}
        try:
            for span, page, groups in raw:
                if page is None:
                    seen = {}
                    yield span, None, None
                    continue
                if span in stopped:
                    continue
                if not groups:
                    stopped.add(span)
                    continue
                fresh = _fresh(groups, read(groups), seen, prepare or reader)
                yield span, page, fresh
                if len(groups) < self.page_size:
                    stopped.add(span)
                elif not fresh:
                    _logger.warning("VBot getAll: page %d repeats earlier pages; stopping", page)
                    stopped.add(span)
        finally:
            raw.close()

    def _worker(self):
        """A copy of this client with its own HTTP session, for a prefetching thread."""
        worker = copy.copy(self)
        if isinstance(self.session, requests.Session):
            worker.session = policy_session(self.url_policy, None)
        return worker

    def iter_calls(
        self,
        date_from: DateLike = None,
        date_to: DateLike = None,
        phone: str | None = None,
        start_page: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Every call group of :meth:`iter_pages`, one by one."""
        for _page, groups in self.iter_pages(date_from, date_to, phone, start_page):
            yield from groups

    def test_connection(self) -> int:
        """Log in and return how many calls the account holds over all time."""
        self.authenticate()
        return self.count()

    # -- members (agents) -------------------------------------------------------------------

    def fetch_members_page(self, page: int, size: int | None = None) -> list[dict[str, Any]]:
        """One page (from 1) of the account's members (``/api/member/getAll``). Null is []."""
        size = min(max(1, size or self.page_size), MAX_PAGE_SIZE)
        payload = self._request("GET", f"{MEMBERS}/getAll", {"page": page, "size": size})
        data = payload.get("data") if isinstance(payload, dict) else []
        if data is None:
            return []
        if not isinstance(data, list):
            raise VBotResponseError("VBot member/getAll: data is not a list")
        return data

    def iter_members(self, size: int | None = None) -> Iterator[Any]:
        """Every member VBot lists, page after page, up to the first short page.

        A member already seen (same ``member_no``) is not yielded twice; a full page of
        members already seen ends the listing (a server ignoring ``page``).
        """
        size = min(max(1, size or self.page_size), MAX_PAGE_SIZE)
        seen: set[str] = set()
        for page in range(1, MAX_MEMBER_PAGES + 1):
            items = self.fetch_members_page(page, size)
            fresh = 0
            for item in items:
                key = str(item.get("member_no")) if isinstance(item, dict) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                fresh += 1
                yield item
            if len(items) < size or not fresh:
                return

    # -- recordings -------------------------------------------------------------------------

    def recording_url(self, trans_id: str) -> str:
        """The recording's URL on this account's server (the id is quoted: one segment)."""
        trans_id = str(trans_id or "")
        if trans_id in ("", ".", ".."):
            raise VBotError("No recording id given")
        return f"{self.base_url}{HISTORY}/record/{quote(trans_id, safe='')}"

    def open_recording(
        self, url_or_trans_id: str, *, byte_range: str | None = None
    ) -> requests.Response:
        """Open a recording as a streamed response (the caller closes it).

        ``byte_range`` (an HTTP ``Range`` value such as ``bytes=1000-``) is passed on, so a
        player can seek; VBot may answer 206 with that part, or 200 with the whole file.

        Takes a call id (the URL is then built from ``base_url``, see :meth:`recording_url`)
        or a ``record_file`` URL. A URL is read by the parser the HTTP library uses and must
        be on this account's origin exactly: same scheme, host and port (see
        :func:`~.urlpolicy.parse_url`); anything else raises :class:`VBotURLRefused` before
        a byte is sent. Redirects are not followed. A missing recording raises
        :class:`VBotResponseError` with ``code`` 404.
        """
        target = str(url_or_trans_id or "")
        if not target.strip():
            raise VBotError("No recording given")
        if ":" in target or "/" in target or "\\" in target:
            self._check_origin(target)  # a URL (or something posing as one): same origin only
        else:
            target = self.recording_url(target)
        headers = {}
        if byte_range and _BYTE_RANGE.fullmatch(byte_range.strip()):
            headers["Range"] = byte_range.strip()
        return self._request("GET", target, stream=True, headers=headers)


def _ahead(source: Iterator[Any], waiting: int = 1) -> Iterator[Any]:
    """``source``'s items, produced ahead by a thread of its own (``vbot-prefetch``).

    At most ``waiting`` items wait while the thread works on the next. What ``source``
    raises is raised here in order; closing this generator stops the thread after its
    current item (``source`` is closed in the thread).
    """
    items: queue.Queue = queue.Queue(maxsize=waiting)
    stop = threading.Event()

    def hand_over(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in source:
                if not hand_over((item, None)):
                    return
        except Exception as error:  # handed to the caller, raised there
            hand_over((None, error))
        finally:
            source.close()
            hand_over((None, None))

    thread = threading.Thread(target=run, name="vbot-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=0.5)


def _fresh(groups, read, seen, prepared):
    """The groups of a page not yielded yet in their listing (``seen``: digests by id,
    updated), as a :class:`Page` carrying what was prepared of them when ``prepared``."""
    fresh, items = [], []
    for group, (key, digest, item) in zip(groups, read, strict=True):
        if key is not None:
            versions = seen.setdefault(key, [])
            if digest in versions:
                continue
            versions.append(digest)
        fresh.append(group)
        items.append(item)
    if prepared:
        fresh = Page(fresh)
        fresh.prepared = items
    return fresh


def read_page(
    groups: list[Any], prepare: Callable[[Any, str | None], Any] | None = None
) -> list[tuple[str | None, bytes | None, Any]]:
    """What the listing needs of each group of a page: ``(key, digest, prepared)``.

    ``key`` and ``digest`` (None for what is not an object) tell a group already yielded
    from a new one (:meth:`VBotClient.iter_pages`); ``prepared`` is ``prepare(group, text)``
    (``text``: the group's :func:`~.mapping.canonical_json`, made once for both), None
    without ``prepare``. Plain Python, no I/O: it may run in another process
    (:class:`~.reader.ForkedReader`).
    """
    read = []
    for group in groups:
        key = digest = text = None
        if isinstance(group, dict):
            key = safe_external_id(group)
            text = _canonical_or_none(group)
            digest = _digest(group, text)
        read.append((key, digest, prepare(group, text) if prepare else None))
    return read


def _canonical_or_none(group: dict[str, Any]) -> str | None:
    """:func:`~.mapping.canonical_json` of a group, None when it cannot be made."""
    try:
        return canonical_json(group)
    except (MappingError, ValueError):
        return None


def _digest(group: dict[str, Any], text: str | None = None) -> bytes:
    """A short digest of a group's content (the same content, whatever its keys' order);
    ``text`` is its :func:`~.mapping.canonical_json` when made already."""
    if text is None:
        text = _canonical_or_none(group)
    if text is None:
        try:
            text = repr(group)
        except RecursionError:  # no JSON decoder makes this; the mapping names it
            text = "<nested too deeply>"
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()


def _envelope_code(payload: Any) -> int | None:
    """The envelope's ``error`` as an int, None when the payload has none."""
    if not isinstance(payload, dict) or payload.get("error") is None:
        return None
    try:
        return int(payload["error"])
    except (TypeError, ValueError):
        return -1


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (HTTP dates are ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
