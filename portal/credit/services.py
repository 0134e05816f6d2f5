"""Credit: accounts (limits and terms), the reservation ledger, the credit check and hold decisions.

Exposure of a buyer at a supplier = unpaid invoices + reserved amounts of placed, not-yet-invoiced orders + the
order being checked. ``check_order`` locks the order and then serialises on the pair's CreditAccount row
(get-or-create with INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE), so two orders submitted at the
same moment cannot both pass a limit only one fits. The ledger itself (exposure, reservations, these locks and the
order in which every path takes them) is portal/credit/ledger.py.

An external provider (HTTP) is asked BEFORE the row lock is taken, with the figures as they stand then; the
authoritative limit comparison is repeated under the lock. The lock is therefore held for milliseconds, never
for a network round trip (a slow provider would otherwise stall every check of the pair and the hold queue).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import list_currencies
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Company, Role, User
from portal.audit.services import record
from portal.credit import ledger, reasons
# The ledger (exposure, reservations, the pair's account lock and the lock order) lives in portal.credit.ledger;
# these names stay importable from here for the views and older callers.
from portal.credit.ledger import (adjust_reservation, consume_reservation, convert_reservation,  # noqa: F401
                                  default_account, effective_account, lock_pair_account, overdue_invoices_count,
                                  pair_account, release_reservation, reserved_total, unpaid_invoices_total)
from portal.credit.ledger import reserve as _reserve
from portal.credit.models import CreditAccount, CreditCheck, CreditReservation, ReservationStatus
from portal.credit.providers import (MANUAL, BuiltinProvider, CreditDecision, CreditRequest, external_provider,
                                     fmt)
from portal.db import db, distinct_values, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import Invoice
from portal.notifications.messages import Message, msg
from portal.errors import say, state_fig
from portal.locking import check_fresh, retry_on_conflict
from portal.money import ZERO, minor_unit, quantize, to_decimal
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus, check

NEAR_LIMIT = Decimal("0.8")  # "near the limit" on the dashboard: more than 80 % used


def _unit_of_work(fn):
    """A service call is one transaction: on any error nothing of it stays in the session."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise

    return wrapped


# --------------------------------------------------------------------------------------------- the check

@dataclass
class _Assessment:
    decision: CreditDecision
    request: CreditRequest | None


def _request(order: PurchaseOrder, account: CreditAccount) -> CreditRequest:
    cur = account.currency
    unpaid, reserved, overdue = ledger.pair_figures(order.supplier_company_id, order.buyer_company_id, cur)
    return CreditRequest(
        supplier_company_id=order.supplier_company_id, buyer_company_id=order.buyer_company_id,
        supplier_vat_number=order.supplier.vat_number if order.supplier else None,
        buyer_vat_number=order.buyer.vat_number if order.buyer else None,
        order_id=order.id, po_number=order.po_number, order_amount=Decimal(order.total_net), currency=cur,
        limit_amount=Decimal(account.limit_amount),
        unpaid_invoices=unpaid, reserved_orders=reserved, overdue_invoices=overdue,
        block_on_overdue=account.block_on_overdue)


def _builtin(order: PurchaseOrder, account: CreditAccount | None) -> _Assessment:
    """The limit comparison, or a hold when there is nothing to compare with."""
    builtin = BuiltinProvider()
    if account is None:
        factor = {"factor": "no_limit", "figures": {"supplier": order.supplier.display_name,
                                                    "buyer": order.buyer.display_name}}
        return _Assessment(CreditDecision(False, (
            f"{order.supplier.display_name} has set no credit limit for {order.buyer.display_name} and no "
            f"default; {MANUAL}"), builtin.name, (factor,)), None)
    if account.currency != order.currency:
        factor = {"factor": "currency_mismatch", "figures": {"order_currency": order.currency,
                                                             "limit_currency": account.currency}}
        return _Assessment(CreditDecision(False, (
            f"The order is in {order.currency} but the credit limit is kept in {account.currency}; amounts are "
            f"not converted, so {MANUAL}"), builtin.name, (factor,)), None)
    req = _request(order, account)
    return _Assessment(builtin.assess(req), req)


