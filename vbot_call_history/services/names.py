"""People's names compared as Vietnamese teams write them, with or without accents.

``fold("Nguyễn Văn Đạt") == fold("nguyen  van dat") == "nguyen van dat"``. Used to suggest
which Odoo user a VBot agent (member) is: VBot keeps names typed in its console, Odoo
users are often typed without accents or in Western order ("Dat Nguyen Van").
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping

__all__ = ["fold", "suggest"]

_SEPARATORS = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def fold(name: object) -> str:
    """Lower case, accents and ``đ`` folded to ASCII, words separated by one space."""
    if not isinstance(name, str):
        return ""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " ".join(_SEPARATORS.sub(" ", text).split())


def _exact(name: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()


def _words(name: str) -> str:
    return " ".join(sorted(fold(name).split()))


#: From the closest match to the loosest: the same name with its accents, the same name
#: without accents, the same words in another order.
_LEVELS: tuple[Callable[[str], str], ...] = (_exact, fold, _words)


def suggest(
    members: Mapping[Hashable, str], users: Mapping[Hashable, str]
) -> dict[Hashable, Hashable]:
    """``{member key: user key}`` for the members whose name is one user's name.

    Each member takes the closest level at which its name meets users: the same name
    with accents, else without accents ("Nguyen Van An"), else the same words in another
    order ("An Nguyen Van"). It gets a suggestion only if one user meets it there, and that
    user meets no other member as closely: "Nguyễn Văn Hùng" and "Nguyễn Văn Hưng" fold
    alike, so a user "Nguyen Van Hung" is suggested for neither. A wrong suggestion costs
    more than none.
    """
    indexes = []
    for level in _LEVELS:
        index: dict[str, list[Hashable]] = defaultdict(list)
        for user, name in users.items():
            if isinstance(name, str) and (key := level(name)):
                index[key].append(user)
        indexes.append(index)
    claims: dict[Hashable, tuple[int, Hashable]] = {}
    for member, name in members.items():
        if not isinstance(name, str) or not fold(name):
            continue
        for rank, level in enumerate(_LEVELS):
            found = indexes[rank].get(level(name))
            if found:
                if len(found) == 1:
                    claims[member] = (rank, found[0])
                break
    best: dict[Hashable, list[tuple[int, Hashable]]] = defaultdict(list)
    for member, (rank, user) in claims.items():
        best[user].append((rank, member))
    result: dict[Hashable, Hashable] = {}
    for user, ranked in best.items():
        ranked.sort(key=lambda pair: pair[0])
        if len(ranked) == 1 or ranked[0][0] < ranked[1][0]:
            result[ranked[0][1]] = user
    return result
