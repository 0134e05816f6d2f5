"""Demo orders: eleven months of purchasing between the demo companies, and today's open work.

History (``_History``), every step through the domain services, in date order:
- Hartmann buys from Nordstahl, Lefèvre, Polmet and Alpenwerk, Van Dijk from Nordstahl, Lefèvre and Polmet,
  Alpenwerk from Nordstahl: catalog orders every month, placed through the real credit check, acknowledged,
  shipped (some in two parts), received, about half of them closed; invoiced on their day (Nordstahl per
  shipment, the others per order) and paid, a few late;
- Hartmann's framework order at Nordstahl, placed in the first month and called off every eight weeks, still in
  delivery: it is the first order with shipments, the one the screenshots show (order page and ship form);
- orders above 10,000 EUR approved by Petra, a big Van Dijk order held by Nordstahl's credit check and released,
  one order cancelled by the buyer, one rejected by the supplier;
- the last ten weeks (by hand, ``_plan``): two invoices overdue (one of them Van Dijk's, which is why today's Van
  Dijk order goes on credit hold), one part-paid and overdue, the newest open; one acknowledged order not shipped
  yet, one shipment not received yet, one change proposal for Jonas to decide, and a receipt with 100 rejected
  bolts that the invoice still bills (Lukas's check on that invoice shows the difference).
Today (as before): approval rules for Hartmann (above 10,000 EUR one approval, above 100,000 EUR two); one
placed order waiting for Nordstahl's acknowledgement; one acknowledged order with one partial shipment
(invoiced by the invoices demo); one draft above the approval limit, ready for Jonas to submit (Petra
approves); and, new, a Van Dijk order on credit hold at Nordstahl for Tobias to release or reject.

Backdating (demo only): the services stamp "now"; while a historical step runs, each of its commits first moves
the timestamps it wrote (order, approval, shipment, credit check and reservation, invoice, payment, audit
event, job record) to the step's time with SQL UPDATEs (``_Clock``). Invoices are issued on their date
(``invoices.demo.issue_on``). Every number series is drawn in date order: steps before the first invoice still
unpaid today run strictly by date; the later order steps, today's orders, then the later invoices (so no credit
check sees an invoice as overdue that was not overdue at the time). A number drawn in the current year for a
step in an earlier year is moved into that year's series. Historical steps send no mail and leave no
notifications; their PDFs are queued for the worker after the history (rq), or, without a worker, rendered here
for the framework order and the last two weeks only (about 0.3 s each). Awarded RFQs of the sourcing demo are left
alone: creating their orders is part of the tour.
"""
from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import sqlalchemy as sa

from portal.db import UTCDateTime, db, utcnow
from portal.errors import DomainError
from portal.orders import services, shipping
from portal.orders.models import ApprovalRule, PurchaseOrder, Shipment
from portal.orders.states import OrderStatus

log = logging.getLogger(__name__)

MARK = "Demo order"
SHIPPED_NOTE = f"{MARK}: anchors and threaded rod, hall B"  # its shipment is invoiced by the invoices demo
HOLD_NOTE = "Stainless fasteners for the bottling line conveyors"  # today's Van Dijk order on credit hold
CHANGED_NOTE = f"{MARK}: line 4 overhaul, changed after sending"  # on rev. 3 (issue 12: change orders)

FALLBACK = [  # sku, description, unit, price
    ("NS-M8-25", "Hex bolt M8x25, 8.8, zinc plated", "pcs", "0.12"),
    ("NS-M10-40", "Hex bolt M10x40, 8.8, zinc plated", "pcs", "0.21"),
    ("NS-NUT-M8", "Hex nut M8, class 8, zinc plated", "pcs", "0.04"),
    ("NS-WASH-8", "Washer DIN 125 8.4 mm", "pcs", "0.02"),
    ("NS-ROD-M12", "Threaded rod M12 x 1 m, 4.8", "pcs", "2.90"),
    ("NS-ANCH-10", "Anchor bolt 10x90 mm", "pcs", "0.85"),
]


def _catalog_specs(supplier_id: int, buyer_id: int) -> list[dict]:
    try:
        from portal.catalog.models import CatalogItem
    except ImportError:
        return []
    items = db.session.scalars(sa.select(CatalogItem).where(CatalogItem.supplier_company_id == supplier_id,
                                                           CatalogItem.active.is_(True))
                               .order_by(CatalogItem.sku)).all()
    specs = []
    for it in items:
        specs.append({"catalog_item_id": it.id, "sku": it.sku, "description": it.name, "unit": it.unit,
                      "unit_price": it.unit_price, "moq": it.moq, "pack_size": it.pack_size})
    return specs


def _lines(specs: list[dict], picks: list[tuple[int, int]], buyer_id: int, price_factor=None) -> list[dict]:
    """picks: (index into specs, wanted quantity) -> valid quantities (MOQ, pack size) and buyer prices."""
    out = []
    for idx, wanted in picks:
        s = dict(specs[idx % len(specs)])
        q = Decimal(wanted)
        if s.get("moq"):
            q = max(q, Decimal(s["moq"]))
        if s.get("pack_size"):
            pack = Decimal(s["pack_size"])
            q = (q / pack).to_integral_value(rounding=ROUND_CEILING) * pack
        s["quantity"] = q
        if s.get("catalog_item_id"):
            try:
                from portal.catalog.models import CatalogItem
                from portal.catalog.services import price_for

                s["unit_price"] = price_for(db.session.get(CatalogItem, s["catalog_item_id"]), buyer_id, q)
            except Exception:  # noqa: BLE001 - list price is fine for a demo
                pass
        if price_factor is not None:  # last year's price list
            s["unit_price"] = (Decimal(s["unit_price"]) * price_factor).quantize(Decimal("0.0001"))
        out.append(s)
    return out


