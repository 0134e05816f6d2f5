"""RFQ operations: create, edit, lines (single and CSV), attachments, invitations, publish, amend, extend,
close (early or by the deadline sweep), cancel, clarifications; and the read models of the list and detail
pages.

Every public mutating function is one unit of work: it validates, changes, records audit events, queues
notifications and commits once (``@unit_of_work``); any error rolls everything back. Functions take the acting
``User`` explicitly. Lifecycle moves go through ``states.check``.

Optimistic locking: ``Rfq.version`` is the mapper's version column and every content change touches the RFQ
row, so the version counts changes. Edit forms carry the version they were opened with; a different version,
or a concurrent commit detected at flush (StaleDataError), is a Conflict with one sentence.
"""
from __future__ import annotations

import functools
import logging
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.numbers import list_currencies
from flask_babel import gettext, lazy_gettext as _l, ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Company, CompanyKind, Role, User, UserRole
from portal.audit.services import record, trail
from portal.db import db, utcnow
from portal.events.services import emit
from portal.documents.store import save_bytes
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.errors import number_fig
from portal.notifications.messages import moment, msg
from portal.notifications.services import company_users, notify
from portal.numbering import format_reference, next_number
from portal.paging import keyset_page
from portal.quotes.models import Quote
from portal.quotes.states import QuoteStatus
from portal.rfq import csvlines, states
from portal.rfq.models import Clarification, Rfq, RfqAmendment, RfqAttachment, RfqInvitation, RfqLine
from portal.rfq.states import RfqStatus
from portal.tenancy import get_for_company
from portal.suppliers.services import check_invitable

log = logging.getLogger(__name__)

STALE_MESSAGE = (_l("This RFQ was changed by someone else since you opened the form; reload and apply your change "
                    "again."))
INCOTERMS = {
    "EXW": "Ex Works", "FCA": "Free Carrier", "CPT": "Carriage Paid To",
    "CIP": "Carriage and Insurance Paid To",
    "DAP": "Delivered at Place", "DPU": "Delivered at Place Unloaded", "DDP": "Delivered Duty Paid",
    "FAS": "Free Alongside Ship", "FOB": "Free on Board", "CFR": "Cost and Freight",
    "CIF": "Cost, Insurance and Freight",
}
MAX_LINES = 2000
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_ADDRESS = 1000
MAX_PAYMENT_TERMS = 100
MAX_TEXT = 4000  # questions, answers, cancel reasons
PER_PAGE = 50

# Attachments: spec sheets and drawings. The type is decided by the bytes, and must agree with the extension.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20
ATTACHMENT_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "csv": ("text/csv", None),  # text: checked for binary data and UTF-8
}

EDITABLE = (RfqStatus.draft, RfqStatus.open)


# ---------------------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------------------

def unit_of_work(fn):
    """Commit once when ``fn`` returns; roll back on any error; a stale row becomes a Conflict sentence."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError as exc:
            db.session.rollback()
            raise Conflict(STALE_MESSAGE) from exc
        except IntegrityError as exc:
            db.session.rollback()
            log.info("integrity error in %s: %s", fn.__name__, exc)
            raise Conflict(_l("Someone else changed this RFQ at the same moment; reload the page and try again.")) from exc
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def _require_procurement(actor: User) -> None:
    if not (actor.company.is_buyer and actor.has_role(Role.procurement)):
        raise Forbidden(_l("Only procurement staff of a buying company can do that."))


def _require_sales(actor: User) -> None:
    if not (actor.company.is_supplier and actor.has_role(Role.sales)):
        raise Forbidden(_l("Only sales staff of an invited supplier can do that."))


def load_visible(rfq_id, company_id: int) -> Rfq:
    """The RFQ if ``company_id`` is a party: the buyer, or an invited supplier once it was published."""
    rfq = get_for_company(Rfq, rfq_id, company_id)
    if rfq.buyer_company_id != company_id and rfq.published_at is None:
        raise NotFound(_l("No such RFQ."))
    return rfq


def _own_rfq(actor: User, rfq_id) -> Rfq:
    """Load an RFQ for a buyer-side operation: procurement of the buying company only."""
    _require_procurement(actor)
    rfq = load_visible(rfq_id, actor.company_id)
    if rfq.buyer_company_id != actor.company_id:
        raise Forbidden(_l("Only the buyer can change this RFQ."))
    return rfq


def _check_version(rfq: Rfq, version) -> None:
    """Lock the RFQ row and re-read it (``rfq`` is refreshed in place; the RFQ is first in the lock order, see
    portal/credit/ledger.py), then compare the version the form was opened with; None skips (internal callers)."""
    from portal.locking import check_fresh, lock_row

    lock_row(Rfq, rfq.id, not_found=_l("No such RFQ."))
    check_fresh(rfq, version, STALE_MESSAGE, required=False, version_attr="version")


def _touch(rfq: Rfq) -> None:
    """Mark the RFQ row changed so its version moves (line and attachment changes count as changes)."""
    rfq.updated_at = utcnow()


def _edited(rfq: Rfq, actor: User, detail: str) -> None:
    record("rfq", rfq.id, "edited", actor=actor, company_id=rfq.buyer_company_id, detail=detail,
           visible_to_company_id=_draft_only(rfq))


def _draft_only(rfq: Rfq) -> int | None:
    """Audit visibility of a change: while a draft, only the buyer's own people see how it was prepared."""
    return rfq.buyer_company_id if rfq.status == RfqStatus.draft else None


def _require_editable(rfq: Rfq) -> None:
    if rfq.status not in EDITABLE:
        raise InvalidTransition(_l("An RFQ that is %(value)s can no longer be changed."), value=rfq.status.value)
    if rfq.status == RfqStatus.open and rfq.deadline <= utcnow():
        raise InvalidTransition(_l("The response deadline has passed; the RFQ is being closed and can no longer be "
                                   "changed."))


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def plain_number(d) -> str:
    if d is None:
        return "—"
    return format(Decimal(d).normalize(), "f")


def _utc_text(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%d %b %Y %H:%M UTC")


def _short(text: str, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def local_to_utc(value: datetime | None, tz_name: str | None) -> datetime | None:
    """A date-time typed in a form (naive, in the person's time zone) as an aware UTC datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        try:
            tz = ZoneInfo(tz_name or "UTC")
        except Exception:  # noqa: BLE001
            tz = ZoneInfo("UTC")
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def utc_to_local(value: datetime | None, tz_name: str | None) -> datetime | None:
    """The naive local date-time to pre-fill a datetime-local input."""
    if value is None:
        return None
    try:
        tz = ZoneInfo(tz_name or "UTC")
    except Exception:  # noqa: BLE001
        tz = ZoneInfo("UTC")
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def default_deadline_local(tz_name: str | None) -> datetime:
    """A suggestion for new RFQs: noon, one week from today, in the person's zone (naive, for the input)."""
    local = utc_to_local(utcnow(), tz_name)
    return (local + timedelta(days=7)).replace(hour=12, minute=0)


def _link(rfq: Rfq) -> str:
    return f"/rfqs/{rfq.id}"


# ---------------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------------

def _supplier_sales(rfq: Rfq, company_ids=None) -> list[User]:
    """Active sales people of the invited suppliers (or of ``company_ids``), in one query."""
    if company_ids is None:
        company_ids = sa.select(RfqInvitation.supplier_company_id).where(RfqInvitation.rfq_id == rfq.id)
    elif not company_ids:
        return []
    return list(db.session.scalars(
        sa.select(User).where(User.company_id.in_(company_ids), User.active.is_(True),
                              User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == Role.sales)))
        .order_by(User.id)))


