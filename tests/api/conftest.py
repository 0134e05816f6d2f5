import pytest


@pytest.fixture
def token_for():
    """token_for(user) -> headers with a fresh personal token for that user."""
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


@pytest.fixture
def banked_world(world):
    """The world with the suppliers' bank details and VAT numbers, so invoices can be issued."""
    from portal.db import db

    world.supplier_a.iban = "DE89370400440532013000"
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    world.supplier_b.iban = "FR1420041010050500013M02606"
    world.supplier_b.vat_number = "FR40303265045"
    db.session.commit()
    return world


@pytest.fixture
def docs(banked_world):
    """One of every document between the buyer and supplier A: an open RFQ (A and B invited) with A's submitted
    quote, a closed RFQ with quotes from A and B, a shipped order with its shipment, an issued invoice (with its
    PDF job) and a notification for the buyer's procurement person."""
    from types import SimpleNamespace

    from portal.invoices import services as invoice_services
    from portal.jobs.models import JobRecord
    from portal.notifications.models import Notification
    from portal.orders import shipping
    from portal.db import db
    from tests import factories

    w = banked_world
    rfq = factories.rfq(w.buyer, w.procurement, lines=2, suppliers=[w.supplier_a, w.supplier_b])
    quote = factories.quote(rfq, w.supplier_a, w.sales_a, prices=["1.00", "2.00"])
    closed = factories.closed_rfq(w.buyer, w.procurement, lines=2, suppliers=[w.supplier_a, w.supplier_b])
    qa = factories.quote(closed, w.supplier_a, w.sales_a, prices=["1.00", "2.00"])
    qb = factories.quote(closed, w.supplier_b, w.sales_b, prices=["1.50", "1.50"])
    order = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged")
    shipment = shipping.record_shipment(order, w.sales_a, order.lock_version,
                                        {ln.id: str(ln.quantity) for ln in order.lines}, "DHL", "1")
    inv = invoice_services.create_draft(w.accounts_a, shipment_id=shipment.id)
    inv = invoice_services.issue(inv, w.accounts_a, inv.lock_version)
    job = db.session.get(JobRecord, inv.pdf_job_id)
    note = Notification(user_id=w.procurement.id, company_id=w.buyer.id, kind="test", title="Hello")
    db.session.add(note)
    db.session.commit()
    return SimpleNamespace(world=w, rfq=rfq, quote=quote, closed=closed, qa=qa, qb=qb, order=order,
                           shipment=shipment, invoice=inv, job=job, notification=note)


@pytest.fixture
def outsiders():
    """Another buyer and another supplier, with people holding every role of their side."""
    from types import SimpleNamespace

    from tests import factories

    ob = factories.company("buyer", name="Other Buyer AG")
    os_ = factories.company("supplier", name="Other Supplier BV", country="NL")
    return SimpleNamespace(
        buyer=factories.user(ob, "procurement", "approver", "accounts", "admin", email="all@otherbuyer.test"),
        supplier=factories.user(os_, "sales", "accounts", "admin", email="all@othersupplier.test"))
