"""A VBot webhook body -> what the addon does with it (plain Python, no ``odoo`` import).

VBot POSTs one JSON object per event to the partner URL (``v3-webhooks.md``). The samples
carry no event name, so the event is told by its shape; an explicit name is accepted too (a
body key ``event`` / ``eventName`` / ``event_name`` / ``eventType`` / ``event_type``, with the
event itself either beside it or under ``data`` / ``payload``, or an ``X-VBot-Event`` header).

=========================  =====================================================  ===========
event                      shape                                                  becomes
=========================  =====================================================  ===========
``MANUAL_CALL_COMPLETE``   ``{"manualCallLog": {...}, "manualCallRecording": ...}`` a call
``MANUAL_CALL_LOG``        flat ``transId``, ``typeCall``, ``disposition``, ...    a call
``HISTORY_CALL``           a historycall group (``group_id``, ``caller`` list...)  a call
``P2P_CALL_LOG``           a call log whose both sides are extensions             ignored
``HISTORY_CALL_P...``      a group whose every leg is an extension                ignored
``MANUAL_CALL_RECORDING``  ``{"transId", "externalCallId", "recordUrl"}``         a recording
``IN_COMINGCALL``          ``transId``, ``caller``, ``callee``, no outcome yet     ringing
``AUTO_CALL_*``, AI, ...   auto-call and AI-extraction events                     ignored
=========================  =====================================================  ===========

Internal (agent-to-agent) calls are acknowledged and left to the sync: VBot's call history
does not list them, and whatever it lists the sync stores, so the database holds VBot's
history whichever way a call came.

A call is mapped by :func:`~.mapping.map_call` itself: the call-log fields are laid out as the
historycall group VBot's ``getAll`` returns for the same call (``groupId`` = ``transId``
= ``group_id``; epoch-ms ``createAt`` = ``date_create``; ``timeCall`` / ``durationCall`` =
``time_call`` / ``duration_call``; ``typeCall`` 1 / 2 / 3 = in / out / missed; one leg per
side with ``callerMemberNo`` / ``calleeMemberNo`` as its ``member_no``), so a webhook and a
later sync of one call give the same external id, date, direction, outcome, customer number
and agent. Every value is then bounded before it may reach PostgreSQL; anything unreadable
raises :class:`WebhookError` with a short reason (the receiver answers 4xx with it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .mapping import DEFAULT_TZ, MAX_ID, MappingError, map_call
from .phone import match_key

__all__ = [
    "CALL",
    "IGNORED",
    "MAX_BODY_BYTES",
    "RECORDING",
    "RINGING",
    "WebhookError",
    "WebhookEvent",
    "detect_event",
    "load_body",
    "log_to_group",
    "parse_event",
]

#: Bodies above this size are refused before they are read (VBot's events are ~2 KiB).
MAX_BODY_BYTES = 256 * 1024

CALL, RECORDING, RINGING, IGNORED = "call", "recording", "ringing", "ignored"

#: Event name -> what it becomes.
EVENTS: dict[str, str] = {
    "MANUAL_CALL_COMPLETE": CALL,
    "MANUAL_CALL_LOG": CALL,
    "HISTORY_CALL": CALL,
    "MANUAL_CALL_RECORDING": RECORDING,
    "IN_COMINGCALL": RINGING,
    # Internal calls and auto calls (campaign bots) are not in the call history the sync
    # reads; AI extractions carry no call. Accepted and ignored, so that VBot does not retry.
    "P2P_CALL_LOG": IGNORED,
    "HISTORY_CALL_PEERTOPEER": IGNORED,
    "AUTO_CALL_COMPLETE": IGNORED,
    "AUTO_CALL_LOG": IGNORED,
    "AUTO_CALL_RECORDING": IGNORED,
    "AUTO_CALL_AI_EXTRACTION": IGNORED,
    "MANUAL_CALL_AI_EXTRACTION": IGNORED,
    "CAMPAIGN_CALL": IGNORED,
}
_ALIASES = {"INCOMING_CALL": "IN_COMINGCALL", "INCOMINGCALL": "IN_COMINGCALL"}
_NAME_KEYS = ("event", "eventName", "event_name", "eventType", "event_type")
_WRAPPER_KEYS = ("data", "payload", "body")

# Bounds of what is stored (indexed columns, INT4, plausible dates).
_MAX_ID = MAX_ID
_MAX_SHORT = 64
_MAX_URL = 2048
_MAX_URLS = 10
_INT4 = 2**31 - 1
_MAX_COST = 1e12
_FUTURE = timedelta(days=1)
# A leg on VBot's app or web phone is an agent's account, not a phone number.
_APP_SOURCES = frozenset({"website_rtc", "app_sdk"})
# map_call names the historycall fields; a call log's reader knows them by these names.
_LOG_FIELDS = {
    "date_create": "createAt",
    "type_call": "typeCall",
    "time_call": "timeCall",
    "duration_call": "durationCall",
    "caller": "caller",
    "callee": "callee",
}
_SHOWN = 40


class WebhookError(ValueError):
    """A body the receiver refuses; ``str(error)`` is the short reason given back."""


@dataclass(frozen=True)
class WebhookEvent:
    """What one webhook body asks for.

    ``kind`` is :data:`CALL` (``call`` holds the values :func:`~.mapping.map_call` gives),
    :data:`RECORDING` (``record_urls`` of the call ``external_id``), :data:`RINGING`
    (``number`` rings ``member_nos``) or :data:`IGNORED`.
    """

    name: str
    kind: str
    external_id: str = ""
    call: dict[str, Any] | None = None
    record_urls: tuple[str, ...] = ()
    number: str = ""
    number_key: str = ""
    member_nos: tuple[str, ...] = ()
    hotline: str = ""
    date: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _text(value: Any, limit: int = _MAX_SHORT) -> str:
    """A scalar as stripped text without NUL ('' for None, objects and lists), cut at ``limit``."""
    if value is None or isinstance(value, dict | list | bool):
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer():
            value = int(value)
    return str(value).replace("\x00", "").strip()[:limit]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a body (at most :data:`MAX_BODY_BYTES`, checked by the caller)."""
    if not raw or not raw.strip():
        raise WebhookError("empty body")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WebhookError("body is not UTF-8") from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise WebhookError("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise WebhookError(f"expected a JSON object, got {type(body).__name__}")
    return _without_nul(body)


def _without_nul(body: dict[str, Any]) -> dict[str, Any]:
    """The body with every NUL character removed from its strings (PostgreSQL refuses them)."""
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str):
                if "\x00" in value:
                    node[key] = value.replace("\x00", "")
            elif isinstance(value, dict | list):
                stack.append(value)
        if isinstance(node, dict) and any("\x00" in key for key in node):
            cleaned = {key.replace("\x00", ""): value for key, value in node.items()}
            node.clear()
            node.update(cleaned)
    return body


