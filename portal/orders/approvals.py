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

Dead ends: a rule may not ask for more approvals than the company has active approvers (``save_rule`` refuses
it); when an approver leaves or loses the role, ``dead_ends`` names the rules and waiting orders that can no
longer be approved (the accounts services warn with it). Orders waiting longer than the company's
``approval_escalation_days`` working days (Mon-Fri) are escalated to the company's admins by the periodic
sweep ``escalate_waiting_orders``, once per wait (unique (order_id, waiting_since) in approval_escalations).

Concurrency: ``decide`` locks the order row (SELECT ... FOR UPDATE) before it computes the next step, and the
unique (order_id, step) constraint refuses a second row for the same step should two decisions still race.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role, User
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.errors import money_fig, state_fig
from portal.locking import retry_on_conflict
from portal.money import CURRENCIES, format_money, to_decimal
from portal.orders.models import ApprovalEscalation, ApprovalRule, OrderApproval, PurchaseOrder
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


def required_approvals(order: PurchaseOrder, rules: list[ApprovalRule] | None = None) -> int:
    """``rules``: the buyer's rules when the caller already has them (a list page)."""
    return required_for_total(order, order.total_net, rules)


def required_for_total(order: PurchaseOrder, total, rules: list[ApprovalRule] | None = None) -> int:
    """How many approvals an order of ``total`` needs under the buyer's rules (a change order's new total)."""
    return required_for_amount(order.buyer_company_id, order.buyer.default_currency, order.currency, total, rules)


def required_for_amount(company_id: int, company_currency: str, currency: str, total,
                        rules: list[ApprovalRule] | None = None) -> int:
    """The amount rules of a company applied to any document of ``total`` in ``currency`` (orders, change
    orders, requisitions): 0 below every threshold, the highest tier for another currency."""
    rules = rules_for(company_id) if rules is None else rules
    if not rules:
        return 0
    if currency != company_currency or any(r.currency != currency for r in rules):
        # No conversion: a document in another currency needs the highest tier (see the module docstring).
        return max(rules, key=lambda r: r.threshold).approvals_required
    applicable = [r for r in rules if total > r.threshold]
    if not applicable:
        return 0
    return max(applicable, key=lambda r: r.threshold).approvals_required


def active_approvers(company_id: int) -> list[User]:
    from portal.notifications.services import company_users

    return company_users(company_id, Role.approver)


def _names(users) -> str:
    names = [u.name for u in users]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _require_admin(actor: User) -> None:
    if not actor.company.is_buyer or not actor.has_role(Role.admin):
        raise Forbidden(_l("Only an administrator of a buying company manages approval rules."))


def _clean_rule(actor: User, threshold_text, approvals_text, currency: str | None):
    """The checks every way of saving a rule makes (page and API): (threshold, approvals, currency)."""
    threshold = to_decimal(threshold_text, "Threshold", places=2)
    if threshold < 0:
        raise ValidationFailed(_l("The threshold cannot be negative."), errors={"threshold": _l("Enter 0 or more.")})
    try:
        count = int(str(approvals_text).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Approvals required must be a whole number from 1 to 5."),
                               errors={"approvals_required": _l("A whole number from 1 to 5.")})
    if not 1 <= count <= 5:
        raise ValidationFailed(_l("Approvals required must be a whole number from 1 to 5."),
                               errors={"approvals_required": _l("A whole number from 1 to 5.")})
    approvers = active_approvers(actor.company_id)
    if count > len(approvers):
        have = (f"only {len(approvers)} active approver{'s' if len(approvers) != 1 else ''} ({_names(approvers)})"
                if approvers else "no active approver")
        msg = (f"This rule needs {count} approvals but {actor.company.display_name} has {have}; such orders could "
               f"never be approved. Give more people the approver role first, or require fewer approvals.")
        raise ValidationFailed(msg, errors={"approvals_required": f"At most {len(approvers)} (the active approvers)."
                                            if approvers else "Give someone the approver role first."})
    currency = currency or actor.company.default_currency
    if currency not in CURRENCIES:
        raise ValidationFailed(_l("Choose a currency."), errors={"currency": _l("Choose a currency.")})
    return threshold, count, currency