def _notify_invited(rfq: Rfq, users) -> None:
    """The invitation, with the deadline shown in each reader's own zone, language and format."""
    notify(users, kind="rfq_invited",
           title=msg(_l("Request for quotation %(reference)s: %(title)s"), reference=rfq.reference,
                     title=_short(rfq.title, 80)),
           body=msg(_l("%(buyer)s invites you to quote for “%(title)s”. Responses are due by %(deadline)s."),
                    buyer=rfq.buyer.display_name, title=rfq.title, deadline=moment(rfq.deadline)),
           link=_link(rfq))


def _buyer_procurement(rfq: Rfq) -> list[User]:
    return company_users(rfq.buyer_company_id, Role.procurement)


# ---------------------------------------------------------------------------------------------------
# Validation of the RFQ's own fields
# ---------------------------------------------------------------------------------------------------

HEADER_FIELDS = ("title", "description", "currency", "delivery_address", "delivery_date", "incoterm",
                 "payment_terms", "deadline", "sealed")
AMENDABLE_FIELDS = ("title", "description", "delivery_address", "delivery_date", "incoterm", "payment_terms")


def _raise(errors: dict[str, str]) -> None:
    if not errors:
        return
    sentences = list(dict.fromkeys(errors.values()))
    if len(sentences) == 1:
        message = sentences[0]
    else:
        message = "Please correct the marked fields: " + " ".join(sentences)
    raise ValidationFailed(message, errors=errors)


def _clean_header(fields: dict, *, current: Rfq | None = None) -> dict:
    """Validate the RFQ's own fields present in ``fields``; returns clean values. Raises ValidationFailed."""
    errors: dict[str, str] = {}
    out: dict = {}
    now = utcnow()

    def changed(key, value):
        return current is None or getattr(current, key) != value

    if "title" in fields:
        title = " ".join((fields.get("title") or "").split())
        if not title:
            errors["title"] = "Give the RFQ a title."
        elif len(title) > MAX_TITLE:
            errors["title"] = f"The title is too long; at most {MAX_TITLE} characters."
        out["title"] = title
    if "description" in fields:
        description = (fields.get("description") or "").strip()
        if len(description) > MAX_DESCRIPTION:
            errors["description"] = f"The description is too long; at most {MAX_DESCRIPTION:,} characters."
        out["description"] = description
    if "currency" in fields:
        currency = (fields.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency) or currency not in list_currencies():
            errors["currency"] = (f"“{currency[:10] or 'nothing'}” is not a known currency; choose one such "
                                  "as EUR.")
        out["currency"] = currency
    if "delivery_address" in fields:
        address = (fields.get("delivery_address") or "").strip()
        if len(address) > MAX_ADDRESS:
            errors["delivery_address"] = (f"The delivery address is too long; at most {MAX_ADDRESS} "
                                          "characters.")
        out["delivery_address"] = address
    if "delivery_date" in fields:
        value = fields.get("delivery_date")
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value) if value.strip() else None
            except ValueError:
                errors["delivery_date"] = "Enter the delivery date as YYYY-MM-DD."
                value = None
        if isinstance(value, datetime):
            value = value.date()
        if value is not None and changed("delivery_date", value) and value < now.date():
            errors["delivery_date"] = "The requested delivery date is in the past."
        out["delivery_date"] = value
    if "incoterm" in fields:
        incoterm = (fields.get("incoterm") or "").strip().upper() or None
        if incoterm and incoterm not in INCOTERMS:
            errors["incoterm"] = (f"“{incoterm[:10]}” is not an Incoterm; choose one of "
                                  f"{', '.join(INCOTERMS)}.")
        out["incoterm"] = incoterm
    if "payment_terms" in fields:
        terms = " ".join((fields.get("payment_terms") or "").split()) or None
        if terms and len(terms) > MAX_PAYMENT_TERMS:
            errors["payment_terms"] = (f"The payment terms are too long; at most {MAX_PAYMENT_TERMS} "
                                       "characters.")
        out["payment_terms"] = terms
    if "deadline" in fields:
        deadline = fields.get("deadline")
        if deadline is None:
            errors["deadline"] = "Set a response deadline (date and time)."
        elif not isinstance(deadline, datetime) or deadline.tzinfo is None:
            errors["deadline"] = "The response deadline needs a date, a time and a time zone."
            deadline = None
        else:
            deadline = deadline.astimezone(timezone.utc)
            if changed("deadline", deadline) and deadline <= now:
                errors["deadline"] = "The response deadline is in the past; choose a later date and time."
        out["deadline"] = deadline
    if "sealed" in fields:
        out["sealed"] = bool(fields.get("sealed"))
    _raise(errors)
    return out


def _header_changes(rfq: Rfq, clean: dict) -> list[str]:
    """Human sentences for what would change (for amendments and the audit trail)."""
    parts = []
    for key, new in clean.items():
        old = getattr(rfq, key)
        if old == new:
            continue
        if key == "title":
            parts.append(f"title changed to “{_short(new, 80)}”")
        elif key == "description":
            parts.append("description changed")
        elif key == "delivery_address":
            parts.append("delivery address changed to “" + _short(new.replace("\n", ", "), 80) + "”")
        elif key == "delivery_date":
            parts.append(f"requested delivery date {old.isoformat() if old else '—'} → "
                         f"{new.isoformat() if new else '—'}")
        elif key == "incoterm":
            parts.append(f"Incoterm {old or '—'} → {new or '—'}")
        elif key == "payment_terms":
            parts.append(f"payment terms “{old or '—'}” → “{new or '—'}”")
        elif key == "currency":
            parts.append(f"currency {old} → {new}")
        elif key == "deadline":
            parts.append(f"deadline {_utc_text(old)} → {_utc_text(new)}")
        elif key == "sealed":
            parts.append("sealed bidding " + ("on" if new else "off"))
    return parts


# ---------------------------------------------------------------------------------------------------
# Create and edit
# ---------------------------------------------------------------------------------------------------

def default_delivery_address(company: Company) -> str:
    """The buyer's own address, the country spelled out (the form pre-fills it)."""
    from babel import Locale

    country = Locale.parse("en").territories.get(company.country, company.country)
    lines = [ln for ln in company.address_lines if ln != company.country]
    return "\n".join([company.legal_name] + lines + [country])


