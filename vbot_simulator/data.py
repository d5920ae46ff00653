"""Deterministic fake data: customers and call groups shaped like VBot's getAll payloads.

The customer pool, the agents' mobiles and the history's dates come from one
``random.Random(seed)`` owned by a :class:`CallGenerator`. Each call group is then a pure function
of its date and its own key (:meth:`CallGenerator.group`): the history is kept as arrays of epochs
and made into dicts on demand, and the same ``(seed, calls, days, now)`` always yields the same
customers and calls.
"""

from __future__ import annotations

import json
import random
import re
from array import array
from bisect import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
VN_OFFSET = 7 * 3600
DATE_FORMAT = "%m/%d/%Y %H:%M:%S"
RECORD_PATH = "/v2.0/api/crm/historycall/record/"

# --------------------------------------------------------------------------------------------
# Phone numbers and dates as the server reads them (filters)
# --------------------------------------------------------------------------------------------

_NON_DIGITS = re.compile(r"\D+")


@lru_cache(maxsize=1 << 16)
def _phone_key(value: str) -> str:
    digits = _NON_DIGITS.sub("", value)
    digits = digits.removeprefix("00")
    if digits.startswith("84") and len(digits) > 9:
        digits = digits[2:]
    return digits.removeprefix("0")[-9:]


def phone_key(value: Any) -> str:
    """Return the match key of a phone number in any format ("" when there is none).

    Non-digits are stripped, then a leading ``00``, ``84`` and ``0``; the key is the last 9
    digits. ``0912 345 678``, ``+84912345678``, ``84912345678`` and ``0084912345678`` all give
    ``912345678``; a short service number such as ``19001234`` is kept whole.
    """
    return _phone_key(value) if isinstance(value, str) else ""


def parse_date_create(value: Any) -> int | None:
    """Read ``MM/DD/YYYY HH:mm:ss`` as Vietnam local time; epoch seconds, or None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip(), DATE_FORMAT)
    except ValueError:
        return None
    return int(local.replace(tzinfo=VN_TZ).timestamp())


def group_epoch(group: Any) -> int | None:
    """The epoch of a call group's ``date_create``, or None for anything unreadable."""
    return parse_date_create(group.get("date_create")) if isinstance(group, dict) else None


def group_phone_keys(group: Any) -> tuple[str, ...]:
    """Match keys of every leg's phone (caller and callee) of a group; tolerant of junk."""
    keys: dict[str, None] = {}
    if not isinstance(group, dict):
        return ()
    for side in ("caller", "callee"):
        legs = group.get(side)
        if not isinstance(legs, list):
            continue
        for leg in legs:
            if isinstance(leg, dict):
                key = phone_key(leg.get("phone"))
                if key:
                    keys[key] = None
    return tuple(keys)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương",
)  # fmt: skip
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Gia", "Xuân")
MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Phương", "Bảo", "Hồng")
GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Duy", "Hải", "Hiếu", "Hùng", "Khánh", "Long",
    "Minh", "Nam", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Tuấn", "Việt", "Vinh",
)  # fmt: skip
GIVEN_FEMALE = (
    "Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hương", "Lan", "Linh", "Mai",
    "Ngân", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Trang", "Tuyết", "Vy", "Yến",
)  # fmt: skip

#: Mobile prefixes in use today (10-digit national numbers).
MOBILE_PREFIXES = (
    "090", "091", "093", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085",
    "056", "058", "059",
)  # fmt: skip
#: The 2018 conversion of 11-digit mobile numbers: old prefix -> new prefix (last 7 digits kept).
LEGACY_PREFIXES = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
    "0167": "037", "0168": "038", "0169": "039", "0186": "056", "0188": "058",
    "0199": "059",
}  # fmt: skip
_LEGACY_OLD = tuple(LEGACY_PREFIXES)