def seed(companies, users) -> None:
    hartmann, nordstahl = companies.get("hartmann"), companies.get("nordstahl")
    if hartmann is None or nordstahl is None:
        return
    if db.session.scalar(sa.select(PurchaseOrder.id).where(PurchaseOrder.buyer_company_id == hartmann.id,
                                                           PurchaseOrder.notes.like(f"{MARK}%"))):
        return
    jonas = users["jonas.weber@hartmann.example"]
    mia = users["mia.schulz@nordstahl.example"]
    for threshold, count in (("10000", 1), ("100000", 2)):
        if not db.session.scalar(sa.select(ApprovalRule.id).where(ApprovalRule.buyer_company_id == hartmann.id,
                                                                  ApprovalRule.threshold == Decimal(threshold))):
            db.session.add(ApprovalRule(buyer_company_id=hartmann.id, threshold=Decimal(threshold), currency="EUR",
                                        approvals_required=count))
    db.session.commit()

    history = None
    if not db.session.scalar(sa.select(PurchaseOrder.id).where(PurchaseOrder.buyer_company_id == hartmann.id)
                             .limit(1)):
        history = _History(companies, users)
        history.run(phases=(0, 1))  # everything before the first invoice unpaid today, then later order steps

    specs = _catalog_specs(nordstahl.id, hartmann.id) or [
        {"sku": s, "description": d, "unit": u, "unit_price": Decimal(p)} for s, d, u, p in FALLBACK]

    # 1. Placed, waiting for Nordstahl's acknowledgement.
    placed = services.create_draft_order(jonas, nordstahl.id, _lines(specs, [(0, 2000), (1, 1500), (2, 5000)], hartmann.id),
                                         notes=f"{MARK}: fasteners for line 4 maintenance")
    _place(placed, jonas)

    # 2. Acknowledged, partly shipped.
    shipped = services.create_draft_order(jonas, nordstahl.id, _lines(specs, [(3, 4000), (4, 300), (5, 1200)], hartmann.id),
                                          notes=SHIPPED_NOTE)
    shipped = _place(shipped, jonas)
    if shipped.status == OrderStatus.placed:
        shipped = services.acknowledge(shipped, mia, shipped.lock_version, {})
        first = shipped.lines[0]
        half = (first.quantity / 2).to_integral_value()
        shipping.record_shipment(shipped, mia, shipped.lock_version,
                                 {first.id: str(half), shipped.lines[1].id: str(shipped.lines[1].quantity)},
                                 carrier="DB Schenker", tracking="DBS-4471-2290")

    # 3. A draft above the approval limit (10,000 EUR): Jonas submits, Petra approves.
    picks, big = [(6, 6000), (7, 4000), (8, 8000), (9, 2500)], None
    for factor in (1, 2, 4, 8, 16, 32):
        lines = _lines(specs, [(i, q * factor) for i, q in picks], hartmann.id)
        if sum(ln["quantity"] * ln["unit_price"] for ln in lines) > Decimal("12000"):
            big = lines
            break
    services.create_draft_order(jonas, nordstahl.id, big or lines, notes=f"{MARK}: yearly stock of fixings")

    # 4. Changed after sending: Nordstahl proposed a later date on line 1 and less on line 2 (Jonas accepted the
    #    date, rejected the cut: rev. 2); Jonas then cut line 3 by a change order Mia accepted (rev. 3).
    _changed_order(jonas, mia, nordstahl.id, _lines(specs, [(0, 1000), (2, 2000), (5, 600)], hartmann.id))

    if history is not None:
        history.run(phases=(2,))  # the later invoices and their payments
        history.hold_today()  # Van Dijk's overdue invoice holds its new order
        history.render_documents()

    from portal.jobs.queue import wait_for_inline_jobs

    wait_for_inline_jobs()


def _changed_order(jonas, mia, supplier_id: int, lines: list[dict]) -> None:
    """An order on rev. 3 with its history: supplier proposals decided per line, then a change order."""
    from portal.orders import changes

    order = services.create_draft_order(jonas, supplier_id, lines, notes=CHANGED_NOTE,
                                        delivery_date=utcnow().date() + timedelta(days=21))
    order = _place(order, jonas)
    if order.status != OrderStatus.placed:
        return
    l1, l2, l3 = order.lines[:3]
    later = (l1.delivery_date or order.delivery_date) + timedelta(days=14)
    less = (l2.quantity / 2).to_integral_value(rounding=ROUND_FLOOR)
    if l2.pack_size:
        less = max((less / l2.pack_size).to_integral_value(rounding=ROUND_FLOOR), 1) * l2.pack_size
    services.acknowledge(order, mia, order.lock_version, {
        l1.id: {"action": "change", "date": later.isoformat(), "note": "Next production batch"},
        l2.id: {"action": "change", "quantity": str(less), "note": "Only half in stock this month"}})
    change = changes.open_change(order.id)
    c1, c2 = change.lines
    changes.decide(order, change.id, jonas, change.lock_version, {
        c1.id: {"decision": "accept"},
        c2.id: {"decision": "reject", "reason": "We need the full quantity for the overhaul"}})
    order = db.session.get(PurchaseOrder, order.id)
    l3 = order.lines[2]
    cut = (l3.quantity / 2).to_integral_value(rounding=ROUND_FLOOR)
    if l3.moq:  # never below the catalog's minimum order
        cut = max(cut, l3.moq)
    if l3.pack_size:
        cut = max((cut / l3.pack_size).to_integral_value(rounding=ROUND_CEILING), 1) * l3.pack_size
    if cut >= l3.quantity:  # nothing left to cut within the minimum: cut the line to the next pack below
        cut = l3.quantity - (l3.pack_size or 1)
    change = changes.propose(order, jonas, order.lock_version, {l3.id: {"quantity": str(cut),
                                                                       "reason": "Overhaul scope reduced"}},
                             reason="Line 4 overhaul: one press instead of two")
    if change.status.value == "proposed":
        changes.decide(db.session.get(PurchaseOrder, order.id), change.id, mia, change.lock_version,
                       {change.lines[0].id: {"decision": "accept"}})


def _place(order: PurchaseOrder, actor) -> PurchaseOrder:
    """Submit (below 10,000 EUR: no approval) and run the supplier's credit check right here, not in a job."""
    order = services.lock_order(order)
    order.submitted_by_id, order.submitted_at = actor.id, utcnow()
    services.move(order, OrderStatus.submitted, actor, "submitted")
    services.commit()
    try:
        from portal.credit.services import check_order
    except ImportError:
        order = services.lock_order(order)
        services.on_placed(order)
        services.commit()
    else:
        check_order(order.id)
    return db.session.get(PurchaseOrder, order.id)


