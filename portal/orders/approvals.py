"""Buyer-side approval of orders: per-company rules on the order total, approvals in sequence.

Rules: an ApprovalRule applies when the order total *exceeds* its threshold; the rule with the highest such
threshold decides how many approvals (1..5, in sequence, by different people) the order needs.

Currency: rules are kept in the company's currency and an order's total is compared as it stands, on the
assumption that orders are placed in the company currency. An order in any other currency is not converted
(no exchange rates in the portal): it needs the highest tier — the approvals of the rule with the highest
threshold — whatever its amount.

Rounds: an approver's rejection sends the order back to draft; when it is submitted again a new round
starts. Steps keep counting up across rounds (the unique (order_id, step) constraint stays meaningful);
the current round is every approval after the last rejection.

Concurrency: ``decide`` locks the order row (SELECT ... FOR UPDATE) before it computes the next step, and the
unique (order_id, step) constraint refuses a second row for the same step should two decisions still race.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.locking import retry_on_conflict
from portal.money import CURRENCIES, format_money, to_decimal
from portal.orders.models import ApprovalRule, OrderApproval, PurchaseOrder
from portal.orders.core import (_rollback_on_error, check_fresh, commit, lock_order, mark_submitted, move,
                                    numbers_text, order_link)
from portal.orders.states import OrderStatus

S = OrderStatus


# ---------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------

def rules_for(company_id: int) -> list[ApprovalRule]:
    return list(db.session.scalars(sa.select(ApprovalRule).where(ApprovalRule.buyer_company_id == company_id)
                                   .order_by(ApprovalRule.threshold)))


def required_approvals(order: PurchaseOrder) -> int:
    rules = rules_for(order.buyer_company_id)
    if not rules:
        return 0
    company_currency = order.buyer.default_currency
    if order.currency != company_currency or any(r.currency != order.currency for r in rules):
        # No conversion: an order in another currency needs the highest tier (see the module docstring).
        return max(rules, key=lambda r: r.threshold).approvals_required
    applicable = [r for r in rules if order.total_net > r.threshold]
    if not applicable:
        return 0
    return max(applicable, key=lambda r: r.threshold).approvals_required


def _require_admin(actor: User) -> None:
    if not actor.company.is_buyer or not actor.has_role(Role.admin):
        raise Forbidden("Only an administrator of a buying company manages approval rules.")


@_rollback_on_error
def save_rule(actor: User, threshold_text, approvals_text, currency: str | None = None) -> ApprovalRule:
    _require_admin(actor)
    threshold = to_decimal(threshold_text, "Threshold", places=2)
    if threshold < 0:
        raise ValidationFailed("The threshold cannot be negative.", errors={"threshold": "Enter 0 or more."})
    try:
        count = int(str(approvals_text).strip())
    except (TypeError, ValueError):
        raise ValidationFailed("Approvals required must be a whole number from 1 to 5.",
                               errors={"approvals_required": "A whole number from 1 to 5."})
    if not 1 <= count <= 5:
        raise ValidationFailed("Approvals required must be a whole number from 1 to 5.",
                               errors={"approvals_required": "A whole number from 1 to 5."})
    currency = currency or actor.company.default_currency
    if currency not in CURRENCIES:
        raise ValidationFailed("Choose a currency.", errors={"currency": "Choose a currency."})
    rule = db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.buyer_company_id == actor.company_id,
                                                           ApprovalRule.threshold == threshold))
    if rule is None:
        rule = ApprovalRule(buyer_company_id=actor.company_id, threshold=threshold, currency=currency)
        db.session.add(rule)
    rule.approvals_required = count
    rule.currency = currency
    db.session.flush()
    from portal.audit.services import record

    record("approval_rule", rule.id, "saved", actor=actor, company_id=actor.company_id,
           detail=f"above {threshold} {currency}: {count} approval(s)")
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict("A rule with this threshold was just added; reload the page.")
    return rule


@_rollback_on_error
def delete_rule(actor: User, rule_id) -> None:
    _require_admin(actor)
    rule = db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.id == rule_id,
                                                           ApprovalRule.buyer_company_id == actor.company_id))
    if rule is None:
        raise NotFound("No such rule.")
    from portal.audit.services import record

    record("approval_rule", rule.id, "deleted", actor=actor, company_id=actor.company_id,
           detail=f"above {rule.threshold} {rule.currency}")
    db.session.delete(rule)
    db.session.commit()


# ---------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------

def current_round(order: PurchaseOrder) -> list[OrderApproval]:
    """The approvals given since the order was last sent back to draft."""
    rows = sorted(order.approvals, key=lambda a: a.step)
    last_reject = max((a.step for a in rows if a.decision == "rejected"), default=0)
    return [a for a in rows if a.step > last_reject]


def approvers_for(order: PurchaseOrder) -> list[User]:
    from portal.notifications.services import company_users

    excluded = {order.created_by_id, order.submitted_by_id}
    return [u for u in company_users(order.buyer_company_id, Role.approver) if u.id not in excluded]


def notify_approvers(order: PurchaseOrder, actor: User) -> None:
    from portal.notifications.services import notify

    notify(approvers_for(order), kind="approval", title=f"Order {numbers_text(order)} needs your approval",
           body=f"{actor.name} submitted {order.po_number} to {order.supplier.display_name} for "
                f"{format_money(order.total_net, order.currency)}.", link=order_link(order))


def can_decide(order: PurchaseOrder, user: User) -> str | None:
    """None when ``user`` may approve or reject the order now, else the sentence why not."""
    if order.buyer_company_id != user.company_id:
        return "Only the buyer's approvers decide on this order."
    if not user.has_role(Role.approver):
        return "Only an approver can approve orders."
    if order.status != S.awaiting_approval:
        return f"This order is {order.status.label.lower()}, not awaiting approval."
    if user.id in (order.created_by_id, order.submitted_by_id):
        return "You cannot approve an order you created or submitted."
    if any(a.approver_id == user.id for a in current_round(order)):
        return "You have already approved this order; another approver must give the next approval."
    return None


@retry_on_conflict
@_rollback_on_error
def decide(order: PurchaseOrder, actor: User, expected_lock_version, decision: str, comment: str = "") -> PurchaseOrder:
    """Approve or reject (with a comment) the next step of an order awaiting approval."""
    if decision not in ("approved", "rejected"):
        raise ValidationFailed("Choose approve or reject.")
    order = lock_order(order, actor)  # serialises concurrent approvers on the order row
    if order.buyer_company_id != actor.company_id:
        raise Forbidden("Only the buyer's approvers decide on this order.")
    check_fresh(order, expected_lock_version)
    if order.status in (S.cancelled, S.rejected, S.closed):
        raise InvalidTransition(f"This order is {order.status.label.lower()}; nothing more can be done with it.")
    why_not = can_decide(order, actor)
    if why_not:
        raise (InvalidTransition if order.status != S.awaiting_approval else Forbidden)(why_not)
    comment = (comment or "").strip()
    if decision == "rejected" and not comment:
        raise ValidationFailed("Say why you reject the order; the buyer sees your comment.",
                               errors={"comment": "A comment is required when rejecting."})
    if len(comment) > 2000:
        raise ValidationFailed("The comment is too long (2,000 characters at most).")
    step = max((a.step for a in order.approvals), default=0) + 1
    db.session.add(OrderApproval(order_id=order.id, step=step, approver_id=actor.id, decision=decision,
                                 comment=comment))
    db.session.flush()
    db.session.refresh(order, ["approvals"])
    required = required_approvals(order)
    from portal.notifications.services import notify

    creator = db.session.get(User, order.created_by_id)
    submitter = db.session.get(User, order.submitted_by_id) if order.submitted_by_id else None
    buyers = [u for u in (creator, submitter) if u is not None]
    if decision == "rejected":
        move(order, S.draft, actor, "approval_rejected", comment)
        notify(buyers, kind="approval", title=f"Order {numbers_text(order)} was not approved",
               body=f"{actor.name}: {comment}", link=order_link(order))
    else:
        done = len([a for a in current_round(order) if a.decision == "approved"])
        if done >= max(required, 1):
            mark_submitted(order, actor, "approved", f"Approval {done} of {max(required, 1)}"
                           + (f": {comment}" if comment else ""))
            notify(buyers, kind="approval", title=f"Order {numbers_text(order)} is approved",
                   body="It went to the supplier's credit check.", link=order_link(order))
        else:
            from portal.audit.services import record

            record("order", order.id, "approval", actor=actor, company_id=actor.company_id,
                   detail=f"Approval {done} of {required}" + (f": {comment}" if comment else ""))
            _touch(order)
            notify([u for u in approvers_for(order) if u.id != actor.id], kind="approval",
                   title=f"Order {numbers_text(order)} needs the next approval",
                   body=f"{actor.name} gave approval {done} of {required}.", link=order_link(order))
    commit()
    return order


def _touch(order: PurchaseOrder) -> None:
    """Bump the optimistic version so forms opened before this approval are stale."""
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(order, "status")


def queue_for(user: User) -> list[PurchaseOrder]:
    """Orders of the user's company awaiting approval that this user may decide on now."""
    if not user.has_role(Role.approver):
        return []
    orders = db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == user.company_id,
                                       PurchaseOrder.status == S.awaiting_approval)
        .order_by(PurchaseOrder.submitted_at, PurchaseOrder.id)).unique().all()
    return [o for o in orders if can_decide(o, user) is None]

