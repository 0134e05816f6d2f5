"""Demo data for weighted scoring and framework agreements (through the services; skipped when present).

- "Hydraulic fittings framework 2027" (Hartmann, closed, three quotes): scoring criteria Price 50 %, Lead time
  20 %, Payment terms 10 %, Supplier rating 10 %, Technical fit 10 % (Jonas scored it), stored ratings for
  Nordstahl and Alpenwerk. Left unawarded: awarding it as a framework agreement is the browser flow.
- "Seals and O-rings framework 2027" (Hartmann): quoted by Alpenwerk and Nordstahl, awarded to Alpenwerk as
  framework agreement with a value cap of 1,200 EUR and two call-offs, the second bringing it to about 80 %.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import DomainError
from portal.frameworks import services as fa
from portal.frameworks.models import FrameworkAgreement
from portal.quotes import award as award_service
from portal.quotes import scoring
from portal.rfq.models import Rfq

log = logging.getLogger(__name__)

HYDRAULICS = "Hydraulic fittings framework 2027"
SEALS = "Seals and O-rings framework 2027"
SEAL_ROWS = [
    ("O-ring NBR 70 20x2 mm", "5000", "pcs", "SL-4001", "0.09", ""),
    ("O-ring FKM 80 32x2.5 mm", "2000", "pcs", "SL-4002", "0.32", ""),
    ("Shaft seal BABSL 40x55x7 NBR", "400", "pcs", "SL-4010", "2.60", ""),
    ("Bonded seal USIT 22 mm (M22)", "1500", "pcs", "SL-4020", "0.28", ""),
]


def seed(companies: dict, users: dict) -> None:
    for step in (_scoring, _agreement):
        try:
            step(companies, users)
        except DomainError as exc:  # the demo RFQ is in an unexpected state: leave it, seed the rest
            db.session.rollback()
            log.warning("frameworks demo: %s skipped: %s", step.__name__, exc.message)


def _rfq(buyer_id: int, title: str) -> Rfq | None:
    return db.session.scalar(sa.select(Rfq).where(Rfq.buyer_company_id == buyer_id, Rfq.title == title)
                             .order_by(Rfq.id.desc()).limit(1))


def _scoring(companies, users):
    hartmann = companies.get("hartmann")
    jonas = users.get("jonas.weber@hartmann.example")
    if not (hartmann and jonas):
        return
    rfq = _rfq(hartmann.id, HYDRAULICS)
    if rfq is None or scoring.criteria_for(rfq.id) or rfq.status.value != "closed":
        return
    for key, rating in (("nordstahl", "4.5"), ("alpenwerk", "4")):
        if companies.get(key):
            scoring.set_rating(jonas, companies[key].id, rating)
    criteria = scoring.set_criteria(rfq, jonas, [
        {"kind": "price", "weight": "50"}, {"kind": "lead_time", "weight": "20"},
        {"kind": "payment_terms", "weight": "10"}, {"kind": "rating", "weight": "10"},
        {"kind": "custom", "name": "Technical fit", "weight": "10"}])
    fit = criteria[-1]
    ranking = scoring.ranking(db.session.get(Rfq, rfq.id))
    marks = {"nordstahl": 5, "polmet": 3, "alpenwerk": 4}
    by_supplier = {c.id: k for k, c in companies.items()}
    scores = [{"criterion_id": fit.id, "quote_id": row.quote_id,
               "score": marks.get(by_supplier.get(row.supplier_id), 3)} for row in ranking.rows]
    if scores:
        scoring.set_scores(db.session.get(Rfq, rfq.id), jonas, scores)


def _agreement(companies, users):
    from portal.quotes.demo import _header, _line_input, _submit_via_services
    from portal.rfq import services as rfq_services
    from portal.rfq.demo import _make

    hartmann, alpenwerk, nordstahl = companies.get("hartmann"), companies.get("alpenwerk"), companies.get("nordstahl")
    jonas = users.get("jonas.weber@hartmann.example")
    lena, mia = users.get("lena.huber@alpenwerk.example"), users.get("mia.schulz@nordstahl.example")
    if not all((hartmann, alpenwerk, nordstahl, jonas, lena, mia)) or _rfq(hartmann.id, SEALS) is not None:
        return
    rfq = _make(jonas, title=SEALS, rows=SEAL_ROWS, suppliers=[alpenwerk, nordstahl], days=2, sealed=False,
                incoterm="DAP", payment_terms="30 days net",
                description="Seals for hydraulic assemblies, 2027; monthly call-offs at fixed prices.")
    lines = rfq_services.lines_of(db.session.get(Rfq, rfq.id))
    _submit_via_services(rfq, lena, _header(90, "60.00", "DAP Stuttgart, 1 week"),
                         _line_input(lines, [0.95, 0.97, 1.0, 0.96], lead=7))
    _submit_via_services(rfq, mia, _header(90, "90.00", "DAP Stuttgart, 2 weeks"),
                         _line_input(lines, [1.02, 1.0, 1.05, 1.0], lead=12))
    # The deadline passed; the sweep closed it.
    rfq = db.session.get(Rfq, rfq.id)
    rfq.deadline = utcnow() - timedelta(days=20)
    rfq.published_at = utcnow() - timedelta(days=30)
    db.session.commit()
    rfq_services.close_due_rfqs()
    rfq = db.session.get(Rfq, rfq.id)
    scoring.set_criteria(rfq, jonas, [{"kind": "price", "weight": "70"}, {"kind": "lead_time", "weight": "30"}])
    ranking = scoring.ranking(db.session.get(Rfq, rfq.id))
    award = award_service.award_whole(db.session.get(Rfq, rfq.id), jonas, ranking.rows[0].quote_id,
                                      note="Best weighted score (price 70 %, lead time 30 %); framework for 2027.")
    today = utcnow().date()
    (a,) = fa.create_from_award(award.id, jonas, valid_from=today - timedelta(days=14),
                                valid_until=today + timedelta(days=351), max_value="1200", cap_quantities=True)
    a = db.session.get(FrameworkAgreement, a.id)
    first, second, *_ = a.lines
    # January: about 40 % of the value; February: past 80 % (the agreement warns).
    fa.call_off(a, jonas, {first.id: "2000", second.id: "1000"}, notes="January call-off")
    a = db.session.get(FrameworkAgreement, a.id)
    fa.call_off(a, jonas, {first.id: "1500", a.lines[2].id: "110", a.lines[3].id: "300"},
                notes="February call-off")
