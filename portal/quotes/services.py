"""Supplier quotes: drafts, submission, revisions, withdrawal, re-confirmation, expiry and sealed visibility.

Every write service here is one unit of work: it locks the RFQ row (FOR SHARE) and then the Quote row
(FOR UPDATE) — always in that order, the order the RFQ domain uses when it amends or closes an RFQ —
re-reads them, checks the optimistic ``lock_version`` the form carried, checks that the RFQ still accepts
quotes, changes what it must, records the audit event, queues notifications and commits once. Any error rolls
everything back.

Sealed bidding: until the RFQ is opened (``rfq.prices_visible_to_buyer``) the buyer learns who submitted and
when — never a price, a total, a line, a term or a note. ``buyer_can_see_prices`` is the one switch every
buyer-facing view asks.
"""
from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.audit.services import record
from portal.csvutil import read_csv, safe_cell
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.errors import say
from portal.money import ZERO, minor_unit, quantize, to_decimal
from portal.notifications.messages import day, msg
from portal.notifications.services import notify_company
from portal.quotes import amendments, outcome, pricing, states
from portal.quotes.models import Quote, QuoteAttachment, QuoteLine, QuoteVersion
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq, RfqInvitation, RfqLine
from portal.rfq.states import RfqStatus

STALE_MESSAGE = _l("This quote was changed in another tab or by a colleague; reload to see the latest version.")
MAX_BREAKS = 20
MAX_LEAD_TIME_DAYS = 3650
MAX_REASON = 500
MAX_TERMS = 200
MAX_NOTES = 5000
PRICE_PLACES = 4
QUANTITY_PLACES = 4
TRUE_WORDS = {"1", "y", "yes", "true", "on", "x", "declined", "decline"}
FALSE_WORDS = {"", "0", "n", "no", "false", "off"}

# The line fields a form, a CSV row or an API call may give, as raw text or already typed values.
LINE_FIELDS = ("unit_price", "price_breaks", "moq", "pack_size", "lead_time_days", "declined",
               "decline_reason")
FIELD_LABELS = {"unit_price": "unit price", "price_breaks": "price breaks", "moq": "minimum order quantity",
                "pack_size": "pack size", "lead_time_days": "lead time", "declined": "declined",
                "decline_reason": "decline reason"}
HEADER_FIELDS = ("valid_until", "delivery_terms", "shipping_cost", "notes")

# Attachments: what suppliers may upload with a quote.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20
ATTACHMENT_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "gif": "image/gif", "webp": "image/webp", "csv": "text/csv",
}

CSV_COLUMNS = ["rfq_line_id", "position", "part_number", "description", "quantity", "unit", "unit_price",
               "price_breaks", "moq", "pack_size", "lead_time_days", "declined", "decline_reason"]
CSV_REQUIRED = ["rfq_line_id"]


def line_key(rfq_line_id: int, name: str) -> str:
    """The key of one cell's error in ValidationFailed.errors."""
    return f"lines.{rfq_line_id}.{name}"


# ============================================================================================ visibility

def buyer_can_see_prices(rfq: Rfq) -> bool:
    """Sealed bidding: the buyer sees prices (and every commercial detail) only once the RFQ is opened,
    or at once on an unsealed RFQ. Every buyer-facing view of quotes asks this."""
    return bool(rfq.prices_visible_to_buyer)


def is_invited(rfq: Rfq, company_id: int) -> bool:
    return db.session.scalar(
        sa.select(RfqInvitation.id).where(RfqInvitation.rfq_id == rfq.id,
                                          RfqInvitation.supplier_company_id == company_id)) is not None


def find_quote(rfq_id: int, supplier_company_id: int) -> Quote | None:
    """The supplier's quote on an RFQ (with its draft and current version), or None."""
    return db.session.scalar(
        sa.select(Quote).where(Quote.rfq_id == rfq_id, Quote.supplier_company_id == supplier_company_id)
        .options(joinedload(Quote.draft_version), joinedload(Quote.current_version)))


def rfq_lines(rfq_id: int) -> list[RfqLine]:
    return list(db.session.scalars(
        sa.select(RfqLine).where(RfqLine.rfq_id == rfq_id).order_by(RfqLine.position)))


def version_lines(version_ids) -> dict[int, list[QuoteLine]]:
    """Lines of several versions in one query: {version_id: [QuoteLine, ...]}."""
    out: dict[int, list[QuoteLine]] = {vid: [] for vid in version_ids}
    if not out:
        return out
    for ql in db.session.scalars(sa.select(QuoteLine).where(QuoteLine.version_id.in_(list(out)))
                                 .order_by(QuoteLine.version_id, QuoteLine.rfq_line_id)):
        out[ql.version_id].append(ql)
    return out


def versions_of(quote: Quote, *, include_draft: bool) -> list[QuoteVersion]:
    stmt = (sa.select(QuoteVersion).where(QuoteVersion.quote_id == quote.id)
            .options(joinedload(QuoteVersion.submitted_by)).order_by(QuoteVersion.number.desc()))
    if not include_draft:
        stmt = stmt.where(QuoteVersion.submitted_at.is_not(None))
    return list(db.session.scalars(stmt))


def attachments_of(quote: Quote, *, for_buyer: bool) -> list[QuoteAttachment]:
    """The supplier sees every attachment; the buyer only those uploaded by the latest submission (an
    attachment added to an unsubmitted revision is part of the draft) and only when prices are visible."""
    if for_buyer and (not buyer_can_see_prices(quote.rfq) or quote.submitted_at is None):
        return []
    stmt = sa.select(QuoteAttachment).where(QuoteAttachment.quote_id == quote.id).order_by(QuoteAttachment.id)
    if for_buyer:
        stmt = stmt.where(QuoteAttachment.uploaded_at <= quote.submitted_at)
    return list(db.session.scalars(stmt))


# ============================================================================================ pricing

@dataclass
class VersionTotals:
    subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    total: Decimal = ZERO
    priced: int = 0
    declined: int = 0
    missing: int = 0
    lines: dict = field(default_factory=dict)  # rfq_line_id -> (order qty, unit price, line total)

    @property
    def complete(self) -> bool:
        return self.missing == 0 and self.declined == 0


