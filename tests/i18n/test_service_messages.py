"""Sentences the services refuse with are translatable and carry their figures (issue 19).

* An AST scan over portal/: a domain error (``ValidationFailed``, ``Conflict``, … and their subclasses) raised with
  a bare string, an f-string or a string sum — or with such a value in ``errors={...}`` — fails the test; texts go
  through ``_l("...")`` with figures as keywords (``portal/errors.py``).
* The sentence is worded when read: English with the old neutral figures for the API, jobs and tests; German words
  and German figures for a German reader; the same exception read twice in two languages.
"""
from __future__ import annotations

import ast
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale

from portal.errors import (Conflict, DomainError, InvalidTransition, ValidationFailed, money_fig, number_fig, say,
                           state_fig)
from portal.i18n import _l

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
BASES = {"DomainError", "NotFound", "Forbidden", "InvalidTransition", "Conflict", "ValidationFailed"}


def _error_classes(trees) -> set[str]:
    """The domain error classes: portal/errors.py's and every class deriving from one, anywhere in portal/."""
    names = set(BASES)
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        (b.id if isinstance(b, ast.Name) else getattr(b, "attr", None)) in names for b in node.bases):
                    names.add(node.name)
                    changed = True
    return names


def _is_text(node) -> bool:
    """A literal sentence: "…", f"…", or a sum with one of those in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_text(node.left) or _is_text(node.right)
    return False


def unmarked(source: str, classes: set[str], name: str = "<src>") -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called not in classes:
            continue
        if node.args and _is_text(node.args[0]):
            problems.append(f"{name}:{node.lineno}: {called}({ast.unparse(node.args[0])[:70]})")
        for kw in node.keywords:
            if kw.arg == "message" and _is_text(kw.value):
                problems.append(f"{name}:{node.lineno}: {called}(message={ast.unparse(kw.value)[:60]})")
            if kw.arg == "errors" and isinstance(kw.value, ast.Dict):
                for value in kw.value.values:
                    if _is_text(value):
                        problems.append(f"{name}:{node.lineno}: errors={{…: {ast.unparse(value)[:60]}}}")
    return problems


def _trees() -> dict:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(PORTAL.rglob("*.py"))}


@pytest.mark.dialect_free
def test_every_domain_error_sentence_is_marked_for_translation():
    trees = _trees()
    classes = _error_classes(trees)
    assert {"ImportRefused", "AlreadyOnPortal", "CsvRowErrors"} <= classes  # subclasses are found
    problems = []
    for path in trees:
        problems += unmarked(path.read_text(encoding="utf-8"), classes, str(path.relative_to(ROOT)))
    assert not problems, f"{len(problems)} unmarked sentences:\n" + "\n".join(problems[:40])


@pytest.mark.dialect_free
def test_the_scan_catches_each_unmarked_form():
    classes = {"ValidationFailed", "Conflict"}
    bad = '''
raise ValidationFailed("Plain text.")
raise ValidationFailed(f"Amount {x} too large.")
raise Conflict("Prefix: " + ", ".join(items))
raise ValidationFailed(_l("Fine."), errors={"amount": "Not marked."})
raise ValidationFailed(message="Keyword text.")
'''
    assert len(unmarked(bad, classes)) == 5
    good = '''
raise ValidationFailed(_l("The open amount is %(open)s."), open=money_fig(a, "EUR"), errors={"a": _l("More.")})
raise ValidationFailed(msg)
raise Conflict(exc.said, errors=exc.errors)
'''
    assert unmarked(good, classes) == []


@contextmanager
def _request(app, path: str, language: str | None = None):
    """A request of its own (a fresh app context: Flask-Babel keeps the page's language in ``g``)."""
    headers = {"Accept-Language": language} if language else {}
    with app.app_context(), app.test_request_context(path, headers=headers):
        yield


def _overpayment():
    return ValidationFailed(_l("The open amount is %(open_amount)s; a payment of %(value)s would overpay it."),
                            open_amount=money_fig(Decimal("7972.05"), "EUR"),
                            value=money_fig(Decimal("8000"), "EUR"),
                            errors={"amount": _l("More than the open amount."),
                                    "note": say(_l("Use at most %(places)s decimal places."), places=2)})


def test_outside_a_page_the_sentence_is_english_with_the_neutral_figures(app):
    with app.app_context():
        exc = _overpayment()
        assert exc.message == str(exc) == exc.english == (
            "The open amount is 7,972.05 EUR; a payment of 8,000.00 EUR would overpay it.")
        assert exc.errors == {"amount": "More than the open amount.", "note": "Use at most 2 decimal places."}
        assert exc.args[0] == exc.english  # logs and tracebacks read the English sentence


def test_the_same_exception_in_german_and_english_pages(app):
    exc = _overpayment()
    with _request(app, "/invoices/1", "de"):
        assert exc.message == ("Der offene Betrag ist 7.972,05\xa0€; eine Zahlung von 8.000,00\xa0€ würde ihn "
                               "überzahlen.")
        assert exc.errors["amount"] == "Mehr als der offene Betrag."
        assert exc.errors.copy()["note"] == "Verwenden Sie höchstens 2 Nachkommastellen."
        assert exc.english.startswith("The open amount is 7,972.05 EUR")
    with _request(app, "/invoices/1", "en"):
        assert exc.message == "The open amount is €7,972.05; a payment of €8,000.00 would overpay it."


def test_figures_counts_dates_and_states_in_the_readers_format(app):
    from portal.orders.states import OrderStatus

    exc = ValidationFailed(_l("An RFQ can have at most %(max_lines)s lines."), max_lines=number_fig(1000))
    moved = InvalidTransition(_l("An order that is %(state)s cannot become %(state2)s."),
                              state=state_fig(OrderStatus.draft), state2=state_fig(OrderStatus.closed))
    due = Conflict(_l("No approved, undisputed invoice is due by %(due)s."), due=date(2026, 3, 31))
    with app.app_context():
        assert exc.message == "An RFQ can have at most 1,000 lines."
        assert moved.message == "An order that is draft cannot become closed."
        assert due.message == "No approved, undisputed invoice is due by 2026-03-31."
    with _request(app, "/", "de"):
        assert exc.message == "Eine Angebotsanfrage kann höchstens 1.000 Positionen haben."
        assert moved.message == "Eine Bestellung im Status „Entwurf“ kann nicht „Abgeschlossen“ werden."
        assert due.message == "Keine freigegebene, unbeanstandete Rechnung ist bis 31.03.2026 fällig."


def test_the_api_answers_english_unless_the_request_asks_for_german(app):
    exc = _overpayment()
    with _request(app, "/api/v1/invoices/1/payments"):
        assert exc.message.startswith("The open amount is 7,972.05 EUR")
    with _request(app, "/api/v1/invoices/1/payments", "de-DE,de;q=0.9"):
        assert exc.message.startswith("Der offene Betrag ist 7.972,05\xa0€")


def test_unmarked_strings_still_work_as_given(app):
    with _request(app, "/", "de"):
        exc = DomainError("Some provider's own words.", errors={"x": "As given."})
        assert exc.message == "Some provider's own words." and exc.errors["x"] == "As given."
        exc.message = _l("No such invoice.")  # a view may reword an exception
        assert exc.message == "Keine solche Rechnung."


def test_jobs_writing_german_mail_word_errors_in_german(app):
    with app.app_context(), force_locale("de"):
        assert _overpayment().message.startswith("Der offene Betrag ist 7.972,05\xa0€")
