"""The frameworks demo: scored quotes on the hydraulics RFQ, an active agreement with two call-offs past 80 %."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.frameworks import demo
from portal.frameworks import services as fa
from portal.frameworks.models import AgreementStatus, FrameworkAgreement
from portal.quotes import scoring
from portal.quotes.scoring_models import QuoteScore
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)


def test_demo_seeds_scoring_and_an_agreement_near_80_percent():
    hart = factories.company("buyer", name="Hartmann")
    comp = {k: factories.company(kind, name=k.title()) for k, kind in
            [("nordstahl", "supplier"), ("polmet", "supplier"), ("alpenwerk", "both")]}
    comp["hartmann"] = hart
    jonas = factories.user(hart, "procurement", email="jonas.weber@hartmann.example")
    users = {"jonas.weber@hartmann.example": jonas}
    for key, email in [("nordstahl", "mia.schulz@nordstahl.example"), ("polmet", "piotr.zielinski@polmet.example"),
                       ("alpenwerk", "lena.huber@alpenwerk.example")]:
        users[email] = factories.user(comp[key], "sales", email=email)
    hydraulics = factories.closed_rfq(hart, jonas, title=demo.HYDRAULICS,
                                      suppliers=[comp["nordstahl"], comp["polmet"], comp["alpenwerk"]])
    for key, prices in [("nordstahl", ["1", "2", "3"]), ("alpenwerk", ["1.1", "1.9", "3.2"])]:
        factories.quote(hydraulics, comp[key], users[next(e for e in users if key in e)], prices=prices)

    demo.seed(comp, users)
    demo.seed(comp, users)  # a second run adds nothing

    ranking = scoring.ranking(db.session.get(type(hydraulics), hydraulics.id))
    assert [c.name for c in ranking.criteria] == ["Price", "Lead time", "Payment terms", "Supplier rating",
                                                  "Technical fit"]
    assert len(ranking.rows) == 2 and db.session.scalar(sa.select(sa.func.count(QuoteScore.id))) == 2
    (a,) = db.session.scalars(sa.select(FrameworkAgreement)).all()
    assert a.status == AgreementStatus.active and a.supplier_company_id == comp["alpenwerk"].id
    use = fa.usage(a)
    assert use.call_offs == 2 and use.warning and 80 <= use.percent < 100
