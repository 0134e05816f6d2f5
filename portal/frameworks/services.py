"""Framework agreements: made from an award instead of one-off orders, called off by purchase orders during
their validity at the agreed prices, warned at 80 % and refused beyond 100 % of a cap (unless the agreement
allows it), expired by the periodic sweep, both sides told 30 days before the end.

Locks: a call-off locks the agreement row (SELECT ... FOR UPDATE) and re-reads the consumption under it, then
takes the PO-number counter (agreement row, then the counter). Making agreements locks the award row first.
Each public function is one unit of work (one commit, rolled back on any error).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import Role
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.frameworks.models import AgreementStatus, CallOff, CallOffLine, FrameworkAgreement, FrameworkLine
from portal.locking import lock_row, retry_on_conflict
from portal.money import ZERO, format_money, format_quantity, quantize, to_decimal
from portal.numbering import format_reference, next_number
from portal.orders.guards import guard_draft_lines
from portal.orders.models import OrderLine, OrderSource, PurchaseOrder
from portal.orders.states import OrderStatus

WARN_RATIO = Decimal("0.8")
NOTICE_DAYS = 30
DEAD_ORDER_STATES = (OrderStatus.cancelled, OrderStatus.rejected)
BUYER_ROLES = (Role.procurement,)
SUPPLIER_ROLES = (Role.sales, Role.admin)


# --------------------------------------------------------------------------------------------- consumption


@dataclass
class LineUse:
    line: FrameworkLine
    consumed: Decimal = ZERO
    value: Decimal = ZERO

    @property
    def remaining(self) -> Decimal | None:
        return None if self.line.max_quantity is None else Decimal(self.line.max_quantity) - self.consumed

    @property
    def ratio(self) -> Decimal | None:
        if self.line.max_quantity is None:
            return None
        return self.consumed / Decimal(self.line.max_quantity)


@dataclass
class Usage:
    agreement: FrameworkAgreement
    lines: list[LineUse] = field(default_factory=list)
    value: Decimal = ZERO
    call_offs: int = 0

    @property
    def remaining_value(self) -> Decimal | None:
        a = self.agreement
        return None if a.max_value is None else Decimal(a.max_value) - self.value

    @property
    def value_ratio(self) -> Decimal | None:
        a = self.agreement
        return None if a.max_value is None else self.value / Decimal(a.max_value)

    @property
    def ratio(self) -> Decimal | None:
        """The highest share used of any cap (value or a line's quantity); None without caps."""
        ratios = [r for r in [self.value_ratio, *(u.ratio for u in self.lines)] if r is not None]
        return max(ratios) if ratios else None

    @property
    def percent(self) -> int | None:
        r = self.ratio
        return None if r is None else int((r * 100).to_integral_value())

    @property
    def warning(self) -> bool:
        r = self.ratio
        return r is not None and r >= WARN_RATIO

    def line(self, line_id: int) -> LineUse | None:
        return next((u for u in self.lines if u.line.id == line_id), None)


def usage(agreement: FrameworkAgreement, *, viewer_company_id: int | None = None) -> Usage:
    """Consumed quantity per line and value, from the call-offs whose order is alive (two queries)."""
    return usages([agreement], viewer_company_id=viewer_company_id)[agreement.id]


def usages(agreements, *, exclude_order_id: int | None = None,
           viewer_company_id: int | None = None) -> dict[int, Usage]:
    """``usage`` of many agreements at once (two queries, whatever their number: the list pages);
    ``exclude_order_id`` leaves one call-off order out (checking an edit of it). With ``viewer_company_id`` only
    the call-off orders that company may see count: the supplier's figures leave out the buyer's unsent drafts
    (the caps are checked without it, on every live call-off)."""
    ids = [a.id for a in agreements]
    alive = PurchaseOrder.status.not_in(DEAD_ORDER_STATES)
    if viewer_company_id is not None:
        alive = sa.and_(alive, PurchaseOrder.visible_to(viewer_company_id))
    if exclude_order_id is not None:
        alive = sa.and_(alive, PurchaseOrder.id != exclude_order_id)
    by_line: dict[int, tuple[Decimal, Decimal]] = {}
    counts: dict[int, int] = {}
    if ids:
        # What the call-off orders say now (drafts edited, change orders applied), not what was called off.
        for lid, q, v in db.session.execute(
                sa.select(CallOffLine.framework_line_id, sa.func.sum(OrderLine.quantity),
                          sa.func.sum(OrderLine.line_total))
                .join(OrderLine, OrderLine.id == CallOffLine.order_line_id)
                .join(CallOff, CallOff.id == CallOffLine.call_off_id)
                .join(PurchaseOrder, PurchaseOrder.id == CallOff.order_id)
                .where(CallOff.agreement_id.in_(ids), alive)
                .group_by(CallOffLine.framework_line_id)):
            by_line[lid] = (Decimal(q or 0), Decimal(v or 0))
        counts = dict(db.session.execute(
            sa.select(CallOff.agreement_id, sa.func.count(CallOff.id))
            .join(PurchaseOrder, PurchaseOrder.id == CallOff.order_id)
            .where(CallOff.agreement_id.in_(ids), alive).group_by(CallOff.agreement_id)).all())
    out = {}
    for a in agreements:
        u = Usage(a, call_offs=counts.get(a.id, 0))
        for ln in a.lines:
            q, v = by_line.get(ln.id, (ZERO, ZERO))
            u.lines.append(LineUse(ln, q, v))
            u.value += v
        out[a.id] = u
    return out


def list_for(company_id: int, *, status: str | None = None):
    from sqlalchemy.orm import selectinload

    stmt = sa.select(FrameworkAgreement).where(FrameworkAgreement.visible_to(company_id))
    if status:
        stmt = stmt.where(FrameworkAgreement.status == AgreementStatus(status))
    return list(db.session.scalars(stmt.options(selectinload(FrameworkAgreement.lines))
                                   .order_by(FrameworkAgreement.valid_until, FrameworkAgreement.id)))


def is_valid_on(agreement: FrameworkAgreement, day: date) -> bool:
    return (agreement.status == AgreementStatus.active and agreement.valid_from <= day <= agreement.valid_until)


# --------------------------------------------------------------------------------------------- creating


def _date(value, label: str) -> date:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise ValidationFailed(_l("Enter the %(label)s (YYYY-MM-DD)."), label=label)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_l("The %(label)s %(text)s is not a date (use YYYY-MM-DD)."),
                               label=label, text=repr(text[:20]))


