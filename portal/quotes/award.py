"""Awarding an RFQ: to one supplier's quote as a whole, or line by line (a split; lines may stay unawarded).

An RFQ is awarded at most once, whatever happens at the same time (double clicks, two tabs, two people):
the RFQ row is locked with SELECT ... FOR UPDATE and its status re-checked under the lock, the posted RFQ
version must still be current (a stale page is refused), and the unique constraint on awards.rfq_id is the
backstop (an IntegrityError becomes Conflict("This RFQ has already been awarded.")).

Award lines carry the quantity that will be ordered (after MOQ / pack-size rounding), the tier price at that
quantity and the rounded line total (portal.quotes.pricing), and the quote line of the supplier's current
version. The ordering domain turns the award into purchase orders later (Award.orders_created_at stays None).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.locking import check_fresh, lock_row
from portal.money import ZERO, quantize
from portal.notifications.messages import joined, money, msg
from portal.notifications.services import company_users, notify
from portal.quotes.comparison import load_lines, load_quote_lines, load_submitted_quotes, price_cell
from portal.quotes.models import Award, AwardLine, Quote
from portal.quotes.scoring import record_for_award
from portal.quotes.states import QuoteStatus
from portal.rfq import states as rfq_states
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from portal.suppliers.services import check_awardable

ALREADY = "This RFQ has already been awarded."
STALE = (
    _l("The RFQ changed after you opened this page (it was amended, closed or awarded). Reload the comparison and "
       "check it again before awarding.")
)
SUPPLIER_ROLES = (Role.sales, Role.admin)


def award_whole(rfq: Rfq, actor, quote_id, note: str = "", *, expected_version=None) -> Award:
    """Award every line of the RFQ to one supplier's (complete, valid) quote."""
    return _award(
        rfq,
        actor,
        mode="whole",
        whole_quote_id=quote_id,
        choices=None,
        note=note,
        expected_version=expected_version,
    )


def award_split(rfq: Rfq, actor, choices: dict, note: str = "", *, expected_version=None) -> Award:
    """Award lines: ``choices`` = {rfq_line_id: quote_id}. At least one line; the others stay open."""
    return _award(
        rfq,
        actor,
        mode="split",
        whole_quote_id=None,
        choices=choices,
        note=note,
        expected_version=expected_version,
    )


def award_for(rfq_id: int, company_id: int) -> Award | None:
    return db.session.scalar(
        sa.select(Award).where(Award.rfq_id == rfq_id, Award.buyer_company_id == company_id)
    )


# --------------------------------------------------------------------------------------------- internals


def _int(value, what: str) -> int:
    if value is None or str(value).strip() == "":
        raise ValidationFailed(_l("Choose the %(what)s to award."), what=what.lower())
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(_l("%(what)s %(value)s is not a valid id."), what=what, value=repr(value))


def _lock(rfq: Rfq, actor) -> Rfq:
    """Re-load the RFQ under a row lock (PostgreSQL: SELECT ... FOR UPDATE), with fresh column values."""
    return lock_row(Rfq, rfq.id, where=(Rfq.visible_to(actor.company_id),), not_found=_l("No such RFQ."))


def _check_actor(rfq: Rfq, actor) -> None:
    if actor.company_id != rfq.buyer_company_id:
        raise NotFound(_l("No such RFQ."))
    if not actor.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can award an RFQ."))


def _check_rfq(rfq: Rfq, expected_version) -> None:
    if rfq.status == RfqStatus.awarded:
        raise Conflict(ALREADY)
    if rfq.status == RfqStatus.open:
        raise InvalidTransition(_l("%(reference)s is still open for quotes: close it first, then award it."),
                                reference=rfq.reference)
    rfq_states.check(rfq.status, RfqStatus.awarded)
    if not rfq.prices_visible_to_buyer:
        raise InvalidTransition(_l("The sealed bids have not been opened yet; they open when the RFQ is closed."))
    check_fresh(rfq, expected_version, STALE, required=False, version_attr="version")  # under the row lock


def _check_quote(quote: Quote | None, quote_id, rfq: Rfq, today) -> None:
    if quote is None:
        raise ValidationFailed(_l("Quote %(quote_id)s is not a quote for %(reference)s."),
                               quote_id=quote_id, reference=rfq.reference)
    name = quote.supplier.display_name
    if quote.status == QuoteStatus.withdrawn:
        raise ValidationFailed(_l("%(name)s withdrew its quote; a withdrawn quote cannot be awarded."), name=name)
    if quote.status != QuoteStatus.submitted or quote.current_version_id is None:
        raise ValidationFailed(_l("%(name)s has not submitted its quote; only submitted quotes can be awarded."),
                               name=name)
    v = quote.current_version
    if v.valid_until is not None and v.valid_until < today:
        raise ValidationFailed(
            _l("The quote of %(name)s expired on %(valid_until)s; ask %(name)s to renew it before awarding."),
            name=name, valid_until=v.valid_until.isoformat()
        )