def _rule_at(company_id: int, threshold) -> ApprovalRule | None:
    return db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.buyer_company_id == company_id,
                                                           ApprovalRule.threshold == threshold))


def _approval_detail(done: int, required: int, comment: str | None):
    """ "Approval 1 of 2: comment" in the history, worded for the reader."""
    if comment:
        return words.msg(_l("Approval %(done)s of %(required)s: %(comment)s"), done=done, required=required,
                         comment=comment)
    return words.msg(_l("Approval %(done)s of %(required)s"), done=done, required=required)


def _commit_rule(rule: ApprovalRule, actor: User) -> None:
    db.session.flush()
    from portal.audit.services import record

    record("approval_rule", rule.id, "saved", actor=actor, company_id=actor.company_id,
           detail=words.msg(_l("above %(threshold)s: %(n)s approval(s)"), n=rule.approvals_required,
                            threshold=words.money(rule.threshold, rule.currency)))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_l("A rule with this threshold was just added; reload the page."))


@_rollback_on_error
def save_rule(actor: User, threshold_text, approvals_text, currency: str | None = None, *,
              create_only: bool = False) -> ApprovalRule:
    """Add a rule, or change the approvals of the rule with the same threshold (the page's form).
    ``create_only``: a rule with this threshold is a 409 instead (the API's create)."""
    _require_admin(actor)
    threshold, count, currency = _clean_rule(actor, threshold_text, approvals_text, currency)
    rule = _rule_at(actor.company_id, threshold)
    if rule is not None and create_only:
        raise Conflict(_l("There is a rule for orders above %(threshold)s already (rule %(id)s); change that one "
                          "instead."),
                       threshold=money_fig(threshold, rule.currency), id=rule.id,
                       errors={"threshold": _l("Taken by another rule.")})
    if rule is None:
        rule = ApprovalRule(buyer_company_id=actor.company_id, threshold=threshold, currency=currency)
        db.session.add(rule)
    rule.approvals_required = count
    rule.currency = currency
    _commit_rule(rule, actor)
    return rule


@_rollback_on_error
def update_rule(actor: User, rule_id, *, threshold_text=None, approvals_text=None,
                currency: str | None = None) -> ApprovalRule:
    """Change one rule (what is not given stays), with the checks of ``save_rule``; moving it onto another
    rule's threshold is a 409."""
    _require_admin(actor)
    rule = db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.id == rule_id,
                                                           ApprovalRule.buyer_company_id == actor.company_id))
    if rule is None:
        raise NotFound(_l("No such rule."))
    threshold, count, currency = _clean_rule(
        actor, rule.threshold.quantize(Decimal("0.01")) if threshold_text is None else threshold_text,
        rule.approvals_required if approvals_text is None else approvals_text, currency or rule.currency)
    other = _rule_at(actor.company_id, threshold)
    if other is not None and other.id != rule.id:
        raise Conflict(_l("There is a rule for orders above %(threshold)s already (rule %(id)s)."),
                       threshold=money_fig(threshold, other.currency), id=other.id,
                       errors={"threshold": _l("Taken by another rule.")})
    rule.threshold, rule.approvals_required, rule.currency = threshold, count, currency
    _commit_rule(rule, actor)
    return rule


