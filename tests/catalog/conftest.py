"""Local fixtures for the catalog tests."""
from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def buyer2():
    """A second buyer company with a procurement person (for "buyer B never sees buyer A's price")."""
    company = factories.company("buyer", name="Other Buyer AG")
    return company, factories.user(company, "procurement", email="buyer@other.test")


@pytest.fixture
def fake_orders(monkeypatch):
    """Stand-in for orders.services.create_draft_order: records calls, returns a tiny object."""
    from portal.catalog import services

    calls = []

    class FakeOrder:
        def __init__(self, lines, supplier_id):
            self.id = 4242
            self.po_number = "PO-TEST-00001"
            self.lines = lines
            self.supplier_company_id = supplier_id

    def fake(actor, supplier_id, lines, **kw):
        calls.append({"actor": actor, "supplier_id": supplier_id, "lines": lines, **kw})
        o = FakeOrder(lines, supplier_id)
        from portal.accounts.models import Company
        from portal.db import db

        o.supplier = db.session.get(Company, supplier_id)
        return o

    monkeypatch.setattr(services, "_create_draft", fake)
    return calls


@pytest.fixture
def login(login):
    """The shared login fixture, made safe for several people in one test.

    The autouse app context of tests/conftest.py stays pushed during test-client requests, so Flask reuses it and
    ``g._login_user`` (Flask-Login's cached current_user) survives from one client's request to the next: the
    second person's sign-in would be redirected as "already signed in" and act as the first person. Dropping
    the cache before each sign-in makes every login() really sign in.
    """
    from flask import g

    def _login(user, *a, **kw):
        g.pop("_login_user", None)
        return login(user, *a, **kw)

    return _login
