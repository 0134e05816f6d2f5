"""The quote pages: the one-page form, submit, deadline and stale-form refusals, tenancy, sealed bidding, panel."""
import re
from decimal import Decimal

import pytest
from flask import render_template

from portal.db import db, utcnow
from portal.quotes import services
from portal.quotes.models import Quote, QuoteLine
from portal.quotes.states import QuoteStatus
from tests import factories
from tests.quotes.helpers import (count, draft_with, form, fresh, header, move_deadline_to_past, submitted,
                                  text)

pytestmark = pytest.mark.usefixtures("isolated_requests")


def lock_on(page: str) -> str:
    m = re.search(r'name="lock_version"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="lock_version"', page)
    assert m, "no lock_version on the page"
    return m.group(1)


# --------------------------------------------------------------------------------------------- the form

def test_supplier_fills_saves_and_submits_the_form(world, open_rfq, login):
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    assert "Your quote for " + open_rfq.reference in page and "Item 3" in page
    assert count(Quote) == 0  # looking creates nothing
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1.5", "2", None], lock_version=lock_on(page),
                                                          price_breaks={0: "500:1.4"}))
    assert resp.status_code == 302
    q = db.session.scalar(db.select(Quote))
    assert q.status == QuoteStatus.draft and len(q.draft_version.lines) == 2
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    assert 'value="1.5"' in page and 'value="500:1.4"' in page
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1.5", "2", "3"], lock_version=lock_on(page),
                                                          action="submit"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/quotes/{q.id}")
    q = fresh(q)
    assert q.status == QuoteStatus.submitted and q.current_version.number == 1
    page = text(c.get(f"/quotes/{q.id}"))
    assert "Revise" in page and "Withdraw" in page and world.sales_a.name in page
    # GET on the form now shows the submitted quote with Revise
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    assert 'data-testid="revise"' in page


def test_submitting_an_incomplete_form_saves_the_draft_and_marks_the_open_lines(world, open_rfq, login):
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", None, None], lock_version=lock_on(page),
                                                          action="submit"))
    body = text(resp)
    assert resp.status_code == 422
    assert "Lines 2, 3 have no price" in body and "Your draft was saved but not submitted." in body
    assert f'id="e-unit_price-{open_rfq.lines[1].id}"' in body
    q = db.session.scalar(db.select(Quote))
    assert q.status == QuoteStatus.draft and len(q.draft_version.lines) == 1
    # the page carries the new lock version: completing it now works
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", "2", "3"], lock_version=lock_on(body),
                                                          action="submit"))
    assert resp.status_code == 302 and fresh(q).status == QuoteStatus.submitted


def test_a_bad_cell_is_shown_beside_its_input_with_the_typed_values_kept(world, open_rfq, login):
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", "-2", "abc"], lock_version=lock_on(page),
                                                          price_breaks={0: "1000:0.9; 500:0.95"}, moq={0: "0"}))
    body = text(resp)
    assert resp.status_code == 422 and count(Quote) == 0
    l1, l2, l3 = (rl.id for rl in open_rfq.lines)
    for lid, name, msg in [(l2, "unit_price", "Must be 0 or more."), (l3, "unit_price", "Enter a price such as 12.50."),
                           (l1, "price_breaks", "Break quantities must increase: 1000 is followed by 500."),
                           (l1, "moq", "Must be more than 0.")]:
        m = re.search(rf'<div class="invalid-feedback" id="e-{name}-{lid}">([^<]*)</div>', body)
        assert m and m.group(1) == msg
        assert re.search(rf'is-invalid" name="[a-z]+-{lid}" value="[^"]*"[^>]*aria-describedby="e-{name}-{lid}"', body)
    assert 'value="abc"' in body and 'value="1000:0.9; 500:0.95"' in body


def test_the_deadline_passing_between_get_and_post_refuses_the_submit(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", None])
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    move_deadline_to_past(open_rfq)
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", "2", "3"], lock_version=lock_on(page),
                                                          action="submit"))
    body = text(resp)
    assert resp.status_code == 409
    assert "The deadline for this RFQ passed at " in body and "; quotes are locked." in body
    q = fresh(q)
    assert q.status == QuoteStatus.draft and len(q.draft_version.lines) == 2


def test_a_new_quote_posted_after_the_deadline_is_refused(world, open_rfq, login):
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    move_deadline_to_past(open_rfq)
    resp = c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", "2", "3"], lock_version=lock_on(page),
                                                          action="submit"))
    assert resp.status_code == 409 and "quotes are locked" in text(resp) and count(Quote) == 0


