"""The invoice CSV export streams in batches, and the body is read the way a server reads it: after the view has
returned, in a thread where no application or request context exists (a new thread starts with empty context
variables, like gunicorn's worker loop once the request context is gone). The browser-level proof through the real
server is tests/e2e/test_exports_server.py."""
from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal

import flask
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices.models import Invoice, InvoiceLine

N = 1_234  # three batches of 500


def _bulk_drafts(world, n: int) -> list[int]:
    rows = [dict(kind="invoice", supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                 series="INV", status="draft", currency="EUR", payment_terms_days=30, buyer_reference=f"PO-{i}",
                 reverse_charge=False, total_net=Decimal("10.00"), total_tax=Decimal("1.90"),
                 total_gross=Decimal("11.90"), paid_amount=0, credited_amount=0, notes="",
                 created_by_id=world.accounts_a.id, lock_version=1, created_at=utcnow(), updated_at=utcnow())
            for i in range(n)]
    ids = list(db.session.scalars(sa.insert(Invoice).returning(Invoice.id), rows))
    db.session.execute(sa.insert(InvoiceLine), [
        dict(invoice_id=i, position=1, description="Service", quantity=Decimal(1), unit="pcs",
             unit_price=Decimal("10.00"), discount_percent=0, tax_rate=Decimal("19"), net_amount=Decimal("10.00"))
        for i in ids])
    db.session.commit()
    return sorted(ids)


def _read_elsewhere(resp) -> tuple[list, list]:
    """Iterate the response body in a fresh thread (no contexts); (chunks, errors)."""
    chunks, errors = [], []

    def read():
        try:
            assert not flask.has_app_context()
            chunks.extend(resp.response)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    t = threading.Thread(target=read)
    t.start()
    t.join(120)
    return chunks, errors


def test_export_streams_every_batch_outside_the_request(iw, login):
    ids = _bulk_drafts(iw, N)
    c = login(iw.accounts_a)
    before = flask.globals._cv_app.get(None)
    resp = c.get("/invoices/export.csv?status=draft", buffered=False)
    assert resp.status_code == 200 and resp.is_streamed
    chunks, errors = _read_elsewhere(resp)
    resp.close()
    assert errors == []
    assert len(chunks) >= 3  # streamed per batch, not built in memory first
    rows = list(csv.reader(io.StringIO(b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
                                      .decode("utf-8"))))
    from portal.invoices.views import CSV_HEADER

    assert rows[0] == CSV_HEADER
    assert [r[0] for r in rows[1:]] == [f"draft-{i}" for i in ids]
    assert flask.globals._cv_app.get(None) is before  # nothing left pushed on this thread


def test_a_body_nobody_reads_leaves_no_context_behind(iw, login):
    _bulk_drafts(iw, 3)
    c = login(iw.accounts_a)
    before = flask.globals._cv_app.get(None)
    for _ in range(3):
        resp = c.get("/invoices/export.csv", buffered=False)
        assert resp.status_code == 200
        first = next(iter(resp.response))  # read a little, then drop it
        assert b"number,kind,status" in (first if isinstance(first, bytes) else first.encode())
        resp.close()
    assert flask.globals._cv_app.get(None) is before
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 3  # the test's own session still works
