"""VBot webhooks: the events VBot POSTs to a partner URL when a call rings and ends.

Bodies follow ``vbot-docs/v3-webhooks.md`` and ``webhook-sample-payloads.md`` exactly: no event
name field (unless ``event_field`` asks for one), times in epoch milliseconds, and every value
taken from the same call group getAll serves:

- ``IN_COMINGCALL`` (incoming calls only, sent first): the ``manualCallLog`` fields known while
  the call rings (``transId``, ``groupId``, ``caller``, ``callee`` = the first agent rung,
  ``calleeMemberNo``, ``hotline``, ``createAt``, ...); ``typeCall`` is 1.
- ``MANUAL_CALL_LOG``: the flat ``manualCallLog`` object.
- ``MANUAL_CALL_RECORDING``: ``{transId, externalCallId, recordUrl}``, only for a call with a
  recording (``recordUrl`` = ``record_file[0]``).
- ``MANUAL_CALL_COMPLETE``: ``{"manualCallLog": {...}, "manualCallRecording": {...} | null}``.
- ``HISTORY_CALL`` (legacy): the getAll call group itself.
- ``P2P_CALL_LOG`` / ``HISTORY_CALL_PEERTOPEER`` (legacy): an internal agent-to-agent call, as
  ``manualCallLog`` / as a call group.

``typeCall``: 1 incoming (``INCALL``), 2 outgoing (``OUTCALL``, and internal calls), 3 missed
(``MISSCALL``; ``missed_type_call`` can make it 1: the webhook doc lists only 1 and 2, the newer
CDR API 1/2/3). ``timeCall`` is the talk time and ``durationCall`` the whole call, in seconds, as
getAll's ``time_call`` / ``duration_call`` (the doc calls ``timeCall`` the ringing time, but its
sample only adds up as talk time); ``callAt`` = ``createAt`` + the ringing time.

Deliveries run on one background thread, in order, never retried unless ``retries`` says so;
drops, duplicates, shuffles and delays are drawn from a seeded RNG when events are queued, so a run
repeats.
"""

from __future__ import annotations

import copy
import hashlib
import http.client
import json
import random
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from .data import parse_date_create, phone_key

EVENTS = (
    "IN_COMINGCALL",
    "MANUAL_CALL_LOG",
    "MANUAL_CALL_RECORDING",
    "MANUAL_CALL_COMPLETE",
    "HISTORY_CALL",
    "P2P_CALL_LOG",
    "HISTORY_CALL_PEERTOPEER",
)
#: What is sent unless told otherwise: the current (non-deprecated) events, each on its own.
DEFAULT_EVENTS = ("IN_COMINGCALL", "MANUAL_CALL_LOG", "MANUAL_CALL_RECORDING", "P2P_CALL_LOG")
TYPE_CALL = {"INCALL": 1, "OUTCALL": 2, "MISSCALL": 3}
#: disposition -> (hangupCause, sipCode)
HANGUP = {
    "ANSWER": ("NORMAL_CLEARING", "200"),
    "BUSY": ("USER_BUSY", "486"),
    "NOANSWER": ("NO_ANSWER", "480"),
    "MISSCALL": ("NO_ANSWER", "480"),
    "MORE": ("NO_ANSWER", "480"),
    "CANCEL": ("ORIGINATOR_CANCEL", "487"),
    "CONGESTION": ("NORMAL_TEMPORARY_FAILURE", "503"),
    "TORTURE": ("NORMAL_TEMPORARY_FAILURE", "503"),
    "CHANUNAVAIL": ("SUBSCRIBER_ABSENT", "480"),
    "DONTCALL": ("CALL_REJECTED", "603"),
    "INVALIDARGS": ("INVALID_NUMBER_FORMAT", "484"),
    "SOMEONEANSWERED": ("LOSE_RACE", "487"),
    "LOGOUT": ("USER_NOT_REGISTERED", "404"),
    "BOTIVR": ("NORMAL_CLEARING", "200"),
}
_TELCOS = (
    ("VTL", ("086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039")),
    ("VNP", ("088", "091", "094", "081", "082", "083", "084", "085")),
    ("VMS", ("089", "090", "093", "070", "076", "077", "078", "079")),
    ("VNM", ("092", "056", "058")),
    ("GTEL", ("099", "059")),
)


