"""Defect 9: a quote form opened before an RFQ amendment is refused after it (web, API, service), with a
sentence naming the amendment and what changed; the form comes back with the new quantities."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from portal.db import db
from portal.quotes import services
from portal.quotes.amendments import AmendedSince
from portal.quotes.models import Quote
from portal.quotes.states import QuoteStatus
from portal.rfq import services as rfq_services
from tests import factories
from tests.quotes.helpers import draft_with, form, fresh, header, lines, text

pytestmark = pytest.mark.usefixtures("isolated_requests")


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user):
        _, raw = create_token(user, "test")
        return {"Authorization": f"Bearer {raw}"}

    return _make


@pytest.fixture
def rfq10(world):
    """An open RFQ whose line 1 asks for 10 pcs."""
    return factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b],
                         quantities=[Decimal(10), Decimal(200)])


def amend_quantity(world, rfq, quantity="10000"):
    rfq = fresh(rfq)
    ln = sorted(rfq.lines, key=lambda r: r.position)[0]
    rfq_services.update_line(world.procurement, rfq.id, ln.id, description=ln.description,
                             part_number=ln.part_number, quantity=quantity, unit="pcs", target_price="", notes="")
    return fresh(rfq)


def test_service_refuses_a_draft_priced_before_the_amendment(world, rfq10):
    q = draft_with(rfq10, world.sales_a, ["5.00", "1.00"])
    assert fresh(q).draft_version.rfq_amendment_no == 0
    rfq = amend_quantity(world, rfq10)
    assert rfq.amendment_no == 1
    q = fresh(q)
    # the old form says it answers amendment 0
    with pytest.raises(AmendedSince) as ei:
        services.submit(q, world.sales_a, q.lock_version, 0)
    assert ei.value.message.startswith(f"Amendment 1 of {rfq.reference} changed the RFQ after this form was "
                                       "opened: Line 1 quantity 10 → 10000")
    assert ei.value.status == 409
    # without a number, the draft's own (saved for amendment 0) counts: refused too
    with pytest.raises(AmendedSince):
        services.submit(fresh(q), world.sales_a, fresh(q).lock_version)
    # saving the old form is refused as well, nothing saved
    with pytest.raises(AmendedSince):
        services.save_draft(fresh(q), world.sales_a, header(), lines(rfq, ["9.99", "1.00"]), fresh(q).lock_version,
                            0)
    q = fresh(q)
    assert q.status == QuoteStatus.draft and q.current_version is None
    assert {ql.unit_price for ql in q.draft_version.lines} == {Decimal("5.00"), Decimal("1.00")}
    # checked against amendment 1, saved and submitted: it answers amendment 1
    services.save_draft(q, world.sales_a, header(), lines(rfq, ["4.10", "1.00"]), q.lock_version, 1)
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version, 1)
    q = fresh(q)
    assert q.status == QuoteStatus.submitted and q.current_version.rfq_amendment_no == 1


def test_two_amendments_are_both_named(world, rfq10):
    q = draft_with(rfq10, world.sales_a, ["5.00", "1.00"])
    amend_quantity(world, rfq10, "5000")
    rfq = amend_quantity(world, rfq10, "10000")
    with pytest.raises(AmendedSince) as ei:
        services.submit(fresh(q), world.sales_a, fresh(q).lock_version, 0)
    assert ("Amendments 1 and 2 of " in ei.value.message and "(1) Line 1 quantity 10 → 5000." in ei.value.message
            and "(2) Line 1 quantity 5000 → 10000." in ei.value.message), ei.value.message
    assert rfq.amendment_no == 2


def _hidden(page, name):
    m = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page) or \
        re.search(rf'type="hidden" name="{name}" value="([^"]*)"', page) or \
        re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', page)
    assert m, f"no hidden {name}"
    return m.group(1)


def test_web_form_opened_before_the_amendment_is_shown_again_with_the_new_quantity(world, rfq10, login):
    draft_with(rfq10, world.sales_a, ["5.00", "1.00"])
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{rfq10.id}/quote"))
    assert _hidden(page, "rfq_amendment_no") == "0" and 'data-testid="amended-since"' not in page
    lock = _hidden(page, "lock_version")
    amend_quantity(world, rfq10)
    # opened again now, the form says the draft predates amendment 1
    again = text(c.get(f"/rfqs/{rfq10.id}/quote"))
    assert "Your draft was saved before amendment 1: Line 1 quantity 10 → 10000." in again
    data = form(rfq10, ["5.00", "1.00"], lock_version=lock, action="submit")
    data["rfq_amendment_no"] = "0"
    r = c.post(f"/rfqs/{rfq10.id}/quote", data=data)
    page = text(r)
    assert r.status_code == 409
    assert 'data-testid="amended-since"' in page
    assert "Amendment 1 of" in page and "Line 1 quantity 10 → 10000" in page
    assert "10,000" in page  # the line shows the new quantity
    assert _hidden(page, "rfq_amendment_no") == "1"
    q = db.session.scalar(db.select(Quote))
    assert fresh(q).status == QuoteStatus.draft and fresh(q).current_version is None
    # the supplier checks the prices and sends the form again: accepted, answering amendment 1
    data = form(rfq10, ["0.45", "1.00"], lock_version=_hidden(page, "lock_version"), action="submit")
    data["rfq_amendment_no"] = _hidden(page, "rfq_amendment_no")
    r = c.post(f"/rfqs/{rfq10.id}/quote", data=data)
    assert r.status_code == 302, text(r)[:3000]
    q = fresh(q)
    assert q.status == QuoteStatus.submitted and q.current_version.rfq_amendment_no == 1


def test_web_first_quote_on_an_amended_rfq_starts_nothing(world, rfq10, login):
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{rfq10.id}/quote"))
    amend_quantity(world, rfq10)
    data = form(rfq10, ["5.00", "1.00"], lock_version="0", action="submit")
    data["rfq_amendment_no"] = _hidden(page, "rfq_amendment_no")
    r = c.post(f"/rfqs/{rfq10.id}/quote", data=data)
    assert r.status_code == 409 and "Amendment 1 of" in text(r)
    assert db.session.scalar(db.select(db.func.count()).select_from(Quote)) == 0


def test_api_quote_must_answer_the_current_amendment(client, world, rfq10, token_for):
    headers = token_for(world.sales_a)
    rfq = amend_quantity(world, rfq10)
    body = {"valid_until": header()["valid_until"], "lines": [
        {"rfq_line_id": ln.id, "unit_price": {"amount": "1.00", "currency": "EUR"}}
        for ln in sorted(rfq.lines, key=lambda r: r.position)]}
    r = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=headers, json=body)  # no number: amendment 0
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    detail = r.get_json()["detail"]
    assert "Amendment 1 of" in detail and "Line 1 quantity 10 → 10000" in detail and "rfq_amendment_no 1" in detail
    assert db.session.scalar(db.select(db.func.count()).select_from(Quote)) == 0
    r = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=headers, json={**body, "rfq_amendment_no": 0})
    assert r.status_code == 409
    r = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=headers, json={**body, "rfq_amendment_no": 1})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "submitted" and r.get_json()["rfq_amendment_no"] == 1


def test_api_submit_of_a_draft_saved_before_the_amendment_is_refused(client, world, rfq10, token_for):
    q = draft_with(rfq10, world.sales_a, ["5.00", "1.00"])
    amend_quantity(world, rfq10)
    headers = token_for(world.sales_a)
    r = client.post(f"/api/v1/quotes/{q.id}/submit", headers=headers, json={})
    assert r.status_code == 409 and "Line 1 quantity 10 → 10000" in r.get_json()["detail"]
    assert fresh(q).status == QuoteStatus.draft


@pytest.mark.postgres
@pytest.mark.parametrize("order", ["race", "race", "race", "amend_lands_after_the_supplier_read_the_rfq"])
def test_amendment_racing_a_submit_never_passes_an_old_price_as_an_answer(app, world, order):
    """Buyer amends while the supplier submits the old form: either the submit came first (and the quote is
    flagged for re-confirmation by the amendment) or it is refused; never accepted as answering the amendment.
    In the last case the supplier's session read the RFQ (amendment 0) before the amendment committed: the
    check must use the row re-read under the lock, not what the session held."""
    import threading

    from portal.accounts.models import User
    from portal.rfq.models import Rfq

    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a],
                        quantities=[Decimal(10), Decimal(200)])
    q = draft_with(rfq, world.sales_a, ["5.00", "1.00"])
    qid, rid, sid, pid = q.id, rfq.id, world.sales_a.id, world.procurement.id
    line = sorted(rfq.lines, key=lambda r: r.position)[0]
    lid, desc, part = line.id, line.description, line.part_number
    barrier = threading.Barrier(2)
    amended = threading.Event()
    results = {}

    def amend():
        barrier.wait()
        rfq_services.update_line(db.session.get(User, pid), rid, lid, description=desc, part_number=part,
                                 quantity="10000", unit="pcs", target_price="", notes="")
        amended.set()
        return "amended"

    def submit():
        quote = db.session.get(Quote, qid)
        lock = quote.lock_version
        assert db.session.get(Rfq, rid).amendment_no == 0  # what the form was rendered from
        barrier.wait()
        if order != "race":
            amended.wait(20)
        services.submit(quote, db.session.get(User, sid), lock, 0)
        return "submitted"

    def worker(name, fn):
        with app.app_context():
            try:
                results[name] = fn()
            except Exception as exc:  # noqa: BLE001
                results[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n, f)) for n, f in (("amend", amend), ("submit", submit))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["amend"] == "amended", results
    db.session.expire_all()
    quote, rfq = db.session.get(Quote, qid), db.session.get(Rfq, rid)
    assert rfq.amendment_no == 1
    if results["submit"] == "submitted":
        # the submit came first: it answers amendment 0, and the amendment flagged it
        assert quote.current_version.rfq_amendment_no == 0 and quote.needs_reconfirmation is True
        assert order == "race"
    else:
        assert isinstance(results["submit"], AmendedSince), results
        assert quote.status == QuoteStatus.draft and quote.current_version is None


def test_csv_upload_from_a_page_opened_before_the_amendment_is_refused(world, rfq10, login):
    import io

    q = draft_with(rfq10, world.sales_a, ["5.00", "1.00"])
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{rfq10.id}/quote"))
    lock = _hidden(page, "lock_version")
    csv_text = services.lines_csv(rfq10, fresh(q).draft_version)
    amend_quantity(world, rfq10)
    r = c.post(f"/rfqs/{rfq10.id}/quote/upload", content_type="multipart/form-data",
               data={"lock_version": lock, "rfq_amendment_no": "0",
                     "file": (io.BytesIO(csv_text.replace("5.00", "4.00").encode()), "lines.csv")})
    assert r.status_code == 409 and "Line 1 quantity 10 → 10000" in text(r)
    assert {ql.unit_price for ql in fresh(q).draft_version.lines} == {Decimal("5.00"), Decimal("1.00")}
