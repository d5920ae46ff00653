"""The real VBotClient against the local simulator over HTTP on 127.0.0.1.

Nothing here mocks ``requests`` except :func:`test_answer_shapes_the_simulator_never_sends`
(shapes the simulator cannot produce) and the closed port of the connection-refused test.
Retries sleep through a recorder, so the tests never wait for a backoff.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from vbot_call_history.services.client import (
    MemoryTokenStore,
    VBotAuthError,
    VBotClient,
    VBotError,
    VBotResponseError,
    VBotRetryableError,
    VBotTimeBudgetError,
    VBotURLRefused,
)
from vbot_call_history.services.mapping import map_call, parse_vbot_datetime
from vbot_call_history.services.phone import match_key
from vbot_call_history.services.urlpolicy import UrlPolicy

HISTORY = "/api/crm/historycall/"


class Sleeps(list):
    """A ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def allowing(*servers: Any) -> UrlPolicy:
    """A policy allowing these simulators (``127.0.0.1:PORT``), as an administrator would."""
    return UrlPolicy([f"127.0.0.1:{server.port}" for server in servers])


def v2(sim: Any, **kwargs: Any) -> VBotClient:
    config = sim.state.config
    options: dict[str, Any] = {
        "username": config.username,
        "password": config.password,
        "vbot_id": config.vbot_id,
        "project_code": config.project_code,
        "sleep": Sleeps(),
        "url_policy": allowing(sim),
    }
    options.update(kwargs)
    return VBotClient(sim.base_url_v2, "v2", **options)


def v3(sim: Any, **kwargs: Any) -> VBotClient:
    options: dict[str, Any] = {
        "api_key": sim.state.config.api_key,
        "sleep": Sleeps(),
        "url_policy": allowing(sim),
    }
    options.update(kwargs)
    return VBotClient(sim.base_url_v3, "v3", **options)


def api_requests(sim: Any, endpoint: str) -> list[tuple[str, str, dict[str, str]]]:
    return [r for r in sim.state.requests if r[1].endswith(endpoint)]


def ids(groups: Any) -> list[str]:
    return [group["group_id"] for group in groups]


def group_epoch(group: dict[str, Any]) -> int:
    return int(parse_vbot_datetime(group["date_create"]).replace(tzinfo=timezone.utc).timestamp())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- authentication --------------------------------------------------------------------------


def test_v2_login_and_count(simulator):
    client = v2(simulator)
    assert client.test_connection() == len(simulator.state.calls) == 200
    assert len(api_requests(simulator, "/token")) == 1
    method, path, query = api_requests(simulator, "/countAll")[0]
    assert (method, path) == ("GET", "/v2.0/api/crm/historycall/countAll")
    assert query == {"vbot_id": "VB-DEMO", "project_code": "PR-DEMO"}
    # The token is reused, not fetched again for every request.
    client.count()
    assert len(api_requests(simulator, "/token")) == 1


def test_v3_api_key(simulator):
    client = v3(simulator)
    assert client.test_connection() == 200
    assert len(list(client.iter_calls())) == 200
    assert not api_requests(simulator, "/token")
    assert all("vbot_id" not in query for _m, _p, query in api_requests(simulator, "/getAll"))


def test_bad_password(simulator):
    client = v2(simulator, password="wrong")
    with pytest.raises(VBotAuthError):
        client.test_connection()
    with pytest.raises(VBotAuthError):
        v2(simulator, password="").count()


def test_bad_api_key(simulator):
    with pytest.raises(VBotAuthError):
        v3(simulator, api_key="nope").count()
    with pytest.raises(VBotAuthError):
        v3(simulator, api_key="").test_connection()


def test_wrong_vbot_id_is_a_response_error(simulator):
    with pytest.raises(VBotResponseError) as info:
        v2(simulator, vbot_id="VB-OTHER").count()
    assert info.value.code == -1
    assert not isinstance(info.value, VBotAuthError)


def test_expired_token_is_renewed_transparently(simulator):
    client = v2(simulator)
    first = client.count()
    simulator.state.expire_tokens()
    assert client.count() == first
    assert len(api_requests(simulator, "/token")) == 2  # one login, one renewal after the 401
    assert len(api_requests(simulator, "/countAll")) == 3  # the refused one was repeated once
    assert client.sleep == []