@unit_of_work
def create_rfq(actor: User, **fields) -> Rfq:
    """A new draft RFQ with the buyer's next reference (RFQ-2026-0001, counted per buyer and year)."""
    _require_procurement(actor)
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise TypeError(f"unknown RFQ fields: {', '.join(sorted(unknown))}")
    values = {"description": "", "delivery_address": default_delivery_address(actor.company),
              "delivery_date": None, "incoterm": None, "payment_terms": None, "sealed": True,
              "currency": actor.company.default_currency, "title": "", "deadline": None}
    values.update(fields)
    clean = _clean_header(values)
    now = utcnow()
    n = next_number(actor.company_id, "RFQ", now.year)
    rfq = Rfq(buyer_company_id=actor.company_id, reference=format_reference("RFQ", now.year, n, 4),
              created_by_id=actor.id, status=RfqStatus.draft, **clean)
    db.session.add(rfq)
    db.session.flush()
    record("rfq", rfq.id, "created", actor=actor, company_id=rfq.buyer_company_id, to_state=RfqStatus.draft,
           detail=f"{rfq.reference} “{_short(rfq.title, 80)}”")
    return rfq


@unit_of_work
def update_rfq(actor: User, rfq_id, *, version=None, **fields) -> Rfq:
    """Edit the RFQ's own fields. A draft changes freely; an open RFQ is amended (numbered, suppliers told,
    submitted quotes need re-confirmation). Currency, sealing and the deadline are fixed once published."""
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    _check_version(rfq, version)
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise TypeError(f"unknown RFQ fields: {', '.join(sorted(unknown))}")
    if rfq.status == RfqStatus.open:
        fixed = {}
        if "currency" in fields and (fields["currency"] or "").strip().upper() != rfq.currency:
            fixed["currency"] = "The currency cannot change once the RFQ is published."
        if "sealed" in fields and bool(fields["sealed"]) != rfq.sealed:
            fixed["sealed"] = "Sealed bidding cannot be switched once the RFQ is published."
        if "deadline" in fields and fields["deadline"] is not None and fields["deadline"] != rfq.deadline:
            fixed["deadline"] = "Use “Extend deadline” to move the deadline of a published RFQ."
        _raise(fixed)
        fields = {k: v for k, v in fields.items() if k in AMENDABLE_FIELDS}
    clean = _clean_header(fields, current=rfq)
    changes = _header_changes(rfq, clean)
    if not changes:
        if rfq.status == RfqStatus.open:
            raise ValidationFailed(_l("Nothing was changed, so no amendment was sent to the suppliers."))
        return rfq
    for key, value in clean.items():
        setattr(rfq, key, value)
    _touch(rfq)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [_sentence("; ".join(changes))])
    else:
        _edited(rfq, actor, _sentence("; ".join(changes)))
    return rfq


def _amend(rfq: Rfq, actor: User, changes: list[str]) -> RfqAmendment:
    """Record amendment n+1 of an open RFQ, flag submitted quotes for re-confirmation, tell the suppliers."""
    number = rfq.amendment_no + 1
    summary = "; ".join(c for c in changes if c)
    amendment = RfqAmendment(rfq_id=rfq.id, number=number, summary=summary, changed_by_id=actor.id)
    db.session.add(amendment)
    rfq.amendment_no = number
    _touch(rfq)
    quotes = Quote.__table__
    flagged = db.session.execute(
        quotes.update()
        .where(quotes.c.rfq_id == rfq.id, quotes.c.current_version_id.is_not(None),
               quotes.c.status == QuoteStatus.submitted.value)
        .values(needs_reconfirmation=True, lock_version=quotes.c.lock_version + 1)
    ).rowcount
    record("rfq", rfq.id, "amended", actor=actor, company_id=rfq.buyer_company_id,
           detail=f"Amendment {number}: {summary}")
    if flagged:
        record("rfq", rfq.id, "quotes_flagged", actor=actor, company_id=rfq.buyer_company_id,
               detail=f"{flagged} submitted quote(s) need re-confirmation",
               visible_to_company_id=rfq.buyer_company_id)
    notify(
        _supplier_sales(rfq), kind="rfq_amended",
        title=msg(_l("%(reference)s amended (amendment %(number)s)"), reference=rfq.reference, number=number),
        body=msg(_l("%(buyer)s amended “%(title)s”:\n%(summary)s\n\nIf you already submitted a quote, check it "
                    "and re-confirm or revise it before %(deadline)s."),
                 buyer=rfq.buyer.display_name, title=rfq.title, summary=summary, deadline=moment(rfq.deadline)),
        link=_link(rfq))
    return amendment


# ---------------------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------------------

def _line_errors(errors: dict[str, str]) -> None:
    _raise({k: _sentence(v) for k, v in errors.items()})


def _next_position(rfq: Rfq) -> int:
    top = db.session.scalar(sa.select(sa.func.max(RfqLine.position)).where(RfqLine.rfq_id == rfq.id))
    return (top or 0) + 1


def lines_of(rfq: Rfq) -> list[RfqLine]:
    return list(db.session.scalars(sa.select(RfqLine).where(RfqLine.rfq_id == rfq.id)
                                   .order_by(RfqLine.position)))


def _line_count(rfq_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(RfqLine.id)).where(RfqLine.rfq_id == rfq_id)) or 0


def get_line(rfq: Rfq, line_id) -> RfqLine:
    try:
        line_id = int(line_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such line."))
    line = db.session.scalar(sa.select(RfqLine).where(RfqLine.id == line_id, RfqLine.rfq_id == rfq.id))
    if line is None:
        raise NotFound(_l("No such line."))
    return line


def _line_text(line_or_values) -> str:
    get = (line_or_values.get if isinstance(line_or_values, dict)
           else lambda k: getattr(line_or_values, k))
    return f"“{_short(get('description'), 60)}”, {plain_number(get('quantity'))} {get('unit')}"


def _line_changes(rfq: Rfq, line: RfqLine, clean: dict) -> list[str]:
    parts = []
    for key, label in (("description", "description"), ("part_number", "part number"),
                       ("quantity", "quantity"), ("unit", "unit"), ("target_price", "target price"),
                       ("notes", "notes")):
        old, new = getattr(line, key), clean[key]
        if key in ("quantity", "target_price"):
            same = (old is None and new is None) or (old is not None and new is not None
                                                      and Decimal(old) == Decimal(new))
            if not same:
                suffix = f" {rfq.currency}" if key == "target_price" else ""
                parts.append(f"{label} {plain_number(old)} → {plain_number(new)}{suffix}")
        elif (old or "") != (new or ""):
            if key == "notes":
                parts.append("notes changed")
            elif key == "description":
                parts.append(f"description changed to “{_short(new, 60)}”")
            else:
                parts.append(f"{label} {old or '—'} → {new or '—'}")
    return parts


@unit_of_work
def add_line(actor: User, rfq_id, *, version=None, **values) -> RfqLine:
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    _check_version(rfq, version)
    clean, errors = csvlines.clean_line(values)
    _line_errors(errors)
    if _line_count(rfq.id) >= MAX_LINES:
        raise ValidationFailed(_l("An RFQ can have at most %(max_lines)s lines."), max_lines=number_fig(MAX_LINES))
    line = RfqLine(rfq_id=rfq.id, position=_next_position(rfq), **clean)
    db.session.add(line)
    _touch(rfq)
    text = f"Line {line.position} added: {_line_text(clean)}"
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [text])
    else:
        _edited(rfq, actor, text)
    db.session.flush()
    return line


