"""One VBot call group (an element of getAll's ``data``) -> a plain dict of field values.

Nothing here knows Odoo: :func:`map_call` returns plain Python values (a naive UTC
``datetime``, ints, a float, strings, a list) that the model writes as they are. A group that
cannot be read raises :class:`MappingError` naming the offending field; :func:`map_calls`
maps a whole page and keeps the good groups when some are malformed.

Every value is bounded and cleaned here, before it can reach PostgreSQL (the payload is
hostile until mapped): NUL characters are stripped and lone surrogates replaced in every
string; text columns are cut to :data:`MAX_TEXT` (255) characters, recording URLs to
:data:`MAX_URL`; ids longer than :data:`MAX_ID` keep a prefix plus a hash of the whole id
(distinct ids stay distinct); durations must fit PostgreSQL's 32-bit ``integer``; costs must
be finite and below :data:`MAX_COST`; dates must fall between :data:`MIN_DATE` and a day
after "now"; the stored payload is capped at :data:`MAX_PAYLOAD` characters.

Ids are normalised to one text form: ``123``, ``123.0``, ``" 123 "`` and ``"123"`` are
the same VBot id ``"123"``. VBot's id is the identity of a call, and its type is only how one
API generation serialises it (the newer CDR API sends numbers where historycall sends
text), so the same call read as a number once and as text later must stay one call.
Two *different* calls that claim the same id in one answer are not merged silently: the
sync stores the first and reports the other as skipped, naming ``group_id``.

What the payload looks like (see ``vbot-api-notes.md``): ``date_create`` is
``MM/DD/YYYY HH:mm:ss`` in Vietnam time without a zone, top-level ``time_call`` /
``duration_call`` are ``"HH:MM:SS"`` or plain seconds, ``type_call`` is ``INCALL`` /
``OUTCALL`` / ``MISSCALL`` (older ``CALLIN`` / ``CALLOUT``, newer 1 / 2 / 3), ``disposition``
comes in any case, and ``caller`` / ``callee`` are lists of legs where the customer is the
leg with a phone and no ``member_no`` and an agent is a leg with a ``member_no``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
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
    "MAX_ID",
    "MAX_TEXT",
    "MappingError",
    "canonical_json",
    "classify",
    "clean_text",
    "external_id",
    "map_call",
    "map_calls",
    "map_member",
    "map_members",
    "parse_duration",
    "parse_vbot_datetime",
    "raw_payload",
    "safe_external_id",
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
# Epoch numbers: milliseconds above 10**11 (seconds until the year 5138).
_MS_THRESHOLD = 10**11
_CLOCK = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]?\d))?")
_SHOWN = 60
_NAME_MAX = 128

#: Bounds of what reaches the database (see the module docstring).
MAX_TEXT = 255  # Char columns, several of them indexed (a btree row holds ~2700 bytes)
MAX_ID = 255  # external_id: unique index
MAX_URL = 2048
MAX_URLS = 20
MAX_MEMBERS = 50
MAX_PAYLOAD = 256 * 1024
MAX_INT4 = 2**31 - 1
MAX_COST = 10**12  # đồng; a call costs a few thousand
MIN_DATE = datetime(2010, 1, 1)  # VBot did not exist before; 1970 is a zero epoch
MAX_FUTURE = timedelta(days=1)  # VBot's clock may run a little ahead, not a day
_SURROGATES = re.compile("[\ud800-\udfff]")
_EPOCH_TEXT = re.compile(r"\d{1,20}(\.\d{1,9})?")
# The historycall format (MM/DD/YYYY HH:mm[:ss]), read without strptime (the costly part
# of mapping a call); anything else goes through strptime and fromisoformat.
_VBOT_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


class MappingError(ValueError):
    """A call group VBot sent that cannot be read; :attr:`field` names the culprit.

    :attr:`code` and :attr:`params` say why in a form a translated message can be built
    from (``str()`` stays English, for logs and tests): codes are ``not_object``,
    ``missing``, ``unreadable_date``, ``implausible_date``, ``unreadable_duration``,
    ``out_of_range``, ``unknown_call_type``, ``not_a_list``, ``bad_id``, ``unknown_tz``,
    ``too_nested``; the sync adds ``duplicate_id`` and ``db_rejected``. ``params`` always
    holds ``value`` (a short ``repr``) when a value is at fault.
    """

    def __init__(self, field: str, message: str, code: str = "unreadable", **params: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code
        self.params = params

    def __reduce__(self):
        # Pages may be mapped in another process (services.reader): errors travel too.
        return _mapping_error, (self.field, self.message, self.code, self.params)


def _mapping_error(field: str, message: str, code: str, params: dict[str, Any]) -> MappingError:
    return MappingError(field, message, code, **params)


def _shown(value: Any) -> str:
    """A short ``repr`` of a value for an error message (cleaned: it is stored too)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__}>"
    text = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
    return _SURROGATES.sub("\ufffd", text)


