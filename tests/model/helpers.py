"""Helpers of the model-based order-to-cash test: the budget, the known-defect switches and the invariants,
each recomputed from scratch from the documents (orders, shipments, invoices, credit notes, payments) and
compared with what the services stored and what the credit ledger reports.
"""
from __future__ import annotations

import inspect
import os
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from portal.db import db
from portal.money import ZERO, quantize

HUNDRED = Decimal(100)

# ------------------------------------------------------------------------------------------ known defects
# Defects being fixed elsewhere: while a name is in this set, the model notes the failure (see ``NOTED``)
# instead of failing. Empty: every defect the model found is fixed, and the model guards each fix.
KNOWN_DEFECTS: set[str] = set()
NOTED: dict[str, list] = {}  # known defect -> [times seen, first message] in this run (printed at the end)
STATS: "defaultdict[str, int]" = defaultdict(int)  # service calls that succeeded / were refused (printed)


def known(name: str, message: str) -> None:
    """Fail with ``message`` unless ``name`` is a known defect of this branch (then only note it)."""
    if name in KNOWN_DEFECTS:
        NOTED.setdefault(name, [0, message])[0] += 1
        return
    raise AssertionError(message)


# ------------------------------------------------------------------------------------------ the budget

def budget() -> dict:
    """Examples and steps per run: small in ``make test``; PORTAL_MODEL_EXAMPLES / PORTAL_MODEL_STEPS raise them
    (``make test-deep``). PORTAL_MODEL_SEED replays one seed; CI (or PORTAL_MODEL_DERANDOMIZE=1) derandomizes."""
    return {
        "max_examples": int(os.environ.get("PORTAL_MODEL_EXAMPLES", "4")),
        "stateful_step_count": int(os.environ.get("PORTAL_MODEL_STEPS", "25")),
        "derandomize": bool(os.environ.get("CI") or os.environ.get("PORTAL_MODEL_DERANDOMIZE")),
    }


# ------------------------------------------------------------------------------------------ credit-note kinds
# Credit notes for returned goods or goods rejected at receipt close the quantity for good; one correcting an
# invoicing mistake makes it invoiceable again (fix/invq adds the kind). The model passes the kind to
# ``create_credit_note`` only if that function accepts such a parameter (inspect.signature; names tried:
# KIND_PARAMETER_NAMES); otherwise it only keeps the kind itself, for its own bookkeeping. After fix/invq merges,
# check that these values are the ones the service accepts (a refused kind only makes the rule a no-op).
# Credit notes by amount are passed "other" and never count for quantities.
CLOSING_KINDS = ("returned", "rejected_at_receipt")
REOPENING_KINDS = ("invoicing_error",)
QUANTITY_KINDS = CLOSING_KINDS + REOPENING_KINDS
KIND_PARAMETER_NAMES = ("reason_kind", "kind")


def credit_note_kind_parameter() -> str | None:
    from portal.invoices import services

    params = inspect.signature(services.create_credit_note).parameters
    return next((n for n in KIND_PARAMETER_NAMES if n in params), None)


# ------------------------------------------------------------------------------------------ reading the documents

def _docs():
    from portal.invoices.models import DocumentKind, Invoice, Payment
    from portal.orders.models import PurchaseOrder, Shipment

    db.session.expire_all()
    orders = list(db.session.scalars(sa.select(PurchaseOrder).order_by(PurchaseOrder.id)).unique())
    shipments = list(db.session.scalars(sa.select(Shipment).order_by(Shipment.id)))
    docs = list(db.session.scalars(sa.select(Invoice).order_by(Invoice.id)).unique())
    payments = list(db.session.scalars(sa.select(Payment).order_by(Payment.id)))
    invoices = [d for d in docs if d.kind == DocumentKind.invoice]
    notes = [d for d in docs if d.kind == DocumentKind.credit_note]
    return orders, shipments, invoices, notes, payments


def _issued(doc) -> bool:
    from portal.invoices.states import InvoiceStatus

    return doc.status != InvoiceStatus.draft


def quantities_by_line(invoices, notes, until=None) -> tuple[dict, dict]:
    """(invoiced, credited) quantity per order line over issued documents (issued at or before ``until``)."""
    inv_q, cn_q = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for docs, out in ((invoices, inv_q), (notes, cn_q)):
        for d in docs:
            if not _issued(d) or (until is not None and d.issued_at > until):
                continue
            for ln in d.lines:
                if ln.order_line_id:
                    out[ln.order_line_id] += Decimal(ln.quantity)
    return inv_q, cn_q


