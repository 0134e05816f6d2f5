"""The buyer's comparison of the submitted quotes of one RFQ (lines x suppliers), and its frozen snapshot.

``build(rfq)`` loads everything in a constant number of queries, whatever the number of lines or suppliers:
the RFQ's lines (1), the submitted quotes with their current versions and suppliers (1), and every quote line
of those versions (1). Only submitted quotes count (``status == submitted`` and a current version); drafts and
withdrawn quotes do not.

Rules (each has a test in tests/quotes/test_comparison*.py):
- per cell: ordered quantity after MOQ / pack size, unit price after quantity breaks at that quantity, line
  total (portal.quotes.pricing), lead time, declined with reason, or "not quoted";
- best value per line: lowest line total among quoted (not declined) cells of quotes that are not expired;
  ties go to the shorter lead time, then to the lower supplier id;
- per quote: lines total + shipping, lines quoted, complete (every line quoted), expired (valid_until passed);
- cheapest complete quote (total incl. shipping, expired quotes excluded) and the cheapest split (best
  supplier per line: best line totals + the shipping of each supplier used), and the saving between them.

Whether the buyer may see prices at all is ``rfq.prices_visible_to_buyer`` (sealed bids stay closed until the
RFQ closes); the views check it before calling anything here that shows prices.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import contains_eager, lazyload

from portal.accounts.models import Company, Role
from portal.db import db, utcnow
from portal.errors import Forbidden, NotFound
from portal.i18n import _l
from portal.money import ZERO, quantize
from portal.quotes import pricing
from portal.quotes.models import Quote, QuoteLine, QuoteVersion
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq, RfqLine

NO_LEAD_TIME = 10**9  # sorts an unknown lead time after every known one


@dataclass
class Cell:
    """One supplier's answer for one RFQ line."""

    quote_id: int
    supplier_id: int
    rfq_line_id: int
    state: str  # "quoted" | "declined" | "missing"
    quote_line_id: int | None = None
    requested_qty: Decimal | None = None
    ordered_qty: Decimal | None = None
    unit_price: Decimal | None = None
    line_total: Decimal | None = None
    lead_time_days: int | None = None
    moq: Decimal | None = None
    pack_size: Decimal | None = None
    decline_reason: str | None = None
    note: str | None = None  # MOQ / pack-size adjustment
    expired: bool = False
    best: bool = False

    @property
    def quoted(self) -> bool:
        return self.state == "quoted"

    @property
    def adjusted(self) -> bool:
        return self.quoted and self.ordered_qty != self.requested_qty


@dataclass
class LineRow:
    id: int
    position: int
    description: str
    part_number: str | None
    quantity: Decimal
    unit: str
    target_price: Decimal | None
    cells: list[Cell] = field(default_factory=list)  # in the order of Comparison.quotes
    best_quote_id: int | None = None

    @property
    def best(self) -> Cell | None:
        for c in self.cells:
            if c.best:
                return c
        return None

    @property
    def offers(self) -> int:
        return sum(1 for c in self.cells if c.quoted)


@dataclass
class QuoteColumn:
    quote_id: int
    supplier_id: int
    supplier_name: str
    version_number: int
    submitted_at: object
    valid_until: date | None
    expired: bool
    needs_reconfirmation: bool
    shipping: Decimal
    lines_total: Decimal = ZERO
    lines_quoted: int = 0
    lines_declined: int = 0
    missing_positions: list[int] = field(default_factory=list)
    complete: bool = False
    best_lines: int = 0

    @property
    def total(self) -> Decimal:
        return self.lines_total + self.shipping

    @property
    def awardable(self) -> bool:
        return not self.expired


@dataclass
class Split:
    """Best supplier per line. ``choices`` maps rfq_line_id -> quote_id (lines nobody quoted are absent)."""

    choices: dict[int, int]
    lines_total: Decimal
    shipping_total: Decimal
    quote_ids: list[int]
    uncovered_positions: list[int]

    @property
    def total(self) -> Decimal:
        return self.lines_total + self.shipping_total

    @property
    def covers_all(self) -> bool:
        return not self.uncovered_positions