@unit_of_work
def update_line(actor: User, rfq_id, line_id, *, version=None, **values) -> RfqLine:
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    _check_version(rfq, version)
    line = get_line(rfq, line_id)
    clean, errors = csvlines.clean_line(values)
    _line_errors(errors)
    changes = _line_changes(rfq, line, clean)
    if not changes:
        if rfq.status == RfqStatus.open:
            raise ValidationFailed(_l("Nothing was changed, so no amendment was sent to the suppliers."))
        return line
    for key, value in clean.items():
        setattr(line, key, value)
    _touch(rfq)
    text = f"Line {line.position} " + ", ".join(changes)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [text])
    else:
        _edited(rfq, actor, text)
    return line


@unit_of_work
def delete_line(actor: User, rfq_id, line_id, *, version=None) -> None:
    """Remove a line. In a draft the following lines move up; in an open RFQ numbers stay (suppliers refer to
    them) and the removal is an amendment. An open RFQ keeps at least one line."""
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    _check_version(rfq, version)
    line = get_line(rfq, line_id)
    position, text = line.position, _line_text(line)
    if rfq.status == RfqStatus.open and _line_count(rfq.id) <= 1:
        raise ValidationFailed(_l("A published RFQ needs at least one line; cancel the RFQ instead."))
    db.session.delete(line)
    db.session.flush()
    _touch(rfq)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [f"Line {position} removed: {text}"])
    else:
        # Two steps so the unique (rfq_id, position) holds after every row on every database.
        lines = RfqLine.__table__
        db.session.execute(lines.update().where(lines.c.rfq_id == rfq.id, lines.c.position > position)
                           .values(position=-lines.c.position))
        db.session.execute(lines.update().where(lines.c.rfq_id == rfq.id, lines.c.position < 0)
                           .values(position=-lines.c.position - 1))
        db.session.expire(rfq, ["lines"])
        _edited(rfq, actor, f"Line {position} removed: {text}")


def preview_import(actor: User, rfq_id, text: str) -> csvlines.ParsedLines:
    """Parse (never save) CSV text of lines for the preview. Raises ValidationFailed for a malformed file."""
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    parsed = csvlines.parse(text)
    if _line_count(rfq.id) + len(parsed.rows) > MAX_LINES:
        raise ValidationFailed(_l("An RFQ can have at most %(max_lines)s lines; this file would make %(line_count)s."),
                               max_lines=number_fig(MAX_LINES), line_count=number_fig(_line_count(rfq.id) + len(parsed.rows)))
    return parsed


@unit_of_work
def import_lines(actor: User, rfq_id, *, text: str, version=None) -> int:
    """Append the CSV's lines — all or nothing, and only when no row has an error. Returns how many."""
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    _check_version(rfq, version)
    parsed = csvlines.parse(text)
    if parsed.errors:
        raise ValidationFailed(_l("The CSV has %(count)s problem(s); nothing was imported. Correct the rows listed "
                                  "and preview again."), count=len(parsed.errors))
    if not parsed.rows:
        raise ValidationFailed(_l("The CSV has no lines to import."))
    existing = _line_count(rfq.id)
    if existing + len(parsed.rows) > MAX_LINES:
        raise ValidationFailed(_l("An RFQ can have at most %(max_lines)s lines; this file would make %(existing)s."),
                               max_lines=number_fig(MAX_LINES), existing=number_fig(existing + len(parsed.rows)))
    start = _next_position(rfq)
    for i, row in enumerate(parsed.rows):
        values = {k: v for k, v in row.items() if k != "row"}
        db.session.add(RfqLine(rfq_id=rfq.id, position=start + i, **values))
    end = start + len(parsed.rows) - 1
    _touch(rfq)
    n = len(parsed.rows)
    span = f"line {start}" if n == 1 else f"lines {start}–{end}"
    detail = (msg(_l("%(n)s line(s) imported from CSV (line %(start)s)"), n=n, start=start) if n == 1 else
              msg(_l("%(n)s line(s) imported from CSV (lines %(start)s–%(end)s)"), n=n, start=start, end=end))
    record("rfq", rfq.id, "lines_imported", actor=actor, company_id=rfq.buyer_company_id,
           visible_to_company_id=_draft_only(rfq), detail=detail)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [f"{n} line(s) added by CSV import ({span})"])
    return n


def export_lines_csv(viewer: User, rfq_id) -> tuple[Rfq, str]:
    rfq = load_visible(rfq_id, viewer.company_id)
    lines = db.session.scalars(sa.select(RfqLine).where(RfqLine.rfq_id == rfq.id).order_by(RfqLine.position))
    return rfq, csvlines.export_lines(lines)


# ---------------------------------------------------------------------------------------------------
# Attachments
# ---------------------------------------------------------------------------------------------------

