"""Weighted bid scoring: criteria with weights (summing to 100 %), the team's 1–5 scores, and the ranking.

Every criterion turns into points out of its weight, ``weight × ratio`` with the ratio between 0 and 1:

- price:          lowest total / this quote's total (totals include shipping, as on the comparison);
- lead time:      shortest lead time / this quote's lead time (a quote's lead time is its longest line; a
                  quote that names none for some line scores 0; a lead time of 0 days scores the full weight);
- payment terms:  this supplier's payment days / the longest payment days offered (the terms the supplier
                  grants the buyer, portal.orders.services.payment_terms_for);
- rating:         the supplier's rating / 5: the buyer's stored rating when there is one, else the mean of the
                  free-criterion scores the buyer's team gave the supplier on other RFQs (its history), else
                  a neutral 3;
- free criteria:  the mean of the team's 1–5 scores / 5 (0 while nobody has scored the quote).

The weighted score is the sum of the points, rounded half-up to 2 places (out of 100). Only quotes that can be
awarded as a whole are ranked (complete, not expired); ties go to the lower total, then the lower supplier id.
Each service call here is one unit of work (RFQ row lock first, then the rows it writes; one commit).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa

from portal.accounts.models import Role
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.locking import lock_row
from portal.quotes import comparison
from portal.quotes.models import Quote
from portal.quotes.scoring_models import CriterionKind, QuoteScore, ScoringCriterion, SupplierRating
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus

HUNDRED = Decimal("100")
FIVE = Decimal("5")
NEUTRAL_RATING = Decimal("3")
CENT = Decimal("0.01")
MAX_CRITERIA = 12
KIND_NAMES = {
    CriterionKind.price: "Price",
    CriterionKind.lead_time: "Lead time",
    CriterionKind.payment_terms: "Payment terms",
    CriterionKind.rating: "Supplier rating",
}


def points(weight: Decimal, ratio: Decimal) -> Decimal:
    return weight * ratio


def round_score(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------- reading


def criteria_for(rfq_id: int) -> list[ScoringCriterion]:
    return list(db.session.scalars(
        sa.select(ScoringCriterion).where(ScoringCriterion.rfq_id == rfq_id).order_by(ScoringCriterion.position)))


@dataclass
class Part:
    criterion_id: int
    raw: Decimal | None  # the quote's figure (total, days, rating, mean score)
    ratio: Decimal
    points: Decimal


@dataclass
class RankedQuote:
    quote_id: int
    supplier_id: int
    supplier_name: str
    total: Decimal
    score: Decimal
    parts: dict[int, Part] = field(default_factory=dict)
    rank: int = 0
    my_scores: dict[int, int] = field(default_factory=dict)


@dataclass
class Ranking:
    criteria: list[ScoringCriterion]
    rows: list[RankedQuote]
    unranked: list[tuple[str, str]]  # (supplier name, why)
    currency: str

    @property
    def weights_total(self) -> Decimal:
        return sum((c.weight for c in self.criteria), Decimal("0"))

    def row(self, quote_id: int) -> RankedQuote | None:
        return next((r for r in self.rows if r.quote_id == quote_id), None)


def _quote_lead_time(cmp, quote_id: int) -> int | None:
    days = []
    for row in cmp.lines:
        for c in row.cells:
            if c.quote_id == quote_id and c.quoted:
                if c.lead_time_days is None:
                    return None
                days.append(c.lead_time_days)
    return max(days) if days else None


def _ratings(buyer_id: int, supplier_ids: list[int], rfq_id: int) -> dict[int, Decimal]:
    """The rating (1–5) per supplier: stored, else the history of the team's free scores, else neutral
    (portal/suppliers/ratings.py, where the buyer also sees and sets it)."""
    from portal.suppliers.ratings import ratings_of

    return {sid: r.effective for sid, r in ratings_of(buyer_id, supplier_ids, exclude_rfq_id=rfq_id).items()}


def _payment_terms(buyer_id: int, rows) -> dict[int, int]:
    """The payment days each supplier grants the buyer (its credit account's terms, else the portal's default,
    as portal.orders.services.payment_terms_for) per quote, in one query."""
    from portal.credit.models import CreditAccount
    from portal.orders.services import DEFAULT_PAYMENT_TERMS_DAYS

    days = dict(db.session.execute(
        sa.select(CreditAccount.supplier_company_id, CreditAccount.payment_terms_days)
        .where(CreditAccount.buyer_company_id == buyer_id,
               CreditAccount.supplier_company_id.in_([r.supplier_id for r in rows]))).all())
    return {r.quote_id: DEFAULT_PAYMENT_TERMS_DAYS if days.get(r.supplier_id) is None else days[r.supplier_id]
            for r in rows}


def ranking(rfq: Rfq, cmp=None, *, viewer_id: int | None = None) -> Ranking:
    """The weighted scores of the RFQ's awardable quotes, best first (a constant number of queries)."""
    criteria = criteria_for(rfq.id)
    cmp = cmp or comparison.build(rfq)
    rankable = [q for q in cmp.quotes if q.complete and not q.expired]
    unranked = [(q.supplier_name, "expired" if q.expired else "incomplete")
                for q in cmp.quotes if not (q.complete and not q.expired)]
    rows = [RankedQuote(q.quote_id, q.supplier_id, q.supplier_name, q.total, Decimal("0")) for q in rankable]
    if not criteria or not rows:
        return Ranking(criteria, rows, unranked, cmp.currency)

    kinds = {c.kind for c in criteria}
    lead = {r.quote_id: _quote_lead_time(cmp, r.quote_id) for r in rows} if CriterionKind.lead_time in kinds else {}
    terms = _payment_terms(rfq.buyer_company_id, rows) if CriterionKind.payment_terms in kinds else {}
    ratings = (_ratings(rfq.buyer_company_id, [r.supplier_id for r in rows], rfq.id)
               if CriterionKind.rating in kinds else {})
    custom_ids = [c.id for c in criteria if c.kind == CriterionKind.custom]
    means: dict[tuple[int, int], Decimal] = {}
    mine: dict[tuple[int, int], int] = {}
    if custom_ids:
        for cid, qid, total, n in db.session.execute(
                sa.select(QuoteScore.criterion_id, QuoteScore.quote_id, sa.func.sum(QuoteScore.score),
                          sa.func.count(QuoteScore.id))
                .where(QuoteScore.criterion_id.in_(custom_ids))
                .group_by(QuoteScore.criterion_id, QuoteScore.quote_id)):
            means[(cid, qid)] = Decimal(int(total)) / Decimal(int(n))
        if viewer_id is not None:
            for cid, qid, score in db.session.execute(
                    sa.select(QuoteScore.criterion_id, QuoteScore.quote_id, QuoteScore.score)
                    .where(QuoteScore.criterion_id.in_(custom_ids), QuoteScore.scored_by_id == viewer_id)):
                mine[(cid, qid)] = score

    lowest_total = min(r.total for r in rows)
    known_leads = [d for d in lead.values() if d is not None]
    shortest = min(known_leads) if known_leads else None
    longest_terms = max(terms.values()) if terms else 0

    for r in rows:
        total = Decimal("0")
        for c in criteria:
            raw: Decimal | None
            if c.kind == CriterionKind.price:
                raw = r.total
                ratio = Decimal("1") if r.total == 0 else (lowest_total / r.total)
            elif c.kind == CriterionKind.lead_time:
                d = lead.get(r.quote_id)
                raw = None if d is None else Decimal(d)
                if d is None:
                    ratio = Decimal("0")
                elif d == 0:
                    ratio = Decimal("1")
                else:
                    ratio = Decimal(shortest) / Decimal(d)
            elif c.kind == CriterionKind.payment_terms:
                raw = Decimal(terms[r.quote_id])
                ratio = Decimal("1") if longest_terms == 0 else raw / Decimal(longest_terms)
            elif c.kind == CriterionKind.rating:
                raw = ratings[r.supplier_id]
                ratio = raw / FIVE
            else:
                raw = means.get((c.id, r.quote_id))
                ratio = Decimal("0") if raw is None else raw / FIVE
                if (c.id, r.quote_id) in mine:
                    r.my_scores[c.id] = mine[(c.id, r.quote_id)]
            p = points(Decimal(c.weight), ratio)
            r.parts[c.id] = Part(c.id, raw, ratio, p)
            total += p
        r.score = round_score(total)
    rows.sort(key=lambda r: (-r.score, r.total, r.supplier_id))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return Ranking(criteria, rows, unranked, cmp.currency)


