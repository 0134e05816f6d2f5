"""The credit check: a ledger of reservations against the limit, decided in one transaction."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.credit import services
from portal.credit.models import CreditAccount, CreditCheck, CreditReservation, ReservationStatus
from portal.db import db
from portal.jobs import enqueue_after_commit
from portal.orders.states import OrderStatus
from tests import factories
from tests.credit.helpers import fake_figures, fresh


def _actions(order):
    return [e.action for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "order", AuditEvent.entity_id == order.id)
        .order_by(AuditEvent.id))]


def test_order_within_limit_is_placed_and_reserved(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("600")
    cc = services.check_order(order.id)
    order = fresh(order)
    assert cc.outcome == "passed"
    assert order.status == OrderStatus.placed
    assert order.placed_at is not None and order.supplier_order_number.startswith("SO-")
    res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id))
    assert res.status == ReservationStatus.reserved and res.amount == Decimal("600.00")
    assert (cc.limit_amount, cc.reserved_orders, cc.order_amount, cc.unpaid_invoices) == (
        Decimal("1000"), Decimal("0"), Decimal("600"), Decimal("0"))
    assert "within the limit" in cc.reason
    assert "credit_check_passed" in _actions(order)


def test_order_over_limit_goes_on_hold_with_figures_and_reason(world, account, submitted):
    account(world.supplier_a, world.buyer, "10000")
    first = submitted("9000")
    assert services.check_order(first.id).outcome == "passed"
    second = submitted("3400")
    cc = services.check_order(second.id)
    second = fresh(second)
    assert second.status == OrderStatus.credit_hold
    assert cc.outcome == "hold"
    assert cc.reserved_orders == Decimal("9000") and cc.order_amount == Decimal("3400")
    assert cc.reason == ("Exposure 12,400.00 EUR would exceed the limit of 10,000.00 EUR by 2,400.00 EUR "
                         "(124 % used, over the limit). The order is on hold for a manual decision.")
    assert db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == second.id)) is None
    assert second.supplier_order_number is None
    assert {"credit_hold", "credit_check_hold"} <= set(_actions(second))


def test_exactly_at_the_limit_passes(world, account, submitted):
    account(world.supplier_a, world.buyer, "600")
    assert services.check_order(submitted("600").id).outcome == "passed"
    assert services.check_order(submitted("0.01").id).outcome == "hold"


def test_default_account_is_copied_for_a_new_buyer(world, account, submitted):
    account(world.supplier_a, None, "5000", terms=14)
    order = submitted("600")
    assert services.check_order(order.id).outcome == "passed"
    own = services.pair_account(world.supplier_a.id, world.buyer.id)
    assert own is not None and own.limit_amount == Decimal("5000") and own.payment_terms_days == 14
    # the default itself is untouched and still unique
    assert db.session.scalar(sa.select(sa.func.count(CreditAccount.id)).where(
        CreditAccount.supplier_company_id == world.supplier_a.id)) == 2


def test_no_account_and_no_default_holds(world, submitted):
    order = submitted("1")
    cc = services.check_order(order.id)
    assert cc.outcome == "hold" and "no credit limit" in cc.reason
    assert fresh(order).status == OrderStatus.credit_hold


def test_currency_mismatch_holds_without_guessing(world, account, submitted):
    account(world.supplier_a, world.buyer, "100000", currency="EUR")
    order = submitted("10", currency="USD")
    cc = services.check_order(order.id)
    assert cc.outcome == "hold"
    assert "USD" in cc.reason and "EUR" in cc.reason and "not converted" in cc.reason
    assert cc.limit_amount is None
    assert fresh(order).status == OrderStatus.credit_hold


def test_overdue_invoices_block_when_the_account_says_so(world, account, submitted, monkeypatch):
    fake_figures(monkeypatch, overdue=2)
    account(world.supplier_a, world.buyer, "100000", block=True)
    cc = services.check_order(submitted("10").id)
    assert cc.outcome == "hold" and "2 overdue invoices" in cc.reason


def test_overdue_invoices_do_not_block_when_the_account_allows(world, account, submitted, monkeypatch):
    fake_figures(monkeypatch, overdue=2)
    account(world.supplier_a, world.buyer, "100000", block=False)
    assert services.check_order(submitted("10").id).outcome == "passed"


def test_unpaid_invoices_count_towards_exposure(world, account, submitted, monkeypatch):
    fake_figures(monkeypatch, unpaid=Decimal("500"))
    account(world.supplier_a, world.buyer, "1000")
    cc = services.check_order(submitted("600").id)
    assert cc.outcome == "hold" and cc.unpaid_invoices == Decimal("500")
    assert "1,100.00 EUR" in cc.reason


def test_until_invoicing_exists_unpaid_and_overdue_are_zero(world):
    assert services.unpaid_invoices_total(world.supplier_a.id, world.buyer.id, "EUR") == Decimal("0")
    assert services.overdue_invoices_count(world.supplier_a.id, world.buyer.id) == 0


def test_reservations_of_other_buyers_and_suppliers_do_not_count(world, account, submitted):
    other_buyer = factories.company("buyer")
    account(world.supplier_a, world.buyer, "1000")
    account(world.supplier_a, other_buyer, "1000")
    account(world.supplier_b, world.buyer, "1000")
    assert services.check_order(submitted("900", buyer=other_buyer).id).outcome == "passed"
    assert services.check_order(submitted("900", supplier=world.supplier_b).id).outcome == "passed"
    assert services.check_order(submitted("900").id).outcome == "passed"


def test_released_reservation_frees_the_limit(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    first = submitted("800")
    services.check_order(first.id)
    first = fresh(first)
    services.release_reservation(first)
    db.session.commit()
    res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == first.id))
    assert res.status == ReservationStatus.released and res.closed_at is not None
    assert services.check_order(submitted("800").id).outcome == "passed"


def test_converted_reservation_no_longer_counts_as_reserved(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    first = submitted("800")
    services.check_order(first.id)
    services.convert_reservation(fresh(first))
    db.session.commit()
    assert services.reserved_total(world.supplier_a.id, world.buyer.id, "EUR") == Decimal("0")
    res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == first.id))
    assert res.status == ReservationStatus.converted


def test_release_and_convert_only_flush(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    first = submitted("800")
    services.check_order(first.id)
    services.release_reservation(fresh(first))
    db.session.rollback()
    assert services.reserved_total(world.supplier_a.id, world.buyer.id, "EUR") == Decimal("800")
    assert services.release_reservation(factories.order(world.buyer, world.supplier_a, world.procurement)) is None


def test_check_of_an_order_no_longer_submitted_changes_nothing(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("100")
    first = services.check_order(order.id)
    again = services.check_order(order.id)
    assert again.id == first.id
    assert db.session.scalar(sa.select(sa.func.count(CreditCheck.id))) == 1
    draft = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft")
    assert services.check_order(draft.id) is None
    assert fresh(draft).status == OrderStatus.draft


def test_credit_job_runs_on_the_credit_queue_and_is_idempotent(world, account, submitted, run_jobs):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("100")
    for _ in range(2):
        enqueue_after_commit("portal.credit.jobs.credit_check_job", order.id, queue="credit")
        db.session.commit()
    run_jobs(["credit"])
    order = fresh(order)
    assert order.status == OrderStatus.placed
    assert db.session.scalar(sa.select(sa.func.count(CreditCheck.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(CreditReservation.id))) == 1


def test_credit_job_ignores_missing_orders():
    from portal.credit.jobs import credit_check_job

    assert credit_check_job(999999) is None


def test_checks_for_lists_the_orders_checks(world, account, submitted):
    account(world.supplier_a, world.buyer, "10")
    order = submitted("100")
    services.check_order(order.id)
    checks = services.checks_for(fresh(order))
    assert [c.outcome for c in checks] == ["hold"]


def test_pair_figures_are_the_three_look_ups_in_one_statement(world, account, submitted, count_queries):
    """The credit check reads unpaid invoices, reserved orders and overdue invoices in one round trip: the same
    figures as the separate look-ups the pages use."""
    from portal.credit import ledger

    account(world.supplier_a, world.buyer, "100000")
    services.check_order(submitted("40").id)  # one reservation
    s, b = world.supplier_a.id, world.buyer.id
    with count_queries() as q:
        figures = ledger.pair_figures(s, b, "EUR")
    assert q.count == 1
    assert figures == (ledger.unpaid_invoices_total(s, b, "EUR"), ledger.reserved_total(s, b, "EUR"),
                       ledger.overdue_invoices_count(s, b))
    assert figures[1] == Decimal("40")


def test_a_credit_check_runs_a_bounded_number_of_statements(world, account, submitted, count_queries):
    """The check's round trips (each one costs the worker's throughput): a passing order."""
    from portal.credit.jobs import credit_check_job

    account(world.supplier_a, world.buyer, "100000")
    order_id = submitted("10").id
    db.session.remove()
    with count_queries() as q:
        assert credit_check_job.__wrapped__(order_id) == "passed"
    assert q.count <= 31, f"{q.count}:\n" + "\n".join(s[:100] for s in q.statements)