def _clean_filename(name: str, ext: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C").strip()
    name = name.lstrip(".") or f"attachment.{ext}"
    if len(name) > 150:
        stem, dot, e = name.rpartition(".")
        name = stem[: 140] + dot + e
    return name


def check_attachment(filename: str, data: bytes) -> tuple[str, str]:
    """Return (clean filename, content type) or raise ValidationFailed: PDF, PNG, JPEG or CSV, at most 5 MB,
    and the bytes must be what the extension says."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext not in ATTACHMENT_TYPES:
        raise ValidationFailed(_l("“%(short)s” is not an allowed type. Attach PDF, PNG, JPEG or CSV files."),
                               short=_short(filename or 'This file', 60),
                               errors={"file": _l("Allowed: PDF, PNG, JPEG, CSV.")})
    if not data:
        raise ValidationFailed(_l("The file is empty."), errors={"file": _l("The file is empty.")})
    if len(data) > MAX_ATTACHMENT_BYTES:
        size = len(data) / 1024 / 1024
        raise ValidationFailed(_l("The file is too large (%(size)s MB); attachments may be at most "
                                  "%(max_attachment_bytes)s MB each."),
                               size=format(size, ".1f"), max_attachment_bytes=MAX_ATTACHMENT_BYTES // (1024 * 1024),
                               errors={"file": _l("At most 5 MB.")})
    content_type, magics = ATTACHMENT_TYPES[ext]
    if magics is not None:
        if not any(data.startswith(m) for m in magics):
            raise ValidationFailed(_l("The file does not contain what its name says (.%(ext)s); attach a real "
                                      "%(ext2)s file."), ext=ext, ext2=ext.upper(),
                                   errors={"file": _l("Content does not match the type.")})
    else:
        try:
            csvlines.decode_upload(data) if len(data) <= csvlines.MAX_BYTES else data.decode("utf-8-sig")
        except (ValidationFailed, UnicodeDecodeError):
            raise ValidationFailed(_l("The CSV attachment is not a UTF-8 text file."),
                                   errors={"file": _l("Not a UTF-8 CSV file.")})
        if b"\x00" in data:
            raise ValidationFailed(_l("The CSV attachment contains binary data."),
                                   errors={"file": _l("Binary data.")})
    return _clean_filename(filename, ext), content_type


@unit_of_work
def add_attachment(actor: User, rfq_id, *, filename: str, data: bytes) -> RfqAttachment:
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    name, content_type = check_attachment(filename, data)
    count = db.session.scalar(sa.select(sa.func.count(RfqAttachment.id))
                              .where(RfqAttachment.rfq_id == rfq.id))
    if count >= MAX_ATTACHMENTS:
        raise ValidationFailed(_l("An RFQ can have at most %(max_attachments)s attachments."),
                               max_attachments=MAX_ATTACHMENTS)
    stored = save_bytes(data, filename=name, content_type=content_type, owner_company_id=rfq.buyer_company_id)
    att = RfqAttachment(rfq_id=rfq.id, file_id=stored.id, uploaded_by_id=actor.id)
    db.session.add(att)
    _touch(rfq)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [f"Attachment added: {name}"])
    else:
        _edited(rfq, actor, f"Attachment added: {name}")
    db.session.flush()
    return att


@unit_of_work
def remove_attachment(actor: User, rfq_id, attachment_id) -> None:
    rfq = _own_rfq(actor, rfq_id)
    _require_editable(rfq)
    att = get_attachment(rfq, attachment_id)
    name = att.file.filename
    db.session.delete(att)
    _touch(rfq)
    if rfq.status == RfqStatus.open:
        _amend(rfq, actor, [f"Attachment removed: {name}"])
    else:
        _edited(rfq, actor, f"Attachment removed: {name}")


def get_attachment(rfq: Rfq, attachment_id) -> RfqAttachment:
    """An attachment of this (already authorised) RFQ, or NotFound."""
    from portal.tenancy import get_child

    return get_child(RfqAttachment, attachment_id, "attachment", RfqAttachment.rfq_id == rfq.id)


def attachment_for(viewer: User, rfq_id, attachment_id) -> RfqAttachment:
    """For download: the RFQ through tenancy first (buyer; invited suppliers once published), then the
    file."""
    rfq = load_visible(rfq_id, viewer.company_id)
    return get_attachment(rfq, attachment_id)


# ---------------------------------------------------------------------------------------------------
# Invitations and the supplier directory
# ---------------------------------------------------------------------------------------------------

def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_suppliers(actor: User, *, q: str = "", country: str = "", category: str = "",
                     limit: int = 50) -> list[Company]:
    """The directory: supplier companies (kind supplier or both) other than the actor's own."""
    _require_procurement(actor)
    stmt = sa.select(Company).where(Company.kind.in_([CompanyKind.supplier, CompanyKind.both]),
                                    Company.id != actor.company_id)
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(sa.or_(Company.display_name.ilike(_like(q), escape="\\"),
                                 Company.legal_name.ilike(_like(q), escape="\\")))
    country = (country or "").strip().upper()[:2]
    if country:
        stmt = stmt.where(Company.country == country)
    category = (category or "").strip()[:100]
    if category:
        stmt = stmt.where(Company.categories.ilike(_like(category), escape="\\"))
    return list(db.session.scalars(stmt.order_by(Company.display_name, Company.id).limit(limit)))


def supplier_countries(actor: User) -> list[str]:
    return list(db.session.scalars(
        sa.select(Company.country).where(Company.kind.in_([CompanyKind.supplier, CompanyKind.both]),
                                         Company.id != actor.company_id)
        .distinct().order_by(Company.country)))


def invitations_of(rfq: Rfq) -> list[RfqInvitation]:
    return list(db.session.scalars(sa.select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id)
                                   .order_by(RfqInvitation.invited_at, RfqInvitation.id)))


@unit_of_work
def invite_suppliers(actor: User, rfq_id, supplier_ids) -> list[Company]:
    """Invite suppliers (draft or open). Returns the newly invited; those already invited are skipped.
    Suppliers invited to a published RFQ are notified at once."""
    rfq = _own_rfq(actor, rfq_id)
    if rfq.status not in EDITABLE:
        raise InvalidTransition(_l("Suppliers cannot be invited to an RFQ that is %(value)s."), value=rfq.status.value)
    if rfq.status == RfqStatus.open and rfq.deadline <= utcnow():
        raise InvalidTransition(_l("The response deadline has passed; no more suppliers can be invited."))
    try:
        ids = sorted({int(i) for i in supplier_ids or []})
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Choose suppliers from the directory."))
    if not ids:
        raise ValidationFailed(_l("Choose at least one supplier to invite."))
    companies = list(db.session.scalars(sa.select(Company).where(Company.id.in_(ids))))
    valid = [c for c in companies if c.is_supplier and c.id != actor.company_id]
    if len(valid) != len(ids):
        raise ValidationFailed(_l("Only supplier companies from the directory can be invited."))
    already = set(db.session.scalars(sa.select(RfqInvitation.supplier_company_id)
                                     .where(RfqInvitation.rfq_id == rfq.id)))
    new = [c for c in valid if c.id not in already]
    check_invitable(rfq.buyer_company_id, [c.id for c in new])  # blocked suppliers are never invited
    for c in new:
        db.session.add(RfqInvitation(rfq_id=rfq.id, supplier_company_id=c.id, invited_by_id=actor.id))
        # Internal: suppliers must never learn who else was invited.
        record("rfq", rfq.id, "supplier_invited", actor=actor, company_id=rfq.buyer_company_id,
               detail=c.display_name, visible_to_company_id=rfq.buyer_company_id)
    if new and rfq.status == RfqStatus.open:
        _notify_invited(rfq, _supplier_sales(rfq, [c.id for c in new]))
    db.session.flush()
    return new


@unit_of_work
def remove_invitation(actor: User, rfq_id, supplier_id) -> None:
    """Withdraw an invitation — only while the RFQ is a draft (nobody was told yet)."""
    rfq = _own_rfq(actor, rfq_id)
    if rfq.status != RfqStatus.draft:
        raise InvalidTransition(_l("Invitations can only be removed while the RFQ is a draft; published invitations "
                                   "stay."))
    try:
        supplier_id = int(supplier_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such invitation."))
    inv = db.session.scalar(sa.select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id,
                                                           RfqInvitation.supplier_company_id == supplier_id))
    if inv is None:
        raise NotFound(_l("No such invitation."))
    name = inv.supplier.display_name
    db.session.delete(inv)
    record("rfq", rfq.id, "supplier_removed", actor=actor, company_id=rfq.buyer_company_id, detail=name,
           visible_to_company_id=rfq.buyer_company_id)