# =============================================================================================== history

D = Decimal
UTC = timezone.utc
HISTORY_DAYS = 325  # the framework order; the other orders start a few days later

# Who does what in each company.
PEOPLE = {
    "hartmann": dict(buyer="jonas.weber@hartmann.example", approver="petra.braun@hartmann.example"),
    "vandijk": dict(buyer="daan.bakker@vandijk.example"),
    "alpenwerk": dict(buyer="lena.huber@alpenwerk.example", sales="lena.huber@alpenwerk.example",
                      accounts="markus.pichler@alpenwerk.example"),
    "nordstahl": dict(sales="mia.schulz@nordstahl.example", accounts="tobias.wolf@nordstahl.example"),
    "lefevre": dict(sales="camille.lefevre@lefevre.example", accounts="hugo.martin@lefevre.example"),
    "polmet": dict(sales="piotr.zielinski@polmet.example", accounts="katarzyna.nowak@polmet.example"),
}

# Per supplier: days from acknowledgement to shipment, carriers, whether it invoices every shipment.
SUPPLIERS = {
    "nordstahl": dict(lead=(3, 7), carriers=["DB Schenker", "DHL Freight", "Rhenus"], per_shipment=True),
    "polmet": dict(lead=(6, 11), carriers=["Raben Logistics", "DHL Freight"], per_shipment=False),
    "lefevre": dict(lead=(2, 6), carriers=["Geodis", "Kuehne+Nagel"], per_shipment=False),
    "alpenwerk": dict(lead=(7, 13), carriers=["Gebrüder Weiss", "DB Schenker"], per_shipment=False),
}

# (buyer, supplier): order themes (notes, SKU fragments of the supplier's catalog, net value range in EUR).
STREAMS = {
    ("hartmann", "nordstahl"): [
        ("Kanban refill hall A: hex bolts, nuts and washers", ("-88Z", "NS-HN-", "NS-WA-"), (2600, 6800)),
        ("Press line 3 overhaul: cap screws and lock nuts", ("NS-SHCS-", "NS-NLN-", "NS-SW-"), (1200, 3600)),
        ("Racking for warehouse 2: wedge anchors and threaded rod", ("NS-WDA-", "NS-TR-"), (1600, 4500)),
        ("Coolant system: stainless A2 bolts", ("-A2",), (900, 2400)),
    ],
    ("hartmann", "polmet"): [
        ("Conveyor maintenance: ball bearings and bearing units", ("PM-BRG-6", "PM-BRG-UC"), (1400, 4200)),
        ("Tool crib: drills, taps and wrenches", ("PM-DRL-", "PM-TAP-", "PM-WR-"), (600, 1800)),
        ("Gearbox service: tapered roller bearings and grease", ("PM-BRG-3", "PM-GRS-"), (1000, 3000)),
    ],
    ("hartmann", "lefevre"): [
        ("Export packaging: cartons and stretch film", ("LF-CTN-", "LF-SF-"), (2500, 7000)),
        ("Dispatch: EUR pallets and edge protectors", ("LF-PAL-", "LF-EDGE-"), (2000, 5200)),
        ("Packing station: tape, strapping and void fill", ("LF-TAPE-", "LF-STRAP-", "LF-VF-", "LF-BAG-"),
         (800, 2400)),
    ],
    ("hartmann", "alpenwerk"): [
        ("Press line hydraulics: hoses and fittings", ("AW-HOSE-", "AW-DKOL-", "AW-GE", "AW-W12L", "AW-T12L"),
         (2800, 7800)),
        ("Cylinder overhaul: seal kits, O-rings and valves", ("AW-SK-", "AW-ORK-", "AW-BV-", "AW-PG-"),
         (1500, 4200)),
    ],
    ("vandijk", "lefevre"): [
        ("Cartons and tape for packing line 2", ("LF-CTN-", "LF-TAPE-"), (1200, 3400)),
        ("Pallets and stretch film for the Waalhaven warehouse", ("LF-PAL-", "LF-SF-"), (1000, 2800)),
    ],
    ("vandijk", "nordstahl"): [
        ("Stainless bolts for conveyor frames", ("-A2",), (500, 1500)),
        ("Nuts and washers for conveyor maintenance", ("NS-HN-", "NS-NLN-", "NS-WA-", "NS-SW-"), (400, 1100)),
    ],
    ("vandijk", "polmet"): [
        ("Sealed bearings for conveyor drives", ("PM-BRG-6",), (400, 1200)),
    ],
    ("alpenwerk", "nordstahl"): [
        ("Cap screws and nuts for valve blocks", ("NS-SHCS-", "NS-HN-"), (700, 2000)),
        ("Threaded rod, nuts and washers for test rigs", ("NS-TR-", "NS-HN-", "NS-WA-"), (500, 1500)),
    ],
}

# Older orders per stream in each calendar month from the framework order's to the one ten weeks ago, oldest
# first (patterns repeat when there are more months); two orders in a month fall in its two halves.
RECENT_DAYS = 72  # the last ten weeks are written by hand (``_plan``)
PATTERN = {
    ("hartmann", "nordstahl"): [1, 1, 1, 1, 1, 1, 2, 1, 1],
    ("hartmann", "lefevre"): [1, 0, 1, 0, 1, 0, 1, 0, 1],
    ("hartmann", "polmet"): [0, 1, 0, 1, 0, 1, 0, 1, 0],
    ("hartmann", "alpenwerk"): [0, 1, 0, 0, 1, 0, 0, 1, 0],
    ("vandijk", "nordstahl"): [1, 0, 1, 0, 1, 0, 0, 1, 0],
    ("alpenwerk", "nordstahl"): [0, 1, 0, 1, 0, 1, 0, 0, 1],
    ("vandijk", "lefevre"): [0, 1, 0, 0, 1, 0, 0, 0, 0],
}
SEASON = {1: 0.9, 2: 1.0, 3: 1.15, 4: 1.05, 5: 1.0, 6: 1.1, 7: 0.95, 8: 0.7, 9: 1.1, 10: 1.2, 11: 1.05, 12: 0.8}
PRICE_LIST_CHANGE_DAYS = 150  # orders before this were priced on last year's list (3 % lower)
PAYERS = {"hartmann": "SEPA", "vandijk": "ABN AMRO", "alpenwerk": "UniCredit"}