def test_token_renewed_before_it_expires(simulator):
    store = MemoryTokenStore()
    client = v2(simulator, token_store=store)
    client.authenticate()
    store.get()["expires_at"] = time.time() - 1  # as if 900 s had passed
    client.count()
    assert len(api_requests(simulator, "/token")) == 2
    assert len(api_requests(simulator, "/countAll")) == 1  # renewed first: no 401 round trip


def test_token_store_is_shared_between_clients(simulator):
    store = MemoryTokenStore()
    v2(simulator, token_store=store).count()
    v2(simulator, token_store=store).count()
    assert len(api_requests(simulator, "/token")) == 1
    # A store holding another login's token is not used.
    with pytest.raises(VBotAuthError):
        v2(simulator, token_store=store, username="someone-else").count()


@pytest.mark.parametrize("simulator", [{"token_ttl": 0}], indirect=True)
def test_second_401_is_an_auth_error(simulator):
    # Tokens that are dead on arrival: the one re-login cannot help.
    with pytest.raises(VBotAuthError):
        v2(simulator).count()
    assert len(api_requests(simulator, "/countAll")) == 2


# -- paging and filters ----------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 7, 50, 100, 200, 500])
def test_paging_covers_every_call_once(simulator, page_size):
    client = v2(simulator, page_size=page_size)
    pages = list(client.iter_pages())
    got = [gid for _number, groups in pages for gid in ids(groups)]
    assert len(got) == len(set(got)) == client.count() == 200
    assert got == ids(simulator.state.calls)  # newest first, nothing reordered
    assert [number for number, _groups in pages] == list(range(1, len(pages) + 1))
    sizes = {query["size"] for _m, _p, query in api_requests(simulator, "/getAll")}
    assert sizes == {str(page_size)}


def test_fetch_page_and_start_page(simulator):
    client = v3(simulator, page_size=30)
    assert ids(client.fetch_page(2)) == ids(simulator.state.calls[30:60])
    assert ids(client.fetch_page(1, size=5)) == ids(simulator.state.calls[:5])
    assert client.fetch_page(99) == []
    rest = [gid for _n, groups in client.iter_pages(start_page=6) for gid in ids(groups)]
    assert rest == ids(simulator.state.calls[150:])