def _load_order(order_id: int, *, lock: bool = False) -> PurchaseOrder | None:
    if lock:
        try:
            return ledger.lock_order(order_id)
        except NotFound:
            return None
    return db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == order_id))


def _external_first(order_id: int, expected: OrderStatus = OrderStatus.submitted):
    """Ask the external provider, if one is configured, before any lock is taken. Returns a decision or None.

    When the built-in check already fails on the current figures the external provider is not asked (the order
    is going on hold anyway). The read transaction is ended before the network call.
    """
    provider = external_provider(current_app.config)
    if provider is None:
        return None
    order = _load_order(order_id)
    if order is None or order.status != expected:
        db.session.rollback()
        return None
    first = _builtin(order, effective_account(order.supplier_company_id, order.buyer_company_id))
    request = first.request
    db.session.rollback()  # no transaction (and no lock) is held while we wait for the network
    if not first.decision.approved or request is None:
        return None
    try:
        return provider.assess(request)
    except Exception as exc:  # noqa: BLE001 - a provider bug must not approve, nor lose the order
        current_app.logger.exception("credit provider %s failed", getattr(provider, "name", "?"))
        return CreditDecision(False, f"The external credit check failed ({type(exc).__name__}); {MANUAL}",
                              getattr(provider, "name", "external"))


@retry_on_conflict
@_unit_of_work
def check_order(order_id: int, *, recheck_by: int | None = None) -> CreditCheck | None:
    """Decide one submitted order: reserve and place it, or put it on credit hold. Commits once.

    Idempotent: an order that is no longer ``submitted`` is left alone (returns its latest check, if any).
    ``recheck_by`` (a user id): "Check again" of an order on credit hold, with today's figures; it is placed if
    it passes now, else it stays on hold with the new reasons (see portal/credit/recheck.py).
    """
    expected = OrderStatus.credit_hold if recheck_by else OrderStatus.submitted
    external = _external_first(order_id, expected)
    order = _load_order(order_id, lock=True)  # the order, then the pair's account (portal/credit/ledger.py)
    if order is None:
        raise NotFound(_l("No such order."))
    if order.status != expected:  # a concurrent check, a release by hand or the buyer decided it already
        db.session.rollback()
        return latest_check(order_id)
    account = lock_pair_account(order.supplier_company_id, order.buyer_company_id)  # serialises the pair's checks
    asked_by = db.session.get(User, recheck_by) if recheck_by else None
    if asked_by is not None:
        _resolve_check(order, asked_by, "rechecked", "Checked again.")

    assessment = _builtin(order, account)
    decision = assessment.decision
    provider_name = decision.provider
    if decision.approved and external is not None:
        provider_name = f"builtin+{external.provider}"
        if not external.approved:
            decision = CreditDecision(False, external.reason, external.provider,
                                      ({"factor": "external", "figures": {"reason": external.reason}},))
        else:
            decision = CreditDecision(True, f"{decision.reason} {external.reason}", provider_name,
                                      decision.factors + ({"factor": "external", "figures": {
                                          "reason": external.reason}},))

    req = assessment.request
    cc = CreditCheck(
        order_id=order.id, provider=provider_name[:40], outcome="passed" if decision.approved else "hold",
        reason=decision.reason, factors=list(decision.factors) or None,
        currency=req.currency if req else order.currency,
        limit_amount=req.limit_amount if req else None, unpaid_invoices=req.unpaid_invoices if req else None,
        reserved_orders=req.reserved_orders if req else None, order_amount=Decimal(order.total_net),
        checked_at=utcnow())
    db.session.add(cc)
    before = order.status
    if decision.approved:
        _reserve(order)
        _place(order, detail=(msg(_l("Credit check passed when checked again.")) if asked_by else None))
        record("order", order.id, "credit_check_passed", from_state=before, to_state=order.status,
               detail=reasons.history_detail(decision, asked_by))
    else:
        if order.status != OrderStatus.credit_hold:
            _hold(order)  # the orders hook records the "credit_hold" move; this event carries the figures' reason
        record("order", order.id, "credit_check_hold", from_state=before, to_state=order.status,
               detail=reasons.history_detail(decision, asked_by))
    outcome = cc.outcome
    try:
        db.session.commit()
    except StaleDataError:
        # The buyer changed the order (e.g. cancelled it) between our read and our write: nothing was saved.
        db.session.rollback()
        return latest_check(order_id)
    set_committed_value(cc, "outcome", outcome)  # the job reads it: no SELECT to refresh the committed row
    return cc