DISPOSITIONS = (
    "MISSCALL", "ANSWER", "BUSY", "NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL",
    "DONTCALL", "TORTURE", "INVALIDARGS", "SOMEONEANSWERED", "LOGOUT", "BOTIVR", "MORE",
)  # fmt: skip
#: Disposition weights of an INCALL / OUTCALL group (MISSCALL groups use their own).
_CONNECTED_DISPOSITIONS = (
    ("ANSWER", 70), ("BUSY", 6), ("NOANSWER", 7), ("CANCEL", 5), ("CONGESTION", 1),
    ("CHANUNAVAIL", 3), ("DONTCALL", 2), ("TORTURE", 0.5), ("INVALIDARGS", 0.5),
    ("SOMEONEANSWERED", 1.5), ("LOGOUT", 1), ("BOTIVR", 1.5), ("MORE", 1),
)  # fmt: skip
_MISSED_DISPOSITIONS = (("MISSCALL", 70), ("NOANSWER", 20), ("CANCEL", 10))

CALL_TYPES = ("INCALL", "OUTCALL", "MISSCALL")
SOURCES = ("Phone", "SIP", "App_SDK", "Website_RTC")
HOTLINES = (("842455599940", 60), ("842873001234", 36), ("19006789", 4))
MEMBER_NOS = tuple(str(n) for n in range(101, 113))
VND_PER_SECOND = 880 / 60  # ~880 VND a minute
_SECONDS = tuple(f"{n:02d}" for n in range(60))
#: History calls are made in blocks of this many slots, each block from one RNG.
BLOCK = 32


class _Weighted:
    """A weighted choice driven by one ``rng.random()`` draw (faster than ``rng.choices``)."""

    def __init__(self, pairs: tuple[tuple[str, float], ...]) -> None:
        self.values = tuple(value for value, _ in pairs)
        total = sum(weight for _, weight in pairs)
        self.bounds: list[float] = []
        acc = 0.0
        for _, weight in pairs[:-1]:
            acc += weight / total
            self.bounds.append(acc)

    def pick(self, draw: float) -> str:
        """The value for a uniform draw in [0, 1)."""
        return self.values[bisect(self.bounds, draw)]


@lru_cache(maxsize=8192)
def hms(seconds: int) -> str:
    """``HH:MM:SS`` of a number of seconds."""
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{sec:02d}"


#: A call leg: (phone, disposition, time_call, postage, duration_call, source, member_no).
Leg = tuple[str, str, str, float, int, str, str]
#: A call group, compactly: (hotline_number, date_create, caller legs, callee legs, time_call,
#: duration_call, type_call, group_id, disposition, has a recording, external_call_id).
Record = tuple[str, str, tuple[Leg, ...], tuple[Leg, ...], str, str, str, str, str, bool, str]


