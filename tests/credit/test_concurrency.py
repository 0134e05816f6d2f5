"""Two (or eight) orders submitted at the same moment cannot both pass a limit only one fits."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.credit import services
from portal.credit.models import CreditAccount, CreditReservation, ReservationStatus
from portal.db import db
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus


def _race(app, order_ids):
    barrier = threading.Barrier(len(order_ids))
    errors = []

    def work(oid):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                services.check_order(oid)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(oid,)) for oid in order_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    db.session.expire_all()
    return [db.session.get(PurchaseOrder, oid).status for oid in order_ids]


@pytest.mark.postgres
@pytest.mark.parametrize("n", [2, 8])
def test_parallel_checks_pass_only_what_fits(app, world, account, submitted, n):
    account(world.supplier_a, world.buyer, "1000")
    ids = [submitted("600").id for _ in range(n)]
    statuses = _race(app, ids)
    assert statuses.count(OrderStatus.placed) == 1
    assert statuses.count(OrderStatus.credit_hold) == n - 1
    assert services.reserved_total(world.supplier_a.id, world.buyer.id, "EUR") == Decimal("600.00")


@pytest.mark.postgres
def test_parallel_checks_from_the_default_create_one_account_row(app, world, account, submitted):
    account(world.supplier_a, None, "1000")
    ids = [submitted("600").id for _ in range(8)]
    statuses = _race(app, ids)
    assert statuses.count(OrderStatus.placed) == 1
    assert db.session.scalar(sa.select(sa.func.count(CreditAccount.id)).where(
        CreditAccount.buyer_company_id == world.buyer.id)) == 1


@pytest.mark.postgres
def test_parallel_checks_all_pass_when_the_limit_fits_all(app, world, account, submitted):
    account(world.supplier_a, world.buyer, "10000")
    ids = [submitted("600").id for _ in range(8)]
    statuses = _race(app, ids)
    assert statuses == [OrderStatus.placed] * 8
    assert db.session.scalar(sa.select(sa.func.count(CreditReservation.id)).where(
        CreditReservation.status == ReservationStatus.reserved)) == 8