def version_totals(version: QuoteVersion, lines: list[QuoteLine], rfq_lines_: list[RfqLine],
                   currency: str) -> VersionTotals:
    """Totals at the requested quantities with the comparison's pricing rules (portal.quotes.pricing: MOQ
    and pack rounding, the break price at that quantity, line totals rounded to the currency's minor unit),
    summed, shipping added."""
    by_line = {ql.rfq_line_id: ql for ql in lines}
    t = VersionTotals(shipping=quantize(version.shipping_cost or ZERO, currency))
    for rl in rfq_lines_:
        ql = by_line.get(rl.id)
        if ql is None:
            t.missing += 1
            continue
        if ql.declined:
            t.declined += 1
            continue
        qty = pricing.ordered_quantity(rl.quantity, ql.moq, ql.pack_size)
        price = pricing.unit_price_at(qty, ql.unit_price, ql.price_breaks)
        total = pricing.line_total(qty, price, currency)
        t.lines[rl.id] = (qty, price, total)
        t.subtotal += total
        t.priced += 1
    t.total = t.subtotal + t.shipping
    return t


# ============================================================================================ parsing

def format_breaks(breaks) -> str:
    return "; ".join(f"{b['min_quantity']}:{b['unit_price']}" for b in (breaks or []))


def _dstr(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _CellError(Exception):
    pass


def _number(raw, *, places: int, minimum: Decimal | None = ZERO, strictly_positive: bool = False,
            what: str = "a number such as 12.50") -> Decimal:
    try:
        d = to_decimal(raw, "value", places=places)
    except ValidationFailed as exc:
        msg = (exc.errors or {}).get("value", exc.message)
        if msg.startswith("Enter a number"):
            msg = f"Enter {what}."
        raise _CellError(msg) from exc
    if strictly_positive and d <= 0:
        raise _CellError("Must be more than 0.")
    if minimum is not None and d < minimum:
        raise _CellError("Must be 0 or more.")
    return d


def parse_price_breaks(raw) -> list[dict]:
    """Parse "500:0.95; 1000:0.90" (or a list of {"min_quantity", "unit_price"}) into sorted decimal-string
    dicts. Raises _CellError with a sentence naming the offending part."""
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        pairs = []
        for b in raw:
            if not isinstance(b, dict) or "min_quantity" not in b or "unit_price" not in b:
                raise _CellError("Each price break needs a minimum quantity and a unit price.")
            mq, up = str(b["min_quantity"]), str(b["unit_price"])
            pairs.append((mq, up, f"{mq}:{up}"))
    else:
        text = str(raw).strip()
        if not text:
            return []
        pairs = []
        for part in re.split(r"[;\n|]+", text):
            part = part.strip()
            if not part:
                continue
            bits = re.split(r"\s*[:=@]\s*", part)
            if len(bits) != 2 or not bits[0] or not bits[1]:
                raise _CellError(f"“{part}” is not quantity:price — write breaks like 500:0.95; 1000:0.90.")
            pairs.append((bits[0], bits[1], part))
    if len(pairs) > MAX_BREAKS:
        raise _CellError(f"At most {MAX_BREAKS} price breaks per line.")
    out = []
    prev = None
    for q_raw, p_raw, label in pairs:
        try:
            qty = _number(q_raw, places=QUANTITY_PLACES, strictly_positive=True, what="a quantity")
        except _CellError as exc:
            raise _CellError(f"Break “{label}”: the quantity — {exc}") from None
        try:
            price = _number(p_raw, places=PRICE_PLACES, what="a price")
        except _CellError as exc:
            raise _CellError(f"Break “{label}”: the price — {exc}") from None
        if prev is not None:
            if qty == prev:
                raise _CellError(f"Break quantity {_dstr(qty)} appears twice.")
            if qty < prev:
                raise _CellError(
                    f"Break quantities must increase: {_dstr(prev)} is followed by {_dstr(qty)}.")
        prev = qty
        out.append({"min_quantity": _dstr(qty), "unit_price": _dstr(price)})
    return out


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, (list, tuple)) and not v)


def _flag(raw) -> bool:
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _CellError("Write yes or no.")


def _clean_line(rl: RfqLine, raw: dict, errors: dict) -> dict | None:
    """Validate one line's raw input. Returns the QuoteLine values, or None for an untouched line."""
    lid = rl.id

    def err(name, msg):
        errors[line_key(lid, name)] = msg

    try:
        declined = _flag(raw.get("declined"))
    except _CellError as exc:
        err("declined", str(exc))
        return None
    if declined:
        reason = (raw.get("decline_reason") or "").strip()
        if not reason:
            err("decline_reason", "Give a reason for declining this line.")
        elif len(reason) > MAX_REASON:
            err("decline_reason", f"Keep the reason under {MAX_REASON} characters.")
        return {"rfq_line_id": lid, "declined": True, "decline_reason": reason, "unit_price": None,
                "price_breaks": [], "moq": None, "pack_size": None, "lead_time_days": None}
    commercial = ("unit_price", "price_breaks", "moq", "pack_size", "lead_time_days")
    if all(_blank(raw.get(k)) for k in commercial):
        return None  # not answered yet: a draft may leave it open
    out = {"rfq_line_id": lid, "declined": False, "decline_reason": None, "unit_price": None,
           "price_breaks": [], "moq": None, "pack_size": None, "lead_time_days": None}
    if _blank(raw.get("unit_price")):
        err("unit_price", "Enter a unit price, or decline the line.")
    else:
        try:
            out["unit_price"] = _number(raw["unit_price"], places=PRICE_PLACES, what="a price such as 12.50")
        except _CellError as exc:
            err("unit_price", str(exc))
    try:
        out["price_breaks"] = parse_price_breaks(raw.get("price_breaks"))
    except _CellError as exc:
        err("price_breaks", str(exc))
    for name, what in (("moq", "a quantity"), ("pack_size", "a quantity")):
        if not _blank(raw.get(name)):
            try:
                out[name] = _number(raw[name], places=QUANTITY_PLACES, strictly_positive=True, what=what)
            except _CellError as exc:
                err(name, str(exc))
    lead = raw.get("lead_time_days")
    if not _blank(lead):
        text = str(lead).strip()
        if not re.fullmatch(r"\d+", text):
            err("lead_time_days", "Whole days only, e.g. 14.")
        elif int(text) > MAX_LEAD_TIME_DAYS:
            err("lead_time_days", f"At most {MAX_LEAD_TIME_DAYS} days.")
        else:
            out["lead_time_days"] = int(text)
    return out