def _normalise_name(value: Any) -> str:
    name = _text(value).upper().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(name, name)


def _unwrap(body: dict[str, Any], header_name: str | None) -> tuple[str, dict[str, Any]]:
    """(explicit event name or '', the event's own object)."""
    for key in _NAME_KEYS:
        if isinstance(body.get(key), str) and body[key].strip():
            for wrapper in _WRAPPER_KEYS:
                if isinstance(body.get(wrapper), dict):
                    return _normalise_name(body[key]), body[wrapper]
            return _normalise_name(body[key]), body
    return _normalise_name(header_name) if header_name else "", body


def _has(body: dict[str, Any], *keys: str) -> bool:
    return any(key in body for key in keys)


def detect_event(body: dict[str, Any]) -> str:
    """The event name of a body without one, from its shape; raises :class:`WebhookError`."""
    if isinstance(body.get("manualCallLog"), dict):
        return "MANUAL_CALL_COMPLETE"
    if isinstance(body.get("autoCallLog"), dict):
        return "AUTO_CALL_COMPLETE"
    if isinstance(body.get("caller"), list) or isinstance(body.get("callee"), list):
        return "HISTORY_CALL_PEERTOPEER" if _internal_group(body) else "HISTORY_CALL"
    if _has(body, "group_id", "date_create", "type_call"):
        return "HISTORY_CALL"
    if _has(body, "transId", "groupId"):
        if _has(body, "billsec", "botId", "hotlineCode", "templateScriptCode", "callNet"):
            return "AUTO_CALL_LOG"
        if _has(body, "recordUrl") and not _has(body, "typeCall", "createAt", "caller", "callee"):
            return "MANUAL_CALL_RECORDING"
        if _has(body, "callCollectedData") and not _has(body, "caller", "callee"):
            return "MANUAL_CALL_AI_EXTRACTION"
        ended = _has(body, "durationCall", "timeCall", "hangupCause", "endCall", "sipCode")
        if ended or _text(body.get("disposition")):
            internal = _text(body.get("callerMemberNo")) and _text(body.get("calleeMemberNo"))
            return "P2P_CALL_LOG" if internal else "MANUAL_CALL_LOG"
        if _has(body, "caller", "callee", "calleeMemberNo"):
            return "IN_COMINGCALL"
    raise WebhookError("unknown event shape")


