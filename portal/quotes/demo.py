"""Demo quotes on the RFQ domain's demo RFQs (found by title; skipped when missing or already quoted).

- "Fasteners for assembly line 4" (open, unsealed): Nordstahl submitted and revised once (2 versions),
  Polmet has an unsubmitted draft.
- "Packaging materials Q1 2027" (open, sealed): Lefèvre submitted.
- "Hydraulic fittings framework 2027" (closed): Nordstahl, Polmet and Alpenwerk submitted before the deadline,
  with different prices, price breaks, MOQs/pack sizes, one declined line and shipping costs, so the cheapest
  complete quote and the cheapest split award differ.

Open RFQs go through the services (the rules apply); the closed RFQ's quotes are written as rows, backdated
to before its deadline.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import DomainError
from portal.quotes import services
from portal.quotes.models import Quote, QuoteLine, QuoteVersion
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq, RfqLine

log = logging.getLogger(__name__)

FASTENERS = "Fasteners for assembly line 4"
PACKAGING = "Packaging materials Q1 2027"
HYDRAULICS = "Hydraulic fittings framework 2027"

# A plausible unit price per line position (cycled) when the RFQ line has no target price; scaled per supplier.
BASE = [Decimal(x) for x in ("4.20", "6.90", "0.85", "27.00", "6.40", "18.90", "38.50", "45.00")]

HYDRAULICS_QUOTES = {
    # Complete and middle-of-the-road, moderate shipping, volume breaks.
    "nordstahl": dict(user="mia.schulz@nordstahl.example", factors=[1.00, 1.02, 0.98, 1.05, 1.01, 0.99, 1.03, 1.00],
                      shipping="180.00", lead=10, declined=(), terms="DAP Stuttgart, 10 working days",
                      breaks_on=(0, 2, 6)),
    # Cheapest on the first half, declines the last line, ships in packs.
    "polmet": dict(user="piotr.zielinski@polmet.example", factors=[0.86, 0.88, 0.90, 0.87, 1.12, 1.10, 1.15, 1.00],
                   shipping="95.00", lead=21, declined=(7,), terms="FCA Poznań, 3 weeks", packs={0: 50, 3: 40}),
    # Cheapest on the second half, complete, dearer freight and an MOQ above the requested quantity on line 6.
    "alpenwerk": dict(user="lena.huber@alpenwerk.example", factors=[1.08, 1.06, 1.10, 1.09, 0.88, 0.90, 0.86, 0.94],
                      shipping="250.00", lead=14, declined=(), terms="DAP Stuttgart, 2 weeks", moq_over={5: 1.2},
                      breaks_on=(4, 7)),
}


# Market prices for the demo RFQ lines that carry no target price (by part number).
KNOWN = {"HM-100312": "0.03", "PK-2010": "12.40", "PK-2021": "24.00", "PK-2050": "1.60", "PK-2070": "1.15",
         "PK-2080": "28.00", "PK-2090": "45.00", "HY-3004": "6.90", "HY-3020": "38.50", "VD-5101": "4.80",
         "VD-5102": "6.20", "VD-5110": "145.00", "VD-5120": "89.00"}


def _price(i: int, factor, rl: RfqLine) -> Decimal:
    if rl.target_price:
        base = Decimal(rl.target_price)
    else:
        base = Decimal(KNOWN.get(rl.part_number or "", BASE[i % len(BASE)]))
    price = base * Decimal(str(factor))
    return price.quantize(Decimal("0.0001") if price < 1 else Decimal("0.01"), ROUND_HALF_UP).normalize()


def _q(x: Decimal) -> str:
    return services._dstr(Decimal(x).quantize(Decimal("1"), ROUND_HALF_UP) if x >= 10 else Decimal(x))


def _rfq(title: str) -> Rfq | None:
    return db.session.scalar(sa.select(Rfq).where(Rfq.title == title).order_by(Rfq.id.desc()).limit(1))


def _lines(rfq: Rfq) -> list[RfqLine]:
    return services.rfq_lines(rfq.id)


def _exists(rfq: Rfq, company) -> bool:
    return services.find_quote(rfq.id, company.id) is not None


def _line_input(rfq_lines, factors, *, lead, breaks_on=(), declined=(), packs=None, moq_over=None, upto=None):
    out = []
    for i, rl in enumerate(rfq_lines):
        if upto is not None and i >= upto:
            break
        if i in declined:
            out.append({"rfq_line_id": rl.id, "declined": True,
                        "decline_reason": "Not in our range; we can recommend a partner for this item."})
            continue
        price = _price(i, factors[i % len(factors)], rl)
        breaks = ""
        if i in breaks_on:
            q1 = Decimal(rl.quantity) / 2
            q2 = Decimal(rl.quantity) * 2
            breaks = (f"{_q(q1)}:{(price * Decimal('0.97')).quantize(Decimal('0.0001')).normalize()}; "
                      f"{_q(q2)}:{(price * Decimal('0.92')).quantize(Decimal('0.0001')).normalize()}")
        moq = ""
        if moq_over and i in moq_over:
            moq = _q(Decimal(rl.quantity) * Decimal(str(moq_over[i])))
        pack = str((packs or {}).get(i, ""))
        out.append({"rfq_line_id": rl.id, "unit_price": format(price, "f"), "price_breaks": breaks, "moq": moq,
                    "pack_size": pack, "lead_time_days": str(lead + (i % 3) * 2), "declined": False,
                    "decline_reason": ""})
    return out


def _header(valid_days=60, shipping="0", terms="", notes=""):
    return {"valid_until": (utcnow() + timedelta(days=valid_days)).date().isoformat(), "shipping_cost": shipping,
            "delivery_terms": terms, "notes": notes}


def _submit_via_services(rfq, user, header, lines):
    q = services.get_or_create_draft(rfq, user)
    services.save_draft(q, user, header, lines, q.lock_version)
    services.submit(q, user, q.lock_version)
    return q


def seed(companies: dict, users: dict) -> None:
    for step in (_fasteners, _packaging, _hydraulics):
        try:
            step(companies, users)
        except DomainError as exc:  # a demo RFQ in an unexpected state: leave it, seed the rest
            db.session.rollback()
            log.warning("quotes demo: %s skipped: %s", step.__name__, exc.message)


def _fasteners(companies, users):
    rfq = _rfq(FASTENERS)
    if rfq is None or not rfq.accepting_quotes:
        return
    lines = _lines(rfq)
    nord, mia = companies.get("nordstahl"), users.get("mia.schulz@nordstahl.example")
    if nord and mia and not _exists(rfq, nord) and services.is_invited(rfq, nord.id):
        factors = [1.00, 0.97, 1.04, 1.00, 0.99, 1.02, 1.00, 1.01]
        q = _submit_via_services(rfq, mia, _header(45, "120.00", "DAP Stuttgart, 2 weeks after order",
                                                   "Zinc-plated, DIN 933 / ISO 4017 where applicable."),
                                 _line_input(lines, factors, lead=12, breaks_on=(0, 2)))
        # ... then Mia sharpened the pencil: version 2.
        q = services.get_or_create_draft(rfq, mia)
        services.save_draft(q, mia, _header(45, "95.00", "DAP Stuttgart, 2 weeks after order",
                                            "Revised: freight consolidated with your Q1 call-offs."),
                            _line_input(lines, [f * 0.96 for f in factors], lead=10, breaks_on=(0, 2, 4)),
                            q.lock_version)
        services.submit(q, mia, q.lock_version)
    pol, piotr = companies.get("polmet"), users.get("piotr.zielinski@polmet.example")
    if pol and piotr and not _exists(rfq, pol) and services.is_invited(rfq, pol.id):
        q = services.get_or_create_draft(rfq, piotr)
        services.save_draft(q, piotr, _header(30, "80.00", "FCA Poznań"),
                            _line_input(lines, [0.93, 1.05, 0.95, 1.1], lead=18, packs={0: 100},
                                        upto=max(1, len(lines) - 2)), q.lock_version)


def _packaging(companies, users):
    rfq = _rfq(PACKAGING)
    if rfq is None or not rfq.accepting_quotes:
        return
    lef, camille = companies.get("lefevre"), users.get("camille.lefevre@lefevre.example")
    if lef and camille and not _exists(rfq, lef) and services.is_invited(rfq, lef.id):
        lines = _lines(rfq)
        _submit_via_services(rfq, camille, _header(60, "340.00", "DAP, palletised, 48 h notice",
                                                   "Cartons FSC certified; print proofs within 3 days."),
                             _line_input(lines, [0.31, 0.12, 0.45, 0.2], lead=15, packs={0: 250, 1: 500},
                                         breaks_on=(0,)))


def _hydraulics(companies, users):
    """The closed RFQ: quotes written directly, submitted before its deadline."""
    rfq = _rfq(HYDRAULICS)
    if rfq is None:
        return
    lines = _lines(rfq)
    if not lines:
        return
    for n, (key, spec) in enumerate(HYDRAULICS_QUOTES.items()):
        company, user = companies.get(key), users.get(spec["user"])
        if company is None or user is None or _exists(rfq, company) or not services.is_invited(rfq, company.id):
            continue
        raw = _line_input(lines, spec["factors"], lead=spec["lead"], breaks_on=spec.get("breaks_on", ()),
                          declined=spec["declined"], packs=spec.get("packs"), moq_over=spec.get("moq_over"))
        submitted_at = rfq.deadline - timedelta(days=2, hours=5 - n)
        v = QuoteVersion(number=1, created_by_id=user.id, created_at=submitted_at - timedelta(hours=2),
                         submitted_at=submitted_at, submitted_by_id=user.id,
                         valid_until=(utcnow() + timedelta(days=60)).date(), delivery_terms=spec["terms"],
                         shipping_cost=Decimal(spec["shipping"]), notes="", rfq_amendment_no=rfq.amendment_no)
        for d in raw:
            if d.get("declined"):
                v.lines.append(QuoteLine(rfq_line_id=d["rfq_line_id"], declined=True,
                                         decline_reason=d["decline_reason"]))
                continue
            v.lines.append(QuoteLine(
                rfq_line_id=d["rfq_line_id"], unit_price=Decimal(d["unit_price"]),
                price_breaks=services.parse_price_breaks(d["price_breaks"]),
                moq=Decimal(d["moq"]) if d["moq"] else None,
                pack_size=Decimal(d["pack_size"]) if d["pack_size"] else None,
                lead_time_days=int(d["lead_time_days"])))
        q = Quote(rfq_id=rfq.id, supplier_company_id=company.id, created_by_id=user.id,
                  status=QuoteStatus.submitted, submitted_at=submitted_at)
        q.versions.append(v)
        db.session.add(q)
        db.session.flush()
        q.current_version = v
        from portal.audit.services import record

        record("quote", q.id, "submitted", actor=user, company_id=company.id, from_state=QuoteStatus.draft,
               to_state=QuoteStatus.submitted, detail="Version 1")
    # The RFQ demo closed this RFQ before these (backdated) quotes existed: its opening record must count them.
    import sqlalchemy as sa

    from portal.audit.models import AuditEvent

    n = db.session.scalar(sa.select(sa.func.count(Quote.id)).where(
        Quote.rfq_id == rfq.id, Quote.current_version_id.is_not(None)))
    db.session.execute(sa.update(AuditEvent).where(
        AuditEvent.entity_type == "rfq", AuditEvent.entity_id == rfq.id, AuditEvent.action == "quotes_opened")
        .values(detail=f"{n} quote{'s' if n != 1 else ''} opened"))
    db.session.commit()
