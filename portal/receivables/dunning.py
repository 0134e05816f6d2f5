"""Dunning: overdue invoices climb the supplier's dunning levels, each with a letter.

Levels: 1 payment reminder, 2 first dunning notice, 3 final notice. The days after the due date at which each
level is reached are the supplier's (``InvoiceSettings.reminder_days``, e.g. "3,14,30"; fewer numbers = fewer
levels; none = no dunning). The periodic sweep (``run_dunning``, in the timed tick) sends each invoice the
highest level it has reached and not yet had, once: a DunningNotice row per (invoice, level) (unique), written
in the transaction that notifies both accounts teams and enqueues the letter's PDF (queue "documents", job id
``dunning-letter-<id>``). An invoice found 40 days late on a 3,14,30 schedule gets the final notice, not three.

Never dunned: disputed invoices (``Invoice.disputed_at`` set by the buyer's dispute), paid or fully credited
ones, drafts, credit notes, and invoices not yet due. These are checked again under the invoice's row lock
(lock order step 3, portal/credit/ledger.py), so a dispute opened while the sweep runs wins.

Late-payment interest (portal.receivables.interest) is computed when the supplier charges it and printed as a
line of the letter; the invoice is never changed.
"""
from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role, User
from portal.audit.services import record as audit
from portal.credit.ledger import lock_invoice, overdue_clause
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import Invoice, InvoiceSettings
from portal.locking import retry_on_conflict
from portal.money import quantize, to_decimal
from portal.notifications.messages import day, money, msg, number
from portal.receivables import interest
from portal.receivables.models import LEVELS, MAX_LEVEL, DunningNotice, DunningSettings
from portal.documents.language import recipient_settings

log = logging.getLogger(__name__)

LETTER_JOB = "portal.receivables.jobs.dunning_letter_pdf_job"
DEFAULT_DAYS = "3,14,30"


# --------------------------------------------------------------------------------------------- settings

def level_days(reminder_days: str | None) -> list[int]:
    """"3,14,30" -> [3, 14, 30]: the days after due of levels 1, 2, 3 (sorted, at most three)."""
    days = sorted({int(x) for x in (reminder_days or "").replace(" ", "").split(",") if x.strip().isdigit()})
    return days[:MAX_LEVEL]


def level_for(days: list[int], late: int) -> int:
    """The highest level reached ``late`` days after the due date (0 = none)."""
    return sum(1 for d in days if d <= late)


def settings_of(supplier_id: int) -> dict:
    """The supplier's dunning terms as plain values (days per level, interest)."""
    inv_s = db.session.get(InvoiceSettings, supplier_id)
    ds = db.session.get(DunningSettings, supplier_id)
    return {"days": level_days(inv_s.reminder_days if inv_s else DEFAULT_DAYS),
            "charge_interest": bool(ds and ds.charge_interest),
            "reference_rate": ds.reference_rate if ds else None,
            "reference_rate_date": ds.reference_rate_date if ds else None,
            "lock_version": ds.lock_version if ds else 0}