def _orders_hook(name: str):
    try:
        import portal.orders.services as orders_services
    except ModuleNotFoundError as exc:
        if exc.name != "portal.orders.services":
            raise
        return None
    return getattr(orders_services, name, None)


def _place(order: PurchaseOrder, *, actor: User | None = None, detail: str | None = None) -> None:
    """-> placed. The orders hook assigns the number, notifies and enqueues the PDF; the minimum otherwise.
    ``actor``/``detail`` say in the order's history who placed it and why (default: the credit check passed)."""
    check(order.status, OrderStatus.placed)
    hook = _orders_hook("on_placed")
    if hook is not None:
        hook(order, actor=actor, detail=detail)
    if order.status != OrderStatus.placed:
        order.status = OrderStatus.placed
    if order.placed_at is None:
        order.placed_at = utcnow()
    if not order.supplier_order_number:
        from portal.orders.numbers import new_supplier_order_number

        order.supplier_order_number = new_supplier_order_number(order.supplier_company_id)
    # No flush here: the order's UPDATE and what the hook added go out with the decision's one flush at commit.


def _hold(order: PurchaseOrder) -> None:
    check(order.status, OrderStatus.credit_hold)
    hook = _orders_hook("on_credit_hold")
    if hook is not None:
        hook(order)
    if order.status != OrderStatus.credit_hold:
        before = order.status
        order.status = OrderStatus.credit_hold
        record("order", order.id, "credit_hold", from_state=before, to_state=order.status)
    if hook is None:
        from portal.notifications.services import notify_company

        notify_company(order.supplier_company_id, [Role.accounts], kind="credit_hold",
                       title=msg(_l("Order %(po)s from %(buyer)s is on credit hold"), po=order.po_number,
                                 buyer=order.buyer.display_name),
                       body=msg(_l("Release or reject it in the credit hold queue.")), link="/credit/holds")
        notify_company(order.buyer_company_id, [Role.procurement], kind="credit_hold",
                       title=msg(_l("Order %(po)s is on credit hold at %(supplier)s"), po=order.po_number,
                                 supplier=order.supplier.display_name),
                       body=msg(_l("The supplier's accounts team will decide.")), link=_order_link(order))
    db.session.flush()


def _order_link(order: PurchaseOrder) -> str:
    from flask import url_for

    try:
        return url_for("orders.detail", order_id=order.id)
    except Exception:  # noqa: BLE001 - the orders views may not exist yet / no request context
        return f"/orders/{order.id}"


def latest_check(order_id: int) -> CreditCheck | None:
    return db.session.scalar(sa.select(CreditCheck).where(CreditCheck.order_id == order_id)
                             .order_by(CreditCheck.id.desc()).limit(1))


def checks_for(order: PurchaseOrder) -> list[CreditCheck]:
    """Every credit check of the order, oldest first (both sides may see them)."""
    return list(db.session.scalars(sa.select(CreditCheck).where(CreditCheck.order_id == order.id)
                                   .order_by(CreditCheck.id)))


# --------------------------------------------------------------------------------------------- hold decisions

