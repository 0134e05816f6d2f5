"""Orders test helpers. Harness fixes as in the other folders (see tests/accounts/helpers.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from tests import factories


class IsolatedClient(FlaskClient):
    """Every request in an app context (and DB session) of its own, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_requests(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)


@pytest.fixture
def rules(world):
    """Acme's approval rules: above 10,000 one approval, above 100,000 two."""
    from portal.db import db
    from portal.orders.models import ApprovalRule

    for threshold, n in (("10000", 1), ("100000", 2)):
        db.session.add(ApprovalRule(buyer_company_id=world.buyer.id, threshold=Decimal(threshold), currency="EUR",
                                    approvals_required=n))
    db.session.commit()


@pytest.fixture
def order_in(world):
    """order_in(status, lines=[(qty, price)...], supplier=None) -> a PurchaseOrder of Acme."""

    def _make(status="draft", lines=None, supplier=None, creator=None):
        return factories.order(world.buyer, supplier or world.supplier_a, creator or world.procurement,
                               status=status, lines=lines)

    return _make


def post(client, url, order=None, **data):
    """POST a form with the order's current lock_version (as the page would have it)."""
    if order is not None and "lock_version" not in data:
        from tests.accounts.helpers import fresh

        data["lock_version"] = fresh(order).lock_version
    return client.post(url, data=data)