# ---------------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------------

def publish_problems(rfq: Rfq) -> list[str]:
    problems = []
    if _line_count(rfq.id) == 0:
        problems.append("add at least one line")
    if not db.session.scalar(sa.select(RfqInvitation.id).where(RfqInvitation.rfq_id == rfq.id).limit(1)):
        problems.append("invite at least one supplier")
    if rfq.deadline <= utcnow():
        problems.append("set a response deadline in the future")
    return problems


@unit_of_work
def publish(actor: User, rfq_id, *, version=None) -> Rfq:
    """draft -> open: needs a line, an invited supplier and a future deadline; the suppliers are told."""
    rfq = _own_rfq(actor, rfq_id)
    states.check(rfq.status, RfqStatus.open)
    _check_version(rfq, version)
    problems = publish_problems(rfq)
    if problems:
        raise ValidationFailed(_l("The RFQ cannot be published yet: %(problems)s."), problems="; ".join(problems))
    now = utcnow()
    rfq.status = RfqStatus.open
    rfq.published_at = now
    record("rfq", rfq.id, "published", actor=actor, company_id=rfq.buyer_company_id,
           from_state=RfqStatus.draft, to_state=RfqStatus.open,
           detail=msg(_l("Sealed bidding: prices open at the deadline")) if rfq.sealed
           else msg(_l("Unsealed: prices are visible as quotes arrive")))
    _notify_invited(rfq, _supplier_sales(rfq))
    emit([rfq.buyer_company_id, *(i.supplier_company_id for i in rfq.invitations)], "rfq.published", rfq)
    return rfq


@unit_of_work
def extend_deadline(actor: User, rfq_id, *, deadline: datetime, version=None) -> Rfq:
    """Move an open RFQ's deadline later (never earlier, never into the past): an amendment."""
    rfq = _own_rfq(actor, rfq_id)
    if rfq.status != RfqStatus.open:
        raise InvalidTransition(_l("Only an open RFQ's deadline can be extended; this one is %(value)s."),
                                value=rfq.status.value)
    _require_editable(rfq)
    _check_version(rfq, version)
    if deadline is None or not isinstance(deadline, datetime) or deadline.tzinfo is None:
        raise ValidationFailed(_l("Choose the new deadline (date and time)."), errors={"deadline": _l("Required.")})
    deadline = deadline.astimezone(timezone.utc)
    if deadline <= utcnow():
        raise ValidationFailed(_l("The new deadline is in the past; choose a later date and time."),
                               errors={"deadline": _l("The new deadline is in the past.")})
    if deadline <= rfq.deadline:
        raise ValidationFailed(_l("A deadline can only be extended: choose a date and time after the current "
                                  "deadline."), errors={"deadline": _l("Must be later than the current deadline.")})
    old = rfq.deadline
    rfq.deadline = deadline
    text = f"Deadline extended from {_utc_text(old)} to {_utc_text(deadline)}"
    record("rfq", rfq.id, "deadline_extended", actor=actor, company_id=rfq.buyer_company_id, detail=text)
    _amend(rfq, actor, [text])
    return rfq


def submitted_quote_count(rfq_id: int) -> int:
    return submitted_quote_counts([rfq_id]).get(rfq_id, 0)


def submitted_quote_counts(rfq_ids) -> dict[int, int]:
    """rfq id -> submitted quotes, for a page of RFQs in one statement."""
    if not rfq_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Quote.rfq_id, sa.func.count(Quote.id))
        .where(Quote.rfq_id.in_(list(rfq_ids)), Quote.current_version_id.is_not(None),
               Quote.status == QuoteStatus.submitted).group_by(Quote.rfq_id)).all())


def _close(rfq: Rfq, actor: User | None, *, how: str) -> int:
    """open -> closed, and open the sealed quotes, in the caller's transaction. Returns the quote count."""
    states.check(rfq.status, RfqStatus.closed)
    now = utcnow()
    rfq.status = RfqStatus.closed
    rfq.closed_at = now
    rfq.opened_at = now
    n = submitted_quote_count(rfq.id)
    how_said = (msg(_l("closed early by %(name)s"), name=actor.name) if actor is not None
                else msg(_l("deadline passed")))
    record("rfq", rfq.id, "closed", actor=actor, company_id=rfq.buyer_company_id, from_state=RfqStatus.open,
           to_state=RfqStatus.closed, detail=how)
    record("rfq", rfq.id, "quotes_opened", actor=actor, company_id=rfq.buyer_company_id,
           detail=f"{n} quote{'s' if n != 1 else ''} opened", visible_to_company_id=rfq.buyer_company_id)
    notify(_buyer_procurement(rfq), kind="rfq_closed",
           title=(msg(_l("RFQ closed, 1 quote to compare: %(reference)s"), reference=rfq.reference) if n == 1
                  else msg(_l("RFQ closed, %(n)s quotes to compare: %(reference)s"), n=n,
                           reference=rfq.reference)),
           body=(msg(_l("“%(title)s” closed (%(how)s). 1 quote can now be compared."), title=rfq.title, how=how_said)
                 if n == 1 else msg(_l("“%(title)s” closed (%(how)s). %(n)s quotes can now be compared."),
                                    title=rfq.title, how=how_said, n=n)),
           link=_link(rfq))
    notify(_supplier_sales(rfq), kind="rfq_closed",
           title=msg(_l("RFQ closed: %(reference)s"), reference=rfq.reference),
           body=msg(_l("%(buyer)s closed “%(title)s”; quotes can no longer be submitted or revised."),
                    buyer=rfq.buyer.display_name, title=rfq.title),
           link=_link(rfq))
    return n


@unit_of_work
def close_early(actor: User, rfq_id, *, version=None) -> int:
    """The buyer closes an open RFQ before its deadline. Returns the number of quotes opened."""
    rfq = _own_rfq(actor, rfq_id)
    states.check(rfq.status, RfqStatus.closed)
    _check_version(rfq, version)
    return _close(rfq, actor, how=f"closed early by {actor.name}")


def close_due_rfqs() -> int:
    """The deadline sweep (RQ cron, every 30 s): close every open RFQ whose deadline passed.

    Idempotent and safe to run twice at once: each due RFQ is locked (FOR UPDATE SKIP LOCKED on PostgreSQL),
    re-checked and closed in a transaction of its own; a row another sweep holds or already closed is skipped.
    Returns how many RFQs this run closed.
    """
    now = utcnow()
    due = list(db.session.scalars(sa.select(Rfq.id).where(Rfq.status == RfqStatus.open, Rfq.deadline <= now)
                                  .order_by(Rfq.deadline, Rfq.id)))
    db.session.rollback()  # end the read; each RFQ gets a transaction of its own
    postgres = db.session.get_bind().dialect.name == "postgresql"
    closed = 0
    for rfq_id in due:
        stmt = (sa.select(Rfq).where(Rfq.id == rfq_id, Rfq.status == RfqStatus.open, Rfq.deadline <= now)
                .execution_options(populate_existing=True))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=Rfq)
        try:
            rfq = db.session.scalar(stmt)
            if rfq is None:  # closed meanwhile, or another sweep holds it
                db.session.rollback()
                continue
            _close(rfq, None, how="deadline passed")
            db.session.commit()
            closed += 1
        except StaleDataError:
            db.session.rollback()  # the buyer closed or cancelled it at the same moment
        except Exception:  # noqa: BLE001 - one bad RFQ must not stop the others
            db.session.rollback()
            log.exception("closing RFQ %s failed", rfq_id)
    return closed