def clean_text(value: Any, limit: int | None = MAX_TEXT) -> str:
    """A payload scalar as clean, stripped text ('' for None), at most ``limit`` characters.

    Numbers keep their digits (``842455599940``, ``7.0`` -> ``'7'``); NUL characters are
    removed (PostgreSQL text cannot hold them) and lone UTF-16 surrogates (``"\\ud800"``
    in JSON) become U+FFFD (they cannot be encoded in UTF-8).
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    text = text.strip()
    return text[:limit] if limit is not None else text


@lru_cache(maxsize=32)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise MappingError(
            "tz", f"unknown time zone {_shown(tz)}", "unknown_tz", value=_shown(tz)
        ) from error


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_vbot_datetime(
    value: Any,
    tz: str = DEFAULT_TZ,
    *,
    field: str = "date_create",
    now: datetime | None = None,
) -> datetime:
    """Read a VBot date as a naive UTC ``datetime``.

    ``'04/06/2026 16:18:25'`` (``MM/DD/YYYY HH:mm:ss``, local time of ``tz``) is the historycall
    format; ISO ``'2026-04-06 16:18:25'`` (local unless it carries an offset) and epoch
    numbers or numeric strings (seconds, or milliseconds above 10**11) of the newer API are
    accepted too. Anything else raises :class:`MappingError` for ``field``, and so does a
    date before :data:`MIN_DATE` or more than a day after ``now`` (naive UTC; the current
    time when not given): ``01/01/1970`` or ``2099`` are not when a call happened.
    """
    zone = _zone(tz)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and _EPOCH_TEXT.fullmatch(text):
        text = float(text)
    if _is_number(text):
        seconds = text / 1000 if text > _MS_THRESHOLD else text
        try:
            parsed = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise MappingError(
                field,
                f"{_shown(value)} is not a plausible epoch",
                "implausible_date",
                value=_shown(value),
            ) from None
        return _plausible(parsed, value, field, now)
    if not isinstance(text, str) or not text:
        raise MappingError(
            field, f"missing or not text: {_shown(value)}", "missing", value=_shown(value)
        )
    parsed = None
    if len(text) <= 40 and (fast := _VBOT_DATE.fullmatch(text)):
        month, day, year, hour, minute, second = fast.groups()
        with contextlib.suppress(ValueError):
            parsed = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
            )
    if parsed is None and len(text) <= 40:
        for fmt in _VBOT_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            with contextlib.suppress(ValueError):
                parsed = datetime.fromisoformat(text)
    if parsed is None:
        raise MappingError(
            field,
            f"cannot read {_shown(value)} as MM/DD/YYYY HH:mm:ss",
            "unreadable_date",
            value=_shown(value),
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise MappingError(
            field,
            f"{_shown(value)} is not a plausible date",
            "implausible_date",
            value=_shown(value),
        ) from None
    return _plausible(parsed, value, field, now)


def _plausible(parsed: datetime, value: Any, field: str, now: datetime | None) -> datetime:
    """``parsed`` if a call can have happened then, else :class:`MappingError`."""
    if now is None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
    if not MIN_DATE <= parsed <= now + MAX_FUTURE:
        raise MappingError(
            field,
            f"{_shown(value)} is not a plausible date",
            "implausible_date",
            value=_shown(value),
        )
    return parsed


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
    elif isinstance(value, str) and len(value) <= 40:
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
        raise MappingError(
            field,
            f"cannot read {_shown(value)} as a duration",
            "unreadable_duration",
            value=_shown(value),
        )
    if seconds > MAX_INT4:
        raise MappingError(
            field,
            f"{_shown(value)} is out of range (at most {MAX_INT4} seconds)",
            "out_of_range",
            value=_shown(value),
        )
    return round(seconds)


def _text(value: Any, limit: int | None = MAX_TEXT) -> str:
    """A payload scalar as clean stripped text; '' for None and for what is no scalar."""
    if value.__class__ is str and value.isascii() and "\x00" not in value:
        # The common case, read a dozen times per call: clean_text's work, inline.
        text = value.strip()
        return text[:limit] if limit is not None else text
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return clean_text(value, limit)


def _legs(group: dict[str, Any], side: str) -> list[dict[str, Any]]:
    legs = group.get(side)
    if legs is None:
        return []
    if not isinstance(legs, list):
        raise MappingError(
            side,
            f"expected a list of legs, got {type(legs).__name__}",
            "not_a_list",
            value=_shown(legs),
        )
    return [leg for leg in legs if isinstance(leg, dict)]


def _call_type(value: Any) -> str:
    call_type = _TYPE_CALL.get(_text(value, 20).upper()) if _is_scalar(value) else None
    if call_type is None:
        raise MappingError(
            "type_call",
            f"unknown call type {_shown(value)}",
            "unknown_call_type",
            value=_shown(value),
        )
    return call_type


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _amount(value: Any) -> float:
    """A leg's ``postage`` as a float; None, blank or non-numeric text counts as 0.

    A number that is not finite or beyond :data:`MAX_COST` raises :class:`MappingError`
    (``postage``): it is no cost VBot billed, and it would not fit the column.
    """
    if _is_number(value):
        amount = float(value)
    else:
        try:
            amount = float(_text(value, 64).replace(",", "."))
        except (ValueError, OverflowError):
            return 0.0
    if not math.isfinite(amount) or abs(amount) > MAX_COST:
        raise MappingError(
            "postage",
            f"{_shown(value)} is out of range",
            "out_of_range",
            value=_shown(value),
        )
    return amount


def _record_urls(value: Any) -> list[str]:
    """The http(s) recording URLs, cleaned; too long ones are dropped, at most MAX_URLS."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    urls = []
    for url in value:
        if not isinstance(url, str):
            continue
        url = clean_text(url, None)
        if url and len(url) <= MAX_URL and url.lower().startswith(("http://", "https://")):
            urls.append(url)
            if len(urls) == MAX_URLS:
                break
    return urls