def _internal_group(group: dict[str, Any]) -> bool:
    """Whether every leg of a group is an agent's (an extension): an internal call."""
    legs = [
        leg
        for side in ("caller", "callee")
        if isinstance(group.get(side), list)
        for leg in group[side]
        if isinstance(leg, dict)
    ]
    return bool(legs) and all(_text(leg.get("member_no")) for leg in legs)


def parse_event(
    body: dict[str, Any],
    tz: str = DEFAULT_TZ,
    *,
    header_name: str | None = None,
    now: datetime | None = None,
) -> WebhookEvent:
    """Read one webhook body (see the module's table); raises :class:`WebhookError`.

    ``tz`` is the zone of a ``HISTORY_CALL``'s local ``date_create`` (epoch times need none);
    ``now`` (naive UTC, default the clock) bounds how far in the future a call may be dated.
    """
    name, event = _unwrap(_without_nul(body), header_name)
    if not name:
        name = detect_event(event)
    kind = EVENTS.get(name)
    if kind is None:
        raise WebhookError(f"unknown event {_shown(name)}")
    if kind == IGNORED:
        return WebhookEvent(name, IGNORED, external_id=_call_id(event, required=False))
    if kind == RECORDING:
        return _recording_event(name, event)
    if kind == RINGING:
        return _ringing_event(name, event, now)
    return _call_event(name, event, tz, now)


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def _call_id(event: dict[str, Any], required: bool = True) -> str:
    """``groupId`` (= the historycall ``group_id``), else ``transId``; bounded."""
    for key in ("groupId", "group_id", "transId"):
        value = event.get(key)
        if value is None or value == "":
            continue
        text = _text(value, limit=_MAX_ID + 1)
        if isinstance(value, dict | list | bool) or not text:
            raise WebhookError(f"{key}: not an id: {_shown(value)}")
        if len(text) > _MAX_ID:
            raise WebhookError(f"{key}: longer than {_MAX_ID} characters")
        return text
    if required:
        raise WebhookError("no call id (groupId, group_id or transId)")
    return ""


