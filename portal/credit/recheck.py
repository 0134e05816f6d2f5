"""Credit holds that explain themselves: the reasons in words from the stored factors, today's figures beside the
figures of the check, and "Check again" (the credit job runs again with today's figures).

"Check again" is the supplier's accounts team's action on an order on credit hold. It records the request and
enqueues ``credit_recheck_job`` after commit, with a deterministic job id per hold check (a double click is
harmless; a later hold gets a new id). The job runs ``services.check_order(order_id, recheck_by=user_id)``:
under the usual locks (pair account, then the order) it places the order if it passes now, else keeps it on hold
with a new check carrying the new reasons; the previous hold check is marked "rechecked".
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import User
from portal.audit.services import record
from portal.credit import services
from portal.credit.models import CreditCheck
from portal.credit.providers import factor_sentence, percent_text, used_share, utilisation
from portal.db import db
from portal.errors import Conflict, InvalidTransition
from portal.i18n import _l
from portal.errors import state_fig
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus

RECHECK_JOB = "portal.credit.jobs.credit_recheck_job"


def reasons(cc: CreditCheck) -> list[str]:
    """The check's factors in words, one sentence each (older checks without factors: their stored reason)."""
    if cc.factors:
        return [factor_sentence(f) for f in cc.factors]
    return [cc.reason] if cc.reason else []


@dataclass
class Figures:
    """The hold's figures as they stand today (limit, ledger), for the hold card."""

    currency: str
    limit: Decimal
    unpaid: Decimal
    reserved: Decimal
    order_amount: Decimal
    overdue: int
    block_on_overdue: bool

    @property
    def exposure(self) -> Decimal:
        return self.unpaid + self.reserved + self.order_amount

    @property
    def share(self) -> Decimal:
        return used_share(self.exposure, self.limit)

    @property
    def percent(self) -> str:
        return percent_text(self.share)

    @property
    def label(self) -> str:
        return utilisation(self.share)


def today_figures(order: PurchaseOrder) -> Figures | None:
    """None when there is nothing to compare with (no limit, or the limit is kept in another currency)."""
    acc = services.effective_account(order.supplier_company_id, order.buyer_company_id)
    if acc is None or acc.currency != order.currency:
        return None
    s, b, cur = order.supplier_company_id, order.buyer_company_id, acc.currency
    return Figures(currency=cur, limit=Decimal(acc.limit_amount),
                   unpaid=services.unpaid_invoices_total(s, b, cur), reserved=services.reserved_total(s, b, cur),
                   order_amount=Decimal(order.total_net), overdue=services.overdue_invoices_count(s, b),
                   block_on_overdue=acc.block_on_overdue)


def today_figures_for(orders) -> dict[int, Figures | None]:
    """``today_figures`` for a page of holds: the ledger figures are the pair's (supplier, buyer, currency), so
    they are read once per pair, not once per order; only the order's own amount differs."""
    import dataclasses

    by_pair: dict[tuple, Figures | None] = {}
    out: dict[int, Figures | None] = {}
    for o in orders:
        key = (o.supplier_company_id, o.buyer_company_id, o.currency)
        if key not in by_pair:
            by_pair[key] = today_figures(o)
        f = by_pair[key]
        out[o.id] = None if f is None else dataclasses.replace(f, order_amount=Decimal(o.total_net))
    return out


def _open_hold(order_id: int) -> CreditCheck | None:
    return db.session.scalar(sa.select(CreditCheck).where(CreditCheck.order_id == order_id,
                                                          CreditCheck.outcome == "hold",
                                                          CreditCheck.resolution.is_(None))
                             .order_by(CreditCheck.id.desc()).limit(1))


def request_recheck(order: PurchaseOrder, actor: User, *, expected_lock_version=None) -> str:
    """"Check again": queue the credit job for an order on credit hold. Commits once; returns the job id."""
    try:
        services._require_accounts_of_supplier(actor, order)
        # Under the order's row lock, re-read: state and version are compared on the fresh row.
        order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == order.id)
                                  .with_for_update(of=PurchaseOrder).execution_options(populate_existing=True))
        if expected_lock_version not in (None, ""):
            try:
                expected = int(expected_lock_version)
            except (TypeError, ValueError):
                expected = -1
            if expected != order.lock_version:
                raise Conflict(_l("This order changed since you opened the page (it is now %(state)s); reload and "
                                  "try again."), state=state_fig(order.status))
        if order.status != OrderStatus.credit_hold:
            raise InvalidTransition(_l("Only an order on credit hold can be checked again; order %(po_number)s is "
                                       "%(state)s."),
                                    po_number=order.po_number, state=state_fig(order.status))
        hold = _open_hold(order.id)
        job_id = f"credit-recheck-{order.id}-{hold.id if hold else 0}"
        record("order", order.id, "credit_recheck_requested", actor=actor, company_id=actor.company_id,
               detail=f"{actor.name} asked for the credit check to run again with today's figures.",
               visible_to_company_id=actor.company_id)
        from portal.jobs import enqueue_after_commit

        enqueue_after_commit(RECHECK_JOB, order.id, actor.id, queue="credit", job_id=job_id)
        db.session.commit()
        return job_id
    except Exception:
        db.session.rollback()
        raise