@pytest.mark.parametrize("date_unit", ["s", "ms"])
def test_windows_add_up(simulator, date_unit):
    client = v2(simulator, date_unit=date_unit, page_size=40)
    epochs = sorted(group_epoch(group) for group in simulator.state.calls)
    start, end = epochs[0], epochs[-1]
    middle = epochs[len(epochs) // 2]
    older = client.count(date_from=start, date_to=middle)
    newer = client.count(date_from=middle + 1, date_to=end)
    assert 0 < older < 200
    assert older + newer == client.count(date_from=start, date_to=end) == 200
    first = ids(client.iter_calls(date_from=start, date_to=middle))
    second = ids(client.iter_calls(date_from=middle + 1, date_to=end))
    assert len(first) == older and len(second) == newer
    assert set(first) | set(second) == set(ids(simulator.state.calls))
    sent = api_requests(simulator, "/countAll")[0][2]
    assert sent["from"] == str(start * 1000 if date_unit == "ms" else start)


def test_window_accepts_aware_naive_and_epoch(simulator):
    client = v2(simulator)
    epochs = sorted(group_epoch(group) for group in simulator.state.calls)
    start, end = epochs[10], epochs[150]
    expected = client.count(date_from=start, date_to=end)
    naive = datetime.fromtimestamp(start, timezone.utc).replace(tzinfo=None)
    hanoi = datetime.fromtimestamp(end, timezone(timedelta(hours=7)))
    assert client.count(date_from=naive, date_to=hanoi) == expected
    window = list(client.iter_calls(date_from=naive, date_to=hanoi))
    assert len(window) == expected
    assert all(start <= group_epoch(group) <= end for group in window)
    with pytest.raises(TypeError):
        client.count(date_from="yesterday")


def test_phone_filter(simulator):
    client = v2(simulator, page_size=3)
    customer = next(
        c for c in simulator.state.customers if c["kind"] == "mobile" and c.get("phone")
    )
    key = match_key(customer["phone"])
    calls = list(client.iter_calls(phone=customer["phone"]))
    assert calls
    assert client.count(phone=customer["phone"]) == len(calls)
    assert all(map_call(group)["customer_key"] == key for group in calls)
    assert api_requests(simulator, "/getAll")[0][2]["phone"] == customer["phone"]


def test_count_equals_iter_calls(simulator):
    client = v3(simulator, page_size=64)
    assert client.count() == len(list(client.iter_calls())) == 200


def test_head_moving_while_paging(simulator):
    before = ids(simulator.state.calls)
    epochs = [group_epoch(group) for group in simulator.state.calls]
    simulator.state.set_faults(arrivals_per_request=7)
    client = v2(simulator, page_size=25)
    got = ids(client.iter_calls())
    assert len(got) == len(set(got))  # the shifted groups are not yielded twice
    assert set(before) <= set(got)  # and nothing was lost
    # The same inside a window that ends at the newest call of the start.
    window = ids(client.iter_calls(date_from=min(epochs), date_to=max(epochs)))
    assert len(window) == len(set(window))
    assert set(before) <= set(window)


# -- faults ----------------------------------------------------------------------------------


def test_500_is_retried_with_backoff(simulator):
    client = v2(simulator, backoff=0.5)
    simulator.state.set_faults(queue=["500", "500"])
    assert client.count() == 200
    assert len(client.sleep) == 2
    assert 0.25 <= client.sleep[0] <= 0.5
    assert 0.5 <= client.sleep[1] <= 1.0


def test_429_honours_retry_after(simulator):
    client = v2(simulator)
    simulator.state.set_faults(queue=["429"], retry_after=3)
    assert len(client.fetch_page(1)) == 100
    assert client.sleep == [3]
    capped = v2(simulator, max_backoff=2)
    simulator.state.set_faults(queue=["429"], retry_after=60)
    assert capped.count() == 200
    assert capped.sleep == [2]


def test_malformed_json_is_retried_then_refused(simulator):
    client = v2(simulator)
    simulator.state.set_faults(queue=["malformed"])
    assert len(client.fetch_page(1)) == 100
    assert len(client.sleep) == 1
    simulator.state.set_faults(queue=["malformed"] * 3)
    with pytest.raises(VBotResponseError, match="not JSON"):
        client.fetch_page(1)


def test_error_envelope_500_is_retried(simulator):
    client = v3(simulator)
    simulator.state.set_faults(queue=["error", "error"])
    assert client.count() == 200
    assert len(client.sleep) == 2


def test_slow_answer_times_out_and_is_retried(simulator):
    client = v2(simulator, timeout=(2, 0.3))
    client.authenticate()
    simulator.state.set_faults(queue=["slow"], slow_seconds=1)
    assert client.count() == 200
    assert len(client.sleep) == 1


def test_retries_exhausted(simulator):
    client = v2(simulator, max_retries=3, backoff=1, max_backoff=3)
    simulator.state.set_faults(queue=["500"] * 4)
    with pytest.raises(VBotRetryableError, match="HTTP 500 after 4 attempts"):
        client.count()
    assert len(client.sleep) == 3
    assert client.sleep[2] <= 3  # capped
    assert len(api_requests(simulator, "/countAll")) == 4


def test_connection_refused():
    sleeps = Sleeps()
    port = free_port()
    client = VBotClient(
        f"http://127.0.0.1:{port}/v3.0",
        "v3",
        api_key="k",
        sleep=sleeps,
        max_retries=2,
        url_policy=UrlPolicy(f"127.0.0.1:{port}"),
    )
    with pytest.raises(VBotRetryableError, match="connection error"):
        client.count()
    assert len(sleeps) == 2


# -- recordings ------------------------------------------------------------------------------


def recorded(sim: Any) -> dict[str, Any]:
    return next(group for group in sim.state.calls if group["record_file"])


@pytest.mark.parametrize("make", [v2, v3])
def test_recording_streams(simulator, make):
    client = make(simulator)
    group = recorded(simulator)
    for target in (group["record_file"][0], group["group_id"]):
        response = client.open_recording(target)
        try:
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "audio/wav"
            body = b"".join(response.iter_content(4096))
        finally:
            response.close()
        assert body.startswith(b"RIFF")
        assert len(body) == int(response.headers["Content-Length"])


def test_recording_byte_range_is_passed_on(simulator):
    client = v2(simulator)
    group = recorded(simulator)
    whole = client.open_recording(group["group_id"])
    body = whole.content
    part = client.open_recording(group["group_id"], byte_range="bytes=10-19")
    assert part.status_code == 206
    assert part.content == body[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    # Anything that is not a plain byte range is not sent on.
    odd = client.open_recording(group["group_id"], byte_range="bytes=1-2\r\nX-Evil: 1")
    assert odd.status_code == 200
    assert odd.content == body


def test_recording_url(simulator):
    client = v2(simulator)
    assert client.recording_url("a/b c") == (
        simulator.base_url_v2 + "/api/crm/historycall/record/a%2Fb%20c"
    )


def test_missing_recording_is_404(simulator):
    client = v2(simulator)
    without = next(group for group in simulator.state.calls if not group["record_file"])
    for target in ("no-such-call", without["group_id"]):
        with pytest.raises(VBotResponseError) as info:
            client.open_recording(target)
        assert info.value.code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v2.0/api/crm/historycall/record/x",
        "http://localhost/v2.0/api/crm/historycall/record/x",
        "http://127.0.0.1@evil.example.com/record/x",
        "file:///etc/passwd",
        "ftp://127.0.0.1/record/x",
        "",
    ],
)
def test_foreign_recording_host_refused(simulator, url):
    client = v2(simulator)
    with pytest.raises(VBotError):
        client.open_recording(url)
    assert not simulator.state.requests  # refused before anything was sent


