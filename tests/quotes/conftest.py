"""Fixtures for the quote tests (opt-in, so the comparison/award tests in this folder are not affected).

Modules of the quote suite use ``pytestmark = pytest.mark.usefixtures("isolated_requests")``: every request of a
test client then runs in an app context (and DB session) of its own, as in production. Without it requests share
the test's app context, so ``g`` — and Flask-Login's cached user — would leak from one signed-in client to another.
"""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests import factories


class _IsolatedClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def isolated_requests(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", _IsolatedClient)


@pytest.fixture
def open_rfq(world):
    """An open, sealed RFQ with 3 lines (100/200/300 pcs), both suppliers invited, deadline in a week."""
    return factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])


@pytest.fixture
def unsealed_rfq(world):
    return factories.rfq(world.buyer, world.procurement, sealed=False,
                         suppliers=[world.supplier_a, world.supplier_b])