def _clean_header(rfq: Rfq, raw: dict, errors: dict) -> dict:
    out = {}
    if "valid_until" in raw:
        v = raw.get("valid_until")
        if _blank(v):
            out["valid_until"] = None
        else:
            if isinstance(v, date):
                d = v
            else:
                try:
                    d = date.fromisoformat(str(v).strip())
                except ValueError:
                    d = None
                    errors["valid_until"] = "Enter a date like 2027-03-31."
            if d is not None:
                if d < utcnow().date():
                    errors["valid_until"] = "The validity date cannot be in the past."
                else:
                    out["valid_until"] = d
    if "delivery_terms" in raw:
        terms = (raw.get("delivery_terms") or "").strip()
        if len(terms) > MAX_TERMS:
            errors["delivery_terms"] = f"Keep the delivery terms under {MAX_TERMS} characters."
        out["delivery_terms"] = terms
    if "shipping_cost" in raw:
        s = raw.get("shipping_cost")
        if _blank(s):
            out["shipping_cost"] = ZERO
        else:
            places = minor_unit(rfq.currency)
            try:
                out["shipping_cost"] = _number(s, places=places, what="an amount such as 120.00")
            except _CellError as exc:
                msg = str(exc)
                if "decimal places" in msg:
                    msg = f"{rfq.currency} amounts have at most {places} decimal places."
                errors["shipping_cost"] = msg
    if "notes" in raw:
        notes = (raw.get("notes") or "").strip()
        if len(notes) > MAX_NOTES:
            errors["notes"] = f"Keep the notes under {MAX_NOTES} characters."
        out["notes"] = notes
    return out


def _positions(ps: list[int], limit: int = 15) -> str:
    ps = sorted(ps)
    shown = ", ".join(str(p) for p in ps[:limit])
    if len(ps) > limit:
        shown += f" and {len(ps) - limit} more"
    return shown


def validate_input(rfq: Rfq, actor: User, header: dict, lines: list[dict],
                   lines_of_rfq: list[RfqLine] | None = None) -> tuple[dict, list[dict]]:
    """Validate a quote's header and lines without touching the database (besides reading the RFQ lines).

    Returns (clean header, clean lines). Raises ValidationFailed whose ``errors`` name every bad cell:
    header fields by name, line cells as ``lines.<rfq_line_id>.<field>``.
    """
    require_open(rfq, actor)
    lines_of_rfq = lines_of_rfq if lines_of_rfq is not None else rfq_lines(rfq.id)
    errors: dict[str, str] = {}
    clean_header = _clean_header(rfq, header or {}, errors)
    by_id = {rl.id: rl for rl in lines_of_rfq}
    seen: set[int] = set()
    clean_lines = []
    unknown = []
    for raw in lines or []:
        try:
            lid = int(raw.get("rfq_line_id"))
        except (TypeError, ValueError):
            lid = None
        rl = by_id.get(lid)
        if rl is None:
            unknown.append(str(raw.get("rfq_line_id")))
            continue
        if lid in seen:
            errors[line_key(lid, "unit_price")] = "This line is given twice."
            continue
        seen.add(lid)
        cl = _clean_line(rl, raw, errors)
        if cl is not None:
            clean_lines.append(cl)
    if unknown:
        errors["lines"] = f"Unknown RFQ line id(s): {', '.join(unknown[:10])}."
    if errors:
        bad_positions = sorted({by_id[int(k.split('.')[1])].position for k in errors if k.startswith("lines.")
                                and k.count(".") == 2})
        parts = []
        if bad_positions:
            parts.append(f"line{'s' if len(bad_positions) > 1 else ''} {_positions(bad_positions)}")
        header_bad = [FIELD_LABELS.get(k, k.replace('_', ' ')) for k in errors if k in HEADER_FIELDS]
        if header_bad:
            parts.append(", ".join(header_bad))
        if "lines" in errors:
            parts.append(errors["lines"])
        n = len(errors)
        raise ValidationFailed(
            _l("Nothing was saved: %(num)s entr%(v)s correcting (%(parts)s). Each is marked beside its field."),
            num=n, v='ies need' if n > 1 else 'y needs', parts='; '.join(parts), errors=errors)
    return clean_header, clean_lines


# ============================================================================================ guards

def _fmt_time(when, actor: User | None) -> str:
    from portal.web import format_moment

    if actor is None:
        return format_moment(when, "en_GB", "UTC", zone=True)
    return format_moment(when, actor.locale or "en_GB", actor.timezone or "UTC", zone=True)


def require_open(rfq: Rfq, actor: User | None) -> None:
    """Quotes are written only while the RFQ is open and before its deadline."""
    if rfq.accepting_quotes:
        return
    if rfq.status == RfqStatus.cancelled:
        raise InvalidTransition(_l("This RFQ was cancelled; quotes are locked."))
    if outcome.lock_reason(rfq) == "closed_early":
        raise InvalidTransition(_l("%(display_name)s closed this RFQ early on %(fmt_time)s; quotes are locked."),
                                display_name=rfq.buyer.display_name, fmt_time=_fmt_time(rfq.closed_at, actor))
    if rfq.deadline <= utcnow():
        raise InvalidTransition(
            _l("The deadline for this RFQ passed at %(fmt_time)s; quotes are locked."),
            fmt_time=_fmt_time(rfq.deadline, actor))
    raise InvalidTransition(_l("This RFQ is %(value)s; quotes are locked."), value=rfq.status.value)


def _require_supplier(actor: User, rfq: Rfq) -> None:
    """The actor is sales staff of a supplier invited to this (published) RFQ."""
    if not actor.company.is_supplier or not actor.has_role(Role.sales):
        raise Forbidden(_l("Only the sales staff of an invited supplier can quote."))
    if rfq.status == RfqStatus.draft or rfq.buyer_company_id == actor.company_id or not is_invited(
            rfq, actor.company_id):
        raise NotFound(_l("No such RFQ."))


def _check_lock(quote: Quote, expected) -> None:
    """The form's lock_version against the quote locked and re-read in this transaction (portal.locking)."""
    from portal.locking import check_fresh

    check_fresh(quote, expected, STALE_MESSAGE, required=False)


def _lock_rfq(rfq_id: int) -> Rfq:
    rfq = db.session.scalar(sa.select(Rfq).where(Rfq.id == rfq_id).with_for_update(read=True, of=Rfq)
                            .execution_options(populate_existing=True))
    if rfq is None:
        raise NotFound(_l("No such RFQ."))
    return rfq


def _lock_quote(quote_or_id, actor: User) -> tuple[Rfq, Quote]:
    """Lock the RFQ (shared) and then the supplier's Quote (exclusive), re-reading both."""
    qid = getattr(quote_or_id, "id", quote_or_id)
    rfq_id = db.session.scalar(sa.select(Quote.rfq_id).where(Quote.id == qid))
    if rfq_id is None:
        raise NotFound(_l("No such quote."))
    rfq = _lock_rfq(rfq_id)
    from portal.locking import lock_row

    quote = lock_row(Quote, qid, where=(Quote.supplier_company_id == actor.company_id,), not_found=_l("No such quote."))
    # Relationships to versions may have been loaded before the lock: load them again.
    db.session.expire(quote, ["draft_version", "current_version", "versions"])
    _require_supplier(actor, rfq)
    return rfq, quote