@dataclass
class WebhookSettings:
    """Where and how events are delivered; see the module docstring and README."""

    url: str = ""  # "" = webhooks off
    auth: str = ""  # value of the auth header; "" = no header
    auth_header: str = "Authorization"
    events: tuple[str, ...] = DEFAULT_EVENTS
    event_field: str = ""  # e.g. "event": add {"event": NAME} to each body
    missed_type_call: int = 3
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    shuffle: int = 0  # deliver each window of this many queued events in random order
    delay_ms: int = 0  # wait before each POST
    retries: int = 0  # extra attempts after a failed POST (non-2xx or no answer)
    timeout: float = 5.0
    seed: int | None = None  # RNG of drop/duplicate/shuffle; None = the simulator's seed

    def public(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["events"] = list(self.events)
        return out


def _seconds(value: Any) -> int:
    """Seconds of ``HH:MM:SS``, ``"120"`` or an int; 0 for anything else."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if not isinstance(value, str):
        return 0
    parts = value.strip().split(":")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return 0
    total = 0
    for part in parts:
        total = total * 60 + int(part)
    return total


def minimal_call_log(group: dict[str, Any]) -> dict[str, Any]:
    """A historycall group as VBot's MANUAL_CALL_LOG tells the same call, with only the fields
    the addon's mapping reads (one leg a side; the cost summed over the legs as the history's
    mapping sums it). Tests compare its mapping with the history's."""
    incoming = group["type_call"] != "OUTCALL"
    customer = (group["caller"] if incoming else group["callee"])[0]
    agents = group["callee"] if incoming else group["caller"]
    agent = next((leg for leg in agents if leg["disposition"] == "ANSWER"), agents[0])
    caller, callee = (customer, agent) if incoming else (agent, customer)
    legs = group["caller"] + group["callee"]
    return {
        "transId": group["group_id"],
        "groupId": group["group_id"],
        "typeCall": TYPE_CALL[group["type_call"]],
        "timeCall": _seconds(group["time_call"]),
        "durationCall": _seconds(group["duration_call"]),
        "createAt": parse_date_create(group["date_create"]) * 1000,
        "caller": caller["phone"],
        "typeCaller": caller["source"],
        "callerMemberNo": caller["member_no"],
        "callee": callee["phone"],
        "typeCallee": callee["source"],
        "calleeMemberNo": callee["member_no"],
        "disposition": group["disposition"],
        "hotline": group["hotline_number"],
        "postage": round(sum(leg["postage"] for leg in legs), 2),
        "externalCallId": group["external_call_id"],
    }


