"""VBot members (agents), shaped like ``/api/member/getAll`` of ``vbot-docs/v3-member.md``.

Every ``member_no`` the call legs carry (:data:`~vbot_simulator.data.MEMBER_NOS`, "101".."112")
is a member, plus :data:`EXTRA_MEMBER_NOS` that never appear in calls. ``member_no`` is the
agent's extension written as a string, so ``member_ext_number == int(member_no)`` for every
member (the legs' doc calls ``member_no`` "Số nhánh thành viên", the member's extension).

Two members that appear in calls share their family and middle names and have given names that
differ only by diacritics (e.g. "Nguyễn Văn Hùng" and "Nguyễn Văn Hưng"): a name match that
folds accents cannot tell them apart.
"""

from __future__ import annotations

import random
from typing import Any

from .data import FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, MEMBER_NOS, MIDDLE_FEMALE, MIDDLE_MALE

#: Members with no call: one suspended agent, one supervisor.
EXTRA_MEMBER_NOS = ("113", "120")
#: (middle name, given name, given name) of look-alike pairs: same letters but the diacritics.
LOOKALIKES = (
    ("Văn", "Hùng", "Hưng"),
    ("Thị", "Hương", "Hường"),
    ("Minh", "Tuấn", "Tuân"),
    ("Ngọc", "Hà", "Hạ"),
    ("Đức", "Thắng", "Thăng"),
)
COLORS = (
    "#1E88E5", "#43A047", "#E53935", "#FB8C00", "#8E24AA", "#00ACC1",
    "#6D4C41", "#3949AB", "#C0CA33", "#D81B60", "#546E7A", "#00897B",
)  # fmt: skip
#: member_type: 1 an agent, 2 a supervisor (the doc gives the field, not its values).
AGENT, SUPERVISOR = 1, 2
#: member_status: 1 active, 0 suspended.
ACTIVE, SUSPENDED = 1, 0


def make_members(seed: int) -> list[dict[str, Any]]:
    """The members of a simulator with ``seed``, ordered by ``member_no``; deterministic."""
    rng = random.Random(f"vbot-simulator-members-{seed}")
    numbers = list(MEMBER_NOS) + list(EXTRA_MEMBER_NOS)
    names: dict[str, str] = {}
    used: set[str] = set()
    # The look-alike pair: two members that appear in calls.
    middle, given_a, given_b = rng.choice(LOOKALIKES)
    family = rng.choice(FAMILY_NAMES)
    pair = rng.sample(MEMBER_NOS, 2)
    for member_no, given in zip(pair, (given_a, given_b), strict=True):
        names[member_no] = f"{family} {middle} {given}"
        used.add(names[member_no])
    for member_no in numbers:
        while member_no not in names:
            if rng.random() < 0.5:
                middle_name, given = rng.choice(MIDDLE_MALE), rng.choice(GIVEN_MALE)
            else:
                middle_name, given = rng.choice(MIDDLE_FEMALE), rng.choice(GIVEN_FEMALE)
            name = f"{rng.choice(FAMILY_NAMES)} {middle_name} {given}"
            if name not in used:
                names[member_no] = name
                used.add(name)
    members = []
    for index, member_no in enumerate(numbers):
        year = 2026 + rng.randrange(2)
        members.append(
            {
                "member_name": names[member_no],
                "member_type": SUPERVISOR if member_no == EXTRA_MEMBER_NOS[-1] else AGENT,
                "member_color": COLORS[index % len(COLORS)],
                "member_ext_number": int(member_no),
                "member_no": member_no,
                "member_status": SUSPENDED if member_no == EXTRA_MEMBER_NOS[0] else ACTIVE,
                "member_money": round(rng.randrange(0, 500_000, 1000) + rng.random(), 2),
                "expiration_date": f"12/31/{year} 23:59:59",
            }
        )
    return members