def _touch(quote: Quote) -> None:
    """Make the UPDATE happen so the optimistic lock_version moves on."""
    quote.updated_at = utcnow()


def _unit_of_work(fn):
    """One service call = one commit; any error rolls the whole call back. StaleDataError -> Conflict."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError:
            db.session.rollback()
            raise Conflict(STALE_MESSAGE)
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def _notify_buyer(rfq: Rfq, *, kind: str, title, body, link: str) -> None:
    """Tell the buyer's procurement people. Never pass a price here: sealed bids stay sealed."""
    notify_company(rfq.buyer_company_id, [Role.procurement], kind=kind, title=title, body=body, link=link)


def quote_path(quote: Quote) -> str:
    return f"/quotes/{quote.id}"


def _new_version_from(src: QuoteVersion | None, *, number: int, actor: User) -> QuoteVersion:
    v = QuoteVersion(number=number, created_by_id=actor.id, created_at=utcnow())
    if src is not None:
        v.valid_until = src.valid_until
        v.delivery_terms = src.delivery_terms
        v.shipping_cost = src.shipping_cost
        v.notes = src.notes
        v.rfq_amendment_no = src.rfq_amendment_no
        for ql in src.lines:
            v.lines.append(QuoteLine(rfq_line_id=ql.rfq_line_id, unit_price=ql.unit_price,
                                     price_breaks=copy.deepcopy(ql.price_breaks or []), moq=ql.moq,
                                     pack_size=ql.pack_size, lead_time_days=ql.lead_time_days,
                                     declined=ql.declined, decline_reason=ql.decline_reason))
    return v


# ============================================================================================ services

@_unit_of_work
def get_or_create_draft(rfq: Rfq, actor: User, *, expected_lock_version=None, rfq_amendment_no=None,
                        api: bool = False) -> Quote:
    """The supplier's draft on this RFQ: the existing draft, a new revision copied from the current version,
    or a brand-new Quote with an empty version 1.

    ``expected_lock_version=0`` means "the form was loaded when there was no quote yet": if a colleague has
    started one since, that is a Conflict rather than an overwrite.
    """
    _require_supplier(actor, rfq)
    rfq = _lock_rfq(rfq.id)
    amendments.check(rfq, rfq_amendment_no, api=api)  # nothing is started for a form of an older amendment
    require_open(rfq, actor)
    quote_id = db.session.scalar(
        sa.select(Quote.id).where(Quote.rfq_id == rfq.id, Quote.supplier_company_id == actor.company_id))
    quote = None
    if quote_id is not None:
        from portal.locking import lock_row

        try:
            quote = lock_row(Quote, quote_id)
        except NotFound:  # discarded a moment ago
            quote = None
    if quote is None:
        if expected_lock_version not in (None, 0, "0"):
            raise Conflict(STALE_MESSAGE)
        quote = Quote(rfq_id=rfq.id, supplier_company_id=actor.company_id, created_by_id=actor.id,
                      status=QuoteStatus.draft)
        draft = QuoteVersion(number=1, created_by_id=actor.id, created_at=utcnow(),
                             rfq_amendment_no=rfq.amendment_no)
        quote.versions.append(draft)
        db.session.add(quote)
        try:
            db.session.flush()
        except IntegrityError:
            # A colleague created it a moment ago (unique rfq+supplier): theirs wins, ours is stale.
            db.session.rollback()
            raise Conflict(STALE_MESSAGE)
        quote.draft_version = draft
        record("quote", quote.id, "draft_started", actor=actor, company_id=actor.company_id,
               to_state=QuoteStatus.draft, visible_to_company_id=actor.company_id)
        return quote
    db.session.expire(quote, ["draft_version", "current_version", "versions"])
    _check_lock(quote, expected_lock_version if expected_lock_version not in (0, "0") else -1)
    if quote.draft_version is not None:
        return quote
    current = quote.current_version
    number = (current.number + 1) if current is not None else 1
    draft = _new_version_from(current, number=number, actor=actor)
    quote.versions.append(draft)
    db.session.flush()
    quote.draft_version = draft
    _touch(quote)
    record("quote", quote.id, "revision_started", actor=actor, company_id=actor.company_id,
           detail=f"Draft of version {number}", visible_to_company_id=actor.company_id)
    return quote


@_unit_of_work
def save_draft(quote: Quote, actor: User, header: dict, lines: list[dict], expected_lock_version,
               rfq_amendment_no=None, *, api: bool = False) -> Quote:
    """Validate the whole input first; then replace the draft's header fields (those given) and all its
    lines.

    ``rfq_amendment_no`` is the RFQ amendment the form was shown for: an older one is refused (AmendedSince,
    naming what changed), and the draft records that it answers it. None (internal callers) skips the check
    and leaves the draft's amendment number as it was."""
    rfq, quote = _lock_quote(quote, actor)
    amendments.check(rfq, rfq_amendment_no, api=api)  # the RFQ row was re-read under its lock
    _check_lock(quote, expected_lock_version)
    require_open(rfq, actor)
    draft = quote.draft_version
    if draft is None:
        raise InvalidTransition(_l("There is no draft to save: open the quote and click Revise to change it."))
    clean_header, clean_lines = validate_input(rfq, actor, header, lines)
    for k, v in clean_header.items():
        setattr(draft, k, v)
    if rfq_amendment_no is not None:
        draft.rfq_amendment_no = rfq.amendment_no
    # "fetch": lines of this draft already in the session are removed from it too (SQLite reuses the freed
    # rowids for the new lines, which would otherwise clash with those stale objects).
    db.session.execute(sa.delete(QuoteLine).where(QuoteLine.version_id == draft.id)
                       .execution_options(synchronize_session="fetch"))
    db.session.expire(draft, ["lines"])
    db.session.add_all([QuoteLine(version_id=draft.id, **cl) for cl in clean_lines])
    _touch(quote)
    db.session.flush()
    return quote


