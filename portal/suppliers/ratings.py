"""A buyer's rating of a supplier, 1–5: the one procurement stores (supplier page, API), else the supplier's
history with the buyer (the mean of the 1–5 scores the buyer's team gave its quotes on free scoring criteria),
else a neutral 3. It is the figure the "supplier rating" criterion of weighted scoring uses
(portal/quotes/scoring.py reads it from here). Setting or clearing it is one unit of work with an audit row
(entity ``supplier_rating``, id = the supplier, visible to the buyer alone); ratings are the buyer's own: another
company never sees them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from portal.accounts.models import Company, Role, User
from portal.audit.models import AuditEvent
from portal.audit.services import record
from portal.db import db
from portal.i18n import _l
from portal.errors import Forbidden, ValidationFailed
from portal.money import to_decimal
from portal.quotes.models import Quote
from portal.quotes.scoring_models import QuoteScore, ScoringCriterion, SupplierRating
from portal.rfq.models import Rfq
from portal.suppliers.services import _supplier_company, unit_of_work

ONE, FIVE = Decimal("1"), Decimal("5")
NEUTRAL_RATING = Decimal("3")
CENT = Decimal("0.01")
RANGE = "A rating is a number from 1 to 5 with at most two decimals, such as 4.5."
ENTITY = "supplier_rating"


@dataclass(frozen=True)
class Rating:
    supplier_id: int
    stored: Decimal | None  # the buyer's stored rating
    stored_at: datetime | None
    history: Decimal | None  # the mean of the team's free-criterion scores of the supplier's quotes
    history_scores: int  # how many scores that mean is of

    @property
    def source(self) -> str:
        """stored | history | neutral: where the rating used in scoring comes from."""
        if self.stored is not None:
            return "stored"
        return "history" if self.history is not None else "neutral"

    @property
    def effective(self) -> Decimal:
        """The rating weighted scoring uses."""
        return {"stored": self.stored, "history": self.history}.get(self.source, NEUTRAL_RATING)


def ratings_of(buyer_id: int, supplier_ids, *, exclude_rfq_id: int | None = None) -> dict[int, Rating]:
    """The buyer's rating of each supplier, in two statements whatever the number of suppliers. Scores given on
    ``exclude_rfq_id`` do not count towards the history (an RFQ's own scores do not rate its suppliers)."""
    ids = sorted({int(s) for s in supplier_ids})
    if not ids:
        return {}
    history_stmt = (
        sa.select(Quote.supplier_company_id, sa.func.avg(QuoteScore.score), sa.func.count(QuoteScore.score))
        .join(QuoteScore, QuoteScore.quote_id == Quote.id)
        .join(ScoringCriterion, ScoringCriterion.id == QuoteScore.criterion_id)
        .join(Rfq, Rfq.id == Quote.rfq_id)
        .where(Rfq.buyer_company_id == buyer_id, Quote.supplier_company_id.in_(ids))
        .group_by(Quote.supplier_company_id))
    if exclude_rfq_id is not None:
        history_stmt = history_stmt.where(Quote.rfq_id != exclude_rfq_id)
    history = {sid: (Decimal(str(avg)).quantize(CENT, rounding=ROUND_HALF_UP), int(n))
               for sid, avg, n in db.session.execute(history_stmt) if avg is not None}
    stored = {sid: (Decimal(rating), at) for sid, rating, at in db.session.execute(
        sa.select(SupplierRating.supplier_company_id, SupplierRating.rating, SupplierRating.updated_at)
        .where(SupplierRating.buyer_company_id == buyer_id, SupplierRating.supplier_company_id.in_(ids)))}
    return {sid: Rating(supplier_id=sid, stored=stored.get(sid, (None, None))[0],
                        stored_at=stored.get(sid, (None, None))[1], history=history.get(sid, (None, 0))[0],
                        history_scores=history.get(sid, (None, 0))[1]) for sid in ids}


def _require_buyer(actor: User, *, write: bool) -> None:
    if not actor.company.is_buyer:
        raise Forbidden(_l("Only a buying company rates suppliers."))
    if write and not actor.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can rate suppliers."))
    if not write and not actor.has_role(Role.procurement, Role.admin):
        raise Forbidden(_l("Only procurement staff or administrators see supplier ratings."))


def _supplier(actor: User, supplier_id) -> Company:
    return _supplier_company(supplier_id, actor)  # 404 for no such supplier and for the buyer itself


def rating_of(actor: User, supplier_id) -> Rating:
    """The actor's company's rating of the supplier (procurement and admins of a buying company)."""
    _require_buyer(actor, write=False)
    supplier = _supplier(actor, supplier_id)
    return ratings_of(actor.company_id, [supplier.id])[supplier.id]


def parse_rating(value) -> Decimal:
    """A typed rating (the person's number format) as a Decimal of two places in [1, 5], else a sentence."""
    if value is None or str(value).strip() == "":
        raise ValidationFailed(RANGE, errors={"rating": _l("Enter a number from 1 to 5.")})
    try:
        d = to_decimal(value, "Rating", places=2, max_digits=6)
    except ValidationFailed:
        raise ValidationFailed(RANGE, errors={"rating": _l("Enter a number from 1 to 5.")}) from None
    if not ONE <= d <= FIVE:
        raise ValidationFailed(RANGE, errors={"rating": _l("Enter a number from 1 to 5.")})
    return d.quantize(CENT)


def _stored_row(buyer_id: int, supplier_id: int) -> SupplierRating | None:
    return db.session.scalar(sa.select(SupplierRating).where(SupplierRating.buyer_company_id == buyer_id,
                                                             SupplierRating.supplier_company_id == supplier_id))


@unit_of_work
def set_rating(actor: User, supplier_id, value) -> SupplierRating:
    """Store the buyer's rating of a supplier (procurement). Bad input: a sentence, nothing saved."""
    _require_buyer(actor, write=True)
    supplier = _supplier(actor, supplier_id)
    rating = parse_rating(value)
    row = _stored_row(actor.company_id, supplier.id)
    before = row.rating if row is not None else None
    if row is None:
        row = SupplierRating(buyer_company_id=actor.company_id, supplier_company_id=supplier.id, rating=rating)
        db.session.add(row)
    else:
        row.rating = rating
    record(ENTITY, supplier.id, "rating_set", actor=actor, company_id=actor.company_id,
           from_state=f"{before:.2f}" if before is not None else None, to_state=f"{rating:.2f}",
           detail=f"{supplier.display_name}: rating {rating:.2f}"
                  + (f" (was {before:.2f})" if before is not None else ""),
           visible_to_company_id=actor.company_id)
    db.session.flush()
    return row


@unit_of_work
def clear_rating(actor: User, supplier_id) -> None:
    """Remove the stored rating: scoring falls back to the supplier's history (else 3). No stored rating: no-op."""
    _require_buyer(actor, write=True)
    supplier = _supplier(actor, supplier_id)
    row = _stored_row(actor.company_id, supplier.id)
    if row is None:
        return
    record(ENTITY, supplier.id, "rating_cleared", actor=actor, company_id=actor.company_id,
           from_state=f"{row.rating:.2f}", detail=f"{supplier.display_name}: stored rating {row.rating:.2f} removed",
           visible_to_company_id=actor.company_id)
    db.session.delete(row)


def rating_history(buyer_id: int, supplier_id: int, limit: int = 20) -> list[AuditEvent]:
    """The buyer's last changes of its rating of the supplier, newest first."""
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == ENTITY, AuditEvent.entity_id == supplier_id,
                                    AuditEvent.visible_to_company_id == buyer_id)
        .order_by(AuditEvent.id.desc()).limit(limit)))
