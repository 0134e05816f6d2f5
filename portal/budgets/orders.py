"""The budget check of purchase orders: what sending an order does to each of its cost centres' budgets, and the
company's rule (``warn`` / ``block``) applied at the moment the order is sent.

* **Impact.** Per cost centre of the order's lines: the budget covering the day the order is sent (today, UTC;
  the period containing the order date), its figures (portal/budgets/figures.py), *this order* = the order's
  lines on the cost centre less what approved requisition lines on those order lines already commit to the same
  budget (an order line made from an approved, counted requisition line replaces that commitment when the order
  is sent: it is not counted twice), and *available after* = available − this order. A row **exceeds** when this
  order adds to the budget and takes it below zero. An order in another currency than the company's is not
  counted (no exchange rates; the figures leave it out too).
* **When.** ``check_send`` runs where an order is about to be sent: at submit (no approval needed) and at the
  approval that completes the round (portal/orders/services.submit, portal/orders/approvals.decide). Under the
  order's row lock it locks the budget rows in id order and reads the figures after the locks (lock order: the
  order, then its budgets; portal/credit/ledger.py), so two orders that each fit but together exceed a budget
  cannot both be sent: the second waits for the first one's commit and reads its commitment.
* **warn**: the order is sent; the audit trail records the budgets it exceeds (the order page shows them in red).
  **block**: the order is not sent. It waits in *awaiting approval* for the owner of each exceeded cost centre
  (notified); the owner's approval with *approve over budget* ticked is recorded per cost centre
  (``OrderBudgetOverride``) and in the audit trail, and lets the order through at the next check. An owner who is
  no approver may give that decision; it does not count towards the approvals of the amount rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import User
from portal.audit.services import english, record
from portal.budgets.figures import Figures, converted, figures_for, rate_valid
from portal.budgets.models import Budget, BudgetMode, BudgetSettings, CostCentre, OrderBudgetOverride
from portal.db import db, utcnow
from portal.i18n import _l
from portal.notifications import messages as words
from portal.errors import ValidationFailed
from portal.money import quantize
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus
from portal.requisitions.models import Requisition, RequisitionLine
from portal.requisitions.states import COMMITTING

ZERO = Decimal(0)
BEFORE_SENDING = (OrderStatus.draft, OrderStatus.awaiting_approval)


@dataclass
class OrderImpactRow:
    cost_centre: CostCentre
    amount: Decimal                # the order's lines on this cost centre
    counted: Decimal = ZERO        # of which approved requisition lines already commit to the same budget
    budget: Budget | None = None
    figures: Figures | None = None  # None: no budget covers the day, or the order is not in the company currency

    @property
    def net(self) -> Decimal:
        """What sending the order adds to the budget."""
        return self.amount - self.counted

    @property
    def available_after(self) -> Decimal | None:
        return None if self.figures is None else self.figures.available - self.net

    @property
    def exceeds(self) -> bool:
        return self.figures is not None and self.net > 0 and self.available_after < 0


@dataclass
class OrderImpact:
    day: date
    mode: BudgetMode
    counted: bool  # False: the order is in another currency without a rate valid on the day: it counts nowhere
    rate: Decimal | None = None  # the rate the order's lines are converted with (another currency than the company's)
    rows: list[OrderImpactRow] = field(default_factory=list)
    waiting: list[CostCentre] = field(default_factory=list)  # for the page: owners still to approve over budget

    @property
    def exceeded(self) -> list[OrderImpactRow]:
        return [r for r in self.rows if r.exceeds]


def budget_mode(company_id: int) -> BudgetMode:
    row = db.session.get(BudgetSettings, company_id)
    return row.budget_mode if row is not None else BudgetMode.warn


def order_impact(order: PurchaseOrder, day: date | None = None, *, lock: bool = False) -> OrderImpact:
    """The order's impact on the budgets covering ``day`` (today). ``lock``: take the budget rows FOR UPDATE in
    id order before reading the figures (the caller holds the order's row lock). A fixed number of statements."""
    day = day or utcnow().date()
    company_id = order.buyer_company_id
    currency = order.buyer.default_currency
    out = OrderImpact(day=day, mode=budget_mode(company_id), counted=order.currency == currency)
    if not any(line.cost_centre_id is not None for line in order.lines):
        return out
    if not out.counted:  # another currency: the rate valid on the day (one more statement), or not counted
        out.rate = rate_valid(company_id, order.currency, day)
        out.counted = out.rate is not None
    per_cc: dict[int, Decimal] = {}
    for line in order.lines:
        if line.cost_centre_id is not None:
            amount = line.line_total if out.rate is None else quantize(line.line_total * out.rate, currency)
            per_cc[line.cost_centre_id] = per_cc.get(line.cost_centre_id, ZERO) + amount
    centres = _centres(list(per_cc))
    budgets: dict[int, Budget] = {}
    if out.counted:
        stmt = (sa.select(Budget).where(Budget.company_id == company_id, Budget.cost_centre_id.in_(list(per_cc)),
                                        Budget.period_start <= day, Budget.period_end >= day).order_by(Budget.id))
        if lock:
            stmt = stmt.with_for_update(of=Budget).execution_options(populate_existing=True)
        budgets = {b.cost_centre_id: b for b in db.session.scalars(stmt)}
    usable = [b for b in budgets.values() if b.currency == currency]
    figs = figures_for(company_id, currency, usable)
    counted = _counted_by_requisitions(order, currency, {b.cost_centre_id: b for b in usable})
    for cc_id in sorted(per_cc, key=lambda c: centres[c].code):
        b = budgets.get(cc_id)
        fig = figs.get(b.id) if b is not None else None
        out.rows.append(OrderImpactRow(cost_centre=centres[cc_id], amount=per_cc[cc_id],
                                       counted=counted.get(cc_id, ZERO) if fig is not None else ZERO,
                                       budget=b, figures=fig))
    return out


def _centres(ids) -> dict[int, CostCentre]:
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(sa.select(CostCentre).where(CostCentre.id.in_(list(ids))))}