def _incomplete_error(rfq: Rfq, version: QuoteVersion, *, verb: str) -> None:
    lines_of_rfq = rfq_lines(rfq.id)
    answered = {ql.rfq_line_id: ql for ql in db.session.scalars(
        sa.select(QuoteLine).where(QuoteLine.version_id == version.id))}
    missing = [rl for rl in lines_of_rfq if rl.id not in answered]
    if missing:
        ps = [rl.position for rl in missing]
        many = len(ps) > 1
        raise ValidationFailed(
            _l("Line%(s)s %(positions)s %(v)s no price: enter a unit price or decline %(v2)s before "
               "you %(verb)s."),
            s='s' if many else '', positions=_positions(ps), v='have' if many else 'has',
            v2='each of them' if many else 'it', verb=verb,
            errors={line_key(rl.id, "unit_price"): "Enter a unit price, or decline the line."
                    for rl in missing})
    if answered and all(ql.declined for ql in answered.values()):
        raise ValidationFailed(_l("Every line is declined. Price at least one line to %(verb)s; to take no part, "
                                  "simply don't submit a quote."), verb=verb)


@_unit_of_work
def submit(quote: Quote, actor: User, expected_lock_version, rfq_amendment_no=None, *,
           api: bool = False) -> Quote:
    """Submit the draft: it becomes the current version (the one that counts). The buyer is told that a quote
    arrived — never its prices.

    The draft must answer the RFQ's current amendment: the one the form carried (``rfq_amendment_no``), else
    the one the draft was last saved for. A draft priced before an amendment is refused, never taken as an
    answer to it."""
    rfq, quote = _lock_quote(quote, actor)
    amendments.check(rfq, rfq_amendment_no, api=api)
    _check_lock(quote, expected_lock_version)
    require_open(rfq, actor)
    states.check(quote.status, QuoteStatus.submitted)
    draft = quote.draft_version
    if draft is None:
        raise InvalidTransition(_l("There is no draft to submit: click Revise to change your quote."))
    if rfq_amendment_no is None:
        amendments.check(rfq, draft.rfq_amendment_no, api=api)
    if draft.valid_until is None:
        raise ValidationFailed(_l("Enter how long the quote is valid before you submit."),
                               errors={"valid_until": _l("Enter the date until which your prices hold.")})
    if draft.valid_until < utcnow().date():
        raise ValidationFailed(_l("The validity date is in the past; enter a new one before you submit."),
                               errors={"valid_until": _l("The validity date cannot be in the past.")})
    _incomplete_error(rfq, draft, verb="submit")
    now = utcnow()
    previous = quote.status
    draft.submitted_at = now
    draft.submitted_by_id = actor.id
    draft.rfq_amendment_no = rfq.amendment_no
    quote.current_version = draft
    quote.draft_version = None
    quote.status = QuoteStatus.submitted
    quote.submitted_at = now
    quote.withdrawn_at = None
    quote.needs_reconfirmation = False
    _touch(quote)
    action = {QuoteStatus.draft: "submitted", QuoteStatus.withdrawn: "resubmitted"}.get(previous, "revised")
    record("quote", quote.id, action, actor=actor, company_id=actor.company_id, from_state=previous,
           to_state=QuoteStatus.submitted, detail=f"Version {draft.number}")
    supplier = quote.supplier.display_name
    sealed = not buyer_can_see_prices(rfq)
    names = {"supplier": supplier, "reference": rfq.reference, "title": rfq.title}
    if action == "revised":
        title = msg(_l("Revised quote from %(supplier)s for %(reference)s"), **names)
        body = (msg(_l("%(supplier)s revised its quote for %(reference)s “%(title)s” (version %(number)s). The "
                       "quote is sealed: its prices open when the RFQ closes."), number=draft.number, **names)
                if sealed else
                msg(_l("%(supplier)s revised its quote for %(reference)s “%(title)s” (version %(number)s)."),
                    number=draft.number, **names))
    else:
        title = msg(_l("New quote from %(supplier)s for %(reference)s"), **names)
        if action == "submitted":
            body = (msg(_l("%(supplier)s submitted a quote for %(reference)s “%(title)s”. The quote is sealed: "
                           "its prices open when the RFQ closes."), **names) if sealed else
                    msg(_l("%(supplier)s submitted a quote for %(reference)s “%(title)s”."), **names))
        else:
            body = (msg(_l("%(supplier)s submitted its quote for %(reference)s “%(title)s” again. The quote is "
                           "sealed: its prices open when the RFQ closes."), **names) if sealed else
                    msg(_l("%(supplier)s submitted its quote for %(reference)s “%(title)s” again."), **names))
    _notify_buyer(rfq, kind="quote_submitted", title=title, body=body, link=quote_path(quote))
    emit([rfq.buyer_company_id, quote.supplier_company_id], "quote.submitted", quote)
    db.session.flush()
    return quote


@_unit_of_work
def withdraw(quote: Quote, actor: User, reason: str, expected_lock_version=None) -> Quote:
    """Withdraw a submitted quote before the deadline. It may be submitted again while the RFQ is open."""
    rfq, quote = _lock_quote(quote, actor)
    _check_lock(quote, expected_lock_version)
    require_open(rfq, actor)
    states.check(quote.status, QuoteStatus.withdrawn)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Tell the buyer why you withdraw the quote."),
                               errors={"reason": _l("Give a short reason.")})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_l("The reason is too long."),
                               errors={"reason": say(_l("At most %(max_reason)s characters."), max_reason=MAX_REASON)})
    previous = quote.status
    quote.status = QuoteStatus.withdrawn
    quote.withdrawn_at = utcnow()
    _touch(quote)
    record("quote", quote.id, "withdrawn", actor=actor, company_id=actor.company_id, from_state=previous,
           to_state=QuoteStatus.withdrawn, detail=reason)
    supplier = quote.supplier.display_name
    _notify_buyer(rfq, kind="quote_withdrawn",
                  title=msg(_l("%(supplier)s withdrew its quote for %(reference)s"), supplier=supplier,
                            reference=rfq.reference),
                  body=msg(_l("%(supplier)s withdrew its quote for %(reference)s “%(title)s”."), supplier=supplier,
                           reference=rfq.reference, title=rfq.title),
                  link=quote_path(quote))
    db.session.flush()
    return quote