def _require_accounts_of_supplier(actor: User, order: PurchaseOrder) -> None:
    if not order.visible_to_supplier(actor.company_id):
        raise NotFound(_l("No such order."))
    if not actor.has_role(Role.accounts):
        raise Forbidden(_l("Only the supplier's accounts team decides on credit holds."))


def hold_for_supplier(actor: User, order_id) -> PurchaseOrder:
    """Load an order of the actor's company as supplier (404 for anyone else's)."""
    try:
        oid = int(order_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such order."))
    order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == oid,
                                                             PurchaseOrder.supplier_scope(actor.company_id)))
    if order is None:
        raise NotFound(_l("No such order."))
    return order


def _stale(order: PurchaseOrder) -> str:
    return f"This order changed since you opened the page (it is now {order.status.label.lower()}); reload and try again."


def _decide_hold(order: PurchaseOrder, actor: User, comment: str, expected_lock_version, verb: str):
    _require_accounts_of_supplier(actor, order)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed(_l("Write a comment saying why you %(verb)s the order."), verb=verb,
                               errors={"comment": _l("A comment is required.")})
    if len(comment) > 2000:
        raise ValidationFailed(_l("The comment is too long (2,000 characters at most)."),
                               errors={"comment": _l("At most 2,000 characters.")})
    check_fresh(order, expected_lock_version, _stale, required=False)  # on the locked, re-read order
    if order.status != OrderStatus.credit_hold:
        raise InvalidTransition(_l("Only an order on credit hold can be released or rejected; order %(po_number)s "
                                   "is %(state)s."),
                                po_number=order.po_number, state=state_fig(order.status))
    return comment


def _resolve_check(order: PurchaseOrder, actor: User, resolution: str, comment: str) -> CreditCheck | None:
    cc = db.session.scalar(sa.select(CreditCheck).where(CreditCheck.order_id == order.id,
                                                        CreditCheck.outcome == "hold",
                                                        CreditCheck.resolution.is_(None))
                           .order_by(CreditCheck.id.desc()).limit(1))
    if cc is not None:
        cc.resolution = resolution
        cc.resolution_comment = comment
        cc.resolved_by_id = actor.id
        cc.resolved_at = utcnow()
    return cc


def _notify_buyer(order: PurchaseOrder, title: Message, body: Message) -> None:
    from portal.notifications.services import notify_company

    notify_company(order.buyer_company_id, [Role.procurement], kind="credit_decision", title=title, body=body,
                   link=_order_link(order))


def _commit_decision(order: PurchaseOrder) -> None:
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict(_l("This order changed since you opened the page; reload and try again.")) from exc


@retry_on_conflict
@_unit_of_work
def release_hold(order: PurchaseOrder, actor: User, comment: str, *, expected_lock_version=None) -> PurchaseOrder:
    """The accounts team accepts the risk: -> placed, and the amount is reserved even if over the limit."""
    order = ledger.lock_order(order.id)  # the order, then the pair's account (portal/credit/ledger.py)
    lock_pair_account(order.supplier_company_id, order.buyer_company_id)  # serialise with running checks
    comment = _decide_hold(order, actor, comment, expected_lock_version, "release")
    before = order.status
    _resolve_check(order, actor, "released", comment)
    _reserve(order)
    _place(order, actor=actor, detail=f"Released from credit hold by {actor.name} (not by the credit check): "
                                      f"{comment}")
    record("order", order.id, "credit_hold_released", actor=actor, from_state=before, to_state=order.status,
           detail=comment)
    _notify_buyer(order, msg(_l("Order %(po)s was released from credit hold"), po=order.po_number),
                  msg(_l("%(supplier)s released the order: %(comment)s"),
                      supplier=order.supplier.display_name, comment=comment))
    _commit_decision(order)
    return order