@_rollback_on_error
def delete_rule(actor: User, rule_id) -> None:
    _require_admin(actor)
    rule = db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.id == rule_id,
                                                           ApprovalRule.buyer_company_id == actor.company_id))
    if rule is None:
        raise NotFound(_l("No such rule."))
    from portal.audit.services import record

    record("approval_rule", rule.id, "deleted", actor=actor, company_id=actor.company_id,
           detail=words.msg(_l("above %(threshold)s"), threshold=words.money(rule.threshold, rule.currency)))
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

    notify(approvers_for(order), kind="approval",
           title=words.msg(_l("Order %(order)s needs your approval"), order=numbers_text(order)),
           body=words.msg(_l("%(name)s submitted %(po)s to %(supplier)s for %(total)s."), name=actor.name,
                          po=order.po_number, supplier=order.supplier.display_name,
                          total=words.money(order.total_net, order.currency)), link=order_link(order))


def can_decide(order: PurchaseOrder, user: User) -> str | None:
    """None when ``user`` may approve or reject the order now, else the sentence why not."""
    if order.buyer_company_id != user.company_id:
        return "Only the buyer's approvers decide on this order."

    def budget_owner() -> bool:
        # The owner of a cost centre whose blocking budget the order exceeds decides over budget (portal.budgets).
        from portal.budgets.orders import owner_may_decide

        return owner_may_decide(order, user, [a.id for a in current_round(order)])

    if not user.has_role(Role.approver) and not budget_owner():
        return "Only an approver can approve orders."
    if order.status != S.awaiting_approval:
        return f"This order is {order.status.label.lower()}, not awaiting approval."
    if user.id in (order.created_by_id, order.submitted_by_id):
        return "You cannot approve an order you created or submitted."
    if any(a.approver_id == user.id for a in current_round(order)) and not budget_owner():
        return "You have already approved this order; another approver must give the next approval."
    return None


@retry_on_conflict
@_rollback_on_error
def decide(order: PurchaseOrder, actor: User, expected_lock_version, decision: str, comment: str = "",
           over_budget: bool = False) -> PurchaseOrder:
    """Approve or reject (with a comment) the next step of an order awaiting approval. ``over_budget``: the
    cost-centre owner approves the order over budget (portal/budgets/orders.py)."""
    if decision not in ("approved", "rejected"):
        raise ValidationFailed(_l("Choose approve or reject."))
    order = lock_order(order, actor)  # serialises concurrent approvers on the order row
    order.budget_held = None  # set below when the budget check holds the order for the cost-centre owner
    if order.buyer_company_id != actor.company_id:
        raise Forbidden(_l("Only the buyer's approvers decide on this order."))
    check_fresh(order, expected_lock_version)
    if order.status in (S.cancelled, S.rejected, S.closed):
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(order.status))
    why_not = can_decide(order, actor)
    if why_not:
        raise (InvalidTransition if order.status != S.awaiting_approval else Forbidden)(why_not)
    comment = (comment or "").strip()
    if decision == "rejected" and not comment:
        raise ValidationFailed(_l("Say why you reject the order; the buyer sees your comment."),
                               errors={"comment": _l("A comment is required when rejecting.")})
    if len(comment) > 2000:
        raise ValidationFailed(_l("The comment is too long (2,000 characters at most)."))
    from portal.budgets import orders as budget_check

    owner_only = not actor.has_role(Role.approver) or any(a.approver_id == actor.id for a in current_round(order))
    if decision == "approved" and owner_only and not over_budget:
        raise ValidationFailed(_l("As the cost-centre owner you approve this order over budget: tick "
                                  "'approve over budget'."), errors={"over_budget": _l("Tick to approve over budget.")})
    step = max((a.step for a in order.approvals), default=0) + 1
    approval = OrderApproval(order_id=order.id, step=step, approver_id=actor.id, decision=decision, comment=comment)
    db.session.add(approval)
    db.session.flush()
    if decision == "approved" and over_budget:
        budget_check.record_override(order, actor, approval, counts_as_approval=not owner_only)
    db.session.refresh(order, ["approvals"])
    required = required_approvals(order)
    from portal.notifications.services import notify

    creator = db.session.get(User, order.created_by_id)
    submitter = db.session.get(User, order.submitted_by_id) if order.submitted_by_id else None
    buyers = [u for u in (creator, submitter) if u is not None]
    if decision == "rejected":
        move(order, S.draft, actor, "approval_rejected", comment)
        notify(buyers, kind="approval", title=words.msg(_l("Order %(order)s was not approved"),
                                                        order=numbers_text(order)),
               body=words.msg("%(name)s: %(comment)s", name=actor.name, comment=comment), link=order_link(order))
    else:
        round_ids = [a.id for a in current_round(order)]
        given = [a for a in current_round(order) if a.decision == "approved"]
        owner_steps = budget_check.budget_only_ids([a.id for a in given]) if required else set()
        done = len([a for a in given if a.id not in owner_steps])
        held = budget_check.check_send(order, actor, round_ids) if done >= max(required, 1) else None
        if done >= max(required, 1) and not held:
            mark_submitted(order, actor, "approved", _approval_detail(done, max(required, 1), comment))
            notify(buyers, kind="approval",
                   title=words.msg(_l("Order %(order)s is approved"), order=numbers_text(order)),
                   body=words.msg(_l("It went to the supplier's credit check.")), link=order_link(order))
        elif held:
            from portal.audit.services import record

            order.budget_held = held
            record("order", order.id, "approval", actor=actor, company_id=actor.company_id,
                   detail=_approval_detail(done, max(required, 1), comment))
            _touch(order)
        else:
            from portal.audit.services import record

            record("order", order.id, "approval", actor=actor, company_id=actor.company_id,
                   detail=_approval_detail(done, required, comment))
            _touch(order)
            notify([u for u in approvers_for(order) if u.id != actor.id], kind="approval",
                   title=words.msg(_l("Order %(order)s needs the next approval"), order=numbers_text(order)),
                   body=words.msg(_l("%(name)s gave approval %(done)s of %(required)s."), name=actor.name, done=done,
                                  required=required), link=order_link(order))
    commit()
    return order