# --------------------------------------------------------------------------------------------- changing


def _check_buyer(rfq: Rfq, actor) -> None:
    if actor.company_id != rfq.buyer_company_id:
        raise NotFound(_l("No such RFQ."))
    if not actor.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can set the scoring of an RFQ."))


def _lock(rfq: Rfq, actor) -> Rfq:
    _check_buyer(rfq, actor)
    return lock_row(Rfq, rfq.id, where=(Rfq.visible_to(actor.company_id),), not_found=_l("No such RFQ."))


def _check_open_for_scoring(rfq: Rfq) -> None:
    if rfq.status == RfqStatus.awarded:
        raise InvalidTransition(_l("%(reference)s is awarded: its scoring is part of the decision and stays as it "
                                   "was."), reference=rfq.reference)
    if rfq.status == RfqStatus.cancelled:
        raise InvalidTransition(_l("%(reference)s was cancelled; there is nothing to score."), reference=rfq.reference)


def _weight(value, n: int) -> Decimal:
    text = str(value if value is not None else "").strip().replace("%", "").strip()
    try:
        w = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_l("Criterion %(num)s: the weight %(text)s is not a number (e.g. 40)."),
                               num=n, text=repr(text[:20]))
    if not w.is_finite() or w <= 0 or w > HUNDRED:
        raise ValidationFailed(_l("Criterion %(num)s: the weight must be more than 0 and at most 100 %%."), num=n)
    if w != w.quantize(CENT):
        raise ValidationFailed(_l("Criterion %(num)s: use at most two decimals for a weight."), num=n)
    return w