@dataclass
class Comparison:
    rfq_id: int
    reference: str
    title: str
    currency: str
    status: str
    lines: list[LineRow]
    quotes: list[QuoteColumn]
    cheapest_complete: QuoteColumn | None
    split: Split | None
    today: date

    @property
    def saving(self) -> Decimal | None:
        """Cheapest complete total minus the split total (negative: the split costs more)."""
        if self.cheapest_complete is None or self.split is None or not self.split.covers_all:
            return None
        return self.cheapest_complete.total - self.split.total

    def quote(self, quote_id: int) -> QuoteColumn | None:
        for q in self.quotes:
            if q.quote_id == quote_id:
                return q
        return None

    def quote_for_supplier(self, supplier_id: int) -> QuoteColumn | None:
        for q in self.quotes:
            if q.supplier_id == supplier_id:
                return q
        return None

    def cell(self, rfq_line_id: int, quote_id: int) -> Cell | None:
        for line in self.lines:
            if line.id == rfq_line_id:
                for c in line.cells:
                    if c.quote_id == quote_id:
                        return c
        return None

    @property
    def complete_quotes(self) -> list[QuoteColumn]:
        return [q for q in self.quotes if q.complete]

    @property
    def has_expired(self) -> bool:
        return any(q.expired for q in self.quotes)


# --------------------------------------------------------------------------------------------- loading


def load_lines(rfq_id: int) -> list[RfqLine]:
    return list(
        db.session.scalars(
            sa.select(RfqLine).where(RfqLine.rfq_id == rfq_id).order_by(RfqLine.position, RfqLine.id)
        )
    )


def load_submitted_quotes(rfq_id: int, *, for_update: bool = False) -> list[Quote]:
    """Submitted quotes with their current version and supplier, in one query."""
    stmt = (
        sa.select(Quote)
        .join(QuoteVersion, Quote.current_version_id == QuoteVersion.id)
        .options(contains_eager(Quote.current_version), lazyload(Quote.rfq))
        .where(
            Quote.rfq_id == rfq_id,
            Quote.status == QuoteStatus.submitted,
            Quote.current_version_id.is_not(None),
        )
        .order_by(Quote.supplier_company_id)
    )
    return list(db.session.scalars(stmt).unique())


QUOTE_LINE_COLUMNS = (
    QuoteLine.id,
    QuoteLine.version_id,
    QuoteLine.rfq_line_id,
    QuoteLine.unit_price,
    QuoteLine.moq,
    QuoteLine.pack_size,
    QuoteLine.lead_time_days,
    QuoteLine.declined,
    QuoteLine.decline_reason,
    # as text: most lines have no breaks, and decoding 10,000 JSON values is slow
    sa.cast(QuoteLine.price_breaks, sa.Text).label("price_breaks"),
)


def load_quote_lines(version_ids: list[int]) -> dict[int, dict[int, object]]:
    """{version_id: {rfq_line_id: row}} for all given versions, in one query.

    Rows (not ORM objects: 10,000 of them load several times faster) with the QuoteLine attribute names;
    ``price_breaks`` is JSON text, decoded by ``breaks_of``.
    """
    out: dict[int, dict[int, object]] = defaultdict(dict)
    if not version_ids:
        return out
    for row in db.session.execute(
        sa.select(*QUOTE_LINE_COLUMNS).where(QuoteLine.version_id.in_(version_ids))
    ):
        out[row.version_id][row.rfq_line_id] = row
    return out


