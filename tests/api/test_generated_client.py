"""A Python client generated with openapi-python-client from the live /api/v1/openapi.json (no warnings) drives
RFQ -> quote -> award -> order -> shipment -> invoice -> PDF download -> payment through its typed methods, reading
money as typed `Money` objects and statuses as enums. The client talks to the app in-process (httpx's WSGI
transport), so this is the same code path an ERP integrator's generated client takes."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from portal.db import utcnow

GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or \
    shutil.which("openapi-python-client")
pytestmark = pytest.mark.skipif(GENERATOR is None, reason="openapi-python-client is not installed (dev extras)")

# openapi-python-client reads application/pdf and application/xml as "unsupported"; mapping them to octet-stream
# makes the downloads (PDFs, e-invoices, SEPA files) a typed `File` (README: REST API v1 shows the same config).
CONFIG = ("content_type_overrides:\n  application/pdf: application/octet-stream\n"
          "  application/xml: application/octet-stream\n")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client once for this module: (package module, generator output)."""
    from portal import create_app

    out = tmp_path_factory.mktemp("client")
    # the live spec as the running app serves it (the test app's own fixture is function-scoped: build one here
    # only to read the document; it never touches a database)
    os.environ.setdefault("PORTAL_INSTANCE_PATH", str(tmp_path_factory.mktemp("inst")))
    spec_app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                           "SERVER_NAME": "portal.test"})
    spec = spec_app.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    (out / "openapi.json").write_bytes(spec.data)
    (out / "config.yaml").write_text(CONFIG)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    name = "portal_api_client"
    proc = subprocess.run([GENERATOR, "generate", "--path", str(out / "openapi.json"), "--output-path",
                           str(out / name), "--meta", "none", "--config", str(out / "config.yaml")],
                          capture_output=True, text=True, env=env, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    sys.path.insert(0, str(out))
    try:
        pkg = importlib.import_module(name)
        yield pkg, log
    finally:
        sys.path.remove(str(out))
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


def test_the_generator_has_nothing_to_warn_about(generated):
    _, log = generated
    assert "Warning" not in log and "WARNING" not in log and "ruff is not in PATH" not in log, log


def test_generated_client_drives_rfq_to_paid_invoice(app, generated, banked_world, outsiders, token_for, run_jobs):
    import httpx

    pkg, _ = generated
    api = importlib.import_module(pkg.__name__ + ".api")
    m = importlib.import_module(pkg.__name__ + ".models")
    sourcing = importlib.import_module(pkg.__name__ + ".api.sourcing")
    ordering = importlib.import_module(pkg.__name__ + ".api.ordering")
    invoicing = importlib.import_module(pkg.__name__ + ".api.invoicing")
    for sub in ("create_rfq", "publish_rfq", "save_quote", "close_rfq", "award_rfq", "get_rfq"):
        importlib.import_module(f"{sourcing.__name__}.{sub}")
    for sub in ("submit_order", "set_credit_account", "get_order", "acknowledge_order", "create_shipment"):
        importlib.import_module(f"{ordering.__name__}.{sub}")
    for sub in ("issue_invoice", "download_invoice_pdf", "record_payment", "get_invoice"):
        importlib.import_module(f"{invoicing.__name__}.{sub}")
    assert api

    w = banked_world

    def client_for(user):
        raw = token_for(user)["Authorization"].split(" ", 1)[1]
        return pkg.AuthenticatedClient(base_url="http://portal.test", token=raw, raise_on_unexpected_status=True,
                                       httpx_args={"transport": httpx.WSGITransport(app=app)})

    buyer, sales, accounts = client_for(w.procurement), client_for(w.sales_a), client_for(w.accounts_a)

    # RFQ: created (201 with Location), published
    body = m.RfqCreateIn(
        title="Hex bolts", deadline=utcnow() + timedelta(days=5), currency="EUR", sealed=False,
        lines=[m.RfqLineIn(description="Hex bolt M8", quantity="1000", unit="pcs")],
        supplier_company_ids=[w.supplier_a.id])
    created = sourcing.create_rfq.sync_detailed(client=buyer, idempotency_key="erp-rfq-1", body=body)
    assert created.status_code == 201, created.content
    rfq = created.parsed
    assert isinstance(rfq, m.RfqOut) and rfq.status == m.RfqStatus.DRAFT and rfq.lines[0].quantity == "1000"
    assert created.headers["Location"].endswith(f"/api/v1/rfqs/{rfq.id}")
    # a retry with the same key is the same RFQ, not a second one
    replay = sourcing.create_rfq.sync_detailed(client=buyer, idempotency_key="erp-rfq-1", body=body)
    assert replay.status_code == 201 and replay.parsed.id == rfq.id
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.headers["Location"] == created.headers["Location"]
    opened = sourcing.publish_rfq.sync(rfq.id, client=buyer, body=m.VersionIn())
    assert opened.status == m.RfqStatus.OPEN

    # the supplier quotes: prices go in as Money (API version 2026-12-06) and come back as Money
    eur = lambda amount: m.Money(amount=amount, currency="EUR")  # noqa: E731
    saved = sourcing.save_quote.sync_detailed(rfq.id, client=sales, body=m.QuoteIn(
        valid_until=(utcnow() + timedelta(days=30)).date(), shipping_cost=eur("25.00"),
        lines=[m.QuoteLineIn(rfq_line_id=rfq.lines[0].id, unit_price=eur("0.40"), lead_time_days=7,
                             price_breaks=[m.PriceBreakIn(min_quantity="5000", unit_price=eur("0.3850"))])]))
    assert saved.status_code == 201 and saved.headers["Portal-Version"] == "2026-12-06"
    quote = saved.parsed
    assert isinstance(quote, m.QuoteOut) and quote.status == m.QuoteStatus.SUBMITTED
    assert isinstance(quote.lines[0].unit_price, m.Money)
    assert (quote.lines[0].unit_price.amount, quote.lines[0].unit_price.currency) == ("0.40", "EUR")
    assert isinstance(quote.shipping_cost, m.Money) and quote.shipping_cost.amount == "25.00"
    brk = quote.lines[0].price_breaks[0].unit_price  # a price break's price is Money too, to its last digit
    assert isinstance(brk, m.Money) and (Decimal(brk.amount), brk.currency) == (Decimal("0.385"), "EUR")
    # money in another currency than the RFQ's is refused with a typed problem, nothing saved
    usd = sourcing.save_quote.sync_detailed(rfq.id, client=sales, body=m.QuoteIn(
        shipping_cost=m.Money(amount="25.00", currency="USD"),
        lines=[m.QuoteLineIn(rfq_line_id=rfq.lines[0].id, unit_price=eur("0.10"), lead_time_days=7)]))
    assert usd.status_code == 422 and isinstance(usd.parsed, m.Problem)
    assert usd.parsed.errors["shipping_cost.currency"] == "Must be EUR."

    # close, award -> a draft order
    assert sourcing.close_rfq.sync(rfq.id, client=buyer, body=m.VersionIn()).status == m.RfqStatus.CLOSED
    award = sourcing.award_rfq.sync(rfq.id, client=buyer, body=m.AwardIn(quote_id=quote.id))
    assert isinstance(award, m.AwardResultOut) and award.orders_error is None and len(award.orders) == 1
    order = award.orders[0]
    assert order.status == m.OrderStatus.DRAFT and isinstance(order.total_net, m.Money)
    assert Decimal(order.total_net.amount) == Decimal("425.00") and order.total_net.currency == "EUR"

    # submit; the supplier's accounts team gives the buyer credit (Money in, Money out); the credit check runs
    assert ordering.submit_order.sync(order.id, client=buyer, body=m.LockArgs()).status == m.OrderStatus.SUBMITTED
    account = ordering.set_credit_account.sync(w.buyer.id, client=accounts, body=m.CreditAccountIn(
        limit=m.Money(amount="50000.00", currency="EUR"), payment_terms_days=30))
    assert isinstance(account.limit, m.Money) and account.limit.amount == "50000.00"
    run_jobs()
    assert ordering.get_order.sync(order.id, client=buyer).status == m.OrderStatus.PLACED

    # acknowledge and ship everything
    acked = ordering.acknowledge_order.sync(order.id, client=sales, body=m.AckIn())
    assert acked.status == m.OrderStatus.ACKNOWLEDGED
    shipped = ordering.create_shipment.sync_detailed(order.id, client=sales, body=m.ShipmentIn(
        carrier="DHL", tracking="JD0001", lines=[m.ShipLineIn(order_line_id=acked.lines[0].id, quantity="1000")]))
    assert shipped.status_code == 201 and shipped.parsed.lines[0].quantity == "1000"
    shipment = shipped.parsed

    # invoice: issued at once, the money typed
    invoice = invoicing.issue_invoice.sync(client=accounts, body=m.InvoiceIn(shipment_id=shipment.id))
    assert isinstance(invoice, m.InvoiceOut) and invoice.status == m.InvoiceStatus.ISSUED
    assert invoice.kind == m.InvoiceKind.INVOICE and isinstance(invoice.total_gross, m.Money)
    gross = Decimal(invoice.total_gross.amount)
    assert Decimal(invoice.total_net.amount) == Decimal("425.00")
    assert gross == Decimal(invoice.total_net.amount) + Decimal(invoice.total_tax.amount)

    # the PDF: 202 with the job (typed), then the stored bytes as a File
    pending = invoicing.download_invoice_pdf.sync_detailed(invoice.id, client=accounts)
    assert pending.status_code == 202 and isinstance(pending.parsed, m.Job)
    assert pending.parsed.status in (m.JobStatus.QUEUED, m.JobStatus.RUNNING) and pending.headers["Retry-After"]
    run_jobs()
    pdf = invoicing.download_invoice_pdf.sync_detailed(invoice.id, client=accounts)
    assert pdf.status_code == 200
    data = pdf.parsed.payload.read()
    assert data.startswith(b"%PDF-") and pdf.headers["Content-Type"] == "application/pdf"

    # payment of the gross amount: paid, nothing open
    paid = invoicing.record_payment.sync(invoice.id, client=accounts, body=m.PaymentIn(
        amount=invoice.total_gross, date=utcnow().date(), reference="BANK-1"))
    assert paid.status == m.InvoiceStatus.PAID and paid.open_amount == m.Money(amount="0.00", currency="EUR")
    assert Decimal(paid.payments[0].amount.amount) == gross

    # a problem answer is typed too: another company's invoice is a 404 Problem
    gone = invoicing.get_invoice.sync_detailed(invoice.id, client=client_for(outsiders.supplier))
    assert gone.status_code == 404 and isinstance(gone.parsed, m.Problem) and gone.parsed.status == 404
    assert gone.headers["Content-Type"] == "application/problem+json"
