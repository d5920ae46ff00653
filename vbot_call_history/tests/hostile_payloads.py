"""A corpus of hostile call groups, and what must become of each one.

Plain Python (no ``odoo`` import): the service tests (``tests/test_hostile.py``) map every
case, and the Odoo test (``test_sync_hostile.py``) serves them all from the simulator,
between normal calls, through a real sync. Each :class:`Case` is one or more groups as VBot
could send them, and for each group either :class:`Stored` (it becomes a call whose
values are as given) or :class:`Skipped` (no call; the sync log and the unreadable-call
list name ``field``).

Load it by path, not as ``vbot_call_history.tests.hostile_payloads``, from code that runs
without Odoo (the package's ``__init__`` imports the Odoo tests)::

    spec = importlib.util.spec_from_file_location("hostile_payloads", PATH)
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MB = 1024 * 1024
INJECTION = "'; DROP TABLE vbot_call; --"


@dataclass
class Stored:
    """The group becomes a call with this id; ``checks`` are mapped values (or predicates)."""

    external_id: str | None = None  # None: the group's own group_id
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """The group is not stored; the sync says why, naming ``field``."""

    field: str


@dataclass
class Case:
    name: str
    groups: list[Any]
    expect: list[Stored | Skipped]
    #: Only the sync can judge it (two groups of one answer claiming one id).
    engine_only: bool = False
    #: The simulator cannot serve it (it writes JSON as UTF-8, where a lone surrogate has
    #: no encoding; VBot would send it escaped): the Odoo test pushes it instead.
    servable: bool = True


def normal_group(n: int, when: datetime, prefix: str = "norm") -> dict[str, Any]:
    """A well-formed incoming call, ``when`` being VBot's local (Vietnam) time."""
    stamp = when.strftime("%m/%d/%Y %H:%M:%S")
    group_id = f"{prefix}-{n:05d}"
    return {
        "hotline_number": "842455599940",
        "date_create": stamp,
        "caller": [
            {
                "phone": f"09{n % 100000000:08d}",
                "vbot_id": "",
                "date_create": stamp,
                "disposition": "ANSWER",
                "time_call": "00:01:00",
                "postage": 0,
                "duration_call": 65,
                "source": "Phone",
                "member_no": "",
            }
        ],
        "callee": [
            {
                "phone": "",
                "vbot_id": "VB0001",
                "date_create": stamp,
                "disposition": "ANSWER",
                "time_call": "00:01:00",
                "postage": 88.0,
                "duration_call": 63,
                "source": "App_SDK",
                "member_no": "104",
            }
        ],
        "time_call": "00:01:00",
        "duration_call": "00:01:05",
        "type_call": "INCALL",
        "group_id": group_id,
        "disposition": "ANSWER",
        "record_file": [],
        "external_call_id": "",
    }


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def cases(when: datetime) -> list[Case]:
    """Every hostile case, built around normal groups dated ``when`` (Vietnam local time).

    Ids are unique across cases (``hostile-<n>``) except where a case is about ids.
    """
    counter = iter(range(1, 10_000))
    built: list[Case] = []

    def base() -> dict[str, Any]:
        n = next(counter)
        group = normal_group(n, when - timedelta(minutes=n), prefix="hostile")
        return group

    def case(
        name: str,
        change: Callable[[dict[str, Any]], Any],
        expect: Stored | Skipped,
    ) -> None:
        group = base()
        result = change(group)
        built.append(Case(name, [group if result is None else result], [expect]))

    def set_(**values: Any) -> Callable[[dict[str, Any]], None]:
        return lambda group: group.update(values)

    def leg(side: str, **values: Any) -> Callable[[dict[str, Any]], None]:
        return lambda group: group[side][0].update(values)

    # -- not a call group at all ----------------------------------------------------------
    for label, value in [
        ("a string", "not a call"),
        ("a number", 42),
        ("null", None),
        ("a list", []),
        ("a list holding a call", "LIST"),
        ("true", True),
        ("a float", 3.14),
    ]:
        payload = [base()] if value == "LIST" else value
        built.append(Case(f"non-object: {label}", [payload], [Skipped("group")]))

    # -- the direction ---------------------------------------------------------------------
    case("type_call null", set_(type_call=None), Skipped("type_call"))
    case("type_call unknown", set_(type_call="SOMETHING"), Skipped("type_call"))
    case("type_call an object", set_(type_call={"a": 1}), Skipped("type_call"))
    case("type_call 1 MB", set_(type_call="X" * MB), Skipped("type_call"))
    case("type_call numeric 2", set_(type_call=2), Stored(checks={"call_type": "outgoing"}))
    case(
        "type_call padded lower case",
        set_(type_call="  misscall "),
        Stored(checks={"call_type": "missed"}),
    )

    # -- dates -----------------------------------------------------------------------------
    case("date null", set_(date_create=None), Skipped("date_create"))
    case("date unreadable", set_(date_create="13/45/2026 99:00:00"), Skipped("date_create"))
    # Readable but implausible dates. They are written in ISO here: VBot files the call under
    # its own (server-side) date, which the simulator then takes from the case's epoch.
    case("date 1970", set_(date_create="1970-01-01 07:00:00"), Skipped("date_create"))
    case("date epoch 0", set_(date_create=0), Skipped("date_create"))
    case("date 2099", set_(date_create="2099-01-01T00:00:00"), Skipped("date_create"))
    case(
        "date two days ahead",
        set_(date_create=(when + timedelta(days=2)).isoformat(sep=" ")),
        Skipped("date_create"),
    )
    case("date without time", set_(date_create=when.strftime("%m/%d/%Y")), Skipped("date_create"))
    case("date 10**30", set_(date_create=10**30), Skipped("date_create"))
    case("date NaN", set_(date_create=float("nan")), Skipped("date_create"))
    case("date 1 MB of digits", set_(date_create="1" * MB), Skipped("date_create"))
    case("date an object", set_(date_create={"$date": 1}), Skipped("date_create"))

    # -- durations (a 32-bit column) -------------------------------------------------------
    case("duration 10**12", set_(duration_call=10**12), Skipped("duration_call"))
    case("duration 2**31", set_(duration_call=2**31), Skipped("duration_call"))
    case(
        "duration 2**31 - 1",
        set_(duration_call=2**31 - 1),
        Stored(checks={"duration": 2**31 - 1}),
    )
    case("duration negative", set_(duration_call=-5), Skipped("duration_call"))
    case("duration 1e308", set_(duration_call=1e308), Skipped("duration_call"))
    case("duration huge clock", set_(duration_call="99999999:00:00"), Skipped("duration_call"))
    case("duration 5000 digits", set_(duration_call="9" * 5000), Skipped("duration_call"))
    case("time_call text", set_(time_call="abc"), Skipped("time_call"))
    case("duration as text seconds", set_(duration_call="120"), Stored(checks={"duration": 120}))

    # -- legs ------------------------------------------------------------------------------
    case("caller not a list", set_(caller="0912345678"), Skipped("caller"))
    case("callee an object", set_(callee={"phone": "1"}), Skipped("callee"))
    case(
        "legs that are not objects",
        set_(caller=[None, 5, "x"]),
        Stored(checks={"customer_number": "", "customer_key": None}),
    )
    case("callee null", set_(callee=None), Stored(checks={"agent_member_no": ""}))
    case(
        "NUL in a number",
        leg("caller", phone="0912\x00345678"),
        Stored(checks={"customer_number": "0912345678", "customer_key": "+84912345678"}),
    )
    case(
        "1 MB number",
        leg("caller", phone="9" * MB),
        Stored(checks={"customer_number": lambda v: len(v) <= 255, "customer_key": None}),
    )
    case(
        "number as an integer",
        leg("caller", phone=912345678),
        Stored(checks={"customer_key": "+84912345678"}),
    )
    case(
        "number with injection",
        leg("caller", phone=INJECTION),
        Stored(checks={"customer_number": INJECTION, "customer_key": None}),
    )
    case(
        "number a lone surrogate",
        leg("caller", phone="\ud800"),
        Stored(checks={"customer_number": "\ufffd"}),
    )
    built[-1].servable = False
    case(
        "number an object",
        leg("caller", phone={"n": "0912345678"}),
        Stored(checks={"customer_number": ""}),
    )
    case(
        "10k-character extension",
        leg("callee", member_no="1" * 10_000),
        Stored(checks={"agent_member_no": lambda v: len(v) == 255}),
    )
    case(
        "NUL in an extension",
        leg("callee", member_no="10\x004"),
        Stored(checks={"agent_member_no": "104"}),
    )
    case("cost 1e300", leg("callee", postage=1e300), Skipped("postage"))
    case("cost -1e15", leg("callee", postage=-1e15), Skipped("postage"))
    case("cost 'Infinity'", leg("callee", postage="Infinity"), Skipped("postage"))
    case("cost 'n/a'", leg("callee", postage="n/a"), Stored(checks={"cost": 0.0}))
    case(
        "5000 legs",
        lambda group: group.update(callee=[copy.deepcopy(group["callee"][0])] * 5000),
        Stored(checks={"agent_member_no": "104"}),
    )

    # -- ids -------------------------------------------------------------------------------
    case(
        "group_id 10k characters",
        set_(group_id="A" * 10_000),
        # A prefix and a hash of the whole id: 255 characters, distinct for distinct ids.
        Stored(external_id="A" * 209 + "~sha1:" + hashlib.sha1(b"A" * 10_000).hexdigest()),
    )
    case("group_id with NUL", set_(group_id="nul\x00-id"), Stored(external_id="nul-id"))
    case("group_id padded", set_(group_id="  padded-id  "), Stored(external_id="padded-id"))
    case("group_id float", set_(group_id=770001.0), Stored(external_id="770001"))
    case("group_id true", set_(group_id=True), Skipped("group_id"))
    case("group_id an object", set_(group_id={"id": 1}), Skipped("group_id"))
    case("group_id a list", set_(group_id=["x"]), Skipped("group_id"))
    case("group_id injection", set_(group_id=INJECTION), Stored(external_id=INJECTION))
    case(
        "no id at all",
        set_(group_id="", external_call_id=None),
        Stored(checks={"external_id": lambda v: v.startswith("sha1:")}),
    )
    case(
        "external_call_id only",
        set_(group_id=None, external_call_id="crm-hostile-1"),
        Stored(external_id="crm-hostile-1"),
    )

    # -- other text ------------------------------------------------------------------------
    case(
        "script in the disposition",
        set_(disposition="<script>alert(1)</script>"),
        Stored(checks={"disposition": "other", "disposition_raw": "<script>alert(1)</script>"}),
    )
    case(
        "1 MB disposition",
        set_(disposition="A" * MB),
        Stored(checks={"disposition_raw": lambda v: len(v) == 255}),
    )
    case(
        "NUL and 1 MB hotline",
        set_(hotline_number="84\x00" + "2" * MB),
        Stored(checks={"hotline": lambda v: "\x00" not in v and len(v) == 255}),
    )
    case(
        "javascript recording",
        set_(record_file=["javascript:alert(1)"]),
        Stored(checks={"record_urls": [], "has_recording": False}),
    )
    case(
        "10k recordings",
        set_(record_file=["https://open-api-h01.vbot.vn/r/x"] * 10_000),
        Stored(checks={"record_urls": lambda v: len(v) == 20}),
    )
    case(
        "1 MB recording URL",
        set_(record_file=["https://open-api-h01.vbot.vn/" + "r" * MB]),
        Stored(checks={"record_urls": [], "has_recording": False}),
    )
    case(
        "Vietnamese everywhere",
        lambda group: group.update(
            disposition="Nghe máy", caller=[dict(group["caller"][0], source="Điện thoại")]
        ),
        Stored(checks={"disposition_raw": "Nghe máy"}),
    )
    case(
        "1 MB extra field",
        set_(note="x" * MB),
        Stored(checks={"payload": lambda v: len(v) < 300_000}),
    )
    case(
        "nested 200 deep",
        set_(extra=_nested(200)),
        Stored(checks={"call_type": "incoming"}),
    )
    case(
        "NUL in the payload only",
        set_(note="a\x00b"),
        Stored(checks={"payload": lambda v: "\x00" not in v}),
    )

    # -- one id, two calls in one answer ---------------------------------------------------
    first, second = base(), base()
    second["group_id"] = first["group_id"] = 880001  # an int ...
    second["group_id"] = "880001"  # ... and a string with the same digits
    second["caller"][0]["phone"] = "0987654321"
    built.append(
        Case(
            "an int and a string id with the same digits, different calls",
            [first, second],
            [
                Stored(external_id="880001", checks={"customer_key": first_key(first)}),
                Skipped("group_id"),
            ],
            engine_only=True,
        )
    )
    third, fourth = base(), base()
    fourth["group_id"] = third["group_id"]
    fourth["type_call"] = "OUTCALL"
    built.append(
        Case(
            "one id, different content",
            [third, fourth],
            [Stored(checks={"call_type": "incoming"}), Skipped("group_id")],
            engine_only=True,
        )
    )
    # Stored once. VBot counts two records: the sync reports one call missing (the count
    # cannot tell a record listed twice from a page shift, which the client drops).
    fifth = base()
    built.append(
        Case(
            "one call sent twice, identical",
            [fifth, copy.deepcopy(fifth)],
            [Stored(), Stored()],
            engine_only=True,
        )
    )
    return built


def first_key(group: dict[str, Any]) -> str:
    """The match key the first caller's national number gives (``09…`` -> ``+849…``)."""
    return "+84" + group["caller"][0]["phone"][1:]


def expected_id(group: Any, expect: Stored) -> str | None:
    """The id a Stored expectation names (None: computed by the caller from the group)."""
    if expect.external_id is not None:
        return expect.external_id
    if isinstance(group, dict) and isinstance(group.get("group_id"), str) and group["group_id"]:
        return group["group_id"]
    return None