def _award(rfq, actor, *, mode, whole_quote_id, choices, note, expected_version) -> Award:
    try:
        award = _award_in_transaction(
            rfq,
            actor,
            mode=mode,
            whole_quote_id=whole_quote_id,
            choices=choices,
            note=note,
            expected_version=expected_version,
        )
        db.session.commit()
        return award
    except IntegrityError:
        db.session.rollback()
        if db.session.scalar(sa.select(Award.id).where(Award.rfq_id == rfq.id)) is not None:
            raise Conflict(ALREADY)
        raise
    except StaleDataError:
        db.session.rollback()
        raise Conflict(STALE)
    except Exception:
        db.session.rollback()
        raise


def _award_in_transaction(rfq, actor, *, mode, whole_quote_id, choices, note, expected_version) -> Award:
    _check_actor(rfq, actor)
    rfq = _lock(rfq, actor)
    _check_actor(rfq, actor)
    _check_rfq(rfq, expected_version)
    today = utcnow().date()
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed(_l("The note is too long (at most 2,000 characters)."))

    lines = load_lines(rfq.id)
    line_by_id = {ln.id: ln for ln in lines}
    submitted = load_submitted_quotes(rfq.id)
    submitted_by_id = {q.id: q for q in submitted}

    # Resolve the requested {rfq_line_id: quote_id}.
    if mode == "whole":
        qid = _int(whole_quote_id, "Quote")
        quote = submitted_by_id.get(qid) or _any_quote(qid, rfq.id)
        _check_quote(quote, qid, rfq, today)
        wanted = {ln.id: qid for ln in lines}
    else:
        if not choices:
            raise ValidationFailed(_l("Choose a supplier for at least one line to award."))
        wanted = {}
        for raw_line, raw_quote in choices.items():
            lid, qid = _int(raw_line, "Line"), _int(raw_quote, "Quote")
            if lid not in line_by_id:
                raise ValidationFailed(_l("Line id %(lid)s is not a line of %(reference)s."),
                                       lid=lid, reference=rfq.reference)
            wanted[lid] = qid
        for qid in sorted(set(wanted.values())):
            _check_quote(submitted_by_id.get(qid) or _any_quote(qid, rfq.id), qid, rfq, today)

    quote_lines = load_quote_lines([submitted_by_id[qid].current_version_id for qid in set(wanted.values())])

    award = Award(
        rfq_id=rfq.id,
        buyer_company_id=rfq.buyer_company_id,
        mode=mode,
        note=note,
        awarded_by_id=actor.id,
        awarded_at=utcnow(),
    )
    problems = []
    per_supplier: dict[int, list] = defaultdict(list)
    for ln in lines:
        if ln.id not in wanted:
            continue
        q = submitted_by_id[wanted[ln.id]]
        ql = quote_lines.get(q.current_version_id, {}).get(ln.id)
        cell = price_cell(ln, ql, quote_id=q.id, supplier_id=q.supplier_company_id, currency=rfq.currency)
        name = q.supplier.display_name
        if cell.state == "declined":
            reason = f" ({ql.decline_reason})" if ql.decline_reason else ""
            problems.append(f"line {ln.position}: {name} declined it{reason}")
            continue
        if cell.state == "missing":
            problems.append(f"line {ln.position}: {name} did not quote it")
            continue
        award.lines.append(
            AwardLine(
                rfq_line_id=ln.id,
                quote_id=q.id,
                quote_line_id=ql.id,
                supplier_company_id=q.supplier_company_id,
                quantity=cell.ordered_qty,
                unit_price=cell.unit_price,
                line_total=cell.line_total,
            )
        )
        per_supplier[q.id].append(cell)
    if problems:
        if mode == "whole":
            raise ValidationFailed(
                _l("The quote of %(display_name)s does not cover every line (%(problems)s). Award the lines one by "
                   "one instead."),
                display_name=submitted_by_id[wanted[lines[0].id]].supplier.display_name, problems='; '.join(problems)
            )
        raise ValidationFailed(_l("These lines cannot be awarded as chosen: %(problems)s."), problems="; ".join(problems))
    if not award.lines:
        raise ValidationFailed(_l("%(reference)s has no lines to award."), reference=rfq.reference)

    check_awardable(rfq.buyer_company_id, {ln.supplier_company_id for ln in award.lines})
    db.session.add(award)
    from_state = rfq.status
    rfq.status = RfqStatus.awarded
    rfq.awarded_at = award.awarded_at
    db.session.flush()  # the unique constraint on awards.rfq_id answers here (IntegrityError)

    summary = _summary(rfq, per_supplier, submitted_by_id, len(lines))
    audit(
        "rfq",
        rfq.id,
        "awarded",
        actor=actor,
        company_id=rfq.buyer_company_id,
        from_state=from_state,
        to_state=RfqStatus.awarded,
        detail=msg(_l("%(summary)s Note: %(note)s"), summary=summary, note=note) if note else summary,
        visible_to_company_id=rfq.buyer_company_id,
    )
    record_for_award(rfq, actor)  # the weighted scores behind the decision, in the audit trail
    _notify(rfq, award, per_supplier, submitted, summary)
    emit([rfq.buyer_company_id, *sorted({ln.supplier_company_id for ln in award.lines})], "award.made", award)
    return award