def test_after_the_deadline_the_quote_page_shows_the_locked_quote(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    move_deadline_to_past(open_rfq)
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    assert 'data-testid="locked-note"' in page and 'data-testid="revise"' not in page
    assert "Withdraw" not in text(c.get(f"/quotes/{q.id}"))


def test_two_tabs_the_second_save_is_a_conflict(world, open_rfq, login):
    draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    colleague = factories.user(world.supplier_a, "sales")
    c1, c2 = login(world.sales_a), login(colleague)
    page1 = text(c1.get(f"/rfqs/{open_rfq.id}/quote"))
    page2 = text(c2.get(f"/rfqs/{open_rfq.id}/quote"))
    assert c2.post(f"/rfqs/{open_rfq.id}/quote",
                   data=form(open_rfq, ["7", "7", "7"], lock_version=lock_on(page2))).status_code == 302
    resp = c1.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["9", "9", "9"], lock_version=lock_on(page1)))
    assert resp.status_code == 409
    assert ("This quote was changed in another tab or by a colleague; reload to see the latest version."
            in text(resp))
    q = db.session.scalar(db.select(Quote))
    assert {ql.unit_price for ql in q.draft_version.lines} == {Decimal(7)}


def test_two_tabs_starting_the_same_new_quote_conflict(world, open_rfq, login):
    c1, c2 = login(world.sales_a), login(factories.user(world.supplier_a, "sales"))
    page1 = text(c1.get(f"/rfqs/{open_rfq.id}/quote"))
    page2 = text(c2.get(f"/rfqs/{open_rfq.id}/quote"))
    assert lock_on(page1) == lock_on(page2) == "0"
    assert c2.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["7", None, None], lock_version="0")).status_code == 302
    resp = c1.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["9", None, None], lock_version="0"))
    assert resp.status_code == 409 and count(Quote) == 1


def test_query_counts_for_5_and_100_lines_are_equal(world, login, count_queries):
    counts = {}
    c = login(world.sales_a)
    for n in (5, 100):
        rfq = factories.rfq(world.buyer, world.procurement, lines=n, suppliers=[world.supplier_a])
        draft_with(rfq, world.sales_a, [str(i + 1) for i in range(n)], moq={i: "5" for i in range(n)})
        c.get(f"/rfqs/{rfq.id}/quote")
        with count_queries() as q:
            assert c.get(f"/rfqs/{rfq.id}/quote").status_code == 200
        counts[n] = q.count
        with count_queries() as q:
            assert c.get(f"/quotes/{services.find_quote(rfq.id, world.supplier_a.id).id}").status_code == 200
        counts[f"detail-{n}"] = q.count
    assert counts[5] == counts[100]
    assert counts["detail-5"] == counts["detail-100"]


def test_a_500_line_form_saves_in_one_post(world, login):
    rfq = factories.rfq(world.buyer, world.procurement, lines=500, suppliers=[world.supplier_a])
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{rfq.id}/quote"))
    prices = [f"{i % 97 + 1}.25" for i in range(500)]
    resp = c.post(f"/rfqs/{rfq.id}/quote", data=form(rfq, prices, lock_version=lock_on(page), action="submit"))
    assert resp.status_code == 302
    q = db.session.scalar(db.select(Quote))
    assert q.status == QuoteStatus.submitted and count(QuoteLine, QuoteLine.version_id == q.current_version_id) == 500


# --------------------------------------------------------------------------------------------- tenancy and roles

def test_a_supplier_that_was_not_invited_gets_404(world, login):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    c = login(world.sales_b)
    assert c.get(f"/rfqs/{rfq.id}/quote").status_code == 404
    assert c.post(f"/rfqs/{rfq.id}/quote", data=form(rfq, ["1", "2", "3"], lock_version="0")).status_code == 404
    assert c.get(f"/rfqs/{rfq.id}/quote/lines.csv").status_code == 404
    assert count(Quote) == 0


def test_another_suppliers_quote_is_404_everywhere(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_b)
    for url in (f"/quotes/{q.id}", f"/quotes/{q.id}/versions/1", f"/quotes/{q.id}/lines.csv",
                f"/quotes/{q.id}/withdraw", f"/quotes/{q.id}/attachments/1"):
        assert c.get(url).status_code == 404, url
    for url in (f"/quotes/{q.id}/withdraw", f"/quotes/{q.id}/revise", f"/quotes/{q.id}/confirm",
                f"/quotes/{q.id}/discard", f"/quotes/{q.id}/attachments"):
        assert c.post(url, data={"reason": "x", "lock_version": "1"}).status_code == 404, url
    assert fresh(q).status == QuoteStatus.submitted