def _legs(group: dict[str, Any], side: str) -> list[dict[str, Any]]:
    legs = group.get(side)
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _channel(group_id: str, role: str) -> str:
    h = hashlib.md5(f"{group_id}:{role}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def telco(number: str) -> str:
    """VBot's carrier code of a national mobile number ("" for landlines and service numbers)."""
    national = "0" + phone_key(number) if phone_key(number) else ""
    for code, prefixes in _TELCOS:
        if len(national) == 10 and national.startswith(prefixes):
            return code
    return ""


class PayloadBuilder:
    """Makes the event bodies of a call group, with the simulator's project, members and
    customers (for names)."""

    def __init__(
        self,
        project_code: str,
        vbot_id: str,
        members: list[dict[str, Any]],
        customers: list[dict[str, str]],
    ) -> None:
        self.project_code = project_code
        self.vbot_id = vbot_id
        self.member_names = {m["member_no"]: m["member_name"] for m in members}
        self.customers = {phone_key(c["vbot_phone"]): c["name"] for c in customers}

    def agent_account(self, member_no: str) -> str:
        """The number an agent on the app / SIP / web shows as (14 digits, as VBot's sample)."""
        crc = zlib.crc32(f"{self.vbot_id}:{member_no}".encode())
        return f"03{crc:010d}{member_no[-2:]:0>2}"

    def _party(self, leg: dict[str, Any] | None, group_id: str, role: str) -> dict[str, Any]:
        leg = leg or {}
        member_no = leg.get("member_no") if isinstance(leg.get("member_no"), str) else ""
        phone = leg.get("phone") if isinstance(leg.get("phone"), str) else ""
        source = leg.get("source") if isinstance(leg.get("source"), str) else ""
        if member_no:
            return {
                "id": self.project_code,
                "number": phone or self.agent_account(member_no),
                "name": self.member_names.get(member_no, ""),
                "type": source,
                "channel": _channel(group_id, role),
                "member_no": member_no,
            }
        return {
            "id": "",
            "number": phone,
            "name": self.customers.get(phone_key(phone), ""),
            "type": source or "Phone",
            "channel": _channel(group_id, role),
            "member_no": "",
        }

    @staticmethod
    def parties(group: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(caller leg, callee leg) of a group: the customer and the agent who answered (else
        the first rung), in the call's direction."""
        callers, callees = _legs(group, "caller"), _legs(group, "callee")
        caller = callers[0] if callers else None
        answered = [leg for leg in callees if leg.get("disposition") == "ANSWER"]
        callee = answered[0] if answered else (callees[0] if callees else None)
        if len(callers) > 1:  # an outgoing call rung from several agents
            answered = [leg for leg in callers if leg.get("disposition") == "ANSWER"]
            caller = answered[0] if answered else caller
        return caller, callee

    def type_call(self, group: dict[str, Any], missed: int) -> int:
        value = group.get("type_call")
        if value == "MISSCALL":
            return missed
        return TYPE_CALL.get(value, 2) if isinstance(value, str) else 2

    def call_log(self, group: dict[str, Any], missed_type_call: int = 3) -> dict[str, Any]:
        """``manualCallLog`` (MANUAL_CALL_LOG, P2P_CALL_LOG) of a call group."""
        group_id = str(group.get("group_id") or "")
        epoch = parse_date_create(group.get("date_create"))
        create_ms = epoch * 1000 if epoch is not None else 0
        talk, total = _seconds(group.get("time_call")), _seconds(group.get("duration_call"))
        caller_leg, callee_leg = self.parties(group)
        caller = self._party(caller_leg, group_id, "caller")
        callee = self._party(callee_leg, group_id, "callee")
        customer = caller if not caller["member_no"] else callee
        if customer["member_no"]:
            customer = {"number": "", "name": ""}
        disposition = group.get("disposition") if isinstance(group.get("disposition"), str) else ""
        hangup, sip = HANGUP.get(disposition.upper(), ("NORMAL_CLEARING", ""))
        postages = [
            leg.get("postage")
            for leg in _legs(group, "caller") + _legs(group, "callee")
            if isinstance(leg.get("postage"), int | float) and not isinstance(leg["postage"], bool)
        ]
        ended = callee if talk and callee["member_no"] == "" else caller
        external = group.get("external_call_id")
        return {
            "transId": group_id,
            "projectCode": self.project_code,
            "typeCall": self.type_call(group, missed_type_call),
            "timeCall": talk,
            "durationCall": total,
            "createAt": create_ms,
            "callAt": create_ms + max(total - talk, 0) * 1000,
            "callerId": caller["id"],
            "caller": caller["number"],
            "callerName": caller["name"],
            "typeCaller": caller["type"],
            "channelCaller": caller["channel"],
            "callerMemberNo": caller["member_no"],
            "calleeId": callee["id"],
            "callee": callee["number"],
            "calleeName": callee["name"],
            "typeCallee": callee["type"],
            "channelCallee": callee["channel"],
            "calleeMemberNo": callee["member_no"],
            "conferenceId": "",
            "telcoCode": telco(customer["number"]),
            "disposition": disposition,
            "hangupCause": hangup,
            "sipCode": sip,
            "endCall": ended["channel"],
            "hotline": group.get("hotline_number") or "",
            "isIvr": disposition == "BOTIVR",
            "groupId": group_id,
            "forwardBotIdEndCall": "",
            "paymentChannel": "MONEY",
            "postage": max(postages, default=0.0),
            "autoDialServiceCharge": 0,
            "campaignTransId": "",
            "customerUid": (
                hashlib.md5(
                    phone_key(customer["number"]).encode(), usedforsecurity=False
                ).hexdigest()
                if customer["name"]
                else ""
            ),
            "customerName": customer["name"],
            "firstQuestion": "",
            "externalCallId": external if isinstance(external, str) else "",
            "groupMemberUid": "",
        }

    def incoming(self, group: dict[str, Any]) -> dict[str, Any]:
        """``IN_COMINGCALL``: what is known while the call rings (callee = first agent rung)."""
        log = self.call_log(group)
        callees = _legs(group, "callee")
        callee = self._party(callees[0] if callees else None, log["groupId"], "callee")
        return {
            "transId": log["transId"],
            "projectCode": log["projectCode"],
            "typeCall": 1,
            "createAt": log["createAt"],
            "callerId": log["callerId"],
            "caller": log["caller"],
            "callerName": log["callerName"],
            "typeCaller": log["typeCaller"],
            "channelCaller": log["channelCaller"],
            "calleeId": callee["id"],
            "callee": callee["number"],
            "calleeName": callee["name"],
            "typeCallee": callee["type"],
            "channelCallee": callee["channel"],
            "calleeMemberNo": callee["member_no"],
            "telcoCode": log["telcoCode"],
            "hotline": log["hotline"],
            "groupId": log["groupId"],
            "customerUid": log["customerUid"],
            "customerName": log["customerName"],
            "externalCallId": log["externalCallId"],
        }

    @staticmethod
    def recording(group: dict[str, Any]) -> dict[str, Any] | None:
        """``manualCallRecording``, or None when the call has no recording."""
        files = group.get("record_file")
        if not isinstance(files, list) or not files or not isinstance(files[0], str):
            return None
        external = group.get("external_call_id")
        return {
            "transId": str(group.get("group_id") or ""),
            "externalCallId": external if isinstance(external, str) else "",
            "recordUrl": files[0],
        }

    def events(
        self, group: dict[str, Any], wanted: tuple[str, ...], missed: int, p2p: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        """``(event, body)`` of a finished call, in the order VBot sends them."""
        out: list[tuple[str, dict[str, Any]]] = []
        if p2p:
            if "P2P_CALL_LOG" in wanted:
                out.append(("P2P_CALL_LOG", self.call_log(group, missed)))
            if "HISTORY_CALL_PEERTOPEER" in wanted:
                out.append(("HISTORY_CALL_PEERTOPEER", copy.deepcopy(group)))
            return out
        if "IN_COMINGCALL" in wanted and group.get("type_call") in ("INCALL", "MISSCALL"):
            out.append(("IN_COMINGCALL", self.incoming(group)))
        log = self.call_log(group, missed)
        recording = self.recording(group)
        if "MANUAL_CALL_LOG" in wanted:
            out.append(("MANUAL_CALL_LOG", log))
        if "MANUAL_CALL_RECORDING" in wanted and recording is not None:
            out.append(("MANUAL_CALL_RECORDING", recording))
        if "MANUAL_CALL_COMPLETE" in wanted:
            out.append(
                (
                    "MANUAL_CALL_COMPLETE",
                    {"manualCallLog": copy.deepcopy(log), "manualCallRecording": recording},
                )
            )
        if "HISTORY_CALL" in wanted:
            out.append(("HISTORY_CALL", copy.deepcopy(group)))
        return out


@dataclass
class _Delivery:
    seq: int
    event: str
    group_id: str
    body: bytes
    url: str
    headers: dict[str, str]
    delay: float
    retries: int
    timeout: float
    dropped: bool = False
    duplicate: bool = False


class WebhookDispatcher:
    """Queues events and POSTs them from one background thread; see :class:`WebhookSettings`.

    Public: ``settings``, ``log`` (one dict per event handled: ``seq``, ``event``, ``group_id``,
    ``status`` (HTTP status or None), ``error``, ``time`` (epoch s), ``attempts``, ``dropped``,
    ``duplicate``, ``url``, ``body`` (the JSON sent)), :meth:`configure`, :meth:`flush`,
    :meth:`emit`, :meth:`close`.
    """

    def __init__(self, settings: WebhookSettings, default_seed: int) -> None:
        self.settings = settings
        self._default_seed = default_seed
        self._rng = random.Random(settings.seed if settings.seed is not None else default_seed)
        self._cond = threading.Condition()
        self._queue: deque[_Delivery] = deque()
        self._pending = 0
        self._seq = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.log: list[dict[str, Any]] = []

    # -- settings ----------------------------------------------------------------------------

    def configure(self, **changes: Any) -> WebhookSettings:
        """Change the given settings (others are kept); ValueError/TypeError on bad values."""
        known = {f.name for f in fields(WebhookSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown webhook settings {unknown}; use {sorted(known)}")
        merged = {**self.settings.public(), **changes}
        new = validate_settings(merged)
        with self._cond:
            self.settings = new
            if "seed" in changes:
                self._rng.seed(new.seed if new.seed is not None else self._default_seed)
        return new

    # -- queueing ----------------------------------------------------------------------------

    def emit(self, event: str, body: Any, group_id: str = "") -> int:
        """Queue one raw ``body`` (any JSON value) as ``event``; returns how many were queued
        (0 when no URL is set). Faults apply as to any event."""
        return self.enqueue([(event, group_id, body)])

    def enqueue(self, events: list[tuple[str, str, Any]]) -> int:
        """Queue ``(event, group_id, body)`` items in order, after drawing drops, duplicates and
        the shuffle of each window. Never blocks on the network."""
        with self._cond:
            s = self.settings
            if not s.url or not events or self._closed:
                return 0
            headers = {"Content-Type": "application/json; charset=utf-8"}
            headers["User-Agent"] = "VBot-Webhook/1.0 (simulator)"
            if s.auth:
                headers[s.auth_header] = s.auth
            items: list[_Delivery] = []
            for event, group_id, body in events:
                if s.event_field and isinstance(body, dict):
                    body = {s.event_field: event, **body}
                raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                item = _Delivery(
                    0, event, group_id, raw, s.url, headers, s.delay_ms / 1000, s.retries, s.timeout
                )
                rng = self._rng
                if s.drop_rate and rng.random() < s.drop_rate:
                    item.dropped = True
                items.append(item)
                if not item.dropped and s.duplicate_rate and rng.random() < s.duplicate_rate:
                    twin = copy.copy(item)
                    twin.duplicate = True
                    items.append(twin)
            if s.shuffle > 1:
                for start in range(0, len(items), s.shuffle):
                    window = items[start : start + s.shuffle]
                    self._rng.shuffle(window)
                    items[start : start + s.shuffle] = window
            for item in items:
                self._seq += 1
                item.seq = self._seq
                self._queue.append(item)
            self._pending += len(items)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vbot-sim-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return len(items)

    @property
    def pending(self) -> int:
        """Events queued or being delivered."""
        with self._cond:
            return self._pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was handled (delivered, failed or dropped); False if
        ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def clear_log(self) -> None:
        with self._cond:
            self.log.clear()

    def close(self) -> None:
        """Stop the delivery thread (queued events are dropped)."""
        with self._cond:
            self._closed = True
            self._pending -= len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- delivery ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                item = self._queue.popleft()
            try:
                entry = self._deliver(item)
            except Exception as err:  # never lose the thread (and flush) to one bad event
                entry = {"seq": item.seq, "event": item.event, "group_id": item.group_id,
                         "status": None, "error": f"{type(err).__name__}: {err}",
                         "time": time.time(), "attempts": 0, "dropped": item.dropped,
                         "duplicate": item.duplicate, "url": item.url,
                         "body": item.body.decode("utf-8", "replace")}  # fmt: skip
            with self._cond:
                self.log.append(entry)
                self._pending -= 1
                self._cond.notify_all()

    def _deliver(self, item: _Delivery) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": item.seq,
            "event": item.event,
            "group_id": item.group_id,
            "status": None,
            "error": None,
            "time": time.time(),
            "attempts": 0,
            "dropped": item.dropped,
            "duplicate": item.duplicate,
            "url": item.url,
            "body": item.body.decode("utf-8"),
        }
        if item.dropped:
            return entry
        for _attempt in range(1 + max(item.retries, 0)):
            if item.delay > 0:
                time.sleep(item.delay)
            entry["attempts"] += 1
            status, error = _post(item.url, item.body, item.headers, item.timeout)
            entry.update(status=status, error=error, time=time.time())
            if status is not None and 200 <= status < 300:
                break
        return entry


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, Any]:
    """POST once, never following a redirect; (status, None) or (None, error text)."""
    parts = urlsplit(url)
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = conn_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, None if response.status < 300 else f"HTTP {response.status}"
    except (OSError, ValueError, http.client.HTTPException) as err:
        return None, f"{type(err).__name__}: {err}"
    finally:
        conn.close()


def validate_settings(values: dict[str, Any]) -> WebhookSettings:
    """A :class:`WebhookSettings` from plain values; ValueError/TypeError on bad ones."""
    url = str(values.get("url") or "")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook url must be http(s)://host/...: {url!r}")
        _ = parts.port  # ValueError on a bad port
    events = values.get("events", DEFAULT_EVENTS)
    if isinstance(events, str):
        events = [e.strip() for e in events.split(",") if e.strip()]
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise TypeError("events must be a list of event names")
    bad = [e for e in events if e not in EVENTS]
    if bad:
        raise ValueError(f"unknown events {bad}; use {list(EVENTS)}")
    header = str(values.get("auth_header") or "Authorization")
    if not header.isascii() or any(c in header for c in ' :\r\n\t"(),/;<=>?@[\\]{}'):
        raise ValueError(f"bad header name {header!r}")
    auth = str(values.get("auth") or "")
    if "\r" in auth or "\n" in auth or not all(" " <= c <= "\xff" for c in auth):
        raise ValueError("auth must be one line of Latin-1 text (an HTTP header value)")
    settings = WebhookSettings(
        url=url,
        auth=auth,
        auth_header=header,
        events=tuple(events),
        event_field=str(values.get("event_field") or ""),
        missed_type_call=int(values.get("missed_type_call", 3)),
        drop_rate=float(values.get("drop_rate", 0.0)),
        duplicate_rate=float(values.get("duplicate_rate", 0.0)),
        shuffle=int(values.get("shuffle", 0)),
        delay_ms=int(values.get("delay_ms", 0)),
        retries=int(values.get("retries", 0)),
        timeout=float(values.get("timeout", 5.0)),
        seed=None if values.get("seed") is None else int(values["seed"]),
    )
    if settings.missed_type_call not in (1, 3):
        raise ValueError("missed_type_call must be 1 or 3")
    for name in ("drop_rate", "duplicate_rate"):
        if not 0 <= getattr(settings, name) <= 1:
            raise ValueError(f"{name} must be in [0, 1]")
    if settings.shuffle < 0 or settings.delay_ms < 0 or not 0 <= settings.retries <= 10:
        raise ValueError("shuffle and delay_ms must be >= 0, retries 0..10")
    if not 0 < settings.timeout <= 300:
        raise ValueError("timeout must be in (0, 300] seconds")
    return settings
