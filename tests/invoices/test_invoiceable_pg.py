"""Over-invoicing under concurrency: two drafts for the same open quantity issued at the same moment. The check
runs under the order's row lock, after the figures are read again, so exactly one is issued (PostgreSQL)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from portal.errors import ValidationFailed
from portal.invoices import services
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from tests.invoices.conftest import draft_for
from tests.invoices.test_invoiceable import hundred, receive_rejecting  # noqa: F401  (fixture)


@pytest.mark.postgres
def test_parallel_issues_of_the_same_open_quantity_issue_one(app, iw, hundred):  # noqa: F811
    order, sh = hundred
    receive_rejecting(iw, order, sh, "10")
    ids = [draft_for(iw, shipment=sh).id, draft_for(iw, order=order).id]  # both propose the 90 open
    actor_id = iw.accounts_a.id
    barrier = threading.Barrier(len(ids))
    outcomes: list = []

    def worker(inv_id):
        with app.app_context():
            actor = db.session.get(User, actor_id)
            inv = db.session.get(Invoice, inv_id)
            barrier.wait()
            try:
                services.issue(inv, actor, inv.lock_version)
                outcomes.append("issued")
            except ValidationFailed as exc:
                outcomes.append(exc.message)
            except Exception as exc:  # noqa: BLE001
                outcomes.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == sorted([
        "issued", "You can invoice at most 0 pcs of line 1 (100 shipped, 10 rejected at receipt, 90 already "
                  "invoiced)."])
    db.session.expire_all()
    issued = db.session.scalars(sa.select(Invoice).where(Invoice.status != InvoiceStatus.draft)).all()
    assert len(issued) == 1 and [ln.quantity for ln in issued[0].lines] == [Decimal(90)]