# ------------------------------------------------------------------------------------------ invariants

def check_order_lines(orders, shipments, invoices, notes) -> None:
    from portal.orders.models import LineAck
    from portal.orders.states import OrderStatus

    shipped, received_acc, received_rej = (defaultdict(lambda: ZERO) for _ in range(3))
    for sh in shipments:
        for sl in sh.lines:
            shipped[sl.order_line_id] += Decimal(sl.quantity)
            if sh.received_at is not None:
                received_acc[sl.order_line_id] += Decimal(sl.accepted_quantity or 0)
                received_rej[sl.order_line_id] += Decimal(sl.rejected_quantity or 0)
    inv_q, cn_q = quantities_by_line(invoices, notes)
    for o in orders:
        goods = ZERO
        for ln in o.lines:
            where = f"order {o.po_number} ({o.status.value}) line {ln.position}"
            assert Decimal(ln.shipped_quantity) == shipped[ln.id], \
                f"{where}: stored shipped {ln.shipped_quantity} but the shipments add up to {shipped[ln.id]}"
            assert shipped[ln.id] <= Decimal(ln.quantity), f"{where}: shipped {shipped[ln.id]} > ordered {ln.quantity}"
            if ln.ack == LineAck.rejected:
                assert shipped[ln.id] == 0, f"{where}: rejected at acknowledgement but {shipped[ln.id]} shipped"
            assert Decimal(ln.accepted_quantity) == received_acc[ln.id] and \
                Decimal(ln.rejected_quantity) == received_rej[ln.id], \
                f"{where}: stored received {ln.accepted_quantity}+{ln.rejected_quantity}, receipts say " \
                f"{received_acc[ln.id]}+{received_rej[ln.id]}"
            assert received_acc[ln.id] + received_rej[ln.id] <= shipped[ln.id], \
                f"{where}: received {received_acc[ln.id] + received_rej[ln.id]} > shipped {shipped[ln.id]}"
            net = inv_q[ln.id] - cn_q[ln.id]
            assert ZERO <= net <= shipped[ln.id], \
                f"{where}: invoiced {inv_q[ln.id]} − credited {cn_q[ln.id]} = {net}, shipped {shipped[ln.id]}"
            # a line the supplier rejects leaves the total once the buyer accepts the changes (not while proposed)
            if ln.ack != LineAck.rejected or o.status == OrderStatus.change_proposed:
                goods += quantize((Decimal(ln.quantity) - Decimal(ln.short_closed_quantity or 0))
                                  * Decimal(ln.unit_price), o.currency)
        expected = goods + quantize(Decimal(o.shipping_amount or 0), o.currency)
        if o.status in (OrderStatus.rejected, OrderStatus.cancelled):
            continue  # a dead order's total is history (every line rejected leaves it as it was)
        assert Decimal(o.total_net) == expected, f"order {o.po_number}: total_net {o.total_net}, lines say {expected}"


def check_billable_after_issue(inv, cn_kinds: dict) -> None:
    """Right after ``inv`` was issued: per order line on it, invoiced − credited for invoicing mistakes ≤
    shipped − rejected at receipt (credit notes for returns/rejections close the quantity for good)."""
    from portal.invoices.models import DocumentKind, Invoice
    from portal.orders.models import OrderLine

    db.session.expire_all()
    ids = [ln.order_line_id for ln in db.session.get(Invoice, inv.id).lines if ln.order_line_id]
    if not ids:
        return
    docs = list(db.session.scalars(sa.select(Invoice).where(Invoice.order_id == inv.order_id)).unique())
    invoices = [d for d in docs if d.kind == DocumentKind.invoice]
    reopening = [d for d in docs if d.kind == DocumentKind.credit_note and cn_kinds.get(d.id) in REOPENING_KINDS]
    inv_q, reopened = quantities_by_line(invoices, reopening)
    for ol in db.session.scalars(sa.select(OrderLine).where(OrderLine.id.in_(ids))):
        billable = Decimal(ol.shipped_quantity) - Decimal(ol.rejected_quantity)
        if inv_q[ol.id] - reopened[ol.id] > billable:
            known("rejected_goods_invoiceable",
                  f"{inv.number}: line {ol.position} of order {ol.order.po_number} is invoiced "
                  f"{inv_q[ol.id]} − {reopened[ol.id]} (credited for invoicing mistakes) but only "
                  f"{ol.shipped_quantity} shipped − {ol.rejected_quantity} rejected may be billed")