def _optional_amount(value, label: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    d = to_decimal(value, label)
    if d <= 0:
        raise ValidationFailed(_l("The %(label)s must be more than 0 (or left empty for no cap)."),
                               label=label.lower())
    return d


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "on", "yes", "y")


def _new_reference(buyer_id: int) -> str:
    year = utcnow().year
    return format_reference("FA", year, next_number(buyer_id, "FA", year), 4)


@retry_on_conflict
def create_from_award(award_id, actor, *, valid_from, valid_until, max_value=None, allow_exceed=False,
                      cap_quantities=True) -> list[FrameworkAgreement]:
    """One agreement per awarded supplier, instead of one-off purchase orders: the awarded lines at the awarded
    unit prices, valid from ``valid_from`` to ``valid_until``; each line capped at its awarded quantity when
    ``cap_quantities``; ``max_value`` caps each agreement's total value. The award is then done with (its
    ``orders_created_at`` is set, so no one-off orders are made from it as well)."""
    from portal.quotes.models import Award, AwardLine
    from portal.rfq.models import RfqLine

    try:
        if not actor.has_role(*BUYER_ROLES):
            raise Forbidden(_l("Only procurement can make framework agreements."))
        award = lock_row(Award, award_id, where=(Award.buyer_company_id == actor.company_id,),
                         not_found=_l("No such award."))
        if award.orders_created_at is not None:
            raise InvalidTransition(_l("Orders or agreements were already made from this award."))
        start, end = _date(valid_from, "start of validity"), _date(valid_until, "end of validity")
        if end < start:
            raise ValidationFailed(_l("The agreement must end on or after the day it starts."))
        if end < utcnow().date():
            raise ValidationFailed(_l("The end of validity is in the past; an agreement must still be valid."))
        if (end - start).days > 366 * 5:
            raise ValidationFailed(_l("An agreement runs at most five years."))
        cap = _optional_amount(max_value, "Maximum value")
        rfq = award.rfq
        lines = list(db.session.execute(
            sa.select(AwardLine, RfqLine).join(RfqLine, RfqLine.id == AwardLine.rfq_line_id)
            .where(AwardLine.award_id == award.id).order_by(AwardLine.supplier_company_id, RfqLine.position)))
        if not lines:
            raise ValidationFailed(_l("This award has no awarded lines."))
        by_supplier: dict[int, list] = {}
        for al, rl in lines:
            by_supplier.setdefault(al.supplier_company_id, []).append((al, rl))
        out = []
        for supplier_id, pairs in by_supplier.items():
            a = FrameworkAgreement(
                reference=_new_reference(award.buyer_company_id), buyer_company_id=award.buyer_company_id,
                supplier_company_id=supplier_id, award_id=award.id, rfq_id=rfq.id, title=rfq.title[:200],
                currency=rfq.currency, valid_from=start, valid_until=end,
                max_value=quantize(cap, rfq.currency) if cap is not None else None,
                allow_exceed=_truthy(allow_exceed), status=AgreementStatus.active, created_by_id=actor.id)
            for pos, (al, rl) in enumerate(pairs, 1):
                a.lines.append(FrameworkLine(
                    award_line_id=al.id, position=pos, part_number=rl.part_number, description=rl.description[:500],
                    unit=rl.unit or "pcs", unit_price=al.unit_price,
                    max_quantity=al.quantity if cap_quantities else None))
            db.session.add(a)
            db.session.flush()
            audit("framework_agreement", a.id, "created", actor=actor, company_id=a.buyer_company_id,
                  to_state=AgreementStatus.active,
                  detail=words.msg(
                      _l("%(reference)s from the award of %(rfq)s: %(n)s item(s), valid %(start)s to %(end)s"
                         "%(cap)s"), reference=a.reference, rfq=rfq.reference, n=len(a.lines),
                      start=words.day(start), end=words.day(end),
                      cap=words.joined([words.msg(_l(", capped at %(value)s"),
                                                  value=words.money(a.max_value, a.currency, symbol=True))]
                                       if a.max_value else [], "")))
            emit([a.buyer_company_id, a.supplier_company_id], "framework_agreement.created", a)
            out.append(a)
        award.orders_created_at = utcnow()
        audit("rfq", rfq.id, "framework_agreements_created", actor=actor, company_id=award.buyer_company_id,
              detail=", ".join(a.reference for a in out), visible_to_company_id=award.buyer_company_id)
        _notify_suppliers_of_new(out)
        db.session.commit()
        return out
    except Exception:
        db.session.rollback()
        raise


