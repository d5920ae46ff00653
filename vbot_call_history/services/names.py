"""People's names compared as Vietnamese teams write them, with or without accents.

``fold("Nguyễn Văn Đạt") == fold("nguyen  van dat") == "nguyen van dat"``. Used to suggest
which Odoo user a VBot agent (member) is: VBot keeps names typed in its console, Odoo
users are often typed without accents or in Western order ("Dat Nguyen Van").
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Mapping

__all__ = ["fold", "suggest"]

_SEPARATORS = re.compile(r"[^0-9a-z]+")


def fold(name: object) -> str:
    """Lower case, accents and ``đ`` folded to ASCII, words separated by one space."""
    if not isinstance(name, str):
        return ""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " ".join(_SEPARATORS.sub(" ", text).split())


def suggest(
    members: Mapping[Hashable, str], users: Mapping[Hashable, str]
) -> dict[Hashable, Hashable]:
    """``{member key: user key}`` for the members whose name is one user's name.

    A member matches a user whose folded name is the same, or failing that, has the
    same words in another order ("Nguyễn Văn An" and "An Nguyen Van"). A name two users
    share suggests nobody: a wrong suggestion costs more than none.
    """
    exact: dict[str, list[Hashable]] = defaultdict(list)
    words: dict[tuple[str, ...], list[Hashable]] = defaultdict(list)
    for user, name in users.items():
        folded = fold(name)
        if folded:
            exact[folded].append(user)
            words[tuple(sorted(folded.split()))].append(user)
    result: dict[Hashable, Hashable] = {}
    for member, name in members.items():
        folded = fold(name)
        if not folded:
            continue
        found = exact.get(folded) or words.get(tuple(sorted(folded.split()))) or []
        if len(found) == 1:
            result[member] = found[0]
    return result