# Jobs that render documents: kept back during the history and dispatched after it. Every other job a
# historical step starts (mail, the credit check job — run right here instead —, auto-invoicing) is dropped.
DOCUMENT_JOBS = {"portal.orders.jobs.po_pdf_job", "portal.orders.jobs.delivery_note_job",
                 "portal.invoices.jobs.invoice_pdf_job", "portal.orders.jobs.revision_pdf_job"}


@dataclass
class Bill:
    """One invoice of a historical order: when, which shipment (None: the whole order), and its payments."""
    when: datetime
    shipment: int | None
    payments: list[tuple[datetime, Decimal]] = field(default_factory=list)  # (when, share of the gross)
    open_at_end: bool = False


@dataclass
class Past:
    buyer: str
    supplier: str
    created: datetime
    notes: str
    picks: list[tuple[str, Decimal]]  # (sku, wanted quantity)
    price_factor: Decimal | None = None
    delivery: date | None = None  # default: the supplier's lead time after the order
    ack: datetime | None = None
    change: str | None = None  # the supplier proposes a smaller quantity on line 1, with this note
    ships: list[tuple[datetime, Decimal | None]] = field(default_factory=list)  # (when, share; None = the rest)
    receipts: list[datetime | None] = field(default_factory=list)
    rejected: Decimal | None = None  # pieces of line 1 rejected at the receipt of the first shipment
    close: datetime | None = None
    bills: list[Bill] = field(default_factory=list)
    cancel: tuple[datetime, str] | None = None
    supplier_reject: tuple[datetime, str] | None = None
    release: str | None = None  # the supplier's accounts team releases a credit hold with this comment
    # filled while running
    order_id: int | None = None
    shipment_ids: list[int] = field(default_factory=list)
    invoice_ids: list[int] = field(default_factory=list)
    broken: bool = False


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _workday(d: date) -> date:
    """The same day, or the Friday before a weekend."""
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


class _Clock:
    """While a historical step runs (``when`` set), every commit first moves the timestamps it wrote "now" to
    ``when``: one UPDATE per table the commit wrote to (the services stay as they are). Values at or after
    ``since`` (the start of this run; every earlier step is already in the past) are this commit's "now"."""

    def __init__(self):
        from portal.audit.models import AuditEvent
        from portal.credit.models import CreditAccount, CreditCheck, CreditReservation
        from portal.invoices.models import Invoice, Payment
        from portal.jobs.models import JobRecord
        from portal.orders.models import OrderApproval

        self.columns = {
            PurchaseOrder.__table__: ("created_at", "updated_at", "submitted_at", "sent_at", "placed_at",
                                      "acknowledged_at"),
            OrderApproval.__table__: ("decided_at",),
            Shipment.__table__: ("shipped_at", "received_at"),
            AuditEvent.__table__: ("at",),
            CreditCheck.__table__: ("checked_at", "resolved_at"),
            CreditReservation.__table__: ("created_at", "closed_at"),
            CreditAccount.__table__: ("created_at", "updated_at"),
            Invoice.__table__: ("created_at", "updated_at", "issued_at", "approved_for_payment_at"),
            Payment.__table__: ("recorded_at",),
            JobRecord.__table__: ("created_at",),
        }
        self.credit_accounts = CreditAccount.__table__  # written with a Core INSERT by the credit check
        self.since = utcnow()
        self.when: datetime | None = None
        self.touched: dict = {}  # table -> ids of the rows this transaction wrote
        self.credit_checked = False  # set by a step that runs the credit check

    def after_flush(self, session, flush_context):
        for obj in list(session.new) + list(session.dirty):
            table = getattr(type(obj), "__table__", None)
            if table in self.columns:
                self.touched.setdefault(table, set()).add(obj.id)

    def before_commit(self, session):
        if self.when is None:
            return
        session.flush()
        touched, self.touched = self.touched, {}
        since = sa.bindparam("since", self.since, type_=UTCDateTime())
        at = sa.bindparam("at", self.when, type_=UTCDateTime())
        for table, ids in touched.items():
            c, cols = table.c, self.columns[table]
            session.execute(sa.update(table).where(c.id.in_(ids), sa.or_(*(c[k] >= since for k in cols)))
                            .values({k: sa.case((c[k] >= since, at), else_=c[k]) for k in cols}))
        if self.credit_checked:  # the pair's account may have been created by the check (a Core INSERT)
            c = self.credit_accounts.c
            session.execute(sa.update(self.credit_accounts).where(c.created_at >= since)
                            .values(created_at=at, updated_at=at))


