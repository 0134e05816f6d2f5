"""Credit holds explain themselves: every failing factor with its figures, utilisation labelled right, today's
figures on the hold card, "Check again", and a history that says who released an order."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.credit import services
from portal.credit.models import CreditCheck
from portal.credit.providers import fmt, utilisation
from portal.db import db
from portal.money import format_money
from portal.orders.states import OrderStatus
from tests import factories
from tests.credit.helpers import fake_figures, fresh, text


def _events(order, action):
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "order", AuditEvent.entity_id == order.id, AuditEvent.action == action)
        .order_by(AuditEvent.id)))


@pytest.fixture
def held(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("1500")
    services.check_order(order.id)
    order = fresh(order)
    assert order.status == OrderStatus.credit_hold
    return order


# --------------------------------------------------------------------------------------------- reasons

def test_the_reason_names_every_failing_factor_with_its_figures(world, account, submitted, monkeypatch):
    unpaid, overdue, limit, amount = Decimal("500"), 1, Decimal("1000"), Decimal("600")
    fake_figures(monkeypatch, unpaid=unpaid, overdue=overdue)
    account(world.supplier_a, world.buyer, str(limit))
    cc = services.check_order(submitted(str(amount)).id)
    exposure = unpaid + amount
    share = (exposure / limit * 100).quantize(Decimal("1"))
    assert cc.outcome == "hold"
    assert "The buyer has 1 overdue invoice at this supplier, and overdue invoices block new orders." in cc.reason
    assert (f"Exposure {fmt(exposure, 'EUR')} would exceed the limit of {fmt(limit, 'EUR')} by "
            f"{fmt(exposure - limit, 'EUR')} ({share} % used, over the limit).") in cc.reason
    assert [f["factor"] for f in cc.factors] == ["overdue_invoices", "over_limit"]
    figures = cc.factors[1]["figures"]
    assert Decimal(figures["exposure"]) == exposure and Decimal(figures["over"]) == exposure - limit
    assert cc.factors[0]["figures"]["count"] == overdue


def test_the_hold_card_lists_both_reasons(world, account, submitted, monkeypatch, login):
    fake_figures(monkeypatch, overdue=2)
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("1200")
    services.check_order(order.id)
    body = text(login(world.accounts_a).get("/credit/holds"))
    assert "held the order for 2 reasons" in body
    assert "2 overdue invoices" in body
    # pages word the stored factors in the reader's format (portal/credit/reasons.py)
    assert f"by {format_money(Decimal('200'), 'EUR')}" in body


@pytest.mark.parametrize("share,label", [("0", "ok"), ("0.7999", "ok"), ("0.8", "near"), ("1", "near"),
                                         ("1.0001", "over"), ("1.78", "over")])
def test_utilisation_labels(share, label):
    assert utilisation(Decimal(share)) == label


def test_178_percent_used_is_over_the_limit_not_near(world, account, submitted, monkeypatch, login):
    unpaid, limit = Decimal("1780"), Decimal("1000")
    fake_figures(monkeypatch, unpaid=unpaid)
    account(world.supplier_a, world.buyer, str(limit))
    services.check_order(submitted("10").id)  # on hold; the buyer is known to the supplier
    pct = f"{(unpaid / limit * 100).quantize(Decimal('1'))} %"
    c = login(world.accounts_a)
    body = text(c.get("/credit/accounts"))
    assert f"{pct} · over the limit" in body and f"{pct} · near" not in body
    dash = text(c.get("/dashboard"))
    assert f"Acme Buying GmbH · {pct} used, over the limit" in dash


# --------------------------------------------------------------------------------------------- today's figures

def test_the_hold_card_shows_todays_limit_after_it_was_raised(world, held, login):
    services.save_account(world.accounts_a, world.buyer.id, limit_amount="2000", currency="EUR",
                          payment_terms_days="30", block_on_overdue=True)
    body = text(login(world.accounts_a).get("/credit/holds"))
    today = body[body.index('data-testid="credit-hold-today"'):]
    today = today[:today.index("</tr>")]
    assert format_money(Decimal("2000"), "EUR") in today
    assert "75 % used, within the limit" in today  # 1,500 of 2,000
    at_check = body[body.index("At the check"):body.index('data-testid="credit-hold-today"')]
    assert format_money(Decimal("1000"), "EUR") in at_check
    assert "Check again" in body


# --------------------------------------------------------------------------------------------- check again

def test_check_again_places_the_order_when_it_passes_now(world, held, login, run_jobs):
    services.save_account(world.accounts_a, world.buyer.id, limit_amount="2000", currency="EUR",
                          payment_terms_days="30", block_on_overdue=True)
    c = login(world.accounts_a)
    r = c.post(f"/credit/holds/{held.id}/recheck", data={"lock_version": fresh(held).lock_version})
    assert r.status_code == 302
    assert fresh(held).status == OrderStatus.credit_hold  # the job decides, not the click
    run_jobs(["credit"])
    order = fresh(held)
    assert order.status == OrderStatus.placed and order.supplier_order_number
    checks = services.checks_for(order)
    assert [(cc.outcome, cc.resolution) for cc in checks] == [("hold", "rechecked"), ("passed", None)]
    assert checks[0].resolved_by_id == world.accounts_a.id
    passed = _events(order, "credit_check_passed")
    assert passed and passed[-1].detail.startswith(f"Checked again at the request of {world.accounts_a.name}: ")
    assert _events(order, "placed")[-1].detail == "Credit check passed when checked again."
    assert _events(order, "credit_recheck_requested")[-1].actor_id == world.accounts_a.id


def test_check_again_keeps_the_hold_with_the_new_reasons(world, held, login, run_jobs):
    services.save_account(world.accounts_a, world.buyer.id, limit_amount="1200", currency="EUR",
                          payment_terms_days="30", block_on_overdue=True)
    c = login(world.accounts_a)
    c.post(f"/credit/holds/{held.id}/recheck", data={"lock_version": fresh(held).lock_version})
    run_jobs(["credit"])
    order = fresh(held)
    assert order.status == OrderStatus.credit_hold
    checks = services.checks_for(order)
    assert [(cc.outcome, cc.resolution) for cc in checks] == [("hold", "rechecked"), ("hold", None)]
    new_reason = (f"Exposure {fmt(Decimal('1500'), 'EUR')} would exceed the limit of {fmt(Decimal('1200'), 'EUR')} "
                  f"by {fmt(Decimal('300'), 'EUR')}")
    assert new_reason in checks[-1].reason
    body = text(c.get("/credit/holds"))
    shown = (f"Exposure {format_money(Decimal('1500'), 'EUR')} would exceed the limit of "
             f"{format_money(Decimal('1200'), 'EUR')} by {format_money(Decimal('300'), 'EUR')}")
    assert shown in body and f"by {format_money(Decimal('500'), 'EUR')}" not in body


def test_check_again_twice_queues_one_job(app, world, held, login):
    from rq import Queue

    c = login(world.accounts_a)
    for _ in range(2):
        assert c.post(f"/credit/holds/{held.id}/recheck",
                      data={"lock_version": fresh(held).lock_version}).status_code == 302
    from portal.jobs.queue import rq_id

    ids = Queue("credit", connection=app.extensions["portal_redis"]).job_ids
    assert [i for i in ids if i.startswith(rq_id("credit-recheck-"))] == [
        rq_id(f"credit-recheck-{held.id}-{services.checks_for(held)[-1].id}")]


def test_check_again_is_for_the_suppliers_accounts_team_on_holds_only(world, held, account, submitted, login):
    assert login(world.sales_a).post(f"/credit/holds/{held.id}/recheck").status_code == 403
    assert login(world.admin_b).post(f"/credit/holds/{held.id}/recheck").status_code in (403, 404)
    other = factories.user(world.supplier_b, "accounts")
    assert login(other).post(f"/credit/holds/{held.id}/recheck").status_code == 404
    services.release_hold(held, world.accounts_a, "Fine.")
    r = login(world.accounts_a).post(f"/credit/holds/{held.id}/recheck")
    assert r.status_code == 409 and "Only an order on credit hold can be checked again" in text(r)
    assert _events(held, "credit_recheck_requested") == []


# --------------------------------------------------------------------------------------------- history

def test_history_of_a_released_order_says_who_released_it_and_why(world, held, login):
    services.release_hold(held, world.accounts_a, "Known customer, pays late but pays.")
    placed = _events(held, "placed")[-1]
    assert placed.actor_id == world.accounts_a.id
    assert placed.detail == (f"Released from credit hold by {world.accounts_a.name} (not by the credit check): "
                             "Known customer, pays late but pays.")
    for who in (world.procurement, world.accounts_a):
        page = text(login(who).get(f"/orders/{held.id}"))
        assert f"Released from credit hold by {world.accounts_a.name}" in page
        assert "Credit check passed" not in page


def test_history_of_a_passed_check_still_says_so(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("100")
    services.check_order(order.id)
    placed = _events(order, "placed")[-1]
    assert placed.detail == "Credit check passed." and placed.actor_id is None
    assert db.session.scalar(sa.select(CreditCheck.factors).where(CreditCheck.order_id == order.id))[0][
        "factor"] == "within_limit"


# --------------------------------------------------------------------------------------------- concurrency

@pytest.mark.postgres
def test_check_again_racing_a_manual_release_places_the_order_once(app, world, held):
    """The recheck job and a release by hand at the same moment: one of them places the order, once."""
    import threading

    from portal.accounts.models import User
    from portal.credit.models import CreditReservation
    from portal.errors import DomainError

    services.save_account(world.accounts_a, world.buyer.id, limit_amount="2000", currency="EUR",
                          payment_terms_days="30", block_on_overdue=True)
    barrier = threading.Barrier(2)
    errors, outcomes = [], {}

    def recheck():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                cc = services.check_order(held.id, recheck_by=world.accounts_a.id)
                outcomes["recheck"] = cc.outcome if cc else None
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    def release():
        with app.app_context():
            try:
                user = db.session.get(User, world.accounts_a.id)
                order = services.hold_for_supplier(user, held.id)
                barrier.wait(timeout=10)
                services.release_hold(order, user, "Released by hand.")
                outcomes["release"] = "ok"
            except DomainError as exc:
                outcomes["release"] = type(exc).__name__
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=recheck), threading.Thread(target=release)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    order = fresh(held)
    assert order.status == OrderStatus.placed
    assert len(_events(order, "placed")) == 1
    assert db.session.scalar(sa.select(sa.func.count(CreditReservation.id)).where(
        CreditReservation.order_id == order.id)) == 1
    # exactly one of the two did the placing; the other found the order no longer on hold
    assert (outcomes.get("release") == "ok") != (len(_events(order, "credit_check_passed")) == 1), outcomes
