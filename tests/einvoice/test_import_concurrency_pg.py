"""Imports under concurrency (PostgreSQL, real connections): the same file posted six times at once is imported
once; six different invoices for 40 of 100 shipped units: two are imported, the rest refused (never 120 %)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from portal.errors import DomainError
from portal.invoices.models import Invoice
from tests.einvoice.test_import import erp_ubl

THREADS = 6


def _race(app, actor_id, payloads):
    results, barrier = [], threading.Barrier(len(payloads))

    def worker(data):
        from portal.einvoice import importing

        with app.app_context():
            actor = db.session.get(User, actor_id)
            barrier.wait()
            try:
                importing.import_file(actor, data, "race.xml")
                results.append("ok")
            except DomainError as exc:
                results.append(exc.message)
            except Exception as exc:  # noqa: BLE001
                results.append(f"UNEXPECTED {exc!r}")
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results


@pytest.mark.postgres
def test_same_file_six_times_is_imported_once(app, shipped, iw):
    order, _ = shipped
    results = _race(app, iw.accounts_a.id, [erp_ubl(iw, order)] * THREADS)
    assert results.count("ok") == 1, results
    assert not any(r.startswith("UNEXPECTED") for r in results), results
    assert all("imported once" in r or "a moment ago" in r for r in results if r != "ok"), results
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


@pytest.mark.postgres
def test_parallel_imports_never_invoice_more_than_shipped(app, shipped, iw):
    from portal.einvoice import ubl
    from portal.einvoice.document import from_snapshot
    from tests.einvoice.conftest import make_snapshot

    order, _ = shipped  # line 1: 100 shipped
    payloads = []
    for i in range(THREADS):
        snap = make_snapshot([("40", "2.50", "0", "19")], number=f"PAR-{i}")
        snap["seller"]["vat_number"], snap["buyer"]["vat_number"] = iw.supplier_a.vat_number, iw.buyer.vat_number
        snap["order"]["po_number"] = order.po_number
        snap["lines"][0]["sku"] = "SKU-001"
        payloads.append(ubl.to_xml(from_snapshot(snap)))
    results = _race(app, iw.accounts_a.id, payloads)
    assert results.count("ok") == 2, results
    assert not any(r.startswith("UNEXPECTED") for r in results), results
    db.session.expire_all()
    invoiced = db.session.scalar(sa.text("SELECT sum(l.quantity) FROM invoice_lines l JOIN invoices i "
                                         "ON i.id = l.invoice_id WHERE i.status != 'draft'"))
    assert Decimal(invoiced) == Decimal("80")