def _link(agreement_id: int) -> str:
    from flask import url_for

    try:
        return url_for("frameworks.detail", agreement_id=agreement_id)
    except Exception:  # noqa: BLE001 - outside a request (jobs)
        return f"/frameworks/{agreement_id}"


def _notify_suppliers_of_new(agreements) -> None:
    from portal.notifications.services import company_users, notify

    for a in agreements:
        notify(company_users(a.supplier_company_id, *SUPPLIER_ROLES), kind="framework_agreement",
               link=_link(a.id),
               title=words.msg(_l("Framework agreement %(reference)s"), reference=a.reference),
               body=words.msg(_l("%(buyer)s made framework agreement %(reference)s with you: %(count)s "
                                 "item(s) at the agreed prices, valid %(start)s to %(end)s. Call-off orders "
                                 "follow."),
                              buyer=a.buyer.display_name, reference=a.reference,
                              count=words.number(len(a.lines)), start=words.day(a.valid_from),
                              end=words.day(a.valid_until)))


# --------------------------------------------------------------------------------------------- call-offs


@dataclass
class CallOffResult:
    order: PurchaseOrder
    call_off: CallOff
    warnings: list[str]


def _pct(ratio: Decimal) -> str:
    return f"{int((ratio * 100).to_integral_value())} %"


def _against_cap(allow_exceed: bool, consumed: Decimal, adding: Decimal, cap: Decimal, fmt, *, over: str, agreed,
                 used: str, warnings: list, refusals: list) -> None:
    """One cap (an item's quantity or the agreement's value): beyond 100 % is refused (or only warned when the
    agreement allows it); from 80 % on, a warning."""
    after = consumed + adding
    if after > cap:
        text = (f"{over} would exceed the agreed {agreed(cap)} ({fmt(consumed)} called off, "
                f"{fmt(max(cap - consumed, ZERO))} remaining)")
        (warnings if allow_exceed else refusals).append(text)
    elif after >= cap * WARN_RATIO:
        warnings.append(used.format(pct=_pct(after / cap)))