@_unit_of_work
def confirm(quote: Quote, actor: User, expected_lock_version=None) -> Quote:
    """Re-confirm a submitted quote unchanged after an RFQ amendment: a new version, identical to the current
    one, answering the new amendment number."""
    rfq, quote = _lock_quote(quote, actor)
    _check_lock(quote, expected_lock_version)
    require_open(rfq, actor)
    if quote.status != QuoteStatus.submitted or quote.current_version is None:
        raise InvalidTransition(
            _l("A quote that is %(value)s cannot be confirmed; submit it instead."), value=quote.status.value)
    states.check(quote.status, QuoteStatus.submitted)
    current = quote.current_version
    if not quote.needs_reconfirmation and current.rfq_amendment_no >= rfq.amendment_no:
        raise InvalidTransition(
            _l("This quote already answers the latest version of the RFQ; nothing to confirm."))
    if current.valid_until is not None and current.valid_until < utcnow().date():
        raise ValidationFailed(_l("Your quote was valid until %(valid_until)s; revise it with a new validity date "
                                  "instead of confirming it."),
                               valid_until=current.valid_until.isoformat())
    _incomplete_error(rfq, current, verb="confirm")
    number = current.number + 1
    if quote.draft_version is not None:
        # An unsubmitted revision keeps its content and moves one number up.
        quote.draft_version.number = number + 1
        db.session.flush()
    now = utcnow()
    new = _new_version_from(current, number=number, actor=actor)
    new.submitted_at = now
    new.submitted_by_id = actor.id
    new.rfq_amendment_no = rfq.amendment_no
    quote.versions.append(new)
    db.session.flush()
    quote.current_version = new
    quote.needs_reconfirmation = False
    quote.submitted_at = now
    _touch(quote)
    record("quote", quote.id, "confirmed", actor=actor, company_id=actor.company_id,
           from_state=QuoteStatus.submitted, to_state=QuoteStatus.submitted,
           detail=f"Version {number} confirms version {current.number} for amendment {rfq.amendment_no}")
    supplier = quote.supplier.display_name
    _notify_buyer(rfq, kind="quote_confirmed",
                  title=msg(_l("%(supplier)s confirmed its quote for %(reference)s"), supplier=supplier,
                            reference=rfq.reference),
                  body=msg(_l("%(supplier)s confirmed its quote for %(reference)s “%(title)s” unchanged after "
                              "amendment %(number)s."), supplier=supplier, reference=rfq.reference,
                           title=rfq.title, number=rfq.amendment_no),
                  link=quote_path(quote))
    db.session.flush()
    return quote


@_unit_of_work
def discard_draft(quote: Quote, actor: User, expected_lock_version) -> Quote | None:
    """Throw away the unsubmitted draft. A quote that was never submitted disappears entirely (None)."""
    rfq, quote = _lock_quote(quote, actor)
    _check_lock(quote, expected_lock_version)
    require_open(rfq, actor)
    draft = quote.draft_version
    if draft is None:
        raise InvalidTransition(_l("There is no draft to discard."))
    quote.draft_version = None
    db.session.flush()
    if quote.current_version_id is None:
        db.session.delete(quote)
        db.session.flush()
        return None
    db.session.delete(draft)
    _touch(quote)
    record("quote", quote.id, "draft_discarded", actor=actor, company_id=actor.company_id,
           detail=f"Draft of version {draft.number}", visible_to_company_id=actor.company_id)
    db.session.flush()
    return quote


# ============================================================================================ attachments

def _safe_filename(name: str) -> str:
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return name[:200] or "attachment"


def _sniff(ext: str, data: bytes) -> bool:
    if ext == "pdf":
        return data.startswith(b"%PDF-")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "gif":
        return data[:6] in (b"GIF87a", b"GIF89a")
    if ext == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if ext == "csv":
        if b"\x00" in data[:4096]:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return False


@_unit_of_work
def add_attachment(quote: Quote, actor: User, *, filename: str, data: bytes) -> QuoteAttachment:
    """Store a PDF, image or CSV with the quote's draft; the buyer sees it once that draft is submitted.

    Attachments are kept per quote (not per version), so they follow the versions by time: the buyer sees
    those uploaded up to the latest submission, and those can no longer be removed. The file is not shared
    with the buyer through the general file store (/files/<id>, which knows nothing of seals and drafts); the
    buyer downloads it through the quote, which checks both."""
    from portal.documents.store import save_bytes

    rfq, quote = _lock_quote(quote, actor)
    require_open(rfq, actor)
    if quote.draft_version is None:
        raise InvalidTransition(_l("Attachments belong to a version of the quote: click Revise to add one."))
    name = _safe_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ATTACHMENT_TYPES:
        raise ValidationFailed(_l("Attach PDF, image (PNG, JPEG, GIF, WebP) or CSV files only."),
                               errors={"file": _l("This file type is not accepted.")})
    if not data:
        raise ValidationFailed(_l("The file is empty."), errors={"file": _l("The file is empty.")})
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(_l("The file is too large (%(count)s KB); the limit is %(max_attachment_bytes)s MB."),
                               count=len(data) // 1024, max_attachment_bytes=MAX_ATTACHMENT_BYTES // (1024 * 1024),
                               errors={"file": _l("Too large.")})
    if not _sniff(ext, data):
        raise ValidationFailed(_l("The file's content is not a %(ext)s file."), ext=ext.upper(),
                               errors={"file": _l("The content does not match the file type.")})
    count = db.session.scalar(sa.select(sa.func.count(QuoteAttachment.id))
                              .where(QuoteAttachment.quote_id == quote.id))
    if count >= MAX_ATTACHMENTS:
        raise ValidationFailed(_l("A quote can carry at most %(max_attachments)s attachments."),
                               max_attachments=MAX_ATTACHMENTS)
    # party_company_id stays None: the general /files/<id> download would bypass the seal and the draft rule.
    f = save_bytes(data, filename=name, content_type=ATTACHMENT_TYPES[ext],
                   owner_company_id=quote.supplier_company_id, party_company_id=None)
    att = QuoteAttachment(quote_id=quote.id, file_id=f.id, uploaded_by_id=actor.id, uploaded_at=utcnow())
    db.session.add(att)
    _touch(quote)
    record("quote", quote.id, "attachment_added", actor=actor, company_id=actor.company_id, detail=name,
           visible_to_company_id=actor.company_id)
    db.session.flush()
    return att


@_unit_of_work
def remove_attachment(quote: Quote, actor: User, attachment_id: int) -> None:
    rfq, quote = _lock_quote(quote, actor)
    require_open(rfq, actor)
    att = db.session.scalar(sa.select(QuoteAttachment).where(QuoteAttachment.id == attachment_id,
                                                             QuoteAttachment.quote_id == quote.id))
    if att is None:
        raise NotFound(_l("No such attachment."))
    if not is_draft_attachment(quote, att):
        raise InvalidTransition(
            _l("%(filename)s was submitted with the quote and stays with that version."), filename=att.file.filename)
    db.session.delete(att)
    _touch(quote)
    record("quote", quote.id, "attachment_removed", actor=actor, company_id=actor.company_id,
           detail=att.file.filename, visible_to_company_id=actor.company_id)


def is_draft_attachment(quote: Quote, att: QuoteAttachment) -> bool:
    """Uploaded after the latest submission (so part of the draft, not yet seen by the buyer)."""
    return quote.submitted_at is None or att.uploaded_at > quote.submitted_at


