"""Dashboard panels of the quotes domain."""
import pytest

from portal.db import db
from portal.quotes import panels
from tests import factories
from tests.quotes.helpers import draft_with, fresh, move_deadline_to_past, submitted, text

pytestmark = pytest.mark.usefixtures("isolated_requests")


def by_title(items):
    return {p["title"]: p for p in items}


def test_sales_panels(world, open_rfq, app):
    other = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a], title="Bolts")
    third = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a], title="Nuts")
    draft_with(open_rfq, world.sales_a, ["1", None, None])
    submitted(other, world.sales_a, ["1", "2", "3"])
    q3 = submitted(third, world.sales_a, ["1", "2", "3"])
    q3 = fresh(q3)
    q3.needs_reconfirmation = True
    db.session.commit()
    with app.test_request_context("/"):
        p = by_title(panels.panels(fresh(world.sales_a)))
    assert p["Quotes not yet submitted"]["count"] == 1
    assert open_rfq.reference in p["Quotes not yet submitted"]["items"][0][0]
    assert p["Quotes to re-confirm"]["count"] == 1
    assert p["Submitted quotes awaiting outcome"]["count"] == 2
    move_deadline_to_past(open_rfq)  # a draft on a locked RFQ is no longer actionable
    with app.test_request_context("/"):
        p = by_title(panels.panels(fresh(world.sales_a)))
    assert "Quotes not yet submitted" not in p  # to-do panels only appear when there is something to do


def test_procurement_sees_quotes_received_today(world, open_rfq, app):
    submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    draft_with(open_rfq, world.sales_b, ["1", "2", "3"])  # a draft is not received
    with app.test_request_context("/"):
        p = by_title(panels.panels(fresh(world.procurement)))
    assert p["Quotes received today"]["count"] == 1
    with app.test_request_context("/"):
        assert panels.panels(fresh(world.buyer_accounts)) == []


def test_the_dashboard_renders_the_panels(world, open_rfq, login):
    draft_with(open_rfq, world.sales_a, ["1", None, None])
    body = text(login(world.sales_a).get("/dashboard"))
    assert "Quotes not yet submitted" in body and open_rfq.reference in body
    assert "Quotes received today" in text(login(world.procurement).get("/dashboard"))