def _touch(order: PurchaseOrder) -> None:
    """Bump the optimistic version so forms opened before this approval are stale."""
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(order, "status")


def may_see_queue(user: User) -> bool:
    """Approvers see what they may decide; a buying company's admins see the whole queue (read only)."""
    return user.company.is_buyer and user.has_role(Role.approver, Role.admin)


def queue_for(user: User) -> list[PurchaseOrder]:
    """Orders of the user's company awaiting approval: for an admin all of them (they decide only those they
    could decide as an approver); for an approver those they may decide on now."""
    if not may_see_queue(user):
        return []
    orders = db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == user.company_id,
                                       PurchaseOrder.status == S.awaiting_approval)
        .options(selectinload(PurchaseOrder.approvals))
        .order_by(PurchaseOrder.submitted_at, PurchaseOrder.id)).unique().all()
    if user.has_role(Role.admin):
        return list(orders)
    return [o for o in orders if can_decide(o, user) is None]


# ---------------------------------------------------------------------------------------------------
# Dead ends: rules and waiting orders nobody can approve any more
# ---------------------------------------------------------------------------------------------------

def approvals_given(order: PurchaseOrder) -> int:
    return len([a for a in current_round(order) if a.decision == "approved"])


def remaining_approvers(order: PurchaseOrder, approvers: list[User] | None = None) -> list[User]:
    """Active approvers who could still give the next approval (not the creator or submitter, nor anyone who
    already approved in this round)."""
    approvers = active_approvers(order.buyer_company_id) if approvers is None else approvers
    excluded = {order.created_by_id, order.submitted_by_id} | {a.approver_id for a in current_round(order)}
    return [u for u in approvers if u.id not in excluded]


def is_stuck(order: PurchaseOrder, approvers: list[User] | None = None,
             rules: list[ApprovalRule] | None = None) -> bool:
    """True when an order awaiting approval needs more approvals than there are people left to give them."""
    needed = max(required_approvals(order, rules), 1) - approvals_given(order)
    return order.status == S.awaiting_approval and needed > len(remaining_approvers(order, approvers))