def _day_field(value, name: str, label: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        d = int(text)
    except ValueError:
        raise ValidationFailed(_l("%(label)s: a whole number of days, e.g. 14."), label=label,
                               errors={name: _l("Whole days.")})
    if not 0 <= d <= 365:
        raise ValidationFailed(_l("%(label)s: between 0 and 365 days after the due date."), label=label,
                               errors={name: _l("0 to 365.")})
    return d


def save_settings(actor: User, *, level1="", level2="", level3="", charge_interest: bool = False,
                  reference_rate="", reference_rate_date="", today: date | None = None) -> dict:
    """The supplier's accounts team sets the days of each level and the late-payment interest. One commit."""
    try:
        if actor.company is None or not actor.company.is_supplier:
            raise Forbidden(_l("Dunning settings are for suppliers."))
        if not actor.has_role(Role.accounts):
            raise Forbidden(_l("Only your company's accounts team can change dunning settings."))
        today = today or utcnow().date()
        labels = [("level1", LEVELS[1]), ("level2", LEVELS[2]), ("level3", LEVELS[3])]
        days = [_day_field(v, n, lab) for v, (n, lab) in zip((level1, level2, level3), labels)]
        given = [d for d in days if d is not None]
        if any(d is None for d in days[:len(given)]):
            raise ValidationFailed(_l("Fill the levels in order: a first dunning needs a payment reminder before "
                                      "it, a final notice a first dunning."),
                                   errors={"level1": _l("Fill levels in order.")})
        if any(b <= a for a, b in zip(given, given[1:])):
            raise ValidationFailed(_l("Each level must come later than the one before it (e.g. 3, 14, 30 days)."),
                                   errors={"level2": _l("Later than the level before.")})
        rate = None
        if str(reference_rate or "").strip():
            rate = to_decimal(reference_rate, "Reference rate", places=3)
            if not Decimal("-10") <= rate <= Decimal("50"):
                raise ValidationFailed(_l("The reference rate is a percentage between -10 and 50 (the ECB rate was "
                                          "between -0.5 and 4.5 since 1999)."),
                                       errors={"reference_rate": _l("-10 to 50.")})
        rate_date = None
        if str(reference_rate_date or "").strip():
            try:
                rate_date = date.fromisoformat(str(reference_rate_date).strip())
            except ValueError:
                raise ValidationFailed(_l("The date of the reference rate: a date like 2026-07-01."),
                                       errors={"reference_rate_date": _l("YYYY-MM-DD.")})
            if rate_date > today:
                raise ValidationFailed(_l("The reference rate's date is in the future; enter the rate in force "
                                          "today and the date it took effect."),
                                       errors={"reference_rate_date": _l("Not later than today.")})
            if rate_date.year < 1999:
                raise ValidationFailed(_l("The reference rate's date is before 1999."),
                                       errors={"reference_rate_date": _l("From 1999.")})
        if charge_interest and (rate is None or rate_date is None):
            raise ValidationFailed(_l("To charge late-payment interest, enter the reference rate and the date it "
                                      "applies from."), errors={"reference_rate": _l("Needed for interest.")})
        inv_s = db.session.get(InvoiceSettings, actor.company_id)
        if inv_s is None:
            from portal.invoices.services import settings_for

            inv_s = settings_for(actor.company_id)
            db.session.add(inv_s)
        inv_s.reminder_days = ",".join(str(d) for d in given)
        ds = db.session.get(DunningSettings, actor.company_id)
        if ds is None:
            ds = DunningSettings(supplier_company_id=actor.company_id)
            db.session.add(ds)
        ds.charge_interest, ds.reference_rate, ds.reference_rate_date = bool(charge_interest), rate, rate_date
        audit("dunning_settings", actor.company_id, "updated", actor=actor, company_id=actor.company_id,
              visible_to_company_id=actor.company_id,
              detail=f"levels {inv_s.reminder_days or 'none'}; interest "
                     + (f"reference {rate} % from {rate_date} + 8 points" if charge_interest else "off"))
        db.session.commit()
    except (StaleDataError, sa.exc.IntegrityError):
        db.session.rollback()
        raise Conflict(_l("Someone else saved the dunning settings at the same moment; reload the page and check "
                          "them."))
    except Exception:
        db.session.rollback()
        raise
    return settings_of(actor.company_id)


# --------------------------------------------------------------------------------------------- the sweep

def _candidates(today: date):
    """Overdue, undisputed invoices with the highest level each already had: one statement."""
    last = (sa.select(DunningNotice.invoice_id, sa.func.max(DunningNotice.level).label("level"))
            .group_by(DunningNotice.invoice_id).subquery())
    return db.session.execute(
        sa.select(Invoice.id, Invoice.supplier_company_id, Invoice.due_date, sa.func.coalesce(last.c.level, 0))
        .outerjoin(last, last.c.invoice_id == Invoice.id)
        .where(overdue_clause(today), Invoice.disputed_at.is_(None),
               sa.func.coalesce(last.c.level, 0) < MAX_LEVEL)
        .order_by(Invoice.id)).all()


MAX_PER_SWEEP = 500  # letters per tick; the rest follow on the next ticks (the tick stays short)


def run_dunning(today: date | None = None, limit: int = MAX_PER_SWEEP) -> int:
    """The periodic sweep: send every overdue invoice the level it has reached, once, at most ``limit`` letters
    per run (oldest invoice ids first). Returns letters sent."""
    today = today or utcnow().date()
    days_by_supplier: dict[int, list[int]] = {}
    rows = _candidates(today)
    sent = 0
    for inv_id, supplier_id, due, last_level in rows:
        if sent >= limit:
            break
        if supplier_id not in days_by_supplier:
            days_by_supplier[supplier_id] = settings_of(supplier_id)["days"]
        level = level_for(days_by_supplier[supplier_id], (today - due).days)
        if level <= last_level:
            continue
        try:
            if dun(inv_id, level, today) is not None:
                sent += 1
        except Exception:  # noqa: BLE001 - one invoice must not stop the others; the next tick tries again
            db.session.rollback()
            log.exception("dunning invoice %s failed", inv_id)
    db.session.commit()
    return sent


@retry_on_conflict
def dun(invoice_id: int, level: int, today: date) -> DunningNotice | None:
    """Send ``level`` for one invoice, unless (under its row lock) it is no longer overdue, is disputed, or
    already had this level or a higher one. One commit."""
    inv = lock_invoice(invoice_id)
    if inv.disputed_at is not None or not _overdue(inv, today):
        db.session.rollback()
        return None
    had = db.session.scalar(sa.select(sa.func.max(DunningNotice.level)).where(DunningNotice.invoice_id == inv.id))
    if had is not None and had >= level:
        db.session.rollback()
        return None
    terms = settings_of(inv.supplier_company_id)
    late = interest.days_late(inv.due_date, today)
    open_amount = quantize(inv.open_amount, inv.currency)
    rate = amount = None
    if terms["charge_interest"]:
        rate = interest.annual_rate(terms["reference_rate"])
        amount = interest.late_interest(open_amount, rate, late, inv.currency)
    notice = DunningNotice(invoice_id=inv.id, supplier_company_id=inv.supplier_company_id,
                           buyer_company_id=inv.buyer_company_id, level=level, days_late=late, sent_on=today,
                           currency=inv.currency, open_amount=open_amount, interest_rate=rate,
                           interest_amount=amount)
    db.session.add(notice)
    db.session.flush()
    notice.snapshot = letter_snapshot(inv, notice, terms)
    from portal.jobs import start_tracked

    rec = start_tracked(LETTER_JOB, notice.id, kind="dunning-letter", title=f"{notice.title} for {inv.number}",
                        company_id=inv.supplier_company_id, user_id=None, queue="documents",
                        job_id=f"dunning-letter-{notice.id}")
    notice.pdf_job_id = rec.id
    _notify(inv, notice)
    audit("invoice", inv.id, f"dunning level {level} sent", company_id=inv.supplier_company_id,
          visible_to_company_id=None, detail=f"{notice.title}, {late} days after due, open "
                                             f"{_amount(open_amount, inv.currency)}"
                                             + (f", interest {_amount(amount, inv.currency)}" if amount else ""))
    db.session.commit()
    return notice


def _overdue(inv: Invoice, today: date) -> bool:
    from portal.invoices.models import DocumentKind
    from portal.invoices.states import InvoiceStatus

    return (inv.kind == DocumentKind.invoice and inv.status in (InvoiceStatus.issued, InvoiceStatus.partially_paid)
            and inv.due_date is not None and inv.due_date < today and inv.open_amount > 0)


def _amount(value: Decimal, currency: str) -> str:
    from portal.invoices.services import amount_text

    return amount_text(value, currency)


def _notify(inv: Invoice, notice: DunningNotice) -> None:
    from portal.notifications.services import notify_company

    link = f"/invoices/{inv.id}"
    level = msg(LEVELS[notice.level])  # the level names are msgids (the letter translates them too)
    figures = {"number": inv.number, "total": money(inv.total_gross, inv.currency), "due": day(inv.due_date),
               "days": number(notice.days_late), "open": money(notice.open_amount, inv.currency)}
    if notice.interest_amount:
        facts = msg(_l("Invoice %(number)s of %(total)s was due on %(due)s (%(days)s days ago); %(open)s is "
                       "still open. Late-payment interest of %(interest)s (%(rate)s %% a year) is claimed on "
                       "the letter."),
                    interest=money(notice.interest_amount, inv.currency), rate=number(notice.interest_rate),
                    **figures)
    else:
        facts = msg(_l("Invoice %(number)s of %(total)s was due on %(due)s (%(days)s days ago); %(open)s is "
                       "still open."), **figures)
    notify_company(inv.buyer_company_id, [Role.accounts], kind="invoice-reminder",
                   title=msg(_l("%(level)s: invoice %(number)s from %(supplier)s"), level=level,
                             number=inv.number, supplier=inv.supplier.display_name),
                   body=msg(_l("%(facts)s Please arrange payment; the letter is on the invoice page."),
                            facts=facts),
                   link=link)
    notify_company(inv.supplier_company_id, [Role.accounts], kind="invoice-reminder", mail=False,
                   title=msg(_l("%(level)s sent to %(buyer)s for invoice %(number)s"), level=level,
                             buyer=inv.buyer.display_name, number=inv.number),
                   body=facts, link=link)


# --------------------------------------------------------------------------------------------- the letter

LETTER_TEXT = {
    1: ("Perhaps this has escaped your attention: the invoice below is past its due date. If you have paid it "
        "in the meantime, please disregard this reminder."),
    2: ("Despite our reminder, the invoice below is still unpaid. Please pay the open amount within 7 days of "
        "the date of this letter."),
    3: ("This is our final notice. Unless the open amount reaches our account within 7 days of the date of this "
        "letter, we will hand the claim over for collection without further notice."),
}


def rate_text(rate) -> str:
    """A percentage with two to three decimals: 10.15, 2.125, 8.00."""
    q = Decimal(rate).quantize(Decimal("0.001"))
    return str(q.quantize(Decimal("0.01"))) if q == q.quantize(Decimal("0.01")) else str(q)


def letter_snapshot(inv: Invoice, notice: DunningNotice, terms: dict) -> dict:
    """What the letter prints, as plain values (the PDF renders from this only)."""
    snap = inv.snapshot or {}
    cur = inv.currency
    earlier = db.session.execute(
        sa.select(DunningNotice.level, DunningNotice.sent_on).where(DunningNotice.invoice_id == inv.id,
                                                                     DunningNotice.id != notice.id)
        .order_by(DunningNotice.level)).all()
    interest_line = None
    if notice.interest_rate is not None:
        interest_line = {"reference_rate": rate_text(terms["reference_rate"]),
                         "reference_rate_date": terms["reference_rate_date"].isoformat(),
                         "points": rate_text(interest.STATUTORY_POINTS), "rate": rate_text(notice.interest_rate),
                         "days": notice.days_late, "amount": str(notice.interest_amount),
                         "base": str(notice.open_amount)}
    total = notice.open_amount + (notice.interest_amount or 0)
    return {
        "document": "dunning_letter", **recipient_settings(inv.buyer), "timezone": "Europe/Berlin", "currency": cur,
        "level": notice.level, "title": notice.title, "text": LETTER_TEXT[notice.level],
        "date": notice.sent_on.isoformat(), "seller": snap.get("seller") or {"legal_name": inv.supplier.legal_name},
        "buyer": snap.get("buyer") or {"legal_name": inv.buyer.legal_name},
        "invoice": {"number": inv.number, "issue_date": inv.issue_date.isoformat() if inv.issue_date else None,
                    "due_date": inv.due_date.isoformat(), "buyer_reference": inv.buyer_reference or "",
                    "total_gross": str(quantize(inv.total_gross, cur)), "paid": str(quantize(inv.paid_amount, cur)),
                    "credited": str(quantize(inv.credited_amount, cur))},
        "days_late": notice.days_late, "open_amount": str(notice.open_amount), "interest": interest_line,
        "total_due": str(quantize(total, cur)),
        "earlier": [{"level": lv, "title": LEVELS[lv], "sent_on": on.isoformat()} for lv, on in earlier],
        "footer_note": snap.get("footer_note", ""),
    }


# --------------------------------------------------------------------------------------------- history

def history(invoice_id: int) -> list[DunningNotice]:
    """The dunning notices of one invoice, level order (the caller has checked the invoice is visible)."""
    return list(db.session.scalars(sa.select(DunningNotice).where(DunningNotice.invoice_id == invoice_id)
                                   .order_by(DunningNotice.level)))


def recent(supplier_id: int, limit: int = 100) -> list[DunningNotice]:
    """The latest letters, each with its invoice (and the invoice's buyer) loaded in one more statement."""
    return list(db.session.scalars(sa.select(DunningNotice).where(DunningNotice.supplier_company_id == supplier_id)
                                   .options(selectinload(DunningNotice.invoice))
                                   .order_by(DunningNotice.id.desc()).limit(limit)))