@retry_on_conflict
def call_off(agreement: FrameworkAgreement, actor, quantities: dict, *, delivery_date=None,
             notes: str = "") -> CallOffResult:
    """A draft purchase order at the agreed prices, its lines linked to the agreement's lines. The agreement
    row is locked and the consumption re-read under the lock, so two call-offs that each fit but together
    exceed a cap cannot both pass. Warnings (80 % reached, beyond 100 % where allowed) come back to show."""
    from portal.orders.services import _address_text, _build_lines, payment_terms_for
    from portal.orders.numbers import new_po_number

    try:
        if actor.company_id != agreement.buyer_company_id:
            if actor.company_id == agreement.supplier_company_id:
                raise Forbidden(_l("Only the buyer calls off against a framework agreement."))
            raise NotFound(_l("No such framework agreement."))
        if not actor.has_role(*BUYER_ROLES):
            raise Forbidden(_l("Only procurement can call off against a framework agreement."))
        a = lock_row(FrameworkAgreement, agreement.id,
                     where=(FrameworkAgreement.buyer_company_id == actor.company_id,),
                     not_found=_l("No such framework agreement."))
        today = utcnow().date()
        if a.status == AgreementStatus.expired or today > a.valid_until:
            raise ValidationFailed(_l("%(reference)s expired on %(valid_until)s; call-offs are no longer possible. "
                                      "Agree a new framework or order another way."),
                                   reference=a.reference, valid_until=a.valid_until.isoformat())
        if today < a.valid_from:
            raise ValidationFailed(_l("%(reference)s is valid from %(valid_from)s; call off from then on."),
                                   reference=a.reference, valid_from=a.valid_from.isoformat())
        lines = {ln.id: ln for ln in a.lines}
        wanted: list[tuple[FrameworkLine, Decimal]] = []
        for raw_id, raw_qty in (quantities or {}).items():
            if raw_qty is None or str(raw_qty).strip() == "":
                continue
            try:
                lid = int(raw_id)
            except (TypeError, ValueError):
                lid = -1
            ln = lines.get(lid)
            if ln is None:
                raise ValidationFailed(_l("Item %(raw_id)s is not an item of %(reference)s."),
                                       raw_id=raw_id, reference=a.reference)
            qty = to_decimal(raw_qty, f"Quantity of {ln.description}")
            if qty < 0:
                raise ValidationFailed(_l("%(description)s: the quantity cannot be negative."),
                                       description=ln.description)
            if qty == 0:
                continue
            wanted.append((ln, qty))
        if not wanted:
            raise ValidationFailed(_l("Enter a quantity for at least one item to call off."))
        wanted.sort(key=lambda p: p[0].position)
        delivery = _date(delivery_date, "delivery date") if delivery_date not in (None, "") else None
        if delivery is not None and delivery < today:
            raise ValidationFailed(_l("The delivery date is in the past."))

        use = usage(a)
        warnings, refusals = [], []
        this_value = ZERO
        for ln, qty in wanted:
            value = quantize(qty * Decimal(ln.unit_price), a.currency)
            this_value += value
            lu = use.line(ln.id)
            if ln.max_quantity is not None:
                _against_cap(a.allow_exceed, lu.consumed, qty, Decimal(ln.max_quantity), format_quantity,
                             over=f"{ln.description}: {format_quantity(qty)} {ln.unit}",
                             agreed=lambda cap, ln=ln: f"{format_quantity(cap)} {ln.unit}",
                             used=f"{ln.description}: {{pct}} of the agreed quantity is now used",
                             warnings=warnings, refusals=refusals)
        if a.max_value is not None:
            money = lambda d: format_money(d, a.currency)  # noqa: E731
            _against_cap(a.allow_exceed, use.value, this_value, Decimal(a.max_value), money,
                         over=f"this call-off of {money(this_value)}", agreed=lambda cap: f"value of {money(cap)}",
                         used="{pct} of the agreed value is now used", warnings=warnings, refusals=refusals)
        if refusals:
            raise ValidationFailed(_l("%(reference)s does not allow this call-off: %(refusals)s."),
                                   reference=a.reference, refusals="; ".join(refusals))

        buyer = a.buyer
        order = PurchaseOrder(
            buyer_company_id=a.buyer_company_id, supplier_company_id=a.supplier_company_id,
            source=OrderSource.framework, rfq_id=a.rfq_id, currency=a.currency, delivery_address=_address_text(buyer),
            delivery_date=delivery, payment_terms_days=payment_terms_for(a.supplier_company_id, a.buyer_company_id),
            notes=(notes or f"Call-off against framework agreement {a.reference}")[:4000],
            status=OrderStatus.draft, created_by_id=actor.id, total_net=ZERO)
        # the award line goes along: the line is then "sourced" like an award's order line, and a requisition
        # behind the RFQ gives it its cost centre and GL account and follows the order (portal/budgets/hooks.py)
        _build_lines(order, [{"part_number": ln.part_number, "description": ln.description, "unit": ln.unit,
                              "quantity": qty, "unit_price": Decimal(ln.unit_price), "delivery_date": delivery,
                              "award_line_id": ln.award_line_id}
                             for ln, qty in wanted])
        order.po_number = new_po_number(a.buyer_company_id)
        db.session.add(order)
        db.session.flush()
        co = CallOff(agreement_id=a.id, order_id=order.id, value=this_value, created_by_id=actor.id)
        for (ln, qty), ol in zip(wanted, order.lines):
            co.lines.append(CallOffLine(framework_line_id=ln.id, order_line_id=ol.id, quantity=qty,
                                        value=ol.line_total))
        db.session.add(co)
        a.updated_at = utcnow()  # the agreement's consumption changed (API: updated_since)
        db.session.flush()
        audit("order", order.id, "created", actor=actor, company_id=a.buyer_company_id, to_state=OrderStatus.draft,
              detail=words.msg(_l("%(number)s: call-off against %(reference)s, %(n)s line(s)"),
                               number=order.po_number, reference=a.reference, n=len(order.lines)))
        audit("framework_agreement", a.id, "called_off", actor=actor, company_id=a.buyer_company_id,
              detail=f"{order.po_number}: {format_money(this_value, a.currency)}"
                     + (f" ({'; '.join(warnings)})" if warnings else ""),
              visible_to_company_id=a.buyer_company_id)
        # The buyer's only: the supplier sees the call-off once its order is sent (order.submitted).
        emit(a.buyer_company_id, "framework_agreement.called_off", a)
        db.session.commit()
        return CallOffResult(order, co, warnings)
    except Exception:
        db.session.rollback()
        raise