def _sample(population: tuple[str, ...], k: int, rand: Any) -> list[str]:
    """``k`` distinct items, drawn with ``rand()`` (a partial Fisher-Yates shuffle)."""
    pool = list(population)
    n = len(pool)
    for i in range(k):
        j = i + int(rand() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


class CallGenerator:
    """Makes the customer pool and call groups, deterministically for one seed.

    ``self.rng`` (``random.Random(seed)``) draws the customers, the agents' mobiles and the
    history's dates. Groups come from private RNGs: a block of :data:`BLOCK` history slots is a
    pure function of its number and dates (:meth:`block`), a new call of its key (:meth:`group`),
    so groups can be made on demand, in any order and from any thread, and come out the same
    every time.
    """

    def __init__(self, seed: int, vbot_id: str, base_url: str, n_customers: int) -> None:
        self.rng = random.Random(seed)
        self.vbot_id = vbot_id
        self.record_prefix = base_url.rstrip("/") + RECORD_PATH
        self._used_numbers: set[str] = set()
        self._day_cache: dict[int, tuple[str, str]] = {}
        self._minute_cache: dict[int, tuple[str, str]] = {}
        self._conn_disp = _Weighted(_CONNECTED_DISPOSITIONS)
        self._miss_disp = _Weighted(_MISSED_DISPOSITIONS)
        self._hotlines = _Weighted(HOTLINES)
        self.customers: list[dict[str, str]] = self._make_customers(n_customers)
        # What call legs carry for each customer (vbot_phone), and the agents' mobiles.
        self._customer_numbers = [c["vbot_phone"] for c in self.customers]
        self._agent_mobiles = {m: self._new_mobile() for m in MEMBER_NOS}
        # RNG keys of history blocks: distinct per (seed, block); new calls draw theirs in turn.
        self._key_base = (seed * 2 if seed >= 0 else -seed * 2 - 1) << 40
        self._new_keys = random.Random(f"vbot-simulator-new-calls-{seed}")
        # Escaped once for as_json (the only configured strings in a group).
        self._vbot_id_json = json.dumps(vbot_id, ensure_ascii=False)
        self._record_prefix_json = json.dumps(self.record_prefix, ensure_ascii=False)[:-1]

    # -- customers ---------------------------------------------------------------------------

    def _new_mobile(self, prefix: str | None = None) -> str:
        """A fresh, never used 10-digit national mobile number."""
        rng = self.rng
        while True:
            number = (prefix or rng.choice(MOBILE_PREFIXES)) + f"{rng.randrange(10**7):07d}"
            if number not in self._used_numbers:
                self._used_numbers.add(number)
                return number

    def _name(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            middle, given = rng.choice(MIDDLE_MALE), rng.choice(GIVEN_MALE)
        else:
            middle, given = rng.choice(MIDDLE_FEMALE), rng.choice(GIVEN_FEMALE)
        return f"{rng.choice(FAMILY_NAMES)} {middle} {given}"

    def _crm_format(self, national: str) -> str:
        """How a CRM might hold a 10-digit national mobile number: one of several styles."""
        n = national[1:]  # 9 digits without the leading 0
        style = self.rng.randrange(6)
        if style == 0:
            return f"{national[:4]} {national[4:7]} {national[7:]}"  # 0912 345 678
        if style == 1:
            return f"+84 {n[:3]} {n[3:6]} {n[6:]}"  # +84 912 345 678
        if style == 2:
            return f"(+84) {n[:2]}-{n[2:5]}-{n[5:]}"  # (+84) 91-234-5678
        if style == 3:
            return "84" + n  # 84912345678
        if style == 4:
            return f"{national[:4]}.{national[4:7]}.{national[7:]}"  # 0912.345.678
        return national

    def _make_customers(self, count: int) -> list[dict[str, str]]:
        """The customer pool: mobiles, ~10% legacy 11-digit numbers, 2 service, 2 landlines."""
        rng = self.rng
        customers: list[dict[str, str]] = []
        specials = [
            ("service", "19001234"),
            ("service", "18006868"),
            ("landline", "02838221234"),
            ("landline", "02439421234"),
        ]
        self._used_numbers.update(number for _, number in specials)
        special_at = {round(i * count / len(specials)) + 3: s for i, s in enumerate(specials)}
        for index in range(count):
            name = self._name()
            if index in special_at:
                kind, number = special_at[index]
                customers.append(
                    {"name": name, "phone": number, "vbot_phone": number, "kind": kind}
                )
            elif index % 10 == 7:  # ~10% legacy 11-digit numbers
                old_prefix = rng.choice(_LEGACY_OLD)
                current = self._new_mobile(LEGACY_PREFIXES[old_prefix])
                old = old_prefix + current[3:]  # 01681234567
                customers.append(
                    {
                        "name": name,
                        "phone": f"{old[:4]} {old[4:7]} {old[7:]}",
                        "vbot_phone": current,
                        "kind": "legacy",
                    }
                )
            else:
                current = self._new_mobile()
                customers.append(
                    {
                        "name": name,
                        "phone": self._crm_format(current),
                        "vbot_phone": current,
                        "kind": "mobile",
                    }
                )
        return customers

    # -- calls -------------------------------------------------------------------------------

    def _day_strings(self, local_day: int) -> tuple[str, str]:
        """``('MM/DD/YYYY', 'ddmmyyyy')`` of a local day number (days since the epoch)."""
        cached = self._day_cache.get(local_day)
        if cached is None:
            d = datetime.fromtimestamp(local_day * 86400, timezone.utc)
            cached = (
                f"{d.month:02d}/{d.day:02d}/{d.year:04d}",
                f"{d.day:02d}{d.month:02d}{d.year:04d}",
            )
            self._day_cache[local_day] = cached  # a benign race between threads
        return cached

    @staticmethod
    def _leg_number(number: str, rng: random.Random) -> str:
        """A customer number as a call leg carries it: mostly national, some 84 / +84."""
        if not number.startswith("0") or number.startswith("02"):
            return number  # service numbers and landlines verbatim
        r = rng.random()
        if r < 0.8:
            return number
        return ("84" if r < 0.9 else "+84") + number[1:]

    def _unknown_mobile(self, rng: random.Random) -> str:
        """A mobile number that is no customer's nor agent's (two calls may share one)."""
        used = self._used_numbers
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
            if number not in used:
                return number

    def _customer_phone(self, incoming: bool, rng: random.Random) -> str:
        """The customer side of a call: pool member (skewed), unknown, or anonymous."""
        r = rng.random()
        pool = self._customer_numbers
        if r < 0.03 or not pool:
            return self._leg_number(self._unknown_mobile(rng), rng)  # not in the pool
        if r < 0.04 and incoming:
            return rng.choice(("", "anonymous"))
        return self._leg_number(pool[int(len(pool) * rng.random() ** 2)], rng)

    def new_key(self) -> int:
        """A key for a call added after start (drawn in sequence: deterministic per seed)."""
        return self._new_keys.getrandbits(64) | (1 << 64)  # never a block key

    def _stamp(self, epoch: int) -> tuple[str, str]:
        """``date_create`` and the ``ddmmyyyyHHMMSS`` head of a group id, for ``epoch``."""
        minute, second = divmod(epoch + VN_OFFSET, 60)
        cached = self._minute_cache.get(minute)
        if cached is None:
            day, rest = divmod(minute, 1440)
            date_part, id_part = self._day_strings(day)
            hour, mins = divmod(rest, 60)
            cached = (f"{date_part} {hour:02d}:{mins:02d}:", f"{id_part}{hour:02d}{mins:02d}")
            if len(self._minute_cache) > 200_000:
                self._minute_cache.clear()
            self._minute_cache[minute] = cached  # a benign race between threads
        sec = _SECONDS[second]
        return cached[0] + sec, cached[1] + sec

    def group(
        self,
        key: int,
        epoch: int,
        disposition: str | None = None,
        type_call: str | None = None,
    ) -> dict[str, Any]:
        """The call group of ``key`` at ``epoch``; ``disposition`` forces its disposition and
        ``type_call`` (INCALL, OUTCALL or MISSCALL) its type.

        Pure: the same arguments always give an equal group (a new dict each time).
        """
        return self.as_group(self.record(random.Random(key), epoch, disposition, type_call))

    def block(self, block: int, epochs: Sequence[int], forced: dict[int, str]) -> list[Record]:
        """The records of history slots ``block * BLOCK ...`` (one per epoch given), made in
        sequence from one RNG (seeding a Mersenne Twister costs half as much as making a group).

        Pure: slot ``i``'s record depends on its block and the block's epochs only.
        """
        rng = random.Random(self._key_base | block)
        first = block * BLOCK
        make = self.record
        return [make(rng, epoch, forced.get(first + i)) for i, epoch in enumerate(epochs)]

    def record(
        self,
        rng: random.Random,
        epoch: int,
        disposition: str | None = None,
        type_call: str | None = None,
    ) -> Record:
        """A call group as a compact tuple (see :data:`Record`), drawn from ``rng``."""
        rand = rng.random
        # Type and disposition.
        if type_call is not None:
            if type_call not in CALL_TYPES:
                raise ValueError(f"type_call must be one of {CALL_TYPES}")
            if disposition is None:
                weighted = self._miss_disp if type_call == "MISSCALL" else self._conn_disp
                disposition = weighted.pick(rand())
        elif disposition is None:
            r = rand()
            type_call = "INCALL" if r < 0.45 else "OUTCALL" if r < 0.85 else "MISSCALL"
            weighted = self._miss_disp if type_call == "MISSCALL" else self._conn_disp
            disposition = weighted.pick(rand())
        elif disposition == "MISSCALL":
            type_call = "MISSCALL"
        elif disposition == "BOTIVR":
            type_call = "INCALL"
        else:
            type_call = "INCALL" if rand() < 0.53 else "OUTCALL"
        answered = disposition == "ANSWER"
        incoming = type_call != "OUTCALL"
        # Times.
        ring = 3 + int(rand() * 35)
        talk = 8 + int(rand() ** 2.5 * 1200) if answered else 0
        total = ring + talk
        date_create, id_head = self._stamp(epoch)
        group_id = f"{id_head}{int(rand() * 1_000_000):06d}{rng.getrandbits(104):026x}"
        postage = round(talk * VND_PER_SECOND, 2)
        talk_hms = hms(talk)
        # Legs: (phone, disposition, time_call, postage, duration_call, source, member_no).
        customer_leg = (
            self._customer_phone(incoming, rng),
            disposition,
            talk_hms,
            postage if not incoming else 0.0,
            total,
            "Phone",
            "",
        )
        n_agents = 1 + int(rand() ** 2 * 3) if incoming else 1
        if n_agents == 1:
            members: Sequence[str] = (MEMBER_NOS[int(rand() * len(MEMBER_NOS))],)
        else:
            members = _sample(MEMBER_NOS, n_agents, rand)
        winner = int(rand() * n_agents) if answered else -1
        agent_legs = []
        mobiles = self._agent_mobiles
        for i, member in enumerate(members):
            source = SOURCES[int(rand() * 4)]
            if i == winner:
                leg_disp = "ANSWER"
            elif not incoming or (i == 0 and not answered):
                leg_disp = disposition
            else:
                leg_disp = "NOANSWER" if rand() < 0.7 else ""
            agent_legs.append(
                (
                    mobiles[member] if source == "Phone" else "",
                    leg_disp,
                    talk_hms if i == winner else "00:00:00",
                    postage if (incoming and i == winner and source == "Phone") else 0.0,
                    total if (i == winner or not incoming) else ring,
                    source,
                    member,
                )
            )
        if incoming:
            caller, callee = (customer_leg,), tuple(agent_legs)
        else:
            caller, callee = tuple(agent_legs), (customer_leg,)
        # Top level.
        if rand() < 0.05:
            time_call, duration_call = str(talk), str(total)
        else:
            time_call, duration_call = talk_hms, hms(total)
        hotline = self._hotlines.pick(rand())
        recorded = answered and rand() >= 0.15
        external = f"web-{rng.randrange(1000, 10000)}" if rand() < 0.03 else ""
        return (
            hotline,
            date_create,
            caller,
            callee,
            time_call,
            duration_call,
            type_call,
            group_id,
            disposition,
            recorded,
            external,
        )

    def as_group(self, record: Record) -> dict[str, Any]:
        """The getAll call group (a new dict) of a record."""
        hotline, date, caller, callee, time_call, duration, type_call, gid, disp, rec, ext = record
        vbot_id = self.vbot_id

        def legs(items: tuple[Leg, ...]) -> list[dict[str, Any]]:
            return [
                {
                    "phone": leg[0],
                    "vbot_id": vbot_id,
                    "date_create": date,
                    "disposition": leg[1],
                    "time_call": leg[2],
                    "postage": leg[3],
                    "duration_call": leg[4],
                    "source": leg[5],
                    "member_no": leg[6],
                }
                for leg in items
            ]

        return {
            "hotline_number": hotline,
            "date_create": date,
            "caller": legs(caller),
            "callee": legs(callee),
            "time_call": time_call,
            "duration_call": duration,
            "type_call": type_call,
            "group_id": gid,
            "disposition": disp,
            "record_file": [self.record_prefix + gid] if rec else [],
            "external_call_id": ext,
        }

    def as_json(self, record: Record) -> str:
        """``json.dumps(as_group(record))`` (compact, ensure_ascii=False), written directly.

        Every generated string is plain ASCII with nothing to escape, but the configured
        vbot_id and base URL, which are escaped once.
        """
        hotline, date, caller, callee, time_call, duration, type_call, gid, disp, rec, ext = record
        legs = [
            ",".join(
                f'{{"phone":"{leg[0]}","vbot_id":{self._vbot_id_json},"date_create":"{date}",'
                f'"disposition":"{leg[1]}","time_call":"{leg[2]}","postage":{leg[3]!r},'
                f'"duration_call":{leg[4]},"source":"{leg[5]}","member_no":"{leg[6]}"}}'
                for leg in side
            )
            for side in (caller, callee)
        ]
        files = f'[{self._record_prefix_json}{gid}"]' if rec else "[]"
        return (
            f'{{"hotline_number":"{hotline}","date_create":"{date}","caller":[{legs[0]}],'
            f'"callee":[{legs[1]}],"time_call":"{time_call}","duration_call":"{duration}",'
            f'"type_call":"{type_call}","group_id":"{gid}","disposition":"{disp}",'
            f'"record_file":{files},"external_call_id":"{ext}"}}'
        )

    @staticmethod
    def record_phones(record: Record) -> tuple[str, ...]:
        """Match keys of every leg's phone of a record (as :func:`group_phone_keys`)."""
        keys: dict[str, None] = {}
        for side in (record[2], record[3]):
            for leg in side:
                number = leg[0]
                size = len(number)
                # The generated formats, cut without a regex (phone_key gives the same keys).
                if size == 10 and number[0] == "0" and number.isdigit():
                    key = number[1:]
                elif size == 11 and number[:2] == "84" and number.isdigit():
                    key = number[2:]
                elif size == 12 and number[:3] == "+84" and number[1:].isdigit():
                    key = number[3:]
                else:
                    key = phone_key(number)
                if key:
                    keys[key] = None
        return tuple(keys)

    def p2p_group(self, key: int, epoch: int) -> dict[str, Any]:
        """An internal agent-to-agent call (no customer, no hotline), in the getAll shape."""
        rng = random.Random(key)
        date_create, id_head = self._stamp(epoch)
        group_id = f"{id_head}{rng.randrange(10**6):06d}{rng.getrandbits(104):026x}"
        answered = rng.random() < 0.75
        disposition = "ANSWER" if answered else rng.choice(("NOANSWER", "BUSY", "CANCEL"))
        ring = 2 + int(rng.random() * 20)
        talk = 5 + int(rng.random() ** 2 * 600) if answered else 0
        legs = []
        for member in rng.sample(MEMBER_NOS, 2):
            source = SOURCES[int(rng.random() * 4)]
            legs.append(
                {
                    "phone": self._agent_mobiles[member] if source == "Phone" else "",
                    "vbot_id": self.vbot_id,
                    "date_create": date_create,
                    "disposition": disposition,
                    "time_call": hms(talk),
                    "postage": 0.0,
                    "duration_call": ring + talk,
                    "source": source,
                    "member_no": member,
                }
            )
        return {
            "hotline_number": "",
            "date_create": date_create,
            "caller": legs[:1],
            "callee": legs[1:],
            "time_call": hms(talk),
            "duration_call": hms(ring + talk),
            "type_call": "OUTCALL",
            "group_id": group_id,
            "disposition": disposition,
            "record_file": [self.record_prefix + group_id] if answered else [],
            "external_call_id": "",
        }

    def make_group(
        self, epoch: int, disposition: str | None = None, type_call: str | None = None
    ) -> dict[str, Any]:
        """A new call group at ``epoch`` with the next new-call key."""
        return self.group(self.new_key(), epoch, disposition, type_call)

    def history(self, count: int, days: int, now: int) -> tuple[array[int], dict[int, str]]:
        """Dates of ``count`` calls over ``days`` days before ``now``, newest first, and the
        dispositions forced on some slots so that, when ``count`` allows, every one of the 14
        seed dispositions occurs at least once. Slot ``i``'s group is
        ``block(i // BLOCK, ...)[i % BLOCK]``.
        """
        rng = self.rng
        span = max(1, days * 86400)
        start = now - span
        rand = rng.random
        epochs = array(
            "q", sorted((start + int(rand() * span) for _ in range(count)), reverse=True)
        )
        forced = dict(
            zip(rng.sample(range(count), min(count, len(DISPOSITIONS))), DISPOSITIONS, strict=False)
        )
        return epochs, forced

    def make_history(
        self, count: int, days: int, now: int
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """``count`` groups spread over ``days`` days before ``now``, newest first, and their epochs
        (all made at once: :meth:`history` is the lean form)."""
        epochs, forced = self.history(count, days, now)
        groups = []
        for block in range(0, (count + BLOCK - 1) // BLOCK):
            records = self.block(block, epochs[block * BLOCK : (block + 1) * BLOCK], forced)
            groups += [self.as_group(record) for record in records]
        return groups, list(epochs)