class _History:
    """Plans the history (``_plan``: every order with the times of its steps), sorts the steps into phases
    (``_events``) and runs them through the services (``run``), backdated by ``_Clock``."""

    def __init__(self, companies, users):
        self.c, self.u = companies, users
        self.today = utcnow().date()
        self.rng = random.Random(20260101)
        self.clock = _Clock()
        self.documents: list[dict] = []  # document jobs kept back, dispatched by render_documents()
        self.specs = {key: _catalog_specs(co.id, None) for key, co in companies.items()
                      if key in SUPPLIERS}
        self.plans = self._plan() if all(self.specs.get(k) for k in SUPPLIERS) else []
        unpaid = [b.when for p in self.plans for b in p.bills if b.open_at_end]
        # Steps before the first invoice still unpaid today run strictly in date order (the credit check then
        # sees no overdue invoice that was not overdue at the time). Later order steps run before later
        # invoices, so today's orders and this period's orders are placed before those invoices exist.
        self.cut = min(unpaid) - timedelta(hours=1) if unpaid else _at(self.today, 0)
        self.events = self._events()

    # ------------------------------------------------------------------------------------------ planning

    def _user(self, company: str, role: str):
        return self.u[PEOPLE[company][role]]

    def _picks(self, supplier: str, fragments, target: float, n_lines: int) -> list[tuple[str, Decimal]]:
        pool = [s for s in self.specs[supplier] if any(f in s["sku"] for f in fragments)]
        chosen = self.rng.sample(pool, min(n_lines, len(pool)))
        weights = [self.rng.uniform(0.6, 1.4) for _ in chosen]
        out = []
        for spec, w in zip(chosen, weights):
            qty = D(target * w / sum(weights)) / D(spec["unit_price"])
            step = D(500) if qty > 2000 else D(100) if qty > 300 else D(10) if qty > 40 else D(1)
            qty = max((qty / step).to_integral_value(rounding=ROUND_FLOOR) * step, step)
            out.append((spec["sku"], qty))
        return out

    def _lifecycle(self, p: Past, *, parts: int = 1, closed: bool = True, paid_late: float = 0.2) -> Past:
        """Fill in acknowledgement, shipments, receipts, closing and invoices of a completed order."""
        s = SUPPLIERS[p.supplier]
        rng = self.rng
        p.ack = p.created + timedelta(hours=rng.randint(2, 26))
        day = _workday((p.ack + timedelta(days=rng.randint(*s["lead"]))).date())
        first = max(_at(day, rng.randint(6, 12), rng.choice((0, 15, 30, 45))), p.ack + timedelta(hours=3))
        ships = [(first, D("0.6") if parts > 1 else None)]
        if parts > 1:
            day2 = _workday(day + timedelta(days=rng.randint(5, 9)))
            ships.append((_at(day2, rng.randint(6, 12), 30), None))
        p.ships = ships
        p.receipts = [when + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 4)) for when, _ in ships]
        if closed:
            p.close = p.receipts[-1] + timedelta(days=rng.randint(12, 30))
        self._invoices_for(p, paid_late)
        return p

    def _invoices_for(self, p: Past, paid_late: float = 0.2) -> None:
        """Invoices per shipment (Nordstahl) or per order once everything shipped; payments by default: on or
        a little before the due date, some late; never after yesterday (invoices not due yet stay open)."""
        rng = self.rng
        from portal.credit.demo import TERMS

        days = {(supplier, buyer): d for supplier, buyer, _, d in TERMS}
        terms = days.get((p.supplier, p.buyer), days.get((p.supplier, None), 30))
        if SUPPLIERS[p.supplier]["per_shipment"]:
            bills = [Bill(when + timedelta(hours=rng.randint(1, 4)), i) for i, (when, _) in enumerate(p.ships)]
        elif p.ships and p.ships[-1][1] is None:
            last = p.ships[-1][0]
            when = _at(_workday(last.date() + timedelta(days=1)), 9, rng.randint(0, 59))
            bills = [Bill(max(when, last + timedelta(hours=2)), None)]
        else:
            bills = []
        yesterday = self.today - timedelta(days=1)
        for b in bills:
            due = b.when.date() + timedelta(days=terms)
            late = rng.random() < paid_late
            day = due + timedelta(days=rng.randint(2, 12)) if late else due - timedelta(days=rng.randint(0, 9))
            day = _workday(max(day, b.when.date() + timedelta(days=3)))
            if day <= yesterday:
                b.payments = [(_at(day, 10, rng.randint(0, 59)), D(1))]
            else:
                b.open_at_end = True
        p.bills = bills

    def _plan(self) -> list[Past]:
        t = self.today
        rng = self.rng
        plans: list[Past] = []

        def d(days: int, hour: int = 8, minute: int = 0) -> datetime:
            return _at(_workday(t - timedelta(days=days)), hour, minute)

        # The framework order: placed first, called off every eight weeks or so.
        start = d(HISTORY_DAYS, 9, 12)
        blanket = Past("hartmann", "nordstahl", start,
                       f"Framework order {start.year}: M10/M12 bolts, nuts and washers for assembly lines 1-3, "
                       "called off as needed",
                       [("NS-HB-M12-60-88Z", D(25000)), ("NS-HN-M12-8Z", D(25000)), ("NS-WA-M12-Z", D(25000)),
                        ("NS-HB-M10-40-88Z", D(12000))], price_factor=D("0.97"))
        blanket.ack = blanket.created + timedelta(days=1, hours=3)
        calls = list(range(HISTORY_DAYS - 24, 11, -55))
        blanket.delivery = date(start.year, 12, 31)
        blanket.ships = [(d(k, 7, 30), D("0.14")) for k in calls]
        blanket.receipts = [when + timedelta(days=1, hours=3) for when, _ in blanket.ships]
        self._invoices_for(blanket, paid_late=0)
        plans.append(blanket)

        # Older orders: a fixed number per stream and calendar month (every month has orders of Hartmann and for
        # Nordstahl), on varying days and amounts; completed, invoiced and paid (a few late).
        specials = {  # (buyer, supplier, month index): what is special about its first order that month
            ("hartmann", "alpenwerk", 1): dict(
                theme=0, target=10600,
                notes="Hydraulic hoses and fittings for the new press line 4 (above the approval limit)"),
            ("hartmann", "polmet", 3): dict(
                cancel="Ordered twice: the same bearings are on the previous order; cancelled before "
                       "acknowledgement."),
            ("vandijk", "nordstahl", 4): dict(
                theme=0, target=6800, notes="Stainless fasteners for the new bottling line",
                release="One-off order for the new bottling line; Van Dijk has paid every invoice on time."),
            ("vandijk", "lefevre", 4): dict(
                supplier_reject="The printed cartons need a new artwork approval; please order again once the "
                                "proof is signed."),
            ("hartmann", "lefevre", 6): dict(
                theme=0, target=11800, notes="Packaging for the autumn machine shipments (above the approval limit)"),
        }
        first, last = start.date() + timedelta(days=4), t - timedelta(days=RECENT_DAYS)
        months = []
        y, m = first.year, first.month
        while date(y, m, 1) <= last:
            months.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        for slot, (y, m) in enumerate(months):
            for (buyer, supplier), pattern in PATTERN.items():
                count = pattern[slot % len(pattern)]
                for n in range(count):
                    lo_day, hi_day = (1, 27) if count == 1 else ((1, 13) if n == 0 else (15, 27))
                    day = min(max(date(y, m, rng.randint(lo_day, hi_day)), first), last)
                    day += timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)  # Monday
                    day = _workday(min(day, last))
                    k = (t - day).days
                    created = _at(day, rng.randint(7, 14), rng.randint(0, 59))
                    extra = specials.get((buyer, supplier, slot)) if n == 0 else None
                    themes = STREAMS[(buyer, supplier)]
                    notes, fragments, (lo, hi) = themes[extra["theme"]] if extra and "theme" in extra \
                        else rng.choice(themes)
                    target = rng.uniform(lo, hi) * SEASON[created.month]
                    if extra:
                        target = extra.get("target", target)
                        notes = extra.get("notes", notes)
                    p = Past(buyer, supplier, created, notes,
                             self._picks(supplier, fragments, target, rng.randint(2, 4)),
                             price_factor=D(1) / D("1.03") if k > PRICE_LIST_CHANGE_DAYS else None)
                    if extra and extra.get("cancel"):
                        p.cancel = (created + timedelta(hours=5), extra["cancel"])
                    elif extra and extra.get("supplier_reject"):
                        p.supplier_reject = (created + timedelta(hours=20), extra["supplier_reject"])
                    else:
                        p.release = extra.get("release") if extra else None
                        self._lifecycle(p, parts=2 if rng.random() < 0.15 else 1, closed=rng.random() < 0.45,
                                        paid_late=0.4 if buyer == "vandijk" else 0.15)
                    plans.append(p)

        # The last ten weeks, by hand: what is still open today.
        def recent(buyer, supplier, days, theme, target, **kw) -> Past:
            notes, fragments, _ = STREAMS[(buyer, supplier)][theme]
            p = Past(buyer, supplier, d(days, rng.randint(7, 13), rng.randint(0, 59)), notes,
                     self._picks(supplier, fragments, target, kw.pop("n", 3)))
            plans.append(p)
            return p

        def shipped(p: Past, ship_days, receive=True, closed=False):
            p.ack = p.created + timedelta(hours=rng.randint(2, 20))
            p.ships = [(max(d(k, rng.randint(6, 11), 15), p.ack + timedelta(hours=3)),
                        D("0.6") if i < len(ship_days) - 1 else None) for i, k in enumerate(ship_days)]
            p.receipts = [w + timedelta(days=1, hours=2) if receive else None for w, _ in p.ships]
            if closed:
                p.close = p.receipts[-1] + timedelta(days=3)
            self._invoices_for(p)
            return p

        def unpaid(p: Past, share=None, paid_days=None):
            b = p.bills[0]
            b.payments = [(d(paid_days, 10, 20), D(share))] if share else []
            b.open_at_end = True
            return p

        unpaid(shipped(recent("hartmann", "nordstahl", 68, 0, 3400), [63]))  # 30 days overdue
        unpaid(shipped(recent("hartmann", "polmet", 60, 0, 2300), [50]), share="0.4", paid_days=22)  # part-paid
        shipped(recent("hartmann", "lefevre", 52, 0, 3100), [47], closed=True)
        r4 = shipped(recent("hartmann", "nordstahl", 41, 1, 1900), [36, 27])
        r4.bills[0].payments = [(d(8, 10, 5), D(1))]
        r4.bills[0].open_at_end = False
        shipped(recent("hartmann", "alpenwerk", 34, 0, 4100), [21])
        r6 = shipped(recent("hartmann", "nordstahl", 22, 0, 2600), [16])
        r6.rejected = D(100)
        shipped(recent("hartmann", "lefevre", 15, 2, 1100), [10])
        r8 = recent("hartmann", "polmet", 9, 1, 900)
        r8.ack = r8.created + timedelta(hours=6)
        shipped(recent("hartmann", "lefevre", 5, 1, 1800), [2], receive=False)
        r10 = recent("hartmann", "polmet", 3, 0, 1500)
        r10.ack = r10.created + timedelta(hours=22)
        r10.change = "Only 60 % in stock in Poznań; the rest would follow in about four weeks on a new order."
        unpaid(shipped(recent("vandijk", "nordstahl", 44, 0, 1250), [40]))  # overdue (14 days net)
        v2 = shipped(recent("vandijk", "lefevre", 31, 0, 2200), [26])
        v2.bills[0].payments = [(d(4, 9, 40), D(1))]
        v2.bills[0].open_at_end = False
        shipped(recent("vandijk", "lefevre", 11, 1, 1600), [7])
        shipped(recent("vandijk", "polmet", 24, 0, 800, n=2), [13])
        a1 = shipped(recent("alpenwerk", "nordstahl", 26, 0, 1400), [20])
        a1.bills[0].payments = [(d(3, 11, 0), D(1))]
        a1.bills[0].open_at_end = False
        a2 = recent("alpenwerk", "nordstahl", 7, 1, 900)
        a2.ack = a2.created + timedelta(hours=4)
        return plans

    def _events(self) -> list[tuple]:
        """(phase, time, n, action, plan, arg): phase 0 = before the cut; 1 = order steps after it; 2 = invoices
        after it. Within a phase, strictly by time (so every number series is drawn in date order)."""
        ev = []

        def add(kind, when, p, arg=None):
            phase = 0 if when < self.cut else (2 if kind == "bill" else 1)
            ev.append((phase, when, len(ev), kind, p, arg))

        for p in self.plans:
            add("create", p.created, p)
            add("submit", p.created + timedelta(minutes=25), p)
            if p.cancel:
                add("cancel", p.cancel[0], p, p.cancel[1])
            if p.supplier_reject:
                add("supplier_reject", p.supplier_reject[0], p, p.supplier_reject[1])
            if p.ack:
                add("ack", p.ack, p)
            for i, (when, _) in enumerate(p.ships):
                add("ship", when, p, i)
            for i, when in enumerate(p.receipts):
                if when is not None:
                    add("receive", when, p, i)
            if p.close:
                add("close", p.close, p)
            for b in p.bills:
                add("bill", b.when, p, b)
        return sorted(ev, key=lambda e: (e[0], e[1], e[2]))

    # ------------------------------------------------------------------------------------------ running

    def run(self, phases) -> None:
        if not self.plans:
            return
        from portal.invoices.demo import ensure_settings

        ensure_settings(self.c)
        with self._quiet():
            for phase, when, _, kind, p, arg in self.events:
                if phase not in phases or p.broken:
                    continue
                try:
                    self.clock.when, self.clock.credit_checked = when, kind == "submit"
                    getattr(self, f"_{kind}")(p, when, arg)
                except DomainError as exc:  # a step the rules refuse: leave that order where it is
                    db.session.rollback()
                    p.broken = True
                    log.warning("orders demo: %s of %s -> %s on %s skipped: %s", kind, p.buyer, p.supplier,
                                when.date(), exc.message)

    @contextmanager
    def _quiet(self):
        """Historical steps send nothing now: mail and credit-check jobs are dropped (the check runs right here),
        document jobs are kept for render_documents(); their notifications and mails are deleted afterwards."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        from portal.jobs.queue import PENDING_KEY
        from portal.notifications.models import Notification, OutboxMail

        marks = {m: db.session.scalar(sa.select(sa.func.max(m.id))) or 0 for m in (Notification, OutboxMail)}

        def hold_back(session):
            pending = session.info.get(PENDING_KEY)
            if pending:
                self.documents.extend(p for p in pending if p["func"] in DOCUMENT_JOBS)
                pending.clear()

        listeners = [("before_commit", hold_back), ("after_flush", self.clock.after_flush),
                     ("before_commit", self.clock.before_commit)]
        self.clock.since = utcnow()
        for name, fn in listeners:
            event.listen(Session, name, fn)
        try:
            yield
        finally:
            self.clock.when = None
            for name, fn in listeners:
                event.remove(Session, name, fn)
            db.session.rollback()
            for model, mark in marks.items():
                db.session.execute(sa.delete(model).where(model.id > mark))
            db.session.commit()

    def _order(self, p: Past) -> PurchaseOrder:
        return db.session.get(PurchaseOrder, p.order_id)

    def _renumber(self, when: datetime, table, row_id: int, column: str, company_id: int, series: str) -> None:
        """A number drawn now for a step in an earlier year: give it back and draw one in that year's series."""
        from portal.audit.models import AuditEvent
        from portal.jobs.models import JobRecord
        from portal.numbering import DocumentCounter, format_reference, next_number

        value = db.session.scalar(sa.select(table.c[column]).where(table.c.id == row_id))
        if not value:
            return
        prefix, year, seq = value.split("-")
        if int(year) == when.year:
            return
        db.session.execute(sa.update(DocumentCounter).where(
            DocumentCounter.company_id == company_id, DocumentCounter.series == series,
            DocumentCounter.year == int(year), DocumentCounter.last_value == int(seq))
            .values(last_value=int(seq) - 1))
        new = format_reference(prefix, when.year, next_number(company_id, series, when.year), len(seq))
        db.session.execute(sa.update(table).where(table.c.id == row_id).values({column: new}))
        for model, col in ((AuditEvent, AuditEvent.detail), (JobRecord, JobRecord.title)):
            db.session.execute(sa.update(model).where(col.contains(value, autoescape=True))
                               .values({col.key: sa.func.replace(col, value, new)}))
        db.session.commit()

    def _create(self, p: Past, when, _):
        buyer, supplier = self.c[p.buyer], self.c[p.supplier]
        by_sku = {s["sku"]: i for i, s in enumerate(self.specs[p.supplier])}
        lines = _lines(self.specs[p.supplier], [(by_sku[sku], q) for sku, q in p.picks], buyer.id,
                       p.price_factor)
        lead = SUPPLIERS[p.supplier]["lead"][1] + 4
        delivery = p.delivery or _workday((when + timedelta(days=lead)).date())
        order = services.create_draft_order(self._user(p.buyer, "buyer"), supplier.id, lines, notes=p.notes,
                                            delivery_date=delivery)
        p.order_id = order.id
        self._renumber(when, PurchaseOrder.__table__, order.id, "po_number", buyer.id, "PO")

    def _submit(self, p: Past, when, _):
        from portal.credit.services import check_order, release_hold
        from portal.orders import approvals

        buyer = self._user(p.buyer, "buyer")
        order = services.submit(self._order(p), buyer, self._order(p).lock_version)
        if order.status == OrderStatus.awaiting_approval:
            approver = self._user(p.buyer, "approver")
            when = self.clock.when = when + timedelta(hours=self.rng.randint(2, 6))
            approvals.decide(self._order(p), approver, self._order(p).lock_version, "approved",
                             "Budgeted; approved.")
        when = self.clock.when = when + timedelta(minutes=1)
        check_order(p.order_id)
        order = self._order(p)
        if order.status == OrderStatus.credit_hold:  # planned (p.release), or the limit was reached
            if not p.release:
                log.info("orders demo: %s held by the credit check; released", order.po_number)
            when = self.clock.when = when + timedelta(hours=3)
            release_hold(order, self._user(p.supplier, "accounts"),
                         p.release or "Known customer, paying on time; released.")
        self._renumber(when, PurchaseOrder.__table__, p.order_id, "supplier_order_number",
                       self.c[p.supplier].id, "SO")

    def _ack(self, p: Past, when, _):
        order = self._order(p)
        decisions = {}
        if p.change:
            first = order.lines[0]
            smaller = (first.quantity * D("0.6")).to_integral_value(rounding=ROUND_FLOOR)
            if first.pack_size:
                smaller = max((smaller / first.pack_size).to_integral_value(rounding=ROUND_FLOOR), 1) \
                    * first.pack_size
            decisions[first.id] = {"action": "change", "quantity": str(smaller), "note": p.change}
        services.acknowledge(order, self._user(p.supplier, "sales"), order.lock_version, decisions)
        self._renumber(when, PurchaseOrder.__table__, p.order_id, "supplier_order_number",
                       self.c[p.supplier].id, "SO")

    def _ship(self, p: Past, when, i):
        order = self._order(p)
        share = p.ships[i][1]
        quantities = {}
        for ln in order.lines:
            left = services.open_quantity(ln)
            if left <= 0:
                continue
            q = left if share is None else (ln.quantity * share)
            if share is not None:
                pack = ln.pack_size or D(1)
                q = min(max((q / pack).to_integral_value(rounding=ROUND_FLOOR), 1) * pack, left)
            quantities[ln.id] = str(q)
        carrier = self.rng.choice(SUPPLIERS[p.supplier]["carriers"])
        tracking = f"{carrier[:3].upper()}-{when:%y%m%d}-{self.rng.randint(1000, 9999)}"
        sh = shipping.record_shipment(order, self._user(p.supplier, "sales"), order.lock_version, quantities,
                                      carrier=carrier, tracking=tracking)
        p.shipment_ids.append(sh.id)
        self._renumber(when, Shipment.__table__, sh.id, "number", self.c[p.supplier].id, "DN")

    def _receive(self, p: Past, when, i):
        order = self._order(p)
        sh = db.session.get(Shipment, p.shipment_ids[i])
        entries = {}
        if p.rejected and i == 0:
            sl = sh.lines[0]
            entries[sl.id] = {"accepted": str(sl.quantity - p.rejected), "rejected": str(p.rejected),
                              "reason": "Damaged threads (transport damage), photos sent to Nordstahl"}
        shipping.receive(order, sh.id, self._user(p.buyer, "buyer"), order.lock_version, entries)

    def _close(self, p: Past, when, _):
        order = self._order(p)
        if order.status == OrderStatus.received:
            shipping.close(order, self._user(p.buyer, "buyer"), order.lock_version)

    def _cancel(self, p: Past, when, reason):
        order = self._order(p)
        services.cancel(order, self._user(p.buyer, "buyer"), order.lock_version, reason)

    def _supplier_reject(self, p: Past, when, reason):
        order = self._order(p)
        services.reject(order, self._user(p.supplier, "sales"), order.lock_version, reason)

    def _bill(self, p: Past, when, bill: Bill):
        from portal.invoices.demo import issue_on, pay

        accounts = self._user(p.supplier, "accounts")
        if bill.shipment is not None:
            inv = issue_on(accounts, when, shipment_id=p.shipment_ids[bill.shipment])
        else:
            inv = issue_on(accounts, when, order_id=p.order_id)
        p.invoice_ids.append(inv.id)
        for paid_at, share in bill.payments:  # recorded now, dated when the money arrived
            self.clock.when = paid_at
            pay(inv.id, accounts, share, paid_at.date(), f"{PAYERS[p.buyer]} {inv.number}")

    # ------------------------------------------------------------------------------------------ today

    def hold_today(self) -> None:
        """Van Dijk orders again from Nordstahl today: its overdue invoice puts the order on credit hold."""
        vandijk, nordstahl = self.c.get("vandijk"), self.c.get("nordstahl")
        if not self.plans or vandijk is None:
            return
        by_sku = {s["sku"]: i for i, s in enumerate(self.specs["nordstahl"])}
        picks = [(by_sku[s["sku"]], 600) for s in self.specs["nordstahl"] if s["sku"].endswith("-A2")][:3]
        order = services.create_draft_order(self._user("vandijk", "buyer"), nordstahl.id,
                                            _lines(self.specs["nordstahl"], picks, vandijk.id), notes=HOLD_NOTE)
        _place(order, self._user("vandijk", "buyer"))

    def _backdate_revisions(self) -> None:
        """Revision 1 of each historical order was frozen when it was placed, before the clock moved its dates:
        freeze it again from the backdated order (its PDF is not rendered yet)."""
        from portal.orders.models import OrderRevision
        from portal.orders.revisions import po_snapshot

        ids = [p.order_id for p in self.plans if getattr(p, "order_id", None)]
        if not ids:
            return
        for rev in db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id.in_(ids),
                                                                     OrderRevision.number == 1,
                                                                     OrderRevision.pdf_file_id.is_(None))):
            order = db.session.get(PurchaseOrder, rev.order_id)
            rev.snapshot = po_snapshot(order, revision=1)
            rev.created_at = order.placed_at or rev.created_at
        db.session.commit()

    def render_documents(self) -> None:
        """The PDFs of the history. With a worker (rq) every one is queued for it. Without one the jobs would
        run in this process at about 0.3 s each, so only the framework order's and the last two weeks' documents
        are rendered here; older documents then have no PDF (and no job record waiting for one)."""
        from flask import current_app

        from portal.jobs import enqueue_after_commit
        from portal.jobs.models import JobRecord
        from portal.jobs.queue import resolve

        self._backdate_revisions()
        items, self.documents = self.documents, []
        if current_app.extensions.get("portal_jobs_mode") == "rq":
            for item in items:
                enqueue_after_commit(item["func"], *item["args"], queue=item["queue"], job_id=item["job_id"],
                                     timeout=item["timeout"])
            db.session.commit()
            return
        since = _at(self.today - timedelta(days=15), 0)
        wanted = {"portal.orders.jobs.po_pdf_job": set(), "portal.orders.jobs.delivery_note_job": set(),
                  "portal.invoices.jobs.invoice_pdf_job": set()}
        for p in self.plans:
            if p is self.plans[0] or p.created >= since:  # the framework order comes first
                wanted["portal.orders.jobs.po_pdf_job"].add(p.order_id)
                wanted["portal.orders.jobs.delivery_note_job"].update(p.shipment_ids)
                wanted["portal.invoices.jobs.invoice_pdf_job"].update(p.invoice_ids)
        skipped = []
        for item in items:
            if item["args"][0] in wanted.get(item["func"], ()):
                db.session.commit()
                resolve(item["func"])(*item["args"])  # the job itself, here (its own app context and session)
            elif len(item["args"]) > 1:
                skipped.append(item["args"][-1])
        if skipped:  # no job record left waiting for a worker that will not come
            from portal.invoices.models import Invoice

            db.session.execute(sa.update(Invoice).where(Invoice.pdf_job_id.in_(skipped)).values(pdf_job_id=None))
            db.session.execute(sa.delete(JobRecord).where(JobRecord.id.in_(skipped)))
        db.session.commit()