def _owned(order: PurchaseOrder, user: User) -> list[CostCentre]:
    """The cost centres on the order's lines that ``user`` owns."""
    ids = {ln.cost_centre_id for ln in order.lines if ln.cost_centre_id}
    return sorted((c for c in _centres(ids).values() if c.owner_id == user.id), key=lambda c: c.code)


def _counted_by_requisitions(order: PurchaseOrder, currency: str, budgets: dict[int, Budget]) -> dict[int, Decimal]:
    """Per cost centre: the approved requisition lines on this order's lines that the budget figures count as
    committed in the same budget this order will count in (one statement)."""
    line_ids = [ln.id for ln in order.lines if ln.id is not None]
    if not line_ids or not budgets:
        return {}
    amount = converted(order.buyer_company_id, currency, RequisitionLine.line_total, Requisition.currency,
                       Requisition.approved_on)  # as the figures count it (None: left out for want of a rate)
    rows = db.session.execute(
        sa.select(RequisitionLine.cost_centre_id, amount, Requisition.approved_on)
        .join(Requisition, Requisition.id == RequisitionLine.requisition_id)
        .where(RequisitionLine.order_line_id.in_(line_ids), Requisition.status.in_(COMMITTING),
               RequisitionLine.cost_centre_id.is_not(None)))
    out: dict[int, Decimal] = {}
    for cc_id, amount, approved_on in rows:
        b = budgets.get(cc_id)
        if amount is not None and b is not None and approved_on is not None and \
                b.period_start <= approved_on <= b.period_end:
            out[cc_id] = out.get(cc_id, ZERO) + quantize(Decimal(str(amount)), currency)
    return out


def impact_for_page(order: PurchaseOrder, viewer: User, round_ids: list[int]) -> OrderImpact | None:
    """For the order page: the impact, for the buyer's people, while the order is not sent yet (and, waiting
    for approval, the cost centres whose owner has still to approve it over budget)."""
    if viewer.company_id != order.buyer_company_id or order.status not in BEFORE_SENDING:
        return None
    imp = order_impact(order)
    if order.status == OrderStatus.awaiting_approval:
        imp.waiting = pending_owners(order, round_ids, imp)
    return imp if imp.rows else None


# --------------------------------------------------------------------------------------------- overrides

def _overridden(order: PurchaseOrder, round_ids: list[int]) -> set[int]:
    """The cost centres an owner approved over budget in the current round (approval ids ``round_ids``)."""
    if not round_ids:
        return set()
    return set(db.session.scalars(
        sa.select(OrderBudgetOverride.cost_centre_id)
        .join(CostCentre, CostCentre.id == OrderBudgetOverride.cost_centre_id)
        .where(OrderBudgetOverride.order_id == order.id, OrderBudgetOverride.approval_id.in_(round_ids),
               OrderBudgetOverride.approver_id == CostCentre.owner_id)))


def pending_owners(order: PurchaseOrder, round_ids: list[int], imp: OrderImpact | None = None) -> list[CostCentre]:
    """The exceeded cost centres of a blocking budget whose owner has not approved over budget in this round."""
    imp = imp or order_impact(order)
    if imp.mode != BudgetMode.block or not imp.exceeded:
        return []
    done = _overridden(order, round_ids)
    return [r.cost_centre for r in imp.exceeded if r.cost_centre.id not in done]