def breaks_of(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        return [] if text in ("", "[]", "null") else json.loads(text)
    return list(value)


# --------------------------------------------------------------------------------------------- building


def price_cell(
    rfq_line: RfqLine, ql, *, quote_id: int, supplier_id: int, currency: str, expired: bool = False
) -> Cell:
    """Apply MOQ, pack size and quantity breaks to one quote line (shared by the comparison and the award)."""
    if ql is None:
        return Cell(
            quote_id=quote_id,
            supplier_id=supplier_id,
            rfq_line_id=rfq_line.id,
            state="missing",
            requested_qty=rfq_line.quantity,
            expired=expired,
        )
    if ql.declined:
        return Cell(
            quote_id=quote_id,
            supplier_id=supplier_id,
            rfq_line_id=rfq_line.id,
            state="declined",
            quote_line_id=ql.id,
            requested_qty=rfq_line.quantity,
            decline_reason=ql.decline_reason,
            expired=expired,
        )
    ordered = pricing.ordered_quantity(rfq_line.quantity, ql.moq, ql.pack_size)
    unit = pricing.unit_price_at(ordered, ql.unit_price, breaks_of(ql.price_breaks))
    return Cell(
        quote_id=quote_id,
        supplier_id=supplier_id,
        rfq_line_id=rfq_line.id,
        state="quoted",
        quote_line_id=ql.id,
        requested_qty=rfq_line.quantity,
        ordered_qty=ordered,
        unit_price=unit,
        line_total=pricing.line_total(ordered, unit, currency),
        lead_time_days=ql.lead_time_days,
        moq=ql.moq,
        pack_size=ql.pack_size,
        note=pricing.adjustment_note(rfq_line.quantity, ordered, ql.moq, ql.pack_size, rfq_line.unit),
        expired=expired,
    )


def _best_key(cell: Cell):
    lead = cell.lead_time_days if cell.lead_time_days is not None else NO_LEAD_TIME
    return (cell.line_total, lead, cell.supplier_id)


def build(rfq: Rfq, *, today: date | None = None) -> Comparison:
    """The comparison of every submitted quote of ``rfq`` (three queries, whatever the size)."""
    today = today or utcnow().date()
    currency = rfq.currency
    rfq_lines = load_lines(rfq.id)
    quotes = load_submitted_quotes(rfq.id)
    lines_by_version = load_quote_lines([q.current_version_id for q in quotes])

    columns: list[QuoteColumn] = []
    for q in quotes:
        v = q.current_version
        columns.append(
            QuoteColumn(
                quote_id=q.id,
                supplier_id=q.supplier_company_id,
                supplier_name=q.supplier.display_name
                if q.supplier is not None
                else f"Supplier {q.supplier_company_id}",
                version_number=v.number,
                submitted_at=v.submitted_at or q.submitted_at,
                valid_until=v.valid_until,
                expired=bool(v.valid_until and v.valid_until < today),
                needs_reconfirmation=q.needs_reconfirmation,
                shipping=quantize(v.shipping_cost or ZERO, currency),
            )
        )
    version_of = {q.id: q.current_version_id for q in quotes}

    rows: list[LineRow] = []
    for rl in rfq_lines:
        row = LineRow(
            id=rl.id,
            position=rl.position,
            description=rl.description,
            part_number=rl.part_number,
            quantity=rl.quantity,
            unit=rl.unit,
            target_price=rl.target_price,
        )
        for col in columns:
            ql = lines_by_version.get(version_of[col.quote_id], {}).get(rl.id)
            cell = price_cell(
                rl,
                ql,
                quote_id=col.quote_id,
                supplier_id=col.supplier_id,
                currency=currency,
                expired=col.expired,
            )
            row.cells.append(cell)
            if cell.quoted:
                col.lines_total += cell.line_total
                col.lines_quoted += 1
            else:
                col.missing_positions.append(rl.position)
                if cell.state == "declined":
                    col.lines_declined += 1
        candidates = [c for c in row.cells if c.quoted and not c.expired]
        if candidates:
            best = min(candidates, key=_best_key)
            best.best = True
            row.best_quote_id = best.quote_id
        rows.append(row)

    by_id = {c.quote_id: c for c in columns}
    for col in columns:
        col.complete = bool(rfq_lines) and col.lines_quoted == len(rfq_lines)
    for row in rows:
        if row.best_quote_id is not None:
            by_id[row.best_quote_id].best_lines += 1

    complete = [c for c in columns if c.complete and not c.expired]
    cheapest = min(complete, key=lambda c: (c.total, c.supplier_id)) if complete else None

    split = None
    choices = {r.id: r.best_quote_id for r in rows if r.best_quote_id is not None}
    if choices:
        used = sorted(set(choices.values()), key=lambda qid: (by_id[qid].supplier_name, qid))
        split = Split(
            choices=choices,
            lines_total=sum((r.best.line_total for r in rows if r.best_quote_id is not None), ZERO),
            shipping_total=sum((by_id[qid].shipping for qid in used), ZERO),
            quote_ids=used,
            uncovered_positions=[r.position for r in rows if r.best_quote_id is None],
        )

    # Columns: awardable complete quotes first (cheapest first), then incomplete ones, expired ones last.
    order = sorted(columns, key=lambda c: (c.expired, not c.complete, c.total, c.supplier_id))
    pos = {c.quote_id: i for i, c in enumerate(order)}
    for row in rows:
        row.cells.sort(key=lambda cell: pos[cell.quote_id])

    return Comparison(
        rfq_id=rfq.id,
        reference=rfq.reference,
        title=rfq.title,
        currency=currency,
        status=rfq.status.value,
        lines=rows,
        quotes=order,
        cheapest_complete=cheapest,
        split=split,
        today=today,
    )


# --------------------------------------------------------------------------------------------- access


def check_viewer(rfq: Rfq, user) -> None:
    """Only the buyer company's procurement people see the comparison (others: NotFound / Forbidden)."""
    if user.company_id != rfq.buyer_company_id:
        raise NotFound(_l("No such RFQ."))
    if not user.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can compare and award quotes."))


def sealed_sentence(deadline_text: str) -> str:
    return gettext("Sealed bids: prices are revealed when the RFQ closes at %(deadline)s.", deadline=deadline_text)


def ensure_prices_visible(rfq: Rfq, deadline_text: str | None = None) -> None:
    if not rfq.prices_visible_to_buyer:
        raise Forbidden(sealed_sentence(deadline_text or rfq.deadline.strftime("%Y-%m-%d %H:%M UTC")))


def submitted_count(rfq_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Quote.id)).where(
                Quote.rfq_id == rfq_id,
                Quote.status == QuoteStatus.submitted,
                Quote.current_version_id.is_not(None),
            )
        )
        or 0
    )