def test_the_buyer_cannot_edit_quotes(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.procurement)
    assert c.get(f"/rfqs/{open_rfq.id}/quote").status_code == 403
    assert c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["0", "0", "0"], lock_version="1")).status_code == 403
    for url in (f"/quotes/{q.id}/withdraw", f"/quotes/{q.id}/revise", f"/quotes/{q.id}/confirm"):
        assert c.post(url, data={"reason": "x"}).status_code in (403, 404), url
    assert fresh(q).status == QuoteStatus.submitted


def test_a_draft_quote_is_invisible_to_the_buyer(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.procurement)
    assert c.get(f"/quotes/{q.id}").status_code == 404
    assert c.get(f"/quotes/{q.id}/lines.csv").status_code == 404


def test_supplier_accounts_staff_cannot_open_the_form(world, open_rfq, login):
    assert login(world.accounts_a).get(f"/rfqs/{open_rfq.id}/quote").status_code == 403


# --------------------------------------------------------------------------------------------- sealed bidding

def _buyer_pages(c, q):
    return [c.get(f"/quotes/{q.id}"), c.get(f"/quotes/{q.id}/versions/1"), c.get(f"/quotes/{q.id}/lines.csv")]


def test_sealed_the_buyer_sees_who_and_when_but_no_price(world, open_rfq, login, app):
    q = submitted(open_rfq, world.sales_a, ["12.34", "2", "3"], hdr=header(shipping="56.78", notes="Our 12.34 deal"))
    c = login(world.procurement)
    detail, version, csv = _buyer_pages(c, q)
    assert detail.status_code == 200 and version.status_code == 200 and csv.status_code == 403
    for resp in (detail, version, csv):
        body = text(resp)
        assert "12.34" not in body and "56.78" not in body and "12,34" not in body
    body = text(detail)
    assert world.supplier_a.display_name in body and "Sealed bid" in body and world.sales_a.name in body
    panel = _panel_html(app, world.procurement, open_rfq)
    assert "12.34" not in panel and "Not submitted" in panel and "Sealed" in panel
    assert world.supplier_a.display_name in panel and world.supplier_b.display_name in panel


def test_sealed_quotes_open_when_the_rfq_is_opened(world, open_rfq, login, app):
    q = submitted(open_rfq, world.sales_a, ["12.34", "2", "3"])
    rfq = move_deadline_to_past(open_rfq)
    rfq.status = "closed"
    rfq.opened_at = utcnow()
    db.session.commit()
    c = login(world.procurement)
    detail, version, csv = _buyer_pages(c, q)
    assert csv.status_code == 200
    for resp in (detail, version, csv):
        assert "12.34" in text(resp)
    assert "€" in _panel_html(app, world.procurement, rfq)


def test_unsealed_the_buyer_sees_submitted_prices_but_never_the_draft(world, unsealed_rfq, login, app):
    q = submitted(unsealed_rfq, world.sales_a, ["12.34", "2", "3"])
    q = fresh(services.get_or_create_draft(fresh(unsealed_rfq), world.sales_a))
    services.save_draft(q, world.sales_a, {}, [{"rfq_line_id": unsealed_rfq.lines[0].id, "unit_price": "98.76"},
                                               {"rfq_line_id": unsealed_rfq.lines[1].id, "unit_price": "2"},
                                               {"rfq_line_id": unsealed_rfq.lines[2].id, "unit_price": "3"}],
                        q.lock_version)
    c = login(world.procurement)
    for resp in _buyer_pages(c, q):
        assert resp.status_code == 200
        body = text(resp)
        assert "12.34" in body and "98.76" not in body
    assert c.get(f"/quotes/{q.id}/versions/2").status_code == 404  # the draft's number is not a page for the buyer
    panel = _panel_html(app, world.procurement, unsealed_rfq)
    assert "98.76" not in panel and "Total" in panel


def _panel_html(app, user, rfq) -> str:
    from flask_login import login_user

    with app.test_request_context("/"):
        login_user(db.session.get(type(user), user.id))
        return render_template("quotes/_rfq_panel.html", rfq=fresh(rfq))


def test_the_buyer_panel_queries_do_not_grow_with_the_suppliers(world, app, count_queries):
    counts = []
    for n in (1, 4):
        suppliers = [factories.company("supplier") for _ in range(n)]
        rfq = factories.rfq(world.buyer, world.procurement, sealed=False, suppliers=suppliers)
        for s in suppliers:
            factories.quote(rfq, s, factories.user(s, "sales"))
        with count_queries() as q:
            html = _panel_html(app, world.procurement, rfq)
        assert html.count("data-supplier=") == n
        counts.append(q.count)
    assert counts[0] == counts[1]