@dataclass
class DeadEnds:
    rules: list[ApprovalRule]
    orders: list[PurchaseOrder]
    approvers: list[User]

    def __bool__(self) -> bool:
        return bool(self.rules or self.orders)

    def sentence(self) -> str:
        n = len(self.approvers)
        parts = []
        if self.rules:
            parts.append("rule" + ("s " if len(self.rules) > 1 else " ") + ", ".join(
                f"'above {format_money(r.threshold, r.currency)}: {r.approvals_required} "
                f"approval{'s' if r.approvals_required != 1 else ''}'"
                for r in self.rules))
        if self.orders:
            parts.append("waiting order" + ("s " if len(self.orders) > 1 else " ") +
                         ", ".join(o.po_number for o in self.orders))
        return (f"With {n} active approver{'s' if n != 1 else ''} left, these can no longer be approved: "
                f"{'; '.join(parts)}. Give someone the approver role or change the rules.")


def dead_ends(company_id: int) -> DeadEnds:
    """Rules asking for more approvals than the company has active approvers, and orders awaiting approval that
    can no longer collect the approvals they need. Reads the session as it stands (call after a flush)."""
    approvers = active_approvers(company_id)
    all_rules = rules_for(company_id)  # once, not once per waiting order
    rules = [r for r in all_rules if r.approvals_required > len(approvers)]
    waiting = db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == company_id,
                                       PurchaseOrder.status == S.awaiting_approval)
        .options(selectinload(PurchaseOrder.approvals))
        .order_by(PurchaseOrder.submitted_at, PurchaseOrder.id)).unique().all()
    return DeadEnds(rules=rules, orders=[o for o in waiting if is_stuck(o, approvers, all_rules)],
                    approvers=approvers)


def warn_dead_ends(company_id: int, actor: User, what: str) -> str | None:
    """After a member change (flushed, not committed) that removed an approver: when rules or waiting orders can
    no longer be approved, record it and tell every admin. Returns the sentence (for the page), else None."""
    ends = dead_ends(company_id)
    if not ends:
        return None
    from portal.audit.services import record
    from portal.notifications.services import company_users, notify

    sentence = f"{what} {ends.sentence()}"
    record("company", company_id, "approvals_dead_end", actor=actor, company_id=company_id, detail=sentence)
    notify(company_users(company_id, Role.admin), kind="approval",
           title=words.msg(_l("Some orders can no longer be approved")), body=sentence, link="/orders/approvals")
    return sentence


# ---------------------------------------------------------------------------------------------------
# Escalation of long waits
# ---------------------------------------------------------------------------------------------------