def test_recording_on_another_port_of_the_same_host_is_refused(sim_factory):
    first = sim_factory(calls=20, seed=3, now=1_790_000_000)
    second = sim_factory(calls=20, seed=3, now=1_790_000_000)
    url = recorded(first)["record_file"][0].replace(first.url, second.url)
    # Even when both servers are allowed hosts: credentials go to the account's origin only.
    client = v3(first, url_policy=allowing(first, second))
    with pytest.raises(VBotURLRefused) as info:
        client.open_recording(url)
    assert info.value.code == "origin"
    assert not second.state.requests
    assert not first.state.requests


# -- secrets ---------------------------------------------------------------------------------

PASSWORD, API_KEY = "Pw-s3cret-9x", "K3y-s3cret-7q"


def test_no_secret_in_logs_or_errors(sim_factory, caplog):
    sim = sim_factory(calls=30, password=PASSWORD, api_key=API_KEY)
    caplog.set_level(logging.DEBUG)
    store = MemoryTokenStore()
    errors: list[str] = []
    client = v2(sim, token_store=store, page_size=7)
    client.test_connection()
    tokens = {store.get()["access_token"], store.get()["refresh_token"]}
    sim.state.set_faults(queue=["500", "429", "malformed", "error"], retry_after=0)
    list(client.iter_calls())
    sim.state.expire_tokens()
    client.count()
    tokens |= {store.get()["access_token"], store.get()["refresh_token"]}
    response = client.open_recording(recorded(sim)["group_id"])
    response.close()
    v3(sim).count()
    for bad in (
        lambda: v2(sim, password="wrong-" + PASSWORD).count(),
        lambda: v3(sim, api_key=API_KEY + "-wrong").count(),
        lambda: v2(sim, vbot_id="VB-OTHER", token_store=store).count(),
        lambda: v2(sim, token_store=store).open_recording("https://evil.example.com/x"),
        lambda: VBotClient(
            f"http://127.0.0.1:{sim.port}", api_key=API_KEY, sleep=Sleeps(), max_retries=1
        ).count(),  # not an allowed host
        lambda: v2(sim, token_store=store).open_recording(sim.url + "\\@evil.example.com/x"),
    ):
        with pytest.raises(VBotError) as info:
            bad()
        errors.append(str(info.value))
        errors.append(repr(info.value))
    sim.state.set_faults(queue=["500"] * 5)
    with pytest.raises(VBotRetryableError) as info:
        v2(sim, token_store=store, max_retries=2).count()
    errors.append(str(info.value))
    text = "\n".join([record.getMessage() for record in caplog.records] + errors)
    assert "retry" in text  # the retries were logged
    secrets = {PASSWORD, API_KEY, "Bearer", *tokens}
    assert not [secret for secret in secrets if secret in text]
    assert PASSWORD not in repr(client)


# -- shapes the simulator never sends (a stub session) ---------------------------------------