def attachment_for(quote: Quote, attachment_id: int, viewer: User) -> QuoteAttachment:
    """An attachment the viewer may download (the quote was already loaded through tenancy)."""
    for_buyer = viewer.company_id != quote.supplier_company_id
    if for_buyer and not buyer_can_see_prices(quote.rfq):
        raise Forbidden(_l("Attachments of a sealed quote open when the RFQ closes."))
    for att in attachments_of(quote, for_buyer=for_buyer):
        if att.id == attachment_id:
            return att
    raise NotFound(_l("No such attachment."))


# ============================================================================================ CSV

@dataclass
class CsvRowError:
    line: int
    position: str
    column: str
    message: str


class CsvRowErrors(ValidationFailed):
    """Row-level problems of an uploaded CSV: nothing was saved; ``rows`` lists each problem."""

    def __init__(self, rows: list[CsvRowError]):
        n = len(rows)
        super().__init__(_l("Nothing was saved: the file has %(num)s problem%(s)s. Correct them and upload again."),
                         num=n, s="s" if n != 1 else "")
        self.rows = rows


def version_as_input(version: QuoteVersion | None) -> list[dict]:
    """A version's lines in the raw input shape (what save_draft takes)."""
    if version is None:
        return []
    return [{"rfq_line_id": ql.rfq_line_id,
             "unit_price": "" if ql.unit_price is None else _dstr(Decimal(ql.unit_price)),
             "price_breaks": format_breaks(ql.price_breaks),
             "moq": "" if ql.moq is None else _dstr(Decimal(ql.moq)),
             "pack_size": "" if ql.pack_size is None else _dstr(Decimal(ql.pack_size)),
             "lead_time_days": "" if ql.lead_time_days is None else str(ql.lead_time_days),
             "declined": ql.declined, "decline_reason": ql.decline_reason or ""} for ql in version.lines]


def header_as_input(version: QuoteVersion | None) -> dict:
    if version is None:
        return {"valid_until": "", "delivery_terms": "", "shipping_cost": "", "notes": ""}
    return {"valid_until": version.valid_until.isoformat() if version.valid_until else "",
            "delivery_terms": version.delivery_terms or "",
            "shipping_cost": "" if version.shipping_cost is None else _dstr(Decimal(version.shipping_cost)),
            "notes": version.notes or ""}