@guard_draft_lines
def guard_call_off_edit(order, quantities: dict, removed: set, adding: bool, apply: bool = True) -> None:
    """A call-off edited after it was made stays a call-off within the agreement's caps: new items come by a new
    call-off, and raised quantities are checked against the caps under the agreement's row lock, as a call-off
    is (the other call-offs' consumption + this order's new quantities). Consumption is read from the call-off
    orders' lines, so a lowered or removed line gives quantity and value back. Called with the order row locked
    by ``portal.orders.drafts.update_draft`` (the draft editor: the call-off's own lines follow the edit) and,
    checking only (``apply=False``), by ``portal.orders.changes.propose`` for a change order on a placed one."""
    co = db.session.scalar(sa.select(CallOff).where(CallOff.order_id == order.id))
    if co is None:
        return
    a = lock_row(FrameworkAgreement, co.agreement_id, not_found=_l("No such framework agreement."))
    if adding:
        raise ValidationFailed(_l("This order is a call-off against %(reference)s: add items with a new call-off "
                                  "from the agreement's page."), reference=a.reference)
    with db.session.no_autoflush:  # the editor may have set the new quantities on the lines already
        others = usages([a], exclude_order_id=order.id)[a.id]
        current = {ln.id: Decimal(ln.quantity) for ln in order.lines}
        warnings, refusals = [], []
        old_value = new_value = ZERO
        for cl in list(co.lines):
            ln = cl.framework_line
            gone = cl.order_line_id is None or cl.order_line_id in removed
            before = Decimal(cl.quantity)
            qty = ZERO if gone else Decimal(quantities.get(cl.order_line_id, current.get(cl.order_line_id, before)))
            value = quantize(qty * Decimal(ln.unit_price), a.currency)
            old_value += Decimal(cl.value)
            new_value += value
            if qty > before and ln.max_quantity is not None:
                _against_cap(a.allow_exceed, others.line(ln.id).consumed, qty, Decimal(ln.max_quantity),
                             format_quantity, over=f"{ln.description}: {format_quantity(qty)} {ln.unit}",
                             agreed=lambda cap, ln=ln: f"{format_quantity(cap)} {ln.unit}",
                             used=f"{ln.description}: {{pct}} of the agreed quantity is now used",
                             warnings=warnings, refusals=refusals)
            if apply:
                if gone:
                    co.lines.remove(cl)
                else:
                    cl.quantity, cl.value = qty, value
        if new_value > old_value and a.max_value is not None:
            money = lambda d: format_money(d, a.currency)  # noqa: E731
            _against_cap(a.allow_exceed, others.value, new_value, Decimal(a.max_value), money,
                         over=f"this call-off at {money(new_value)}", agreed=lambda cap: f"value of {money(cap)}",
                         used="{pct} of the agreed value is now used", warnings=warnings, refusals=refusals)
    if refusals:
        raise ValidationFailed(_l("%(reference)s does not allow this change: %(refusals)s."),
                               reference=a.reference, refusals="; ".join(refusals))
    if apply:
        co.value = new_value
        a.updated_at = utcnow()