@unit_of_work
def cancel(actor: User, rfq_id, *, reason: str, version=None) -> Rfq:
    """Cancel from draft, open or closed with a reason; suppliers are told if it was ever published. A draft
    that was never published also loses its invitations: no supplier ever sees an RFQ nobody sent them."""
    rfq = _own_rfq(actor, rfq_id)
    states.check(rfq.status, RfqStatus.cancelled)
    _check_version(rfq, version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Give a reason for cancelling; the invited suppliers will see it."),
                               errors={"reason": _l("A reason is required.")})
    if len(reason) > MAX_TEXT:
        raise ValidationFailed(_l("The reason is too long; at most %(max_text)s characters."),
                               max_text=number_fig(MAX_TEXT),
                               errors={"reason": _l("Too long.")})
    previous = rfq.status
    rfq.status = RfqStatus.cancelled
    rfq.cancel_reason = reason
    record("rfq", rfq.id, "cancelled", actor=actor, company_id=rfq.buyer_company_id, from_state=previous,
           to_state=RfqStatus.cancelled, detail=reason)
    if rfq.published_at is None:
        for inv in invitations_of(rfq):
            db.session.delete(inv)
    else:
        notify(_supplier_sales(rfq), kind="rfq_cancelled",
               title=msg(_l("RFQ cancelled: %(reference)s"), reference=rfq.reference),
               body=msg(_l("%(buyer)s cancelled “%(title)s”.\nReason: %(reason)s"), buyer=rfq.buyer.display_name,
                        title=rfq.title, reason=reason),
               link=_link(rfq))
    told = [i.supplier_company_id for i in invitations_of(rfq)] if rfq.published_at else []
    emit([rfq.buyer_company_id, *told], "rfq.cancelled", rfq)
    return rfq


# ---------------------------------------------------------------------------------------------------
# Clarifications
# ---------------------------------------------------------------------------------------------------

@unit_of_work
def ask_question(actor: User, rfq_id, *, question: str) -> Clarification:
    """An invited supplier's sales person asks; the buyer's procurement people are told."""
    _require_sales(actor)
    rfq = load_visible(rfq_id, actor.company_id)  # not invited: NotFound
    if rfq.buyer_company_id == actor.company_id:
        raise Forbidden(_l("You cannot ask questions on your own RFQ."))
    if rfq.status != RfqStatus.open or rfq.deadline <= utcnow():
        raise InvalidTransition(_l("Questions can only be asked while the RFQ is open; it is %(value)s."),
                                value=rfq.status.value)
    question = (question or "").strip()
    if not question:
        raise ValidationFailed(_l("Write your question first."), errors={"question": _l("Write your question.")})
    if len(question) > MAX_TEXT:
        raise ValidationFailed(_l("The question is too long; at most %(max_text)s characters."),
                               max_text=number_fig(MAX_TEXT),
                               errors={"question": _l("Too long.")})
    c = Clarification(rfq_id=rfq.id, asked_by_company_id=actor.company_id, asked_by_id=actor.id,
                      question=question)
    db.session.add(c)
    record("rfq", rfq.id, "question_asked", actor=actor, company_id=rfq.buyer_company_id,
           detail=f"{actor.company.display_name}: {_short(question, 120)}",
           visible_to_company_id=rfq.buyer_company_id)
    notify(_buyer_procurement(rfq), kind="rfq_question",
           title=msg(_l("New question on %(reference)s"), reference=rfq.reference),
           body=msg(_l("%(company)s asks about “%(title)s”:\n%(question)s"), company=actor.company.display_name,
                    title=rfq.title, question=question),
           link=_link(rfq))
    db.session.flush()
    return c


