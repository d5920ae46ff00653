"""Merge a freshly exported .pot into the addon's i18n folder (run by scripts/i18n_update.sh).

``python scripts/i18n_merge.py EXPORTED.pot ADDON/i18n``: writes ``vbot_call_history.pot`` and
updates every ``*.po`` beside it, keeping each translation by its English source (the first
non-empty one when a file held the same source twice), sorted by source and without
translations equal to their source, as the oca-checks-po formatting wants.
"""

import sys
from pathlib import Path

import polib


def pretty(catalog):
    catalog.sort(key=lambda entry: entry.msgid)
    for entry in catalog:
        if entry.msgid == entry.msgstr:
            entry.msgstr = ""
    return str(catalog)


def main(exported, folder):
    folder = Path(folder)
    template = polib.pofile(exported, wrapwidth=78)
    (folder / "vbot_call_history.pot").write_text(pretty(template), encoding="utf-8")
    for path in sorted(folder.glob("*.po")):
        old = polib.pofile(str(path), wrapwidth=78)
        known = {}
        for entry in old:
            if entry.msgstr and not entry.obsolete:
                known.setdefault(entry.msgid, entry.msgstr)
        merged = polib.pofile(exported, wrapwidth=78)
        merged.metadata = old.metadata
        merged.header = old.header
        missing = []
        for entry in merged:
            entry.msgstr = known.get(entry.msgid, "")
            if not entry.msgstr:
                missing.append(entry.msgid)
        path.write_text(pretty(merged), encoding="utf-8")
        dropped = len({e.msgid for e in old} - {e.msgid for e in merged})
        print(
            f"{path.name}: {len(merged)} terms, {dropped} unused dropped, {len(missing)} untranslated"
        )
        for msgid in missing:
            print(f"  untranslated: {msgid!r}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