# --------------------------------------------------------------------------------------------- the sweep


def sweep(today: date | None = None) -> dict:
    """Periodic: expire agreements past their end; tell both sides 30 days before the end (once).
    Idempotent: each row is locked and re-checked before it is moved or noticed."""
    from portal.notifications.services import company_users, notify

    today = today or utcnow().date()
    expired = noticed = 0
    due = list(db.session.scalars(sa.select(FrameworkAgreement.id).where(
        FrameworkAgreement.status == AgreementStatus.active, FrameworkAgreement.valid_until < today)))
    for aid in due:
        try:
            a = lock_row(FrameworkAgreement, aid)
            if a.status == AgreementStatus.active and a.valid_until < today:
                a.status = AgreementStatus.expired
                audit("framework_agreement", a.id, "expired", from_state=AgreementStatus.active,
                      to_state=AgreementStatus.expired, company_id=a.buyer_company_id,
                      detail=words.msg(_l("%(reference)s ended on %(day)s"), reference=a.reference,
                                       day=words.day(a.valid_until)))
                emit([a.buyer_company_id, a.supplier_company_id], "framework_agreement.expired", a)
                expired += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    horizon = today + timedelta(days=NOTICE_DAYS)
    soon = list(db.session.scalars(sa.select(FrameworkAgreement.id).where(
        FrameworkAgreement.status == AgreementStatus.active, FrameworkAgreement.expiry_notice_sent_at.is_(None),
        FrameworkAgreement.valid_until <= horizon, FrameworkAgreement.valid_until >= today)))
    for aid in soon:
        try:
            a = lock_row(FrameworkAgreement, aid)
            if a.expiry_notice_sent_at is None and a.status == AgreementStatus.active:
                days = (a.valid_until - today).days
                title = words.msg(_l("%(reference)s ends in %(days)s days"), reference=a.reference,
                                  days=words.number(days))

                def body(viewer_id, a=a, days=days):
                    u = usage(a, viewer_company_id=viewer_id)  # the supplier's figure leaves unsent drafts out
                    figures = {"reference": a.reference, "title": a.title, "buyer": a.buyer.display_name,
                               "supplier": a.supplier.display_name, "end": words.day(a.valid_until),
                               "days": words.number(days), "used": words.money(u.value, a.currency)}
                    if a.max_value:
                        return words.msg(_l("Framework agreement %(reference)s “%(title)s” between "
                                            "%(buyer)s and %(supplier)s ends on %(end)s (in %(days)s days). "
                                            "Called off so far: %(used)s of %(max)s."),
                                         max=words.money(a.max_value, a.currency), **figures)
                    return words.msg(_l("Framework agreement %(reference)s “%(title)s” between %(buyer)s and "
                                        "%(supplier)s ends on %(end)s (in %(days)s days). Called off so far: "
                                        "%(used)s."), **figures)

                notify(company_users(a.buyer_company_id, Role.procurement), kind="framework_expiring",
                       link=_link(a.id), title=title, body=body(a.buyer_company_id))
                notify(company_users(a.supplier_company_id, *SUPPLIER_ROLES), kind="framework_expiring",
                       link=_link(a.id), title=title, body=body(a.supplier_company_id))
                a.expiry_notice_sent_at = utcnow()
                audit("framework_agreement", a.id, "expiry_notice", company_id=a.buyer_company_id,
                      detail=words.msg(_l("Both sides told that %(reference)s ends on %(day)s"),
                                       reference=a.reference, day=words.day(a.valid_until)))
                emit([a.buyer_company_id, a.supplier_company_id], "framework_agreement.expiring", a)
                noticed += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return {"expired": expired, "noticed": noticed}