def owner_may_decide(order: PurchaseOrder, user: User, round_ids: list[int]) -> bool:
    """True when ``user`` owns a cost centre whose blocking budget this waiting order exceeds and has not yet
    approved it over budget in this round (an owner may decide even without the approver role)."""
    if order.status != OrderStatus.awaiting_approval or order.buyer_company_id != user.company_id:
        return False
    if not _owned(order, user):
        return False
    return any(c.owner_id == user.id for c in pending_owners(order, round_ids))


def record_override(order: PurchaseOrder, actor: User, approval, *, counts_as_approval: bool) -> list[CostCentre]:
    """The owner ticked *approve over budget* on ``approval`` (flushed): one row per cost centre of the order the
    actor owns, and the audit event. Refused (nothing saved) when the actor owns none of them."""
    centres = _owned(order, actor)
    if not centres:
        raise ValidationFailed(_l("Only the owner of a cost centre on this order can approve it over budget."),
                               errors={"over_budget": _l("Not the cost-centre owner.")})
    for c in centres:
        db.session.add(OrderBudgetOverride(order_id=order.id, approval_id=approval.id, cost_centre_id=c.id,
                                           approver_id=actor.id, counts_as_approval=counts_as_approval))
    db.session.flush()
    record("order", order.id, "over_budget_approved", actor=actor, company_id=order.buyer_company_id,
           detail=words.msg(_l("Approved over budget by the cost-centre owner for %(codes)s"),
                            codes=", ".join(c.code for c in centres)),
           visible_to_company_id=order.buyer_company_id)
    return centres


def budget_only_ids(approval_ids: list[int]) -> set[int]:
    """Of these approval steps, those that were only an owner's budget decision (not counted by the amount rules)."""
    if not approval_ids:
        return set()
    return set(db.session.scalars(sa.select(OrderBudgetOverride.approval_id).where(
        OrderBudgetOverride.approval_id.in_(approval_ids), OrderBudgetOverride.counts_as_approval.is_(False))))


# --------------------------------------------------------------------------------------------- the check

def _row_text(r: OrderImpactRow, currency: str):
    """A cost centre over budget, as a message for the history (worded for the reader)."""
    return words.msg(_l("%(code)s has %(available)s available, this order needs %(net)s"), code=r.cost_centre.code,
                     available=words.money(r.figures.available, currency, symbol=True),
                     net=words.money(r.net, currency, symbol=True))


def check_send(order: PurchaseOrder, actor: User | None, round_ids: list[int]) -> str | None:
    """Called under the order's row lock just before the order is sent. Locks the budgets (id order), re-reads the
    figures and applies the company's rule: None = send it (over budget in warn mode, or approved over budget by
    every owner concerned: recorded in the audit trail); else the sentence why it waits for the cost-centre
    owners (recorded; the owners are notified). Flushes only."""
    imp = order_impact(order, lock=True)
    over = imp.exceeded
    if not over:
        return None
    currency = order.buyer.default_currency
    detail = words.joined([words.msg(_l("%(row)s (%(after)s after)"), row=_row_text(r, currency),
                                     after=words.money(r.available_after, currency, symbol=True)) for r in over])
    actor_company = getattr(actor, "company_id", None)
    if imp.mode == BudgetMode.warn:
        record("order", order.id, "over_budget", actor=actor, company_id=actor_company,
               detail=words.msg(_l("Sent over budget (the company warns): %(rows)s"), rows=detail),
               visible_to_company_id=order.buyer_company_id)
        return None
    waiting = pending_owners(order, round_ids, imp)
    if not waiting:
        record("order", order.id, "over_budget", actor=actor, company_id=actor_company,
               detail=words.msg(_l("Sent over budget with the cost-centre owner's approval: %(rows)s"), rows=detail),
               visible_to_company_id=order.buyer_company_id)
        return None
    blocked = [r for r in over if r.cost_centre in waiting]
    owners = [c.owner for c in waiting if c.owner is not None and c.owner.active]
    who = (", ".join(dict.fromkeys(o.name for o in owners)) if owners else
           words.msg(_l("nobody: the cost centre has no active owner; an administrator names one or raises the "
                        "budget")))
    held = words.msg(_l("The budget would be exceeded (%(rows)s). The order waits for the cost-centre owner's "
                        "approval over budget: %(who)s."), rows=words.joined([_row_text(r, currency) for r in blocked]),
                     who=who)
    sentence = english(held)  # kept on the order (budget_held) as the English sentence
    record("order", order.id, "budget_hold", actor=actor, company_id=actor_company, detail=held,
           visible_to_company_id=order.buyer_company_id)
    if owners:
        from portal.notifications.services import notify

        notify(list({o.id: o for o in owners}.values()), kind="approval",
               title=words.msg(_l("Order %(po)s exceeds your budget"), po=order.po_number),
               body=words.msg(_l("%(held)s Open the order to approve it over budget or to reject it."),
                              held=held),
               link=f"/orders/{order.id}")
    return sentence
