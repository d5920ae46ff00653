"""One VBot call group (an element of getAll's ``data``) -> a plain dict of field values.

Nothing here knows Odoo: :func:`map_call` returns plain Python values (a naive UTC
``datetime``, ints, a float, strings, a list) that the model writes as they are. A group that
cannot be read raises :class:`MappingError` naming the offending field; :func:`map_calls`
maps a whole page and keeps the good groups when some are malformed.

What the payload looks like (see ``vbot-api-notes.md``): ``date_create`` is
``MM/DD/YYYY HH:mm:ss`` in Vietnam time without a zone, top-level ``time_call`` /
``duration_call`` are ``"HH:MM:SS"`` or plain seconds, ``type_call`` is ``INCALL`` /
``OUTCALL`` / ``MISSCALL`` (older ``CALLIN`` / ``CALLOUT``, newer 1 / 2 / 3), ``disposition``
comes in any case, and ``caller`` / ``callee`` are lists of legs where the customer is the
leg with a phone and no ``member_no`` and an agent is a leg with a ``member_no``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .phone import match_key, national_format

__all__ = [
    "ANSWERED_DISPOSITIONS",
    "BOT_DISPOSITIONS",
    "CALL_TYPES",
    "DEFAULT_TZ",
    "DISPOSITIONS",
    "MappingError",
    "classify",
    "external_id",
    "map_call",
    "map_calls",
    "map_member",
    "map_members",
    "parse_duration",
    "parse_vbot_datetime",
]

DEFAULT_TZ = "Asia/Ho_Chi_Minh"

#: (key, English label, Vietnamese label): the seed's 14 values in its order, then the two
#: of the older docs. Unknown values map to ``'other'`` (the model adds that choice).
DISPOSITIONS: list[tuple[str, str, str]] = [
    ("misscall", "Missed call", "Cuộc gọi nhỡ"),
    ("answer", "Answered", "Nghe máy"),
    ("busy", "Busy", "Máy bận"),
    ("noanswer", "No answer", "Không trả lời"),
    ("cancel", "Cancelled", "Cuộc gọi bị hủy"),
    ("congestion", "Network congestion", "Lỗi mạng"),
    ("chanunavail", "Unreachable", "Không liên lạc được"),
    ("dontcall", "Rejected", "Người nhận từ chối"),
    ("torture", "Network error", "Lỗi mạng"),
    ("invalidargs", "Invalid parameters", "Tham số không hợp lệ"),
    ("someoneanswered", "Answered by someone else", "Người khác đã nghe máy"),
    ("logout", "Logged out", "Đã đăng xuất"),
    ("botivr", "CallBot", "CallBot"),
    ("more", "No answer (more)", "Không trả lời"),
    ("incall", "Busy in another call", "Đang trong cuộc gọi khác"),
    ("normal_clearing", "Normal clearing", "Kết thúc bình thường"),
]

#: (key, English label, Vietnamese label) of the call direction.
CALL_TYPES: list[tuple[str, str, str]] = [
    ("incoming", "Incoming", "Gọi đến"),
    ("outgoing", "Outgoing", "Gọi đi"),
    ("missed", "Missed", "Gọi nhỡ"),
]

_DISPOSITION_KEYS = frozenset(key for key, _en, _vi in DISPOSITIONS)

#: Outcomes where a person took the call: an answered call, whatever its direction.
ANSWERED_DISPOSITIONS = frozenset({"answer", "someoneanswered", "normal_clearing"})
#: Outcomes where VBot's CallBot took an incoming call: not missed, not answered by a person.
BOT_DISPOSITIONS = frozenset({"botivr"})
_TYPE_CALL = {
    "INCALL": "incoming",
    "CALLIN": "incoming",
    "1": "incoming",
    "OUTCALL": "outgoing",
    "CALLOUT": "outgoing",
    "2": "outgoing",
    "MISSCALL": "missed",
    "3": "missed",
}
_VBOT_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
# Plausible epochs (2000-01-01 .. 2100-01-01, in seconds); milliseconds above 10**11.
_EPOCH_MIN, _EPOCH_MAX, _MS_THRESHOLD = 946_684_800, 4_102_444_800, 10**11
_CLOCK = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]?\d))?")
_SHOWN = 60
_NAME_MAX = 128


class MappingError(ValueError):
    """A call group VBot sent that cannot be read; :attr:`field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _shown(value: Any) -> str:
    """A short ``repr`` of a value for an error message."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


@lru_cache(maxsize=32)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise MappingError("tz", f"unknown time zone {_shown(tz)}") from error


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_vbot_datetime(
    value: Any, tz: str = DEFAULT_TZ, *, field: str = "date_create"
) -> datetime:
    """Read a VBot date as a naive UTC ``datetime``.

    ``'04/06/2026 16:18:25'`` (``MM/DD/YYYY HH:mm:ss``, local time of ``tz``) is the historycall
    format; ISO ``'2026-04-06 16:18:25'`` (local unless it carries an offset) and epoch
    numbers or numeric strings (seconds, or milliseconds above 10**11) of the newer API are
    accepted too. Anything else raises :class:`MappingError` for ``field``.
    """
    zone = _zone(tz)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and re.fullmatch(r"\d+(\.\d+)?", text):
        text = float(text)
    if _is_number(text):
        seconds = text / 1000 if text > _MS_THRESHOLD else text
        if not math.isfinite(seconds) or not _EPOCH_MIN <= seconds < _EPOCH_MAX:
            raise MappingError(field, f"{_shown(value)} is not a plausible epoch")
        return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    if not isinstance(text, str) or not text:
        raise MappingError(field, f"missing or not text: {_shown(value)}")
    parsed = None
    for fmt in _VBOT_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise MappingError(
                field, f"cannot read {_shown(value)} as MM/DD/YYYY HH:mm:ss"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def parse_duration(value: Any, *, field: str = "duration_call") -> int:
    """Seconds from ``'HH:MM:SS'``, ``'MM:SS'``, ``'120'``, ``120`` or ``120.0``; blank is 0.

    Fractions are rounded. Negative, non-finite or unreadable values raise
    :class:`MappingError` for ``field``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    seconds: float | None = None
    if _is_number(value):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        clock = _CLOCK.fullmatch(text)
        if clock:
            first, second, third = clock.groups()
            if third is None:  # MM:SS
                seconds = int(first) * 60 + int(second)
            else:  # HH:MM:SS
                seconds = int(first) * 3600 + int(second) * 60 + int(third)
        elif re.fullmatch(r"\d+(\.\d*)?", text):
            seconds = float(text)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise MappingError(field, f"cannot read {_shown(value)} as a duration")
    return round(seconds)


def _text(value: Any) -> str:
    """A payload scalar as stripped text ('' for None); numbers keep their digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _legs(group: dict[str, Any], side: str) -> list[dict[str, Any]]:
    legs = group.get(side)
    if legs is None:
        return []
    if not isinstance(legs, list):
        raise MappingError(side, f"expected a list of legs, got {type(legs).__name__}")
    return [leg for leg in legs if isinstance(leg, dict)]


def _call_type(value: Any) -> str:
    call_type = _TYPE_CALL.get(_text(value).upper())
    if call_type is None:
        raise MappingError("type_call", f"unknown call type {_shown(value)}")
    return call_type


def _amount(value: Any) -> float:
    """A leg's ``postage`` as a float; None, blank or unreadable costs count as 0."""
    if _is_number(value):
        return float(value) if math.isfinite(value) else 0.0
    try:
        amount = float(_text(value).replace(",", "."))
    except ValueError:
        return 0.0
    return amount if math.isfinite(amount) else 0.0


def _record_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [url.strip() for url in value if isinstance(url, str) and url.strip()]


def classify(call_type: str, disposition: str, talk_duration: int) -> tuple[str, bool]:
    """``(call_type, answered)`` of a call: what counts as missed is decided here, once.

    ``call_type`` is VBot's direction (``incoming`` / ``outgoing`` / ``missed`` for its
    MISSCALL), ``disposition`` the mapped outcome key (``'other'`` or ``''`` when unknown).

    * *answered*: a person took the call - an outcome of :data:`ANSWERED_DISPOSITIONS`, or an
      unknown outcome with talk time. A MISSCALL is never answered.
    * *missed*: an incoming call nobody answered - VBot's MISSCALL, and an incoming call whose
      outcome is no answer, busy, cancelled, rejected, unreachable, a network error... The
      CallBot's outcome (:data:`BOT_DISPOSITIONS`) is not missed. An outgoing call nobody
      answered stays outgoing: it is an attempt, not a missed call.
    """
    if call_type == "missed":
        return "missed", False
    if disposition in ANSWERED_DISPOSITIONS:
        answered = True
    elif disposition in _DISPOSITION_KEYS:
        answered = False
    else:
        answered = talk_duration > 0
    if call_type == "incoming" and not answered and disposition not in BOT_DISPOSITIONS:
        return "missed", False
    return call_type, answered


def external_id(group: dict[str, Any]) -> str:
    """The call's id: ``group_id``, else ``external_call_id``, else a hash of its content.

    The hash (``'sha1:…'``) is over the canonical JSON (sorted keys), so it does not depend
    on the order of the keys VBot sent.
    """
    for name in ("group_id", "external_call_id"):
        text = _text(group.get(name))
        if text:
            return text
    canonical = json.dumps(
        group, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )
    return "sha1:" + hashlib.sha1(canonical.encode("utf-8")).hexdigest()


def map_call(group: Any, tz: str = DEFAULT_TZ) -> dict[str, Any]:
    """Map one call group to the values the call record stores.

    Keys: ``external_id``, ``call_date`` (naive UTC), ``call_type`` (see :func:`classify`),
    ``answered``, ``disposition``, ``disposition_raw``, ``customer_number``,
    ``customer_key``, ``customer_display`` (the number as people read it),
    ``customer_name`` (the name VBot gave the customer, when it sent one),
    ``agent_member_no``, ``agent_member_nos``, ``hotline``, ``talk_duration``,
    ``duration``, ``cost``, ``record_urls``, ``has_recording``, ``payload``.
    Raises :class:`MappingError`.
    """
    if not isinstance(group, dict):
        raise MappingError("group", f"expected an object, got {type(group).__name__}")
    call_type = _call_type(group.get("type_call"))
    call_date = parse_vbot_datetime(group.get("date_create"), tz, field="date_create")
    caller, callee = _legs(group, "caller"), _legs(group, "callee")
    # The customer is on the calling side of an incoming (or missed) call, the agent on the
    # other; each is looked for on its own side first, then on the other one.
    customer_side, agent_side = (callee, caller) if call_type == "outgoing" else (caller, callee)
    customer_legs = customer_side + agent_side
    agent_legs = agent_side + customer_side

    customer_number = next(
        (
            phone
            for leg in customer_legs
            if (phone := _text(leg.get("phone"))) and not _text(leg.get("member_no"))
        ),
        "",
    )
    agents = [leg for leg in agent_legs if _text(leg.get("member_no"))]
    answered = [leg for leg in agents if _text(leg.get("disposition")).lower() == "answer"]
    agent_member_no = _text((answered or agents)[0].get("member_no")) if agents else ""
    disposition_raw = _text(group.get("disposition"))
    disposition = disposition_raw.lower()
    disposition = disposition if disposition in _DISPOSITION_KEYS else "other"
    record_urls = _record_urls(group.get("record_file"))
    talk_duration = parse_duration(group.get("time_call"), field="time_call")
    call_type, answered = classify(call_type, disposition, talk_duration)
    return {
        "external_id": external_id(group),
        "call_date": call_date,
        "call_type": call_type,
        "answered": answered,
        "disposition": disposition,
        "disposition_raw": disposition_raw,
        "customer_number": customer_number,
        "customer_key": match_key(customer_number),
        "customer_display": national_format(customer_number),
        "customer_name": _customer_name(group),
        "agent_member_no": agent_member_no,
        "agent_member_nos": list(dict.fromkeys(_text(leg["member_no"]) for leg in agents)),
        "hotline": _text(group.get("hotline_number")),
        "talk_duration": talk_duration,
        "duration": parse_duration(group.get("duration_call"), field="duration_call"),
        "cost": round(sum(_amount(leg.get("postage")) for leg in caller + callee), 4),
        "record_urls": record_urls,
        "has_recording": bool(record_urls),
        "payload": json.dumps(group, ensure_ascii=False, sort_keys=True, default=str),
    }


def _customer_name(group: dict[str, Any]) -> str:
    """The customer's name when VBot sent one (webhooks' ``customerName``); getAll has none."""
    for name in ("customer_name", "customerName"):
        value = group.get(name)
        if isinstance(value, str) and value.strip():
            return value.replace("\x00", "").strip()[:_NAME_MAX]
    return ""


def map_calls(
    groups: Iterable[Any], tz: str = DEFAULT_TZ
) -> tuple[list[dict[str, Any]], list[tuple[int, MappingError]]]:
    """Map a page of groups: ``(mapped, [(index, error), ...])``; bad groups skip alone."""
    mapped: list[dict[str, Any]] = []
    errors: list[tuple[int, MappingError]] = []
    for index, group in enumerate(groups or ()):
        try:
            mapped.append(map_call(group, tz))
        except MappingError as error:
            errors.append((index, error))
    return mapped, errors


def map_member(item: Any) -> dict[str, Any]:
    """One element of ``/api/member/getAll`` -> ``{member_no, name, ext_number, status}``.

    ``member_no`` (VBot's "Mã thành viên", the ``member_no`` of call legs) is required and
    kept as text; the rest is optional: a missing name is ``''``, an unreadable status None.
    Raises :class:`MappingError`.
    """
    if not isinstance(item, dict):
        raise MappingError("member", f"expected an object, got {type(item).__name__}")
    member_no = _text(item.get("member_no")).replace("\x00", "")
    if not member_no or len(member_no) > 64:
        raise MappingError("member_no", f"missing or unreadable: {_shown(item.get('member_no'))}")
    name = item.get("member_name")
    status = item.get("member_status")
    return {
        "member_no": member_no,
        "name": (_text(name) if isinstance(name, str) else "").replace("\x00", "")[:_NAME_MAX],
        "ext_number": _text(item.get("member_ext_number")).replace("\x00", "")[:64],
        "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
    }


def map_members(
    items: Iterable[Any],
) -> tuple[list[dict[str, Any]], list[tuple[int, MappingError]]]:
    """Map a list of members: ``(mapped, [(index, error), ...])``; the last of a repeated
    ``member_no`` wins."""
    mapped: dict[str, dict[str, Any]] = {}
    errors: list[tuple[int, MappingError]] = []
    for index, item in enumerate(items or ()):
        try:
            member = map_member(item)
        except MappingError as error:
            errors.append((index, error))
            continue
        mapped[member["member_no"]] = member
    return list(mapped.values()), errors