def test_supplier_panel_buttons_follow_the_quote_state(world, open_rfq, app):
    assert "Start quote" in _panel_html(app, world.sales_a, open_rfq)
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    assert "Continue draft" in _panel_html(app, world.sales_a, open_rfq)
    services.submit(fresh(q), world.sales_a, fresh(q).lock_version)
    html = _panel_html(app, world.sales_a, open_rfq)
    assert "Revise" in html and "Withdraw" in html and "Confirm after amendment" not in html
    q = fresh(q)
    q.needs_reconfirmation = True
    db.session.commit()
    assert "Confirm after amendment" in _panel_html(app, world.sales_a, open_rfq)
    move_deadline_to_past(open_rfq)
    html = _panel_html(app, world.sales_a, open_rfq)
    assert "quotes are locked" in html and "Revise" not in html
    # the other supplier (invited, not started) sees its own state, never supplier A's
    assert "Not started" in _panel_html(app, world.sales_b, open_rfq)


def test_the_panel_is_empty_for_an_uninvited_company(world, open_rfq, app):
    other = factories.company("supplier")
    assert "quote-panel" not in _panel_html(app, factories.user(other, "sales"), open_rfq)


# --------------------------------------------------------------------------------------------- versions, actions

def test_the_supplier_sees_every_version_with_time_author_and_total(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "1", "1"], hdr=header(shipping="10"))
    q = fresh(services.get_or_create_draft(fresh(open_rfq), world.sales_a))
    services.save_draft(q, world.sales_a, {}, [{"rfq_line_id": rl.id, "unit_price": "2"} for rl in open_rfq.lines],
                        q.lock_version)
    services.submit(fresh(q), world.sales_a, fresh(q).lock_version)
    c = login(world.sales_a)
    body = text(c.get(f"/quotes/{q.id}"))
    # 100+200+300 pcs: v1 = 600 + 10 shipping, v2 = 1200 + 10
    assert "€610.00" in body and "€1,210.00" in body
    assert body.count(world.sales_a.name) >= 2
    v1 = text(c.get(f"/quotes/{q.id}/versions/1"))
    assert "version 1" in v1.lower() and "€610.00" in v1
    assert c.get(f"/quotes/{q.id}/versions/9").status_code == 404


def test_withdraw_and_confirm_through_the_pages(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    page = text(c.get(f"/quotes/{q.id}/withdraw"))
    resp = c.post(f"/quotes/{q.id}/withdraw", data={"reason": "", "lock_version": lock_on(page)})
    assert resp.status_code == 422 and "Give a short reason." in text(resp)
    resp = c.post(f"/quotes/{q.id}/withdraw", data={"reason": "Capacity", "lock_version": lock_on(page)})
    assert resp.status_code == 302 and fresh(q).status == QuoteStatus.withdrawn
    page = text(c.get(f"/quotes/{q.id}"))
    assert "Submit again" in page
    assert c.post(f"/quotes/{q.id}/revise", data={"lock_version": lock_on(page)}).status_code == 302
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    assert c.post(f"/rfqs/{open_rfq.id}/quote", data=form(open_rfq, ["1", "2", "3"], lock_version=lock_on(page),
                                                          action="submit")).status_code == 302
    q = fresh(q)
    assert q.status == QuoteStatus.submitted
    q.needs_reconfirmation = True
    q.rfq.amendment_no = 1
    db.session.commit()
    page = text(c.get(f"/quotes/{q.id}"))
    assert 'data-testid="reconfirm-note"' in page
    assert c.post(f"/quotes/{q.id}/confirm", data={"lock_version": lock_on(page)}).status_code == 302
    q = fresh(q)
    assert q.needs_reconfirmation is False and q.current_version.rfq_amendment_no == 1


def test_a_stale_confirm_button_is_refused(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    q.needs_reconfirmation = True
    db.session.commit()
    c = login(world.sales_a)
    resp = c.post(f"/quotes/{q.id}/confirm", data={"lock_version": "1"}, follow_redirects=True)
    assert "changed in another tab" in text(resp) and fresh(q).needs_reconfirmation is True


def test_index_lists_the_companys_quotes(world, open_rfq, login):
    submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    body = text(login(world.sales_a).get("/quotes"))
    assert open_rfq.reference in body
    assert open_rfq.reference not in text(login(world.sales_b).get("/quotes"))