def check_documents(invoices, notes, payments) -> None:
    from datetime import timedelta

    from portal.db import utcnow
    from portal.invoices.states import InvoiceStatus as IS

    paid = defaultdict(lambda: ZERO)
    for p in payments:
        paid[p.invoice_id] += Decimal(p.amount)
    credited = defaultdict(lambda: ZERO)
    for cn in notes:
        if _issued(cn):
            credited[cn.corrects_invoice_id] += Decimal(cn.total_gross)
    today = utcnow().date()
    for d in invoices + notes:
        name = d.number or f"draft #{d.id}"
        cur = d.currency
        by_rate = defaultdict(lambda: ZERO)
        for ln in d.lines:
            line_net = quantize(Decimal(ln.quantity) * Decimal(ln.unit_price)
                                * (HUNDRED - Decimal(ln.discount_percent)) / HUNDRED, cur)
            assert Decimal(ln.net_amount) == line_net, f"{name} line {ln.position}: net {ln.net_amount} ≠ {line_net}"
            by_rate[Decimal(ln.tax_rate)] += line_net
        net = sum(by_rate.values(), ZERO)
        tax = sum((quantize(v * r / HUNDRED, cur) for r, v in by_rate.items()), ZERO)
        assert Decimal(d.total_net) == net, f"{name}: net {d.total_net} ≠ Σ line nets {net}"
        assert Decimal(d.total_tax) == tax, f"{name}: tax {d.total_tax} ≠ Σ per-rate tax {tax}"
        assert Decimal(d.total_gross) == net + tax, f"{name}: gross {d.total_gross} ≠ {net} + {tax}"
        if not _issued(d):
            assert d.number is None and paid[d.id] == 0, f"draft #{d.id} has a number or payments"
            continue
        snap = d.snapshot or {}
        for f in ("total_net", "total_tax", "total_gross"):
            assert Decimal(snap.get(f, "NaN")) == Decimal(getattr(d, f)), f"{name}: snapshot {f} differs"
        if d in notes:
            assert paid[d.id] == 0, f"{name}: a credit note with payments"
            continue
        assert Decimal(d.paid_amount) == paid[d.id], f"{name}: paid_amount {d.paid_amount}, payments {paid[d.id]}"
        assert Decimal(d.credited_amount) == credited[d.id], \
            f"{name}: credited_amount {d.credited_amount}, credit notes {credited[d.id]}"
        open_amount = Decimal(d.total_gross) - paid[d.id] - credited[d.id]
        assert open_amount >= 0, f"{name}: open amount {open_amount} < 0"
        if open_amount == 0:
            expected = IS.paid
        else:
            expected = IS.partially_paid if paid[d.id] > 0 else IS.issued
        assert d.status == expected, f"{name}: status {d.status.value}, open {open_amount}, paid {paid[d.id]}"
        assert d.due_date == d.issue_date + timedelta(days=d.payment_terms_days), f"{name}: due date"
        assert d.overdue == (d.due_date < today and open_amount > 0), f"{name}: overdue flag"


def check_numbers(invoices, notes) -> None:
    """Per supplier, series and year: sequences 1..N, no gap, no duplicate; the number shows the sequence."""
    seqs = defaultdict(list)
    for d in invoices + notes:
        if _issued(d):
            seqs[(d.supplier_company_id, d.series, d.year)].append((d.sequence, d.number))
    for key, rows in seqs.items():
        got = sorted(s for s, _ in rows)
        assert got == list(range(1, len(rows) + 1)), f"numbers of {key}: sequences {got}"
        numbers = [n for _, n in rows]
        assert len(set(numbers)) == len(numbers), f"numbers of {key}: duplicates {sorted(numbers)}"
        for s, n in rows:
            assert n == f"{key[1]}-{key[2]}-{s:06d}", f"number {n} does not show sequence {s}"


def _credit_kind(note) -> str | None:
    kind = getattr(note, "credit_reason", None)
    return getattr(kind, "value", kind)