# --------------------------------------------------------------------------------------------- snapshot


def _s(value) -> str | None:
    return None if value is None else str(value)


def snapshot(
    cmp: Comparison, rfq: Rfq, *, generated_by: str = "", locale: str = "en_GB", timezone: str = "UTC"
) -> dict:
    """A plain, JSON-serialisable dict of the comparison: what the PDF is rendered from."""
    buyer = db.session.get(Company, rfq.buyer_company_id)
    by_id = {q.quote_id: q for q in cmp.quotes}
    lines = []
    for row in cmp.lines:
        best = row.best
        alt = sorted((c for c in row.cells if c.quoted and not c.expired and not c.best), key=_best_key)
        lines.append(
            {
                "position": row.position,
                "description": row.description,
                "part_number": row.part_number or "",
                "quantity": _s(row.quantity),
                "unit": row.unit,
                "offers": row.offers,
                "best": None
                if best is None
                else {
                    "supplier": by_id[best.quote_id].supplier_name,
                    "ordered_qty": _s(best.ordered_qty),
                    "unit_price": _s(best.unit_price),
                    "line_total": _s(best.line_total),
                    "lead_time_days": best.lead_time_days,
                    "note": best.note or "",
                },
                "next_total": _s(alt[0].line_total) if alt else None,
            }
        )
    quotes = [
        {
            "supplier": q.supplier_name,
            "version": q.version_number,
            "lines_quoted": q.lines_quoted,
            "lines_total": _s(q.lines_total),
            "shipping": _s(q.shipping),
            "total": _s(q.total),
            "complete": q.complete,
            "expired": q.expired,
            "best_lines": q.best_lines,
            "valid_until": q.valid_until.isoformat() if q.valid_until else None,
        }
        for q in cmp.quotes
    ]
    split = None
    if cmp.split is not None:
        split = {
            "lines_total": _s(cmp.split.lines_total),
            "shipping_total": _s(cmp.split.shipping_total),
            "total": _s(cmp.split.total),
            "suppliers": [by_id[qid].supplier_name for qid in cmp.split.quote_ids],
            "covered": len(cmp.split.choices),
            "uncovered_positions": cmp.split.uncovered_positions,
        }
    cheapest = None
    if cmp.cheapest_complete is not None:
        c = cmp.cheapest_complete
        cheapest = {
            "supplier": c.supplier_name,
            "lines_total": _s(c.lines_total),
            "shipping": _s(c.shipping),
            "total": _s(c.total),
        }
    return {
        "kind": "comparison",
        "award": _award_snapshot(cmp, rfq),
        "generated_at": utcnow().isoformat(),
        "generated_by": generated_by,
        "locale": locale,
        "timezone": timezone,
        "currency": cmp.currency,
        "rfq": {
            "id": rfq.id,
            "reference": rfq.reference,
            "title": rfq.title,
            "status": rfq.status.value,
            "deadline": rfq.deadline.isoformat(),
            "sealed": rfq.sealed,
            "delivery_address": rfq.delivery_address or "",
            "buyer": buyer.legal_name if buyer else "",
        },
        "line_count": len(cmp.lines),
        "quotes": quotes,
        "lines": lines,
        "cheapest_complete": cheapest,
        "split": split,
        "saving": _s(cmp.saving),
    }