def _pct(d: Decimal) -> str:
    return f"{d.normalize():f}"


def set_criteria(rfq: Rfq, actor, specs: list[dict]) -> list[ScoringCriterion]:
    """Replace the RFQ's criteria with ``specs`` ([{"kind", "name", "weight", "id"?}]); weights sum to 100.
    A criterion that keeps its id keeps its team scores; criteria left out are deleted with their scores."""
    try:
        rfq = _lock(rfq, actor)
        _check_open_for_scoring(rfq)
        if not specs:
            raise ValidationFailed(_l("Add at least one criterion."))
        if len(specs) > MAX_CRITERIA:
            raise ValidationFailed(_l("At most %(max_criteria)s criteria."), max_criteria=MAX_CRITERIA)
        existing = {c.id: c for c in criteria_for(rfq.id)}
        seen_kinds: set[CriterionKind] = set()
        parsed = []
        for n, spec in enumerate(specs, 1):
            raw_kind = str(spec.get("kind") or "").strip()
            try:
                kind = CriterionKind(raw_kind)
            except ValueError:
                raise ValidationFailed(_l("Criterion %(num)s: choose a kind (price, lead time, payment terms, "
                                          "rating or a free criterion)."),
                                       num=n)
            if kind != CriterionKind.custom:
                if kind in seen_kinds:
                    raise ValidationFailed(_l("%(kind_names)s is listed twice; keep it once."),
                                           kind_names=KIND_NAMES[kind])
                seen_kinds.add(kind)
            name = str(spec.get("name") or "").strip()[:120] or KIND_NAMES.get(kind, "")
            if not name:
                raise ValidationFailed(_l("Criterion %(num)s: name the free criterion (e.g. Quality of samples)."),
                                       num=n)
            weight = _weight(spec.get("weight"), n)
            cid = spec.get("id")
            if cid not in (None, ""):
                try:
                    cid = int(cid)
                except (TypeError, ValueError):
                    cid = -1
                if cid not in existing:
                    raise ValidationFailed(_l("Criterion %(num)s: no such criterion on %(reference)s."),
                                           num=n, reference=rfq.reference)
            else:
                cid = None
            parsed.append((cid, kind, name, weight))
        total = sum((w for *_, w in parsed), Decimal("0"))
        if total != HUNDRED:
            raise ValidationFailed(_l("The weights add up to %(pct)s %%; they must add up to exactly 100 %%."),
                                   pct=_pct(total))

        keep = {cid for cid, *_ in parsed if cid is not None}
        for cid, c in existing.items():
            if cid not in keep:
                db.session.delete(c)
        db.session.flush()
        # Positions are unique: move the kept ones out of the way first.
        for c in existing.values():
            if c.id in keep:
                c.position = c.position + 1000
        db.session.flush()
        out = []
        for pos, (cid, kind, name, weight) in enumerate(parsed, 1):
            if cid is not None:
                c = existing[cid]
                if c.kind != kind:
                    raise ValidationFailed(_l("Criterion %(pos)s: its kind cannot change; remove it and add a new "
                                              "one."), pos=pos)
                c.name, c.weight, c.position = name, weight, pos
            else:
                c = ScoringCriterion(rfq_id=rfq.id, kind=kind, name=name, weight=weight, position=pos)
                db.session.add(c)
            out.append(c)
        db.session.flush()
        audit("rfq", rfq.id, "scoring_criteria_set", actor=actor, company_id=rfq.buyer_company_id,
              detail="; ".join(f"{name} {_pct(w)} %" for _, _, name, w in parsed),
              visible_to_company_id=rfq.buyer_company_id)
        db.session.commit()
        return out
    except Exception:
        db.session.rollback()
        raise


