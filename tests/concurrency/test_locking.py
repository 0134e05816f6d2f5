"""portal.locking: the version is compared only on a locked, re-read row; the bounded retry of a unit of work."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import locking
from portal.db import db
from portal.errors import Conflict
from portal.orders.models import PurchaseOrder
from tests import factories


class _PgError(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _db_error(sqlstate):
    return sa.exc.OperationalError("UPDATE ...", {}, _PgError(sqlstate))


def test_version_matches_rules():
    assert locking.version_matches(3, 3) and locking.version_matches("3", 3)
    assert not locking.version_matches(2, 3) and not locking.version_matches("x", 3)
    assert not locking.version_matches(None, 3) and locking.version_matches(None, 3, required=False)
    assert locking.version_matches(locking.CURRENT, 3)
    assert not locking.version_matches(True, 1)


def test_a_version_compared_on_an_unlocked_row_is_refused(world):
    order = factories.order(world.buyer, world.supplier_a, world.procurement)
    with pytest.raises(RuntimeError):
        locking.check_fresh(order, order.lock_version, "stale")
    locked = locking.lock_row(PurchaseOrder, order.id)
    locking.check_fresh(locked, order.lock_version, "stale")
    with pytest.raises(Conflict, match="stale"):
        locking.check_fresh(locked, order.lock_version - 1, "stale")
    db.session.rollback()  # the lock ends with the transaction, and so does the right to compare
    with pytest.raises(RuntimeError):
        locking.check_fresh(locked, order.lock_version, "stale")


def test_lock_row_refuses_other_companies_and_bad_ids(world):
    order = factories.order(world.buyer, world.supplier_a, world.procurement)
    with pytest.raises(Conflict.__bases__[0]) as exc:  # DomainError: NotFound
        locking.lock_row(PurchaseOrder, order.id, where=(PurchaseOrder.visible_to(world.supplier_b.id),))
    assert exc.value.status == 404
    for bad in ("abc", None, 0, 2**40):
        with pytest.raises(Exception) as exc:
            locking.lock_row(PurchaseOrder, bad)
        assert getattr(exc.value, "status", None) == 404


def test_retry_reruns_the_unit_after_a_deadlock(monkeypatch):
    monkeypatch.setattr(locking.time, "sleep", lambda s: None)
    calls = []

    @locking.retry_on_conflict
    def unit():
        calls.append(1)
        if len(calls) < 3:
            raise _db_error("40P01")
        return "done"

    assert unit() == "done" and len(calls) == 3


def test_retry_is_bounded_and_ends_in_a_conflict(monkeypatch):
    monkeypatch.setattr(locking.time, "sleep", lambda s: None)
    calls = []

    @locking.retry_on_conflict(attempts=4)
    def unit():
        calls.append(1)
        raise _db_error("40001")

    with pytest.raises(Conflict):
        unit()
    assert len(calls) == 4


def test_retry_leaves_other_errors_alone(monkeypatch):
    calls = []

    @locking.retry_on_conflict
    def unit():
        calls.append(1)
        raise _db_error("23505")

    with pytest.raises(sa.exc.OperationalError):
        unit()
    assert len(calls) == 1


def test_only_the_outermost_unit_retries(monkeypatch):
    monkeypatch.setattr(locking.time, "sleep", lambda s: None)
    inner_calls, outer_calls = [], []

    @locking.retry_on_conflict
    def inner():
        inner_calls.append(1)
        if len(inner_calls) == 1:
            raise _db_error("40P01")

    @locking.retry_on_conflict
    def outer():
        outer_calls.append(1)
        inner()

    outer()
    assert len(outer_calls) == 2 and len(inner_calls) == 2


@pytest.mark.postgres
def test_a_real_deadlock_is_retried(app, world):
    """Two units lock two orders in opposite orders: PostgreSQL kills one; the retry runs it again."""
    import threading

    a = factories.order(world.buyer, world.supplier_a, world.procurement)
    b = factories.order(world.buyer, world.supplier_a, world.procurement)
    ids = [(a.id, b.id), (b.id, a.id)]
    barrier = threading.Barrier(2)
    attempts, results = [0, 0], [None, None]

    def run(i):
        first, second = ids[i]

        @locking.retry_on_conflict
        def unit():
            attempts[i] += 1
            o = locking.lock_row(PurchaseOrder, first)
            if attempts[i] == 1:
                barrier.wait(timeout=10)
            locking.lock_row(PurchaseOrder, second)
            o.notes = f"unit {i}"
            db.session.commit()
            return attempts[i]

        with app.app_context():
            try:
                results[i] = unit()
            except Exception as exc:  # noqa: BLE001
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, int) for r in results), results
    assert sorted(results) == [1, 2]  # one unit ran once, the deadlock victim twice


def test_no_retry_over_a_callers_uncommitted_writes(world, monkeypatch):
    """A rollback would throw away the caller's work, which the unit cannot redo: the error goes up instead."""
    monkeypatch.setattr(locking.time, "sleep", lambda s: None)
    order = factories.order(world.buyer, world.supplier_a, world.procurement)
    calls = []

    @locking.retry_on_conflict
    def unit():
        calls.append(1)
        raise _db_error("40P01")

    order.notes = "the caller's change"
    db.session.flush()
    with pytest.raises(sa.exc.OperationalError):
        unit()
    assert len(calls) == 1
    db.session.rollback()
    with pytest.raises(Conflict):  # a clean transaction again: the unit owns it and retries
        unit()
    assert len(calls) == 1 + locking.RETRY_ATTEMPTS