def _award_snapshot(cmp: Comparison, rfq: Rfq) -> dict | None:
    from portal.accounts.models import User
    from portal.quotes.models import Award, AwardLine

    award = db.session.scalar(sa.select(Award).where(Award.rfq_id == rfq.id))
    if award is None:
        return None
    position = {row.id: row.position for row in cmp.lines}
    names = {q.quote_id: q.supplier_name for q in cmp.quotes}
    shipping = {q.quote_id: q.shipping for q in cmp.quotes}
    per_quote: dict[int, dict] = {}
    for al in db.session.scalars(sa.select(AwardLine).where(AwardLine.award_id == award.id)):
        row = per_quote.setdefault(
            al.quote_id,
            {
                "supplier": names.get(al.quote_id, f"Quote {al.quote_id}"),
                "positions": [],
                "lines_total": ZERO,
            },
        )
        row["positions"].append(position.get(al.rfq_line_id, 0))
        row["lines_total"] += quantize(al.line_total, cmp.currency)
    rows = []
    for qid, row in sorted(per_quote.items(), key=lambda kv: kv[1]["supplier"]):
        ship = shipping.get(qid, ZERO)
        rows.append(
            {
                "supplier": row["supplier"],
                "positions": sorted(row["positions"]),
                "lines": len(row["positions"]),
                "lines_total": _s(row["lines_total"]),
                "shipping": _s(ship),
                "total": _s(row["lines_total"] + ship),
            }
        )
    by = db.session.get(User, award.awarded_by_id)
    return {
        "mode": award.mode,
        "note": award.note,
        "awarded_at": award.awarded_at.isoformat(),
        "awarded_by": by.name if by else "",
        "rows": rows,
        "lines": sum(r["lines"] for r in rows),
    }


# --------------------------------------------------------------------------------------------- PDF job

PDF_JOB = "portal.quotes.compare_jobs.comparison_pdf_job"


def start_pdf(rfq: Rfq, actor, *, deadline_text: str | None = None):
    """Queue the comparison PDF on the documents queue; returns the visible JobRecord. Commits."""
    from portal.jobs import start_tracked

    check_viewer(rfq, actor)
    ensure_prices_visible(rfq, deadline_text)
    rec = start_tracked(
        PDF_JOB,
        rfq.id,
        kind="comparison-pdf",
        title=f"Comparison PDF · {rfq.reference}",
        company_id=actor.company_id,
        user_id=actor.id,
        queue="documents",
    )
    db.session.commit()
    return rec
