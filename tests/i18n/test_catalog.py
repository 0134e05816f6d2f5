"""The German catalog is complete: every message the code and templates mark has a German translation that is
neither empty nor fuzzy, and no msgid appears twice in the .po file."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "portal" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def _methods():
    """babel.cfg's sections: [python: portal/**.py] → ("portal/**.py", "python")."""
    text = (ROOT / "babel.cfg").read_text()
    return [(pattern.strip(), method.strip())
            for method, pattern in re.findall(r"^\[(\w+):\s*([^\]]+)\]", text, re.M)]


def extracted() -> dict:
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), _methods(), keywords=KEYWORDS):
        key = message if isinstance(message, str) else message[0]
        found.setdefault((key, context), (message, f"{filename}:{lineno}"))
    return found


def test_every_marked_message_has_a_german_translation():
    with PO.open("rb") as f:
        catalog = read_po(f, locale="de")
    problems = []
    for (key, context), (message, where) in extracted().items():
        entry = catalog.get(key, context=context)
        if entry is None:
            problems.append(f"missing: {key!r} ({where})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {key!r} ({where})")
        elif not (all(entry.string) if isinstance(entry.string, (tuple, list)) else entry.string):
            problems.append(f"untranslated: {key!r} ({where})")
    assert not problems, f"{len(problems)} messages without German:\n" + "\n".join(problems[:50])


def test_no_msgid_twice_in_the_po_file():
    ids = []
    current = None
    context = ""
    for line in PO.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context = line[8:] + "\x04"  # "Sales" the role and "Sales" the figures are two messages
        elif line.startswith("msgid "):
            current = [context + line[6:]]
            context = ""
            ids.append(current)
        elif line.startswith('"') and current is not None:
            current.append(line)
        else:
            current = None
    seen = Counter("".join(parts) for parts in ids)
    twice = [m for m, n in seen.items() if n > 1 and m != '""']
    assert not twice, f"msgid more than once: {twice[:20]}"


def test_placeholders_survive_translation():
    """A German text names the same figures as the English one (a missing %(amount)s loses a figure; an
    unknown one raises KeyError when the page is drawn)."""
    with PO.open("rb") as f:
        catalog = read_po(f, locale="de")
    optional = {"s", "v", "v2", "s2"}  # English plural helpers German does not use
    bad = []
    for m in catalog:
        if not m.id:
            continue
        english = " ".join(m.id) if isinstance(m.id, (tuple, list)) else m.id
        german = " ".join(m.string) if isinstance(m.string, (tuple, list)) else m.string
        want = set(re.findall(r"%\((\w+)\)", english))
        have = set(re.findall(r"%\((\w+)\)", german))
        if have - want or (want - optional) - have:
            bad.append((english, german))
    assert not bad, bad[:10]