def _urls(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    urls = []
    for url in value[:_MAX_URLS]:
        if not isinstance(url, str):
            continue
        url = url.replace("\x00", "").strip()
        if url.lower().startswith(("http://", "https://")) and len(url) <= _MAX_URL:
            urls.append(url)
    return tuple(dict.fromkeys(urls))


def _recording_event(name: str, event: dict[str, Any]) -> WebhookEvent:
    external_id = _call_id(event)
    urls = _urls(event.get("recordUrl"))
    if not urls:
        raise WebhookError(f"recordUrl: not an http(s) URL: {_shown(event.get('recordUrl'))}")
    return WebhookEvent(name, RECORDING, external_id=external_id, record_urls=urls)


def _epoch_date(value: Any, now: datetime | None, key: str) -> datetime:
    """An epoch (ms, or s below 10**11) as naive UTC to the second; plausible or refused."""
    try:
        number = float(value) if isinstance(value, str) and value.strip() else value
    except ValueError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise WebhookError(f"{key}: not an epoch time: {_shown(value)}")
    seconds = number / 1000 if number > 10**11 else number
    if not math.isfinite(seconds) or not 946_684_800 <= seconds < 4_102_444_800:
        raise WebhookError(f"{key}: not a plausible epoch time: {_shown(value)}")
    date = datetime.fromtimestamp(int(seconds), timezone.utc).replace(tzinfo=None)
    if date > (now or _utcnow()) + _FUTURE:
        raise WebhookError(f"{key}: in the future: {_shown(value)}")
    return date


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _ringing_event(name: str, event: dict[str, Any], now: datetime | None) -> WebhookEvent:
    external_id = _call_id(event)
    number = _text(event.get("caller"))
    member_nos = tuple(
        dict.fromkeys(
            no for no in (_text(event.get("calleeMemberNo")), _text(event.get("callee"))) if no
        )
    )
    date = None
    if event.get("createAt") not in (None, ""):
        date = _epoch_date(event["createAt"], now, "createAt")
    return WebhookEvent(
        name,
        RINGING,
        external_id=external_id,
        number=number,
        number_key=match_key(number) or "",
        member_nos=member_nos,
        hotline=_text(event.get("hotline")),
        date=date,
    )


def _leg(log: dict[str, Any], side: str, disposition: Any, postage: Any) -> dict[str, Any]:
    """One historycall leg from a call log's ``caller*`` or ``callee*`` fields."""
    member_no = _text(log.get(f"{side}MemberNo"))
    source = _text(log.get(f"type{side.capitalize()}"))
    phone = _text(log.get(side))
    if not member_no and source.lower() in _APP_SOURCES:
        phone = ""  # an agent on the app or the web phone: its account id is no number
    return {
        "phone": phone,
        "disposition": _text(disposition),
        "postage": postage,
        "source": source,
        "member_no": member_no,
    }


def log_to_group(log: dict[str, Any], recording: dict[str, Any] | None = None) -> dict[str, Any]:
    """A call log (``MANUAL_CALL_LOG`` / ``P2P_CALL_LOG`` fields) as a historycall group."""
    disposition = log.get("disposition")
    urls = _urls(log.get("recordUrl"))
    if isinstance(recording, dict):
        urls += _urls(recording.get("recordUrl"))
    return {
        "hotline_number": _text(log.get("hotline")),
        "date_create": log.get("createAt")
        if log.get("createAt") is not None
        else log.get("callAt"),
        # The cost is on one leg: map_call sums the legs'.
        "caller": [_leg(log, "caller", disposition, log.get("postage"))],
        "callee": [_leg(log, "callee", disposition, 0)],
        "time_call": log.get("timeCall"),
        "duration_call": log.get("durationCall"),
        "type_call": log.get("typeCall"),
        "group_id": _call_id(log),
        "disposition": disposition,
        "record_file": list(dict.fromkeys(urls)),
        "external_call_id": _text(log.get("externalCallId"), limit=_MAX_ID),
    }


def _call_event(name: str, event: dict[str, Any], tz: str, now: datetime | None) -> WebhookEvent:
    if name == "MANUAL_CALL_COMPLETE" and isinstance(event.get("manualCallLog"), dict):
        log, recording = event["manualCallLog"], event.get("manualCallRecording")
    else:
        log, recording = event, None
    is_group = name.startswith("HISTORY_CALL") or _has(log, "group_id", "date_create")
    if is_group:
        group, fields_named = log, {}
        _call_id(group)  # refuse an id the database cannot index
    else:
        if not isinstance(log.get("createAt"), int | float | str) and log.get("callAt") is None:
            raise WebhookError("createAt missing")
        group, fields_named = log_to_group(log, recording), _LOG_FIELDS
    try:
        values = map_call(group, tz, now=now)
    except MappingError as error:
        where = fields_named.get(error.field, error.field)
        message = str(error).split(": ", 1)[-1]
        raise WebhookError(f"{where}: {message}") from None
    values = _bounded(values)
    values["payload"] = json.dumps(event, ensure_ascii=False, sort_keys=True, default=str)
    return WebhookEvent(
        name,
        CALL,
        external_id=values["external_id"],
        call=values,
        record_urls=tuple(values["record_urls"]),
        number=values["customer_number"],
        number_key=values["customer_key"] or "",
        hotline=values["hotline"],
        date=values["call_date"],
    )


def _bounded(values: dict[str, Any]) -> dict[str, Any]:
    """The mapped values (bounded and cleaned by map_call) dated to the second, as the
    history's ``date_create`` is: an epoch in milliseconds may carry a fraction."""
    values = dict(values)
    values["call_date"] = values["call_date"].replace(microsecond=0)
    return values