@unit_of_work
def answer_question(actor: User, rfq_id, clarification_id, *, answer: str) -> Clarification:
    """The buyer answers; the Q&A becomes visible to every invited supplier, without who asked."""
    rfq = _own_rfq(actor, rfq_id)
    if rfq.status != RfqStatus.open:
        raise InvalidTransition(_l("Questions can only be answered while the RFQ is open; it is %(value)s."),
                                value=rfq.status.value)
    try:
        clarification_id = int(clarification_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such question."))
    c = db.session.scalar(sa.select(Clarification).where(Clarification.id == clarification_id,
                                                         Clarification.rfq_id == rfq.id))
    if c is None:
        raise NotFound(_l("No such question."))
    if c.answer:
        raise Conflict(_l("This question was already answered."))
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(_l("Write the answer first."), errors={"answer": _l("Write the answer.")})
    if len(answer) > MAX_TEXT:
        raise ValidationFailed(_l("The answer is too long; at most %(max_text)s characters."),
                               max_text=number_fig(MAX_TEXT),
                               errors={"answer": _l("Too long.")})
    c.answer, c.answered_by_id, c.answered_at = answer, actor.id, utcnow()
    record("rfq", rfq.id, "question_answered", actor=actor, company_id=rfq.buyer_company_id,
           detail=f"Q: {_short(c.question, 100)}")
    notify(_supplier_sales(rfq), kind="rfq_answer",
           title=msg(_l("Question answered on %(reference)s"), reference=rfq.reference),
           body=msg(_l("A question about “%(title)s” was answered.\n\nQ: %(question)s\nA: %(answer)s"),
                    title=rfq.title, question=c.question, answer=answer),
           link=_link(rfq))
    return c


def clarifications_for(rfq: Rfq, company_id: int) -> list[Clarification]:
    """The buyer sees every question; a supplier the answered ones and its own unanswered ones."""
    stmt = sa.select(Clarification).where(Clarification.rfq_id == rfq.id)
    if company_id != rfq.buyer_company_id:
        stmt = stmt.where(sa.or_(Clarification.answer.is_not(None),
                                 Clarification.asked_by_company_id == company_id))
    return list(db.session.scalars(stmt.order_by(Clarification.asked_at, Clarification.id)))


# ---------------------------------------------------------------------------------------------------
# Read models: list and detail
# ---------------------------------------------------------------------------------------------------

@dataclass
class Page:
    items: list
    total: int | None  # None on a keyset page (no count)
    page: int | None  # None on a keyset page
    per_page: int = PER_PAGE
    newer: int | None = None  # cursors for the Previous/Next links (portal/paging.py)
    older: int | None = None

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    def with_edges(self) -> "Page":
        """Page-number pages get cursors too, so Previous/Next never walk by OFFSET."""
        if self.page is not None and self.items:
            self.newer = self.items[0].rfq.id if self.page > 1 else None
            self.older = self.items[-1].rfq.id if self.page < self.pages else None
        return self

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass
class BuyerRow:
    rfq: Rfq
    lines: int
    suppliers: int
    quotes: int


@dataclass
class SupplierRow:
    rfq: Rfq
    quote_status: str  # not started / draft / submitted / withdrawn
    needs_reconfirmation: bool = False


def _matches(q: str):
    pattern = _like(q)
    return sa.or_(Rfq.reference.ilike(pattern, escape="\\"), Rfq.title.ilike(pattern, escape="\\"))


def _page_no(page) -> int:
    from portal.viewutil import page_number

    return page_number(page)


def _status_filter(status) -> RfqStatus | None:
    try:
        return RfqStatus(status) if status else None
    except ValueError:
        return None


def list_for_buyer(actor: User, *, status=None, q: str = "", page=1, per_page: int = PER_PAGE, after=None,
                   before=None) -> Page:
    """The buyer's RFQs, newest first (id desc; ix_rfqs_buyer_status_id), 50 per page, in two queries; with a
    cursor (``after``/``before``, portal/paging.py) in one, without count or OFFSET."""
    _require_procurement(actor)
    where = [Rfq.buyer_company_id == actor.company_id]
    st = _status_filter(status)
    if st:
        where.append(Rfq.status == st)
    q = (q or "").strip()[:100]
    if q:
        where.append(_matches(q))
    n_lines = (sa.select(sa.func.count(RfqLine.id)).where(RfqLine.rfq_id == Rfq.id)
               .correlate(Rfq).scalar_subquery())
    n_suppliers = (sa.select(sa.func.count(RfqInvitation.id)).where(RfqInvitation.rfq_id == Rfq.id)
                   .correlate(Rfq).scalar_subquery())
    n_quotes = (sa.select(sa.func.count(Quote.id))
                .where(Quote.rfq_id == Rfq.id, Quote.current_version_id.is_not(None),
                       Quote.status == QuoteStatus.submitted)
                .correlate(Rfq).scalar_subquery())
    stmt = sa.select(Rfq, n_lines, n_suppliers, n_quotes).where(*where)
    if after or before is not None:
        kp = keyset_page(stmt, Rfq.id, after=after, before=before, size=per_page, rows=True)
        return Page([BuyerRow(r, nl, ns, nq) for r, nl, ns, nq in kp.rows], None, None, per_page, kp.newer,
                    kp.older)
    page = _page_no(page)
    total = db.session.scalar(sa.select(sa.func.count(Rfq.id)).where(*where)) or 0
    rows = db.session.execute(stmt.order_by(Rfq.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return Page([BuyerRow(r, nl, ns, nq) for r, nl, ns, nq in rows], total, page, per_page).with_edges()


def quote_state_label(status, current_version_id) -> str:
    if status is None:
        return "not started"
    status = QuoteStatus(status)
    if status == QuoteStatus.draft:
        return "draft"
    return status.value


def list_for_supplier(actor: User, *, status=None, q: str = "", page=1, per_page: int = PER_PAGE, after=None,
                      before=None) -> Page:
    """RFQs the supplier is invited to (never drafts), with its own quote's state, in two queries."""
    _require_sales(actor)
    me = actor.company_id
    where = [Rfq.status != RfqStatus.draft, Rfq.published_at.is_not(None)]
    st = _status_filter(status)
    if st:
        where.append(Rfq.status == st)
    q = (q or "").strip()[:100]
    if q:
        where.append(_matches(q))
    invited = sa.and_(RfqInvitation.rfq_id == Rfq.id, RfqInvitation.supplier_company_id == me)
    stmt = (sa.select(Rfq, Quote.status, Quote.current_version_id, Quote.needs_reconfirmation)
            .join(RfqInvitation, invited)
            .outerjoin(Quote, sa.and_(Quote.rfq_id == Rfq.id, Quote.supplier_company_id == me))
            .where(*where))
    if after or before is not None:
        kp = keyset_page(stmt, Rfq.id, after=after, before=before, size=per_page, rows=True)
        return Page([SupplierRow(r, quote_state_label(s, cv), bool(nr)) for r, s, cv, nr in kp.rows], None, None,
                    per_page, kp.newer, kp.older)
    page = _page_no(page)
    total = db.session.scalar(sa.select(sa.func.count(Rfq.id)).join(RfqInvitation, invited)
                              .where(*where)) or 0
    rows = db.session.execute(stmt.order_by(Rfq.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return Page([SupplierRow(r, quote_state_label(s, cv), bool(nr)) for r, s, cv, nr in rows],
                total, page, per_page).with_edges()


@dataclass
class DetailView:
    rfq: Rfq
    is_buyer: bool
    lines: list
    attachments: list
    amendments: list
    clarifications: list
    trail: list
    invitations: list = field(default_factory=list)  # buyer only
    askers: dict = field(default_factory=dict)  # buyer only: company id -> name
    quote_count: int = 0  # buyer only
    publish_problems: list = field(default_factory=list)


def detail_view(viewer: User, rfq: Rfq) -> DetailView:
    """Everything the detail page shows, in a fixed number of queries whatever the number of lines."""
    is_buyer = rfq.buyer_company_id == viewer.company_id
    lines = lines_of(rfq)
    attachments = list(db.session.scalars(sa.select(RfqAttachment).where(RfqAttachment.rfq_id == rfq.id)
                                          .order_by(RfqAttachment.id)))
    amendments = list(db.session.scalars(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == rfq.id)
                                         .options(joinedload(RfqAmendment.changed_by))
                                         .order_by(RfqAmendment.number.desc())))
    view = DetailView(rfq=rfq, is_buyer=is_buyer, lines=lines, attachments=attachments, amendments=amendments,
                      clarifications=clarifications_for(rfq, viewer.company_id),
                      trail=trail("rfq", rfq.id, viewer.company_id))
    if is_buyer:
        view.invitations = invitations_of(rfq)
        view.askers = {c.asked_by_company_id: None for c in view.clarifications}
        if view.askers:
            view.askers = dict(db.session.execute(sa.select(Company.id, Company.display_name)
                                                  .where(Company.id.in_(list(view.askers)))).all())
        view.quote_count = submitted_quote_count(rfq.id)
        if rfq.status == RfqStatus.draft:
            view.publish_problems = publish_problems(rfq)
    return view


def remaining_text(deadline: datetime, now: datetime | None = None) -> str:
    """“2 days 4 h left”, “35 min left”, or “deadline passed”."""
    now = now or utcnow()
    seconds = int((deadline - now).total_seconds())
    if seconds <= 0:
        return gettext("deadline passed")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return ngettext("%(num)d day %(hours)s h left", "%(num)d days %(hours)s h left", days, hours=hours)
    if hours:
        return gettext("%(hours)s h %(minutes)s min left", hours=hours, minutes=minutes)
    return gettext("%(minutes)s min left", minutes=max(minutes, 1))