def _any_quote(quote_id: int, rfq_id: int) -> Quote | None:
    """A quote of this RFQ that is not submitted (draft / withdrawn), for a precise message; else None."""
    return db.session.scalar(sa.select(Quote).where(Quote.id == quote_id, Quote.rfq_id == rfq_id))


def _summary(rfq, per_supplier, quotes_by_id, line_count):
    """The award in one sentence (audit trail and the buyer's notice), worded for the reader."""
    parts = []
    awarded = 0
    for qid, cells in sorted(per_supplier.items(), key=lambda kv: quotes_by_id[kv[0]].supplier.display_name):
        total = sum((c.line_total for c in cells), ZERO)
        awarded += len(cells)
        parts.append(msg(_l("%(supplier)s: %(lines)s, %(total)s"),
                         supplier=quotes_by_id[qid].supplier.display_name, lines=_n_lines(len(cells)),
                         total=money(total, rfq.currency, symbol=True)))
    return msg(_l("Awarded %(awarded)s of %(count)s lines of %(reference)s — %(parts)s."), awarded=awarded,
               count=line_count, reference=rfq.reference, parts=joined(parts))


def _n_lines(n: int):
    return msg(_l("1 line")) if n == 1 else msg(_l("%(n)s lines"), n=n)


def _link(endpoint: str, **values) -> str | None:
    try:
        return url_for(endpoint, _external=False, **values)
    except Exception:  # noqa: BLE001 - the endpoint belongs to another domain and may not exist yet
        return None


def _notify(rfq, award, per_supplier, submitted, summary) -> None:
    rfq_link = _link("rfq.detail", rfq_id=rfq.id) or f"/rfqs/{rfq.id}"
    for q in submitted:
        cells = per_supplier.get(q.id)
        people = company_users(q.supplier_company_id, *SUPPLIER_ROLES)
        if cells:
            total = quantize(sum((c.line_total for c in cells), ZERO), rfq.currency)
            lines = _n_lines(len(cells))
            notify(
                people,
                kind="rfq_awarded",
                link=rfq_link,
                title=msg(_l("You won %(lines)s of %(reference)s"), lines=lines, reference=rfq.reference),
                body=msg(_l("%(buyer)s awarded you %(lines)s of %(reference)s “%(title)s”, worth %(total)s before "
                            "shipping. A purchase order follows."), buyer=rfq.buyer.display_name, lines=lines,
                         reference=rfq.reference, title=rfq.title, total=money(total, rfq.currency)),
            )
        else:
            notify(
                people,
                kind="rfq_not_awarded",
                link=rfq_link,
                title=msg(_l("Not awarded: %(reference)s"), reference=rfq.reference),
                body=msg(_l("%(buyer)s has awarded %(reference)s “%(title)s”; your quote was not selected this "
                            "time. Thank you for quoting."), buyer=rfq.buyer.display_name,
                         reference=rfq.reference, title=rfq.title),
            )
    notify(
        company_users(rfq.buyer_company_id, Role.procurement),
        kind="rfq_awarded",
        link=_link("compare.comparison", rfq_id=rfq.id) or rfq_link,
        title=msg(_l("%(reference)s awarded"), reference=rfq.reference),
        body=summary,
    )


def award_totals(award: Award) -> list[dict]:
    """Per supplier: lines, lines total (for the page and the audit); the award lines must be loaded."""
    out: dict[int, dict] = {}
    for al in award.lines:
        row = out.setdefault(
            al.quote_id,
            {
                "quote_id": al.quote_id,
                "supplier_id": al.supplier_company_id,
                "lines": [],
                "lines_total": ZERO,
            },
        )
        row["lines"].append(al)
        row["lines_total"] += Decimal(al.line_total)
    return list(out.values())
