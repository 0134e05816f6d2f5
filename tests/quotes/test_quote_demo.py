"""The quotes demo on the RFQ demo's RFQs (built here with factories under the same titles)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.quotes import demo, services
from portal.quotes.models import Quote
from portal.quotes.states import QuoteStatus
from portal.rfq.states import RfqStatus
from tests import factories

pytestmark = pytest.mark.usefixtures("isolated_requests")


@pytest.fixture
def demo_world():
    hart = factories.company("buyer", name="Hartmann")
    vandijk = factories.company("buyer", name="Van Dijk")
    comp = {k: factories.company(kind, name=k.title()) for k, kind in
            [("nordstahl", "supplier"), ("polmet", "supplier"), ("lefevre", "supplier"), ("alpenwerk", "both")]}
    comp.update(hartmann=hart, vandijk=vandijk)
    users = {e: factories.user(comp[k], "sales", email=e) for k, e in [
        ("nordstahl", "mia.schulz@nordstahl.example"), ("polmet", "piotr.zielinski@polmet.example"),
        ("lefevre", "camille.lefevre@lefevre.example"), ("alpenwerk", "lena.huber@alpenwerk.example")]}
    jonas = factories.user(hart, "procurement")
    rfqs = {
        "f": factories.rfq(hart, jonas, title=demo.FASTENERS, sealed=False, lines=6,
                           suppliers=[comp["nordstahl"], comp["polmet"]]),
        "p": factories.rfq(hart, jonas, title=demo.PACKAGING, lines=4,
                           suppliers=[comp["lefevre"], comp["polmet"], comp["alpenwerk"]]),
        "h": factories.rfq(hart, jonas, title=demo.HYDRAULICS, lines=8,
                           suppliers=[comp["nordstahl"], comp["polmet"], comp["alpenwerk"]]),
    }
    h = rfqs["h"]
    h.deadline = utcnow() - timedelta(days=1)
    h.status = RfqStatus.closed
    h.closed_at = h.opened_at = utcnow()
    db.session.commit()
    return comp, users, rfqs


def test_demo_quotes(demo_world):
    comp, users, rfqs = demo_world
    demo.seed(comp, users)
    f = services.find_quote(rfqs["f"].id, comp["nordstahl"].id)
    assert f.status == QuoteStatus.submitted and f.current_version.number == 2 and len(f.versions) == 2
    assert f.versions[0].submitted_at < f.versions[1].submitted_at
    pol = services.find_quote(rfqs["f"].id, comp["polmet"].id)
    assert pol.status == QuoteStatus.draft and pol.current_version_id is None and pol.draft_version.lines
    assert services.find_quote(rfqs["p"].id, comp["lefevre"].id).status == QuoteStatus.submitted
    h = rfqs["h"]
    hq = {k: services.find_quote(h.id, comp[k].id) for k in ("nordstahl", "polmet", "alpenwerk")}
    assert all(q.status == QuoteStatus.submitted and q.current_version.submitted_at < h.deadline for q in hq.values())
    assert any(ql.declined for ql in hq["polmet"].current_version.lines)
    assert any(ql.price_breaks for ql in hq["nordstahl"].current_version.lines)
    assert any(ql.moq for ql in hq["alpenwerk"].current_version.lines)
    assert any(ql.pack_size for ql in hq["polmet"].current_version.lines)
    # cheapest complete quote vs cheapest split: the split must be cheaper
    rls = services.rfq_lines(h.id)
    totals = {k: services.version_totals(q.current_version, q.current_version.lines, rls, h.currency)
              for k, q in hq.items()}
    complete = min(t.total for t in totals.values() if t.complete)
    best = {}
    for rl in rls:
        k, (_, _, amount) = min(((k, t.lines[rl.id]) for k, t in totals.items() if rl.id in t.lines),
                                key=lambda kv: kv[1][2])
        best[rl.id] = (k, amount)
    used = {k for k, _ in best.values()}
    split = sum(a for _, a in best.values()) + sum(totals[k].shipping for k in used)
    assert len(used) >= 2 and split < complete - Decimal("50")
    # a second run adds nothing
    n = db.session.scalar(db.select(db.func.count(Quote.id)))
    demo.seed(comp, users)
    assert db.session.scalar(db.select(db.func.count(Quote.id))) == n


def test_demo_skips_missing_rfqs(world):
    demo.seed({}, {})
    assert db.session.scalar(db.select(db.func.count(Quote.id))) == 0