@retry_on_conflict
@_unit_of_work
def reject_hold(order: PurchaseOrder, actor: User, comment: str, *, expected_lock_version=None) -> PurchaseOrder:
    """The accounts team refuses the order: -> rejected with the comment as the reason; nothing reserved."""
    order = ledger.lock_order(order.id)
    comment = _decide_hold(order, actor, comment, expected_lock_version, "reject")
    before = order.status
    check(order.status, OrderStatus.rejected)
    _resolve_check(order, actor, "rejected", comment)
    order.status = OrderStatus.rejected
    order.reject_reason = comment
    release_reservation(order)
    record("order", order.id, "credit_hold_rejected", actor=actor, from_state=before, to_state=order.status,
           detail=comment)
    _notify_buyer(order, msg(_l("Order %(po)s was rejected on credit grounds"), po=order.po_number),
                  msg(_l("%(supplier)s rejected the order: %(comment)s"),
                      supplier=order.supplier.display_name, comment=comment))
    _commit_decision(order)
    return order


def holds(supplier_id: int) -> list[tuple[PurchaseOrder, CreditCheck | None]]:
    orders = list(db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.supplier_scope(supplier_id),
                                       PurchaseOrder.status == OrderStatus.credit_hold)
        .order_by(PurchaseOrder.submitted_at.is_(None), PurchaseOrder.submitted_at, PurchaseOrder.id)))
    checks: dict[int, CreditCheck] = {}
    if orders:
        for cc in db.session.scalars(sa.select(CreditCheck).where(
                CreditCheck.order_id.in_([o.id for o in orders]), CreditCheck.outcome == "hold")
                .order_by(CreditCheck.id)):
            checks[cc.order_id] = cc  # the latest hold wins
    return [(o, checks.get(o.id)) for o in orders]


def holds_count(supplier_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id)).where(
        PurchaseOrder.supplier_scope(supplier_id), PurchaseOrder.status == OrderStatus.credit_hold)) or 0


# --------------------------------------------------------------------------------------------- accounts

def _require_supplier_accounts(actor: User) -> None:
    if not actor.company.is_supplier or not actor.has_role(Role.accounts):
        raise Forbidden(_l("Only a supplier's accounts team sets credit limits and terms."))