def _expected_reservation(order, invoices, notes, shipments, *, business: bool = True) -> Decimal:
    """What the ledger should still reserve for ``order``, from its documents: its net total, less the net of
    each partial invoice, and nothing from the first moment everything was shipped and nothing the buyer may be
    billed for was left to invoice (or once it is cancelled/rejected). Those moments are each invoice's issue
    and, with ``business``, each receipt that rejected goods (rejected goods are not owed, so they are not
    exposure); what may be billed then is what was shipped by then, less (with ``business``) what was rejected
    at receipts by then, less what was invoiced by then net of credit notes for invoicing mistakes. A
    reservation once closed stays closed: a later credit note for an invoicing mistake gives quantity back to be
    invoiced, and the corrected invoice counts as unpaid when it is issued."""
    from portal.orders.models import LineAck
    from portal.orders.states import OPEN_FOR_CREDIT, OrderStatus

    if order.placed_at is None or (order.status not in OPEN_FOR_CREDIT and order.status != OrderStatus.closed):
        return ZERO
    mine = [i for i in invoices if i.order_id == order.id and _issued(i)]
    # only a credit note for an invoicing mistake gives quantity back; returned or rejected goods stay closed
    my_notes = [n for n in notes if n.order_id == order.id and _credit_kind(n) in REOPENING_KINDS]
    my_shipments = [sh for sh in shipments if sh.order_id == order.id]
    moments = [(i.issued_at, 1, i) for i in mine]
    if business:
        moments += [(sh.received_at, 0, None) for sh in my_shipments if sh.received_at is not None
                    and any(Decimal(sl.rejected_quantity or 0) > 0 for sl in sh.lines)]
    reserved = quantize(Decimal(order.total_net), order.currency)
    for t, _, inv in sorted(moments, key=lambda m: (m[0], m[1], m[2].id if m[2] is not None else 0)):
        billable = defaultdict(lambda: ZERO)
        shipped_then = defaultdict(lambda: ZERO)
        for sh in my_shipments:
            for sl in sh.lines:
                if sh.shipped_at <= t:
                    shipped_then[sl.order_line_id] += Decimal(sl.quantity)
                    billable[sl.order_line_id] += Decimal(sl.quantity)
                if business and sh.received_at is not None and sh.received_at <= t:
                    billable[sl.order_line_id] -= Decimal(sl.rejected_quantity or 0)
        all_shipped = all(ln.ack == LineAck.rejected or shipped_then[ln.id] >= ln.quantity for ln in order.lines)
        inv_q, cn_q = quantities_by_line(mine, my_notes, until=t)
        if all_shipped and all(inv_q[ln.id] - cn_q[ln.id] >= billable[ln.id] for ln in order.lines):
            return ZERO
        if inv is not None:
            reserved = max(reserved - Decimal(inv.total_net), ZERO)
    return reserved


def check_exposure(orders, shipments, invoices, notes, payments) -> None:
    from portal.credit import services as credit
    from portal.credit.models import CreditReservation, ReservationStatus

    ledger_rows = {r.order_id: r for r in db.session.scalars(sa.select(CreditReservation))}
    paid = defaultdict(lambda: ZERO)
    for p in payments:
        paid[p.invoice_id] += Decimal(p.amount)
    credited = defaultdict(lambda: ZERO)
    for cn in notes:
        if _issued(cn):
            credited[cn.corrects_invoice_id] += Decimal(cn.total_gross)
    pairs = {(o.supplier_company_id, o.buyer_company_id) for o in orders}
    pairs |= {(i.supplier_company_id, i.buyer_company_id) for i in invoices}
    for o in orders:
        row = ledger_rows.get(o.id)
        have = Decimal(row.amount) if row is not None and row.status == ReservationStatus.reserved else ZERO
        want = _expected_reservation(o, invoices, notes, shipments)
        if have != want and want == ZERO and have == _expected_reservation(o, invoices, notes, shipments,
                                                                              business=False):
            known("rejected_goods_stay_reserved",
                  f"order {o.po_number} ({o.status.value}): everything billable is invoiced (goods rejected at "
                  f"receipt are not), yet the ledger still reserves {have}")
            continue
        assert have == want, (f"order {o.po_number} ({o.status.value}): the ledger reserves {have}, "
                              f"its documents say {want}")
    for supplier_id, buyer_id in pairs:
        reserved = sum((Decimal(ledger_rows[o.id].amount) for o in orders
                        if (o.supplier_company_id, o.buyer_company_id) == (supplier_id, buyer_id)
                        and o.id in ledger_rows and ledger_rows[o.id].status == ReservationStatus.reserved), ZERO)
        unpaid = sum((Decimal(i.total_gross) - paid[i.id] - credited[i.id] for i in invoices
                      if _issued(i) and (i.supplier_company_id, i.buyer_company_id) == (supplier_id, buyer_id)), ZERO)
        ledger = credit.reserved_total(supplier_id, buyer_id, "EUR") + credit.unpaid_invoices_total(
            supplier_id, buyer_id, "EUR")
        assert ledger == reserved + unpaid, (f"exposure of buyer {buyer_id} at supplier {supplier_id}: ledger "
                                             f"{ledger}, documents {reserved} reserved + {unpaid} unpaid")