def _id_text(value: Any) -> str:
    """An id in its one text form: cleaned text, integral numbers without ``.0``.

    Raises :class:`MappingError` (``bad_id``) for what cannot be an id: booleans, objects,
    lists, non-finite numbers.
    """
    if value is None or isinstance(value, str):
        text = clean_text(value, None)
    elif _is_number(value) and math.isfinite(value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
    else:
        raise MappingError(
            "group_id", f"{_shown(value)} is not an id", "bad_id", value=_shown(value)
        )
    if len(text) > MAX_ID:
        # Distinct long ids stay distinct and the same id always gives the same key.
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
        text = f"{text[: MAX_ID - 46]}~sha1:{digest}"
    return text


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


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

    Ids are in one text form (see the module docstring): ``123`` and ``"123"`` are one id;
    ids over :data:`MAX_ID` characters keep a prefix and a hash of the whole id. The hash
    (``'sha1:…'``) is over the canonical JSON (sorted keys), so it does not depend on the
    order of the keys VBot sent. Raises :class:`MappingError` for an id that is not text
    or a number.
    """
    for name in ("group_id", "external_call_id"):
        try:
            text = _id_text(group.get(name))
        except MappingError as error:
            if name == "group_id":
                raise
            message = str(error).split(": ", 1)[1]
            raise MappingError(name, message, error.code, **error.params) from None
        if text:
            return text
    canonical = _canonical(group).encode("utf-8", "replace")
    return "sha1:" + hashlib.sha1(canonical).hexdigest()


def safe_external_id(group: Any) -> str:
    """:func:`external_id`, or a hash of whatever was sent: a key for any payload, never raises.

    Unreadable calls are remembered under it, so that the same bad payload seen again is
    the same entry.
    """
    if isinstance(group, dict):
        with contextlib.suppress(MappingError, RecursionError):
            return external_id(group)
    try:
        canonical = _canonical(group)
    except (RecursionError, ValueError):
        canonical = _shown(group)
    return "sha1:" + hashlib.sha1(canonical.encode("utf-8", "replace")).hexdigest()


def canonical_json(group: Any) -> str:
    """The group as JSON with sorted keys (the same content gives the same text, whatever
    its keys' order): what :func:`raw_payload` bounds. Raises :class:`MappingError` for a
    group nested too deeply."""
    try:
        return json.dumps(group, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:
        raise MappingError(
            "group", "nested too deeply to be read", "too_nested", value="…"
        ) from None


def raw_payload(group: Any, limit: int = MAX_PAYLOAD, *, text: str | None = None) -> str:
    """The group as canonical JSON text that PostgreSQL can store, at most ``limit`` long.

    JSON escapes NUL itself; lone surrogates become U+FFFD. A larger payload is replaced
    by a small JSON object saying so, with a hash of the whole (a changed call is still
    seen as changed). ``text`` is :func:`canonical_json` of the group when the caller
    made it already (the listing's duplicate check does).
    """
    if text is None:
        text = canonical_json(group)
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    if len(text) > limit:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
        text = json.dumps(
            {"truncated": True, "size": len(text), "sha1": digest, "head": text[:1000]},
            ensure_ascii=False,
        )
    return text


def map_call(
    group: Any, tz: str = DEFAULT_TZ, *, now: datetime | None = None, text: str | None = None
) -> dict[str, Any]:
    """Map one call group to the values the call record stores, bounded and cleaned.

    Keys: ``external_id``, ``call_date`` (naive UTC), ``call_type`` (see :func:`classify`),
    ``answered``, ``disposition``, ``disposition_raw``, ``customer_number``,
    ``customer_key``, ``customer_display`` (the number as people read it),
    ``customer_name`` (the name VBot gave the customer, when it sent one),
    ``agent_member_no``, ``agent_member_nos``, ``hotline``, ``talk_duration``,
    ``duration``, ``cost``, ``record_urls``, ``has_recording``, ``payload``. ``now``
    (naive UTC, default the current time) bounds plausible dates; ``text`` is
    :func:`canonical_json` of the group when already made. Raises :class:`MappingError`.
    """
    if not isinstance(group, dict):
        raise MappingError(
            "group",
            f"expected an object, got {type(group).__name__}",
            "not_object",
            value=_shown(group),
        )
    call_id = external_id(group)
    call_type = _call_type(group.get("type_call"))
    call_date = parse_vbot_datetime(group.get("date_create"), tz, field="date_create", now=now)
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
    duration = parse_duration(group.get("duration_call"), field="duration_call")
    cost = round(sum(_amount(leg.get("postage")) for leg in caller + callee), 4)
    if abs(cost) > MAX_COST:
        raise MappingError("postage", f"the total {cost} is out of range", "out_of_range")
    return {
        "external_id": call_id,
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
        "agent_member_nos": list(
            dict.fromkeys(_text(leg["member_no"]) for leg in agents[:MAX_MEMBERS])
        ),
        "hotline": _text(group.get("hotline_number")),
        "talk_duration": talk_duration,
        "duration": duration,
        "cost": cost,
        "record_urls": record_urls,
        "has_recording": bool(record_urls),
        "payload": raw_payload(group, text=text),  # version 1's format: change detection
    }


def _customer_name(group: dict[str, Any]) -> str:
    """The customer's name when VBot sent one (webhooks' ``customerName``); getAll has none."""
    for name in ("customer_name", "customerName"):
        value = group.get(name)
        if isinstance(value, str) and (text := clean_text(value, _NAME_MAX)):
            return text
    return ""


def map_calls(
    groups: Iterable[Any], tz: str = DEFAULT_TZ, *, now: datetime | None = None
) -> tuple[list[dict[str, Any]], list[tuple[int, MappingError]]]:
    """Map a page of groups: ``(mapped, [(index, error), ...])``; bad groups skip alone."""
    mapped: list[dict[str, Any]] = []
    errors: list[tuple[int, MappingError]] = []
    for index, group in enumerate(groups or ()):
        try:
            mapped.append(map_call(group, tz, now=now))
        except MappingError as error:
            errors.append((index, error))
        except RecursionError:
            errors.append(
                (index, MappingError("group", "nested too deeply to be read", "too_nested"))
            )
    return mapped, errors


def map_member(item: Any) -> dict[str, Any]:
    """One element of ``/api/member/getAll`` -> ``{member_no, name, ext_number, status}``.

    ``member_no`` (VBot's "Mã thành viên", the ``member_no`` of call legs) is required and
    kept as text; the rest is optional: a missing name is ``''``, an unreadable status None.
    Raises :class:`MappingError`.
    """
    if not isinstance(item, dict):
        raise MappingError(
            "member",
            f"expected an object, got {type(item).__name__}",
            "not_object",
            value=_shown(item),
        )
    member_no = _text(item.get("member_no"), 64)
    if not member_no:
        raise MappingError(
            "member_no",
            f"missing or unreadable: {_shown(item.get('member_no'))}",
            "missing",
            value=_shown(item.get("member_no")),
        )
    status = item.get("member_status")
    readable = isinstance(status, int) and not isinstance(status, bool)
    return {
        "member_no": member_no,
        "name": _text(item.get("member_name"), _NAME_MAX)
        if isinstance(item.get("member_name"), str)
        else "",
        "ext_number": _text(item.get("member_ext_number"), 64),
        "status": status if readable and abs(status) <= MAX_INT4 else None,
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