def _currency(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or code not in list_currencies():
        raise ValidationFailed(_l("%(value)s is not a currency we know; use an ISO code such as EUR."),
                               value=repr(value),
                               errors={"currency": _l("Use an ISO 4217 code such as EUR.")})
    return code


def _validate_terms(limit_amount, currency, payment_terms_days) -> tuple[Decimal, str, int]:
    currency = _currency(currency)
    places = minor_unit(currency)
    limit = to_decimal(limit_amount, "Credit limit", places=4)
    exponent = limit.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationFailed(
            _l("Credit limit has more than %(places)s decimal place%(s)s for %(currency)s."),
            places=places, s='s' if places != 1 else '', currency=currency,
            errors={"limit_amount": say(_l("Use at most %(places)s decimal places for %(currency)s."), places=places, currency=currency)})
    if limit < 0:
        raise ValidationFailed(_l("The credit limit cannot be negative; use 0 to allow no credit at all."),
                               errors={"limit_amount": _l("Enter 0 or more.")})
    try:
        terms = int(str(payment_terms_days).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Payment terms must be a whole number of days."),
                               errors={"payment_terms_days": _l("Enter whole days, e.g. 30.")})
    if terms < 0 or terms > 365:
        raise ValidationFailed(_l("Payment terms must be between 0 and 365 days."),
                               errors={"payment_terms_days": _l("Between 0 and 365 days.")})
    return quantize(limit, currency), currency, terms


def known_buyer_ids(supplier_id: int) -> set[int]:
    """Buyers the supplier has orders with (that it can see) or an account for."""
    ids = set(db.session.scalars(distinct_values(PurchaseOrder.buyer_company_id,  # skip scan: flat in the orders
                                                 PurchaseOrder.supplier_scope(supplier_id))))
    ids |= set(db.session.scalars(sa.select(CreditAccount.buyer_company_id).where(
        CreditAccount.supplier_company_id == supplier_id, CreditAccount.buyer_company_id.is_not(None))))
    return ids


def buyer_for_supplier(actor: User, buyer_id) -> Company:
    """A buying company of the directory (which lists every company), other than the actor's own: a supplier may
    set terms for a buyer before its first order. 404 for anything else."""
    try:
        bid = int(buyer_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such buyer."))
    buyer = db.session.get(Company, bid) if 0 < bid <= 2**31 - 1 else None
    if buyer is None or not buyer.is_buyer or buyer.id == actor.company_id:
        raise NotFound(_l("No such buyer."))
    return buyer


def directory_buyers_without_account(supplier_id: int) -> list[Company]:
    """Buying companies of the directory the supplier has no own account or order with yet (the "set terms for
    a new customer" choice)."""
    from portal.accounts.models import CompanyKind

    known = known_buyer_ids(supplier_id) | {supplier_id}
    return list(db.session.scalars(sa.select(Company).where(
        Company.kind.in_([CompanyKind.buyer, CompanyKind.both]), Company.id.not_in(known))
        .order_by(Company.display_name).limit(500)))


def account_for_supplier(actor: User, account_id) -> CreditAccount:
    """One of the actor's company's accounts as supplier (a buyer-side account of a 'both' company is 404)."""
    from portal.tenancy import get_child

    return get_child(CreditAccount, account_id, "credit account",
                     CreditAccount.supplier_company_id == actor.company_id)


@_unit_of_work
def save_account(actor: User, buyer_company_id: int | None, *, limit_amount, currency, payment_terms_days,
                 block_on_overdue: bool) -> CreditAccount:
    """Create or update the supplier's account for one buyer (or the default when buyer is None). Commits."""
    _require_supplier_accounts(actor)
    if buyer_company_id is not None:
        buyer_for_supplier(actor, buyer_company_id)
    limit, currency, terms = _validate_terms(limit_amount, currency, payment_terms_days)
    acc = (pair_account(actor.company_id, buyer_company_id) if buyer_company_id is not None
           else default_account(actor.company_id))
    created = acc is None
    if created:
        acc = CreditAccount(supplier_company_id=actor.company_id, buyer_company_id=buyer_company_id)
        db.session.add(acc)
    old = None if created else (f"{fmt(acc.limit_amount, acc.currency)}, net {acc.payment_terms_days}, "
                                f"overdue blocks: {'yes' if acc.block_on_overdue else 'no'}")
    acc.limit_amount = limit
    acc.currency = currency
    acc.payment_terms_days = terms
    acc.block_on_overdue = bool(block_on_overdue)
    acc.updated_by_id = actor.id
    db.session.flush()
    new = f"{fmt(limit, currency)}, net {terms}, overdue blocks: {'yes' if block_on_overdue else 'no'}"
    record("credit_account", acc.id, "created" if created else "updated", actor=actor,
           company_id=actor.company_id, detail=new if created else f"{old} -> {new}",
           visible_to_company_id=actor.company_id)
    db.session.commit()
    return acc


@dataclass
class AccountRow:
    buyer: Company
    account: CreditAccount | None  # the buyer's own row, else None (the default applies)
    effective: CreditAccount | None
    unpaid: Decimal
    reserved: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.unpaid + self.reserved

    @property
    def available(self) -> Decimal | None:
        return None if self.effective is None else self.effective.limit_amount - self.exposure

    @property
    def used_share(self) -> Decimal | None:
        if self.effective is None:
            return None
        from portal.credit.providers import used_share

        return used_share(self.exposure, Decimal(self.effective.limit_amount))

    @property
    def utilisation(self) -> str | None:
        """'ok' under 80 %, 'near' from 80 to 100 %, 'over' above 100 % (None without a limit)."""
        from portal.credit.providers import utilisation

        return utilisation(self.used_share)

    @property
    def used_percent(self) -> str:
        from portal.credit.providers import percent_text

        return "" if self.used_share is None else percent_text(self.used_share)

    @property
    def bar_percent(self) -> int:
        """0..100 for the progress bar (an exposure against a limit of 0 is a full bar)."""
        share = self.used_share
        if share is None:
            return 0
        return 100 if share.is_infinite() or share >= 1 else int(share * 100)

    @property
    def near_limit(self) -> bool:
        """Near or over: 80 % or more of the limit used."""
        return self.utilisation in ("near", "over")


def accounts_overview(supplier_id: int) -> tuple[CreditAccount | None, list[AccountRow]]:
    """The default and one row per known buyer with limit, exposure now (unpaid + reserved) and available."""
    default = default_account(supplier_id)
    ids = known_buyer_ids(supplier_id)
    if not ids:
        return default, []
    own = {a.buyer_company_id: a for a in db.session.scalars(sa.select(CreditAccount).where(
        CreditAccount.supplier_company_id == supplier_id, CreditAccount.buyer_company_id.in_(ids)))}
    reserved: dict[tuple[int, str], Decimal] = {}
    for buyer_id, cur, total in db.session.execute(
            sa.select(CreditReservation.buyer_company_id, CreditReservation.currency,
                      sa.func.sum(CreditReservation.amount))
            .where(CreditReservation.supplier_company_id == supplier_id,
                   CreditReservation.status == ReservationStatus.reserved)
            .group_by(CreditReservation.buyer_company_id, CreditReservation.currency)):
        reserved[(buyer_id, cur)] = Decimal(total or 0)
    unpaid = ledger.unpaid_invoices_totals(Invoice.supplier_company_id == supplier_id,
                                           Invoice.buyer_company_id.in_(ids))  # one statement for every buyer
    buyers = db.session.scalars(sa.select(Company).where(Company.id.in_(ids)).order_by(Company.display_name))
    rows = []
    for b in buyers:
        eff = own.get(b.id) or default
        cur = eff.currency if eff else b.default_currency
        rows.append(AccountRow(buyer=b, account=own.get(b.id), effective=eff,
                               unpaid=unpaid.get((supplier_id, b.id, cur), ZERO),
                               reserved=reserved.get((b.id, cur), ZERO)))
    return default, rows


def terms_for_buyer(buyer_id: int) -> list[dict]:
    """What each supplier the buyer deals with has set for it (own account, else that supplier's default)."""
    supplier_ids = set(db.session.scalars(distinct_values(PurchaseOrder.supplier_company_id,
                                                          PurchaseOrder.buyer_company_id == buyer_id)))
    own = {a.supplier_company_id: a for a in db.session.scalars(
        sa.select(CreditAccount).where(CreditAccount.buyer_company_id == buyer_id))}
    supplier_ids |= set(own)
    if not supplier_ids:
        return []
    defaults = {a.supplier_company_id: a for a in db.session.scalars(
        sa.select(CreditAccount).where(CreditAccount.supplier_company_id.in_(supplier_ids),
                                       CreditAccount.buyer_company_id.is_(None)))}
    # one grouped statement each for every supplier's reserved orders and unpaid invoices
    reserved_by = ledger.reserved_totals(CreditReservation.buyer_company_id == buyer_id,
                                         CreditReservation.supplier_company_id.in_(supplier_ids))
    unpaid_by = ledger.unpaid_invoices_totals(Invoice.buyer_company_id == buyer_id,
                                              Invoice.supplier_company_id.in_(supplier_ids))
    out = []
    for s in db.session.scalars(sa.select(Company).where(Company.id.in_(supplier_ids))
                                .order_by(Company.display_name)):
        acc = own.get(s.id) or defaults.get(s.id)
        reserved = reserved_by.get((s.id, buyer_id, acc.currency), ZERO) if acc else ZERO
        unpaid = unpaid_by.get((s.id, buyer_id, acc.currency), ZERO) if acc else ZERO
        out.append({"supplier": s, "account": acc, "is_default": s.id not in own, "reserved": reserved,
                    "unpaid": unpaid, "exposure": reserved + unpaid,
                    "available": (acc.limit_amount - reserved - unpaid) if acc else None})
    return out