def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` working days (Mon-Fri), keeping the time of day: Friday 10:00 + 3 = Wednesday
    10:00; a start at the weekend counts from Monday."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def escalation_due(order: PurchaseOrder) -> datetime | None:
    if order.submitted_at is None:
        return None
    return add_working_days(order.submitted_at, order.buyer.approval_escalation_days or 3)


def escalated(order: PurchaseOrder) -> bool:
    return order.submitted_at is not None and db.session.scalar(
        sa.select(ApprovalEscalation.id).where(ApprovalEscalation.order_id == order.id,
                                               ApprovalEscalation.waiting_since == order.submitted_at)) is not None


def escalated_ids(orders) -> set[int]:
    """The ids of ``orders`` escalated for their current wait (``escalated`` for a page of orders, one statement)."""
    waiting = {o.id: o.submitted_at for o in orders if o.submitted_at is not None}
    if not waiting:
        return set()
    rows = db.session.execute(sa.select(ApprovalEscalation.order_id, ApprovalEscalation.waiting_since)
                              .where(ApprovalEscalation.order_id.in_(list(waiting)))).all()
    return {oid for oid, since in rows if since == waiting[oid]}


def escalate_waiting_orders(now: datetime | None = None) -> int:
    """Periodic sweep: escalate each order waiting for approval past its company's working-day limit to the
    company's admins, once per wait. Safe to run twice or concurrently: the escalation row is inserted with
    ON CONFLICT DO NOTHING, and only the sweep whose insert took effect records and notifies. Commits once."""
    now = now or utcnow()
    from portal.audit.services import record
    from portal.notifications.services import company_users, notify

    # A limit of N working days is at least N calendar days: the query leaves out the orders surely not due.
    candidates = db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.status == S.awaiting_approval,
                                       PurchaseOrder.submitted_at.is_not(None),
                                       PurchaseOrder.submitted_at <= now - timedelta(days=1))
        .order_by(PurchaseOrder.id)).unique().all()
    due = [o for o in candidates if escalation_due(o) <= now]
    if not due:
        db.session.rollback()
        return 0
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    done = 0
    for order in due:
        new_id = db.session.scalar(
            insert(ApprovalEscalation).values(order_id=order.id, waiting_since=order.submitted_at, escalated_at=now)
            .on_conflict_do_nothing(index_elements=["order_id", "waiting_since"])
            .returning(ApprovalEscalation.id))
        if new_id is None:
            continue  # already escalated (by an earlier or a concurrent sweep)
        days = order.buyer.approval_escalation_days or 3
        given, needed = approvals_given(order), max(required_approvals(order), 1)
        body = _escalation_message(order, days, given, needed, remaining_approvers(order))
        record("order", order.id, "approval_escalated", company_id=order.buyer_company_id, detail=body)
        notify(company_users(order.buyer_company_id, Role.admin), kind="approval",
               title=words.msg(_l("Order %(order)s is waiting too long for approval"), order=numbers_text(order)),
               body=body, link=order_link(order))
        done += 1
    db.session.commit()
    return done


def _escalation_message(order: PurchaseOrder, days: int, given: int, needed: int, left) -> words.Message:
    """The escalation's sentence (notice and history), worded for the reader."""
    if left and not is_stuck(order):
        names = [u.name for u in left]
        who = words.msg(_l("%(names)s can give the next approval"), names=names[0] if len(names) == 1 else
                        words.msg(_l("%(names)s and %(last)s"), names=", ".join(names[:-1]), last=names[-1]))
    else:
        who = words.msg(_l("nobody left can give the approvals it needs"))
    waited = (words.msg(_l("%(days)s working day"), days=days) if days == 1
              else words.msg(_l("%(days)s working days"), days=days))
    approvals_given = (words.msg(_l("%(given)s of %(needed)s approval given"), given=given, needed=needed)
                       if needed == 1 else
                       words.msg(_l("%(given)s of %(needed)s approvals given"), given=given, needed=needed))
    return words.msg(_l("%(po)s to %(supplier)s (%(total)s) has waited for approval for more than %(waited)s "
                        "(submitted %(submitted)s; %(approvals)s); %(who)s."), po=order.po_number,
                     supplier=order.supplier.display_name, total=words.money(order.total_net, order.currency),
                     waited=waited, submitted=words.moment(order.submitted_at), approvals=approvals_given, who=who)


@_rollback_on_error
def save_escalation_days(actor: User, days_text) -> int:
    """The company's setting: escalate orders waiting for approval after this many working days (1 to 30)."""
    _require_admin(actor)
    try:
        days = int(str(days_text).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 30:
        raise ValidationFailed(_l("Escalate after a whole number of working days from 1 to 30."),
                               errors={"escalation_days": _l("A whole number from 1 to 30.")})
    from portal.accounts.models import Company
    from portal.audit.services import record

    company = db.session.get(Company, actor.company_id)
    before = company.approval_escalation_days
    company.approval_escalation_days = days
    record("company", company.id, "approval_escalation_days", actor=actor, company_id=company.id,
           detail=words.msg(_l("%(before)s → %(days)s working days"), before=before, days=days))
    db.session.commit()
    return days
