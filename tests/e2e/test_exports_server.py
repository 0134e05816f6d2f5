"""Every CSV export downloaded through the real server (gunicorn, as in production), signed in with a plain HTTP
session, for supplier and buyer accounts.

The test client keeps an application context around the whole test, so a streamed response that needs one
(the invoice export iterates the database while it is sent) looked fine there and answered 500 under gunicorn,
where the generator runs after the request context is gone. These tests go through gunicorn."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from tests import factories

pytestmark = pytest.mark.e2e

requests = pytest.importorskip("requests")


def _session(live_server: str, user) -> "requests.Session":
    s = requests.Session()
    page = s.get(live_server + "/signin", timeout=20)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    r = s.post(live_server + "/signin", data={"csrf_token": token, "email": user.email,
                                              "password": factories.PASSWORD}, timeout=20, allow_redirects=True)
    assert r.status_code == 200 and r.url.endswith("/dashboard"), (r.status_code, r.url)
    return s


def _csv(s, url: str) -> list[list[str]]:
    r = s.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers["Content-Type"]
    assert "attachment" in r.headers.get("Content-Disposition", "")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


@pytest.fixture
def invoiced(world):
    """Supplier Alpha with bank details; two orders to Acme, shipped and invoiced (one credited), one draft."""
    from portal.invoices import services
    from tests.invoices.conftest import IBAN, ship

    world.supplier_a.iban = IBAN
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    db.session.commit()
    o1 = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                         lines=[("100", "2.50"), ("60", "12.00")])
    sh1 = ship(o1, {1: "100", 2: "60"}, creator=world.sales_a)
    inv1 = services.create_draft(world.accounts_a, shipment_id=sh1.id)
    inv1 = services.issue(inv1, world.accounts_a, inv1.lock_version)
    cn = services.create_credit_note(inv1, world.accounts_a, inv1.lock_version, amount="10.00",
                                     reason="Goodwill", reason_kind="other")
    o2 = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                         lines=[("10", "5.00")])
    sh2 = ship(o2, {1: "10"}, creator=world.sales_a)
    inv2 = services.create_draft(world.accounts_a, shipment_id=sh2.id)
    inv2 = services.issue(inv2, world.accounts_a, inv2.lock_version)
    o3 = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                         lines=[("3", "7.00")])
    sh3 = ship(o3, {1: "3"}, creator=world.sales_a)
    draft = services.create_draft(world.accounts_a, shipment_id=sh3.id)
    return {"inv1": inv1.number, "inv2": inv2.number, "cn": cn.number, "draft": f"draft-{draft.id}",
            "po1": o1.po_number}


def _numbers(rows):
    from portal.invoices.views import CSV_HEADER

    assert rows[0] == CSV_HEADER
    return [r[0] for r in rows[1:]]


def test_invoice_csv_export_for_supplier_accounts_with_every_filter(world, invoiced, live_server):
    s = _session(live_server, world.accounts_a)
    base = live_server + "/invoices/export.csv"
    everything = _numbers(_csv(s, base))
    assert sorted(everything) == sorted([invoiced["inv1"], invoiced["inv2"], invoiced["cn"], invoiced["draft"]])
    assert _numbers(_csv(s, base + "?kind=invoice")) == [invoiced["inv1"], invoiced["inv2"], invoiced["draft"]]
    assert _numbers(_csv(s, base + "?kind=credit_note")) == [invoiced["cn"]]
    assert _numbers(_csv(s, base + "?status=draft")) == [invoiced["draft"]]
    issued = sorted([invoiced["inv1"], invoiced["inv2"], invoiced["cn"]])
    assert sorted(_numbers(_csv(s, base + "?status=open"))) == issued
    assert _numbers(_csv(s, base + "?status=paid")) == []
    assert _numbers(_csv(s, base + f"?q={invoiced['inv2']}")) == [invoiced["inv2"]]
    assert _numbers(_csv(s, base + f"?q={invoiced['po1']}")) == [invoiced["inv1"], invoiced["cn"]]
    today = utcnow().date()
    assert len(_numbers(_csv(s, base + f"?from={today.isoformat()}&to={today.isoformat()}"))) == 4
    future = (today + timedelta(days=5)).isoformat()
    assert _numbers(_csv(s, base + f"?from={future}")) == []
    assert len(_numbers(_csv(s, base + f"?company_id={world.buyer.id}&overdue=0"))) == 4
    assert _numbers(_csv(s, base + "?overdue=1")) == []
    # bad filter values are ignored, never a 500
    assert len(_numbers(_csv(s, base + "?from=yesterday&company_id=abc"))) == 4
    rows = _csv(s, base + "?kind=invoice")
    first = dict(zip(rows[0], rows[1]))
    assert first["buyer"] == world.buyer.legal_name and Decimal(first["net"]) == Decimal("970.00")
    # the credit note of 10.00 net (+ 19 % VAT) shows on the invoice
    assert Decimal(first["credited"]) == Decimal("11.90")


def test_invoice_csv_export_for_buyer_accounts(world, invoiced, live_server):
    s = _session(live_server, world.buyer_accounts)
    base = live_server + "/invoices/export.csv"
    assert sorted(_numbers(_csv(s, base))) == sorted([invoiced["inv1"], invoiced["inv2"], invoiced["cn"]])
    assert _numbers(_csv(s, base + "?kind=credit_note")) == [invoiced["cn"]]
    assert _numbers(_csv(s, base + f"?company_id={world.supplier_a.id}&kind=invoice")) == \
        [invoiced["inv1"], invoiced["inv2"]]
    assert _numbers(_csv(s, base + "?status=draft")) == []  # the supplier's drafts stay the supplier's


def test_catalog_and_rfq_and_quote_and_comparison_csvs(world, live_server):
    from portal.catalog.csvio import COLUMNS as CATALOG_COLUMNS
    from portal.quotes.services import CSV_COLUMNS as QUOTE_COLUMNS
    from portal.rfq.csvlines import COLUMNS as RFQ_COLUMNS

    item = factories.catalog_item(world.supplier_a, sku="HX-4411", price="12.34", name="Hex bolt M8")
    rfq = factories.closed_rfq(world.buyer, world.procurement, lines=2, suppliers=(world.supplier_a,
                                                                                    world.supplier_b))
    qa = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["3.10", "4.20"])
    factories.quote(rfq, world.supplier_b, world.sales_b, prices=["3.30", "4.00"])
    open_rfq = factories.rfq(world.buyer, world.procurement, lines=3, suppliers=(world.supplier_a,))

    sales = _session(live_server, world.sales_a)
    rows = _csv(sales, live_server + "/catalog/export.csv")
    assert rows[0] == CATALOG_COLUMNS
    assert [r[0] for r in rows[1:]] == [item.sku] and "Hex bolt M8" in rows[1]
    assert _csv(sales, live_server + "/catalog/template.csv")[0] == CATALOG_COLUMNS
    rows = _csv(sales, live_server + f"/rfqs/{open_rfq.id}/quote/lines.csv")
    assert rows[0] == QUOTE_COLUMNS and [r[2] for r in rows[1:]] == ["P-0001", "P-0002", "P-0003"]
    rows = _csv(sales, live_server + f"/quotes/{qa.id}/lines.csv")
    assert rows[0] == QUOTE_COLUMNS and [Decimal(r[6]) for r in rows[1:]] == [Decimal("3.10"), Decimal("4.20")]
    rows = _csv(sales, live_server + f"/rfqs/{open_rfq.id}/lines.csv")
    assert rows[0][:len(RFQ_COLUMNS)] == RFQ_COLUMNS and [r[0] for r in rows[1:]] == ["Item 1", "Item 2", "Item 3"]

    buyer = _session(live_server, world.procurement)
    assert _csv(buyer, live_server + "/rfqs/lines-template.csv")[0] == RFQ_COLUMNS
    rows = _csv(buyer, live_server + f"/rfqs/{rfq.id}/lines.csv")
    assert [r[0] for r in rows[1:]] == ["Item 1", "Item 2"]
    rows = _csv(buyer, live_server + f"/quotes/{qa.id}/lines.csv")
    assert [Decimal(r[6]) for r in rows[1:]] == [Decimal("3.10"), Decimal("4.20")]
    rows = _csv(buyer, live_server + f"/rfqs/{rfq.id}/comparison.csv")
    assert rows[0][:2] == ["line", "part_number"]
    prices = {(r[0], r[5]): r[8] for r in rows[1:]}
    assert prices[("1", world.supplier_a.display_name)] == "3.10"
    assert prices[("2", world.supplier_b.display_name)] == "4.00"