class StubSession:
    """Answers each request with the next ``(status, body)``; records what was asked."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append((method, url, kwargs))
        status, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(body).encode()
        return response


def test_answer_shapes_the_simulator_never_sends():
    token = {"access_token": "t1", "expires_in": "899", "refresh_token": "r1"}
    session = StubSession(
        (200, {"error": 0, "message": "ok", "data": token}),  # a wrapped token answer
        (200, {"error": 0, "data": "42"}),  # count as a numeric string
        (200, {"error": 401, "message": "expired"}),  # 401 in an HTTP 200 envelope
        (200, {"data": {**token, "access_token": "t2"}}),  # refresh, wrapped without error
        (200, {"error": 0, "data": 7}),
        (200, {"error": 0, "data": {"not": "a list"}}),
        (200, {"error": 0, "data": None}),
        (200, {"error": 0, "data": "many"}),
        (200, {"error": 409, "message": "Conflict"}),
    )
    client = VBotClient(
        "https://vbot.test/v2.0",
        username="u",
        password="p",
        session=session,
        sleep=Sleeps(),
        url_policy=UrlPolicy("vbot.test"),
    )
    assert client.count() == 42
    assert client.count() == 7
    refresh = session.calls[3][2]["data"]
    assert refresh == {"grant_type": "refresh_token", "refresh_token": "r1"}
    assert session.calls[4][2]["headers"]["Authorization"] == "Bearer t2"
    assert all(call[2]["timeout"] == (5, 30) for call in session.calls)
    with pytest.raises(VBotResponseError, match="not a list"):
        client.fetch_page(1)
    assert client.fetch_page(1) == []
    with pytest.raises(VBotResponseError, match="not a number"):
        client.count()
    with pytest.raises(VBotResponseError, match="Conflict") as info:
        client.count()
    assert info.value.code == 409


def test_server_ignoring_page_does_not_loop_forever():
    page = [{"group_id": str(n), "date_create": "04/06/2026 16:18:25"} for n in range(3)]
    session = StubSession(*[(200, {"error": 0, "data": page})] * 3)
    client = VBotClient(
        "https://vbot.test/v3.0",
        "v3",
        api_key="k",
        session=session,
        page_size=3,
        url_policy=UrlPolicy("vbot.test"),
    )
    assert [(number, ids(groups)) for number, groups in client.iter_pages()] == [
        (1, ["0", "1", "2"]),
        (2, []),
    ]


# -- deadline and typed reasons (issue 7) ----------------------------------------------------


def test_a_deadline_stops_retries_before_they_would_overrun_it(simulator):
    simulator.state.set_faults(fail_rate=1.0)
    client = v3(simulator, backoff=1)
    client.deadline = time.monotonic() + 0.2  # shorter than the first backoff (0.5 - 1 s)
    with pytest.raises(VBotTimeBudgetError):
        client.count()
    assert client.sleep == []  # it never waited
    assert len([r for r in simulator.state.requests if r[1].endswith("countAll")]) == 1


def test_no_request_starts_after_the_deadline(simulator):
    client = v3(simulator)
    client.deadline = time.monotonic() - 1
    with pytest.raises(VBotTimeBudgetError):
        client.count()
    assert not simulator.state.requests


def test_retryable_errors_say_whether_vbot_was_reachable(simulator):
    simulator.state.set_faults(fail_rate=1.0)
    with pytest.raises(VBotRetryableError) as info:
        v3(simulator, max_retries=1).count()
    assert (info.value.reason, info.value.unreachable) == ("HTTP 500", False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = VBotClient(
        f"http://127.0.0.1:{port}/v3.0",
        "v3",
        api_key="k",
        max_retries=0,
        url_policy=UrlPolicy(f"127.0.0.1:{port}"),
    )
    with pytest.raises(VBotRetryableError) as info:
        client.count()
    assert info.value.unreachable


def test_unreadable_answers_say_how(simulator):
    simulator.state.set_faults(malformed_rate=1.0)
    with pytest.raises(VBotResponseError) as info:
        v3(simulator).count()
    assert info.value.reason == "not_json"
    simulator.state.set_faults()
    with pytest.raises(VBotResponseError) as info:
        v2(simulator, vbot_id="other").count()
    assert info.value.reason == "envelope"
    assert info.value.vbot_message


def test_a_repeat_is_dropped_but_another_version_of_an_id_is_not():
    first = {"group_id": "same", "type_call": "INCALL"}
    other = {"group_id": "same", "type_call": "OUTCALL"}
    pages = [[first, dict(first), other]]

    class Fake(VBotClient):
        def fetch_page(self, page, **kwargs):
            return pages[page - 1] if page <= len(pages) else []

    client = Fake(
        "http://127.0.0.1:1/v3.0",
        "v3",
        api_key="k",
        page_size=10,
        url_policy=UrlPolicy("127.0.0.1:1"),
    )
    assert list(client.iter_calls()) == [first, other]
