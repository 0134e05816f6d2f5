"""Every template's user-facing text goes through gettext: text between tags and the title, placeholder,
aria-label and alt attributes. Parsed with Jinja's own lexer, so text inside ``{{ ... }}``/``{% ... %}`` (which
is code) is not mistaken for text, and text inside ``{% trans %}`` is translated by definition."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# Directories another branch (i18n-b) is translating at the same time; the integrator empties this after merge.
NOT_YET: set[str] = set()  # every directory is checked (i18n-a and i18n-b merged)

# Text that is the same in every language: brand and standard names, units, codes, symbols.
ALLOWED = {"PDF", "CSV", "KB", "MB", "ms", "IBAN", "BIC", "API", "JSON", "OpenAPI", "SMTP", "UTF-8", "evt_",
           "Incoterm", "EUR", "GET", "POST", "ERP", "https://", "v1", "ID", "URL", "VAT", "×"}

# Blocks that hold CSS classes, not text ({% block container %}container-fluid{% endblock %}).
CLASS_BLOCKS = {"container", "body_class"}
ATTRIBUTE = re.compile(r"""\s(title|placeholder|aria-label|alt)\s*=\s*(["'])(.*?)\2""", re.S | re.I)
HIDDEN = re.compile(r"<(script|style|code|pre|svg)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&#?\w+;")
HOLE = "\x00"  # where a Jinja expression or tag stood


def _words(text: str) -> list[str]:
    text = ENTITY.sub(" ", text)
    return [w for w in re.findall(r"[^\s\x00]+", text) if re.search(r"[A-Za-zÀ-ÿ]", w)]


def untranslated(source: str, name: str = "template.html") -> list[str]:
    """The pieces of user-facing text in a template that are not wrapped in _()/gettext/{% trans %}."""
    env = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    flat, in_trans, in_class, prev = [], 0, 0, (None, None)
    for _lineno, kind, value in env.lex(source, name):
        if kind == "whitespace":
            continue
        if kind == "name" and prev[0] == "block_begin":
            if value == "trans":
                in_trans += 1
            elif value == "endtrans":
                in_trans -= 1
            elif value == "endblock" and in_class:
                in_class = 0
        if kind == "name" and prev == ("name", "block") and value in CLASS_BLOCKS:
            in_class = 1
        prev = (kind, value)
        if kind == "data":
            flat.append(HOLE * len(value) if in_trans or in_class else value)
        elif kind in ("variable_begin", "block_begin", "comment_begin"):
            flat.append(HOLE)
    page = HIDDEN.sub(HOLE, "".join(flat))
    found = []
    for m in ATTRIBUTE.finditer(page):
        words = [w for w in _words(m.group(3)) if w.strip(".,;:()") not in ALLOWED]
        if words:
            found.append(f'{m.group(1)}="{m.group(3).strip()}"')
    text = TAG.sub(HOLE, page)
    for piece in text.split(HOLE):
        words = [w for w in _words(piece) if w.strip(".,;:()·") not in ALLOWED]
        if words:
            found.append(" ".join(piece.split()))
    return found


def _templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        rel = path.relative_to(TEMPLATES)
        if rel.parts[0] in NOT_YET:
            continue
        yield pytest.param(path, id=str(rel))


@pytest.mark.parametrize("path", list(_templates()))
def test_template_text_is_translatable(path):
    left = untranslated(path.read_text(encoding="utf-8"), str(path))
    assert not left, f"{path.relative_to(ROOT)} has text not wrapped in _(): {left}"


def test_the_checker_finds_plain_text_and_attributes():
    assert untranslated("<p>Hello {{ name }}</p>") == ["Hello"]
    assert untranslated('<input placeholder="e.g. fasteners">') == ['placeholder="e.g. fasteners"']
    assert untranslated('<a aria-label="{{ _(\'Close\') }}" title="{{ y }}">{{ _("Save") }}</a>') == []
    assert untranslated("{% trans %}Hello {{ name }}{% endtrans %} <code>sku,qty</code> PDF · 5 MB") == []
    assert untranslated("<script>var a = 'text';</script><style>.a{color:red}</style>") == []
    assert untranslated('<img alt="Logo">') == ['alt="Logo"']