def check_credit_decision(order_id: int) -> None:
    """Right after a credit check: it passed exactly when unpaid invoices + reserved orders + this order fit the
    limit of the pair's account, and the figures it recorded are the ledger's (without this order's own
    reservation, which the passing check just made)."""
    from portal.credit import services as credit
    from portal.credit.models import CreditCheck, CreditReservation, ReservationStatus
    from portal.orders.models import PurchaseOrder

    db.session.expire_all()
    cc = db.session.scalar(sa.select(CreditCheck).where(CreditCheck.order_id == order_id)
                           .order_by(CreditCheck.id.desc()).limit(1))
    if cc is None or cc.resolution is not None:
        return
    o = db.session.get(PurchaseOrder, order_id)
    account = credit.effective_account(o.supplier_company_id, o.buyer_company_id)
    exposure = Decimal(cc.unpaid_invoices) + Decimal(cc.reserved_orders) + Decimal(cc.order_amount)
    assert Decimal(cc.limit_amount) == Decimal(account.limit_amount), \
        f"check of {o.po_number}: limit {cc.limit_amount}, the account says {account.limit_amount}"
    assert (cc.outcome == "passed") == (exposure <= Decimal(cc.limit_amount)), \
        f"check of {o.po_number}: {cc.outcome} with exposure {exposure} and limit {cc.limit_amount}"
    mine = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order_id,
                                                               CreditReservation.status == ReservationStatus.reserved))
    own = Decimal(mine.amount) if mine is not None and cc.outcome == "passed" else ZERO
    ledger = (credit.reserved_total(o.supplier_company_id, o.buyer_company_id, "EUR")
              + credit.unpaid_invoices_total(o.supplier_company_id, o.buyer_company_id, "EUR"))
    assert Decimal(cc.unpaid_invoices) + Decimal(cc.reserved_orders) == ledger - own, \
        f"check of {o.po_number}: recorded {cc.unpaid_invoices} + {cc.reserved_orders}, ledger {ledger} − {own}"
    db.session.rollback()


def check_supplier_visibility(orders) -> None:
    """The supplier sees an order only once the buyer sent it (it was submitted to the credit check)."""
    from portal.audit.models import AuditEvent
    from portal.orders.models import PurchaseOrder
    from portal.tenancy import scoped

    sent = set(db.session.scalars(sa.select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == "order", AuditEvent.to_state == "submitted")))
    for supplier_id in {o.supplier_company_id for o in orders}:
        visible = set(db.session.scalars(scoped(PurchaseOrder, supplier_id).with_only_columns(PurchaseOrder.id)
                                         .where(PurchaseOrder.supplier_company_id == supplier_id)))
        leaked = sorted(visible - sent)
        if leaked:
            known("supplier_sees_unsent_orders",
                  f"supplier {supplier_id} sees orders never sent to it: "
                  + ", ".join(f"{o.po_number} ({o.status.value})" for o in orders if o.id in leaked))


def check_kept_quantities(shipments) -> None:
    """The invoiced quantity kept on every shipment line, and each shipment's "to invoice" flag, equal the rule
    recomputed from scratch (portal.invoices.quantities.invoiceable_lines)."""
    from portal.invoices.quantities import _dec, invoiceable_lines

    q = invoiceable_lines(None)
    rule = {slid: (_dec(inv), _dec(open_) > 0)
            for slid, inv, open_ in db.session.execute(sa.select(q.c.shipment_line_id, q.c.invoiced, q.c.open))}
    for sh in shipments:
        for sl in sh.lines:
            invoiced, _ = rule[sl.id]
            assert _dec(sl.invoiced_quantity) == invoiced, (
                f"shipment {sh.number} line {sl.id}: kept invoiced {sl.invoiced_quantity}, the rule says {invoiced}")
        want = any(rule[sl.id][1] for sl in sh.lines)
        assert bool(sh.to_invoice) == want, f"shipment {sh.number}: kept to_invoice {sh.to_invoice}, rule {want}"


def check_all(cn_kinds: dict) -> None:
    orders, shipments, invoices, notes, payments = _docs()
    check_order_lines(orders, shipments, invoices, notes)
    check_kept_quantities(shipments)
    check_documents(invoices, notes, payments)
    check_numbers(invoices, notes)
    check_exposure(orders, shipments, invoices, notes, payments)
    check_supplier_visibility(orders)
    db.session.rollback()
