"""The credit ledger has one home, and the services that use it do not import each other in a circle.

Imports are read from the source (module level and inside functions alike), so a lazy import that closes a
circle counts as much as one at the top.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["portal.orders.services", "portal.orders.core", "portal.orders.approvals", "portal.orders.shipping",
            "portal.credit.services", "portal.credit.ledger", "portal.invoices.services"]


def _imports(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}  # "from portal.orders import approvals"
    return {m for m in out if m in SERVICES or m.startswith("portal.")}


def test_the_ledger_imports_only_models_and_helpers():
    allowed = {"portal.db", "portal.money", "portal.errors", "portal.locking", "portal.i18n"}
    imported = {m for m in _imports("portal.credit.ledger") if not m.startswith(("portal.db.", "portal.money.",
                                                                                   "portal.locking.", "portal.i18n."))}
    bad = {m for m in imported if m not in allowed and not m.split(".")[-1] in ("models", "states")
           and not m.rsplit(".", 1)[0].endswith((".models", ".states"))}
    assert not bad, bad
    assert not any(m.endswith(".services") or ".services." in m for m in imported)


def _graph() -> dict[str, set[str]]:
    return {m: {d for d in _imports(m) if d in SERVICES and d != m} for m in SERVICES}


def test_no_import_cycles_between_orders_credit_and_invoices():
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for d in graph[m]:
            if state.get(d) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(d):] + [d]))
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in SERVICES:
        if m not in state:
            visit(m)


def test_orders_and_invoices_call_the_ledger_not_credit_services():
    for m in ("portal.orders.services", "portal.orders.core", "portal.invoices.services"):
        deps = _imports(m)
        assert "portal.credit.ledger" in deps or "portal.credit.ledger.reserve" in deps or any(
            d.startswith("portal.credit.ledger") for d in deps), m
        assert "portal.credit.services" not in deps, m


@pytest.mark.parametrize("module", SERVICES)
def test_each_module_imports_on_its_own(module):
    importlib.import_module(module)


def test_the_lock_order_is_written_in_the_ledger():
    from portal.credit import ledger

    doc = ledger.__doc__[ledger.__doc__.index("Lock order"):]
    order = ["purchase order", "invoice", "credit account", "document counter"]
    positions = [doc.index(word) for word in order]
    assert positions == sorted(positions)