def _score(value, label: str) -> int:
    text = str(value if value is not None else "").strip()
    try:
        if isinstance(value, bool):
            raise ValueError
        d = Decimal(text)
        if d != d.to_integral_value():
            raise ValueError
        score = int(d)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_l("%(label)s: a score is a whole number from 1 to 5."), label=label)
    if not 1 <= score <= 5:
        raise ValidationFailed(_l("%(label)s: the score %(score)s is outside 1–5; score from 1 (poor) to 5 "
                                  "(excellent)."), label=label, score=score)
    return score


def set_scores(rfq: Rfq, actor, scores: list[dict]) -> int:
    """The actor's 1–5 scores: [{"criterion_id", "quote_id", "score"}] (an empty score removes the actor's).
    All or nothing; returns how many scores were stored or changed."""
    try:
        rfq = _lock(rfq, actor)
        _check_open_for_scoring(rfq)
        criteria = {c.id: c for c in criteria_for(rfq.id)}
        quotes = {q.id: q for q in db.session.scalars(
            sa.select(Quote).where(Quote.rfq_id == rfq.id, Quote.status == QuoteStatus.submitted,
                                   Quote.current_version_id.is_not(None)))}
        existing = {(s.criterion_id, s.quote_id): s for s in db.session.scalars(
            sa.select(QuoteScore).where(QuoteScore.criterion_id.in_(list(criteria) or [0]),
                                        QuoteScore.scored_by_id == actor.id))}
        changed = 0
        for item in scores:
            try:
                cid, qid = int(item.get("criterion_id")), int(item.get("quote_id"))
            except (TypeError, ValueError):
                raise ValidationFailed(_l("Each score names a criterion and a quote."))
            c = criteria.get(cid)
            if c is None:
                raise ValidationFailed(_l("Criterion %(cid)s is not a criterion of %(reference)s."),
                                       cid=cid, reference=rfq.reference)
            if c.kind != CriterionKind.custom:
                raise ValidationFailed(_l("%(name)s is computed from the quotes; only free criteria are scored by "
                                          "hand."), name=c.name)
            q = quotes.get(qid)
            if q is None:
                raise ValidationFailed(_l("Quote %(qid)s is not a submitted quote of %(reference)s."),
                                       qid=qid, reference=rfq.reference)
            label = f"{c.name} for {q.supplier.display_name}"
            raw = item.get("score")
            row = existing.get((cid, qid))
            if raw is None or str(raw).strip() == "":
                if row is not None:
                    db.session.delete(row)
                    changed += 1
                continue
            value = _score(raw, label)
            if row is None:
                db.session.add(QuoteScore(criterion_id=cid, quote_id=qid, scored_by_id=actor.id, score=value,
                                          scored_at=utcnow()))
                changed += 1
            elif row.score != value:
                row.score, row.scored_at = value, utcnow()
                changed += 1
        db.session.flush()
        if changed:
            audit("rfq", rfq.id, "quotes_scored", actor=actor, company_id=rfq.buyer_company_id,
                  detail=f"{changed} score(s) by {actor.name}", visible_to_company_id=rfq.buyer_company_id)
        db.session.commit()
        return changed
    except Exception:
        db.session.rollback()
        raise


def set_rating(actor, supplier_company_id: int, rating) -> SupplierRating:
    """The buyer's stored rating of a supplier (1–5, two decimals): portal.suppliers.ratings.set_rating."""
    from portal.suppliers import ratings

    return ratings.set_rating(actor, supplier_company_id, rating)


# --------------------------------------------------------------------------------------------- the award


def record_for_award(rfq: Rfq, actor) -> None:
    """Inside the award's transaction: the weighted scores behind the decision go into the audit trail
    (the buyer's alone). Nothing when the RFQ has no criteria."""
    r = ranking(rfq)
    if not r.criteria:
        return
    weights = ", ".join(f"{c.name} {_pct(Decimal(c.weight))} %" for c in r.criteria)
    rows = []
    for row in r.rows:
        parts = ", ".join(f"{c.name} {round_score(row.parts[c.id].points)}" for c in r.criteria)
        rows.append(f"#{row.rank} {row.supplier_name} {row.score} ({parts})")
    detail = f"Weighted scores at the award ({weights}): " + ("; ".join(rows) or "no quote could be ranked") + "."
    if r.unranked:
        detail += " Not ranked: " + ", ".join(f"{n} ({why})" for n, why in r.unranked) + "."
    audit("rfq", rfq.id, "award_scores", actor=actor, company_id=rfq.buyer_company_id, detail=detail,
          visible_to_company_id=rfq.buyer_company_id)