def lines_csv(rfq: Rfq, version: QuoteVersion | None, *, with_prices: bool = True) -> str:
    """The quote lines as CSV: one row per RFQ line, prefilled from ``version`` (empty price columns when
    there is none). Every cell goes through safe_cell (spreadsheet formulas neutralised)."""
    import csv
    import io

    values = {d["rfq_line_id"]: d for d in version_as_input(version)} if (version and with_prices) else {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for rl in rfq_lines(rfq.id):
        v = values.get(rl.id, {})
        w.writerow([safe_cell(x) for x in (
            rl.id, rl.position, rl.part_number or "", rl.description, _dstr(Decimal(rl.quantity)), rl.unit,
            v.get("unit_price", ""), v.get("price_breaks", ""), v.get("moq", ""), v.get("pack_size", ""),
            v.get("lead_time_days", ""), "yes" if v.get("declined") else "", v.get("decline_reason", ""))])
    return buf.getvalue()


def export_lines(quote: Quote, *, for_buyer: bool) -> tuple[str, str]:
    """(file name, CSV text) of a quote's lines for the page's and the API's export: the supplier gets its draft
    (else the submitted version), the buyer the submitted version once the prices are visible (else Forbidden)."""
    if for_buyer:
        if not buyer_can_see_prices(quote.rfq):
            raise Forbidden(_l("The prices of this sealed quote open when the RFQ closes."))
        version = quote.current_version
    else:
        version = quote.draft_version or quote.current_version
    name = f"{quote.rfq.reference}-{quote.supplier.display_name}-v{version.number if version else 0}.csv"
    return name.replace(" ", "_").replace('"', ""), lines_csv(quote.rfq, version)


def parse_lines_csv(rfq: Rfq, actor: User, data: bytes, base: list[dict]) -> list[dict]:
    """Read an uploaded quote-lines CSV and merge it into ``base`` (the draft's lines in input shape): every
    row sets its RFQ line (a blank price clears it); lines absent from the file keep their values.

    Raises ValidationFailed for a file that cannot be read at all, CsvRowErrors for row-level problems (with
    every problem listed). Saves nothing.
    """
    require_open(rfq, actor)
    rows = read_csv(data, required=CSV_REQUIRED, optional=[c for c in CSV_COLUMNS if c not in CSV_REQUIRED],
                    max_rows=5000)
    lines_of_rfq = rfq_lines(rfq.id)
    by_id = {rl.id: rl for rl in lines_of_rfq}
    problems: list[CsvRowError] = []
    merged = {d["rfq_line_id"]: dict(d) for d in base}
    seen: dict[int, int] = {}
    line_of_row: dict[int, int] = {}
    for row in rows:
        lineno = row.get("__line__", 0)
        if "__error__" in row:
            problems.append(CsvRowError(lineno, "", "", f"The row {row['__error__']}."))
            continue
        raw_id = (row.get("rfq_line_id") or "").strip()
        pos = (row.get("position") or "").strip()
        try:
            lid = int(raw_id)
        except ValueError:
            msg = f"“{raw_id}” is not an RFQ line id." if raw_id else "The rfq_line_id is empty."
            problems.append(CsvRowError(lineno, pos, "rfq_line_id", msg))
            continue
        rl = by_id.get(lid)
        if rl is None:
            problems.append(CsvRowError(lineno, pos, "rfq_line_id",
                                        f"RFQ line id {lid} is not a line of {rfq.reference}."))
            continue
        if pos and pos != str(rl.position):
            problems.append(CsvRowError(lineno, pos, "position",
                                        f"RFQ line id {lid} is position {rl.position}, not {pos}."))
            continue
        if lid in seen:
            problems.append(CsvRowError(lineno, str(rl.position), "rfq_line_id",
                                        f"Line {rl.position} is also on CSV line {seen[lid]}."))
            continue
        seen[lid] = lineno
        line_of_row[lid] = lineno
        previous = merged.get(lid, {})
        # columns in the file set the value (blank clears it); columns absent from the file keep the draft's
        merged[lid] = {"rfq_line_id": lid,
                       **{col: row[col] if col in row else previous.get(col, "") for col in LINE_FIELDS}}
    errors: dict[str, str] = {}
    for rl in lines_of_rfq:
        raw = merged.get(rl.id)
        if raw is not None and rl.id in line_of_row:
            _clean_line(rl, raw, errors)
    for key, msg in errors.items():
        _, lid, col = key.split(".")
        rl = by_id[int(lid)]
        problems.append(CsvRowError(line_of_row.get(rl.id, 0), str(rl.position), col, msg))
    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise CsvRowErrors(problems)
    return list(merged.values())


# ============================================================================================ sweep

def _expired_event_exists():
    return (sa.select(AuditEvent.id)
            .where(AuditEvent.entity_type == "quote", AuditEvent.entity_id == Quote.id,
                   AuditEvent.action == "quote_expired", AuditEvent.at >= QuoteVersion.submitted_at)
            .correlate(Quote, QuoteVersion).exists())


def expire_due_quotes() -> int:
    """Periodic sweep: tell the supplier's sales staff, once, that a submitted quote on an open or closed RFQ
    ran past its validity date. The "quote_expired" audit event (newer than the current version) marks it as
    told, so the sweep is idempotent; rows are locked (SKIP LOCKED) and re-checked, so concurrent sweeps are
    harmless. Returns how many quotes were newly marked expired."""
    today = utcnow().date()

    def due():
        return (sa.select(Quote.id)
                .join(QuoteVersion, QuoteVersion.id == Quote.current_version_id)
                .join(Rfq, Rfq.id == Quote.rfq_id)
                .where(Quote.status == QuoteStatus.submitted, QuoteVersion.valid_until < today,
                       Rfq.status.in_([RfqStatus.open, RfqStatus.closed]), ~_expired_event_exists()))

    ids = list(db.session.scalars(due().order_by(Quote.id)))
    count = 0
    try:
        for qid in ids:
            quote = db.session.scalar(sa.select(Quote).where(Quote.id == qid)
                                      .with_for_update(of=Quote, skip_locked=True)
                                      .execution_options(populate_existing=True))
            if quote is None:
                continue
            if db.session.scalar(due().where(Quote.id == qid)) is None:
                continue  # another sweep (or a revision) got there first
            v = quote.current_version
            rfq = quote.rfq
            record("quote", quote.id, "quote_expired", company_id=quote.supplier_company_id,
                   detail=f"Version {v.number} was valid until {v.valid_until.isoformat()}")
            names = {"reference": rfq.reference, "title": rfq.title, "until": day(v.valid_until)}
            notify_company(quote.supplier_company_id, [Role.sales], kind="quote_expired",
                           title=msg(_l("Your quote for %(reference)s has expired"), reference=rfq.reference),
                           body=(msg(_l("Your quote for %(reference)s “%(title)s” was valid until %(until)s. "
                                        "Revise it with a new validity date if you still stand by it."), **names)
                                 if rfq.accepting_quotes else
                                 msg(_l("Your quote for %(reference)s “%(title)s” was valid until %(until)s. "
                                        "The RFQ no longer accepts quotes; the buyer sees it as expired."),
                                     **names)),
                           link=quote_path(quote))
            count += 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return count


# ============================================================================================ read models

def quote_panel(rfq: Rfq, user: User) -> dict:
    """What the RFQ page's quote panel shows to ``user``: for the buyer, every invited supplier's submission
    (prices only when visible); for an invited supplier, its own quote and what it can do. A few queries, no
    per-supplier queries."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {"mode": None}
    if user.company_id == rfq.buyer_company_id:
        return _buyer_panel(rfq, user)
    if user.company.is_supplier and rfq.status != RfqStatus.draft and is_invited(rfq, user.company_id):
        return _supplier_panel(rfq, user)
    return {"mode": None}


def _buyer_panel(rfq: Rfq, user: User) -> dict:
    show = buyer_can_see_prices(rfq)
    invitations = list(db.session.scalars(
        sa.select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id).order_by(RfqInvitation.id)))
    quotes = {q.supplier_company_id: q for q in db.session.scalars(
        sa.select(Quote).where(Quote.rfq_id == rfq.id, Quote.current_version_id.is_not(None))
        .options(joinedload(Quote.current_version)))}
    totals = {}
    if show and quotes:
        lines = version_lines([q.current_version_id for q in quotes.values()])
        rls = rfq_lines(rfq.id)
        totals = {q.id: version_totals(q.current_version, lines[q.current_version_id], rls, rfq.currency)
                  for q in quotes.values()}
    rows = []
    for inv in sorted(invitations, key=lambda i: i.supplier.display_name.lower()):
        q = quotes.get(inv.supplier_company_id)
        rows.append({
            "supplier": inv.supplier, "quote": q,
            "state": q.status.value if q else "not_submitted",
            "submitted_at": q.submitted_at if q else None,
            "version": q.current_version.number if q else None,
            "needs_reconfirmation": bool(q and q.needs_reconfirmation),
            "expired": bool(q and q.expired),
            "totals": totals.get(q.id) if q else None,
        })
    return {"mode": "buyer", "rfq": rfq, "show_prices": show, "rows": rows,
            "submitted": sum(1 for r in rows if r["state"] == "submitted"), "invited": len(rows)}


def _supplier_panel(rfq: Rfq, user: User) -> dict:
    q = find_quote(rfq.id, user.company_id)
    if q is None:
        state = "not_started"
    elif q.status == QuoteStatus.draft:
        state = "draft"
    else:
        state = q.status.value
    return {"mode": "supplier", "rfq": rfq, "quote": q, "state": state,
            "has_draft": bool(q and q.draft_version_id), "open": rfq.accepting_quotes,
            "expired": bool(q and q.expired), "needs_reconfirmation": bool(q and q.needs_reconfirmation),
            "can_edit": user.has_role(Role.sales),
            "outcome": outcome.for_supplier(rfq, user.company_id) if q and q.current_version_id else None}


def company_quotes(company_id: int) -> list[Quote]:
    """A supplier's quotes, newest activity first (the quote index)."""
    return list(db.session.scalars(
        sa.select(Quote).where(Quote.supplier_company_id == company_id)
        .options(joinedload(Quote.current_version), joinedload(Quote.draft_version))
        .order_by(Quote.updated_at.desc(), Quote.id.desc())))


def quotes_received_since(buyer_company_id: int, since) -> list[Quote]:
    return list(db.session.scalars(
        sa.select(Quote).join(Rfq, Rfq.id == Quote.rfq_id)
        .where(Rfq.buyer_company_id == buyer_company_id, Quote.current_version_id.is_not(None),
               Quote.status == QuoteStatus.submitted, Quote.submitted_at >= since)
        .order_by(Quote.submitted_at.desc())))


def today_start():
    now = utcnow()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)

