"""The award UI on the comparison page: buttons, split form, the award shown afterwards, and bad input."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.quotes.models import Award, AwardLine
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def setup(world):
    r = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00", "2.00", "3.00"], shipping="40")
    qb = factories.quote(
        r, world.supplier_b, world.sales_b, prices=["0.90", "2.10", "9"], declined=(2,), shipping="15"
    )
    return r, qa, qb


def award_url(r):
    return f"/rfqs/{r.id}/comparison/award"


def count_awards():
    return db.session.scalar(sa.select(sa.func.count(Award.id)))


def assert_nothing_saved(r):
    db.session.expire_all()
    assert count_awards() == 0 and db.session.scalar(sa.select(sa.func.count(AwardLine.id))) == 0
    assert db.session.get(Rfq, r.id).status == RfqStatus.closed


# ------------------------------------------------------------------------------------------ the page


def test_award_all_buttons_only_for_complete_valid_quotes(world, login, setup):
    r, qa, qb = setup
    body = text(login(world.procurement).get(f"/rfqs/{r.id}/comparison"))
    assert "Award all to Supplier Alpha GmbH" in body
    assert "Award all to Supplier Beta SAS" not in body  # incomplete: declined line 3
    assert "Award selected lines" in body and "This cannot be undone." in body  # confirmation
    assert f'name="version" value="{r.version}"' in body


def test_split_form_is_prefilled_with_the_best_value(world, login, setup):
    r, qa, qb = setup
    body = text(login(world.procurement).get(f"/rfqs/{r.id}/comparison"))
    checked = dict(re.findall(r'name="line-(\d+)" value="(\d+)"[^>]* checked', body))
    assert checked == {
        str(r.lines[0].id): str(qb.id),
        str(r.lines[1].id): str(qa.id),
        str(r.lines[2].id): str(qa.id),
    }
    # a "not awarded" choice exists for every line, and no radio for the declined cell
    assert len(re.findall(r'name="line-\d+" value="none"', body)) == 3
    assert f'name="line-{r.lines[2].id}" value="{qb.id}"' not in body


def test_award_whole_through_the_page(world, login, setup):
    r, qa, qb = setup
    c = login(world.procurement)
    resp = c.post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version, "note": "Single source"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/rfqs/{r.id}/comparison")
    body = text(c.get(f"/rfqs/{r.id}/comparison"))
    assert f"{r.reference} is awarded (3 lines)" in body
    award_box = body[body.index('data-testid="award"') :]
    assert "by " + world.procurement.name in award_box and "All lines to one supplier" in award_box
    assert "Supplier Alpha GmbH" in award_box and "1–3" in award_box
    assert "€1,400.00" in award_box and "€40.00" in award_box and "€1,440.00" in award_box
    assert "Note: Single source" in award_box
    assert f'href="/rfqs/{r.id}"' in body  # the RFQ page
    # no more award buttons once awarded
    assert "Award all to" not in body and "Award selected lines" not in body
    assert body.count("awarded-mark") == 3 + 1  # three cells + the stylesheet rule


def test_award_split_through_the_page(world, login, setup):
    r, qa, qb = setup
    c = login(world.procurement)
    resp = c.post(
        award_url(r),
        data={
            "mode": "split",
            "version": r.version,
            f"line-{r.lines[0].id}": qb.id,
            f"line-{r.lines[1].id}": qa.id,
            f"line-{r.lines[2].id}": "none",
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    award = db.session.scalar(sa.select(Award))
    assert award.mode == "split" and [(al.rfq_line_id, al.quote_id) for al in award.lines] == [
        (r.lines[0].id, qb.id),
        (r.lines[1].id, qa.id),
    ]
    body = text(c.get(f"/rfqs/{r.id}/comparison"))
    box = body[body.index('data-testid="award"') :]
    assert "Split award" in box and "2 of 3 lines awarded" in box
    assert "Supplier Alpha GmbH" in box and "Supplier Beta SAS" in box
    assert "€90.00" in box and "€105.00" in box  # B: 90 + 15 shipping
    assert "€400.00" in box and "€440.00" in box  # A: 400 + 40 shipping


# ------------------------------------------------------------------------------------------ bad input


def test_awarding_an_open_rfq_says_close_it_first(world, login):
    r = factories.rfq(world.buyer, world.procurement, sealed=False, status="open")
    q = factories.quote(r, world.supplier_a, world.sales_a)
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": q.id, "version": r.version}
    )
    assert resp.status_code == 409
    assert "close it first" in text(resp)
    assert count_awards() == 0


def test_a_quote_from_another_rfq_is_refused(world, login, setup):
    r, qa, _ = setup
    other = factories.closed_rfq(world.buyer, world.procurement)
    foreign = factories.quote(other, world.supplier_a, world.sales_a)
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": foreign.id, "version": r.version}
    )
    assert resp.status_code == 422 and f"is not a quote for {r.reference}" in text(resp)
    assert_nothing_saved(r)


def test_a_declined_line_is_refused_and_the_selection_is_kept(world, login, setup):
    r, qa, qb = setup
    resp = login(world.procurement).post(
        award_url(r),
        data={
            "mode": "split",
            "version": r.version,
            f"line-{r.lines[0].id}": qa.id,
            f"line-{r.lines[2].id}": qb.id,
        },
    )
    body = text(resp)
    assert resp.status_code == 422
    assert "line 3: Supplier Beta SAS declined it (Not in our range)" in body
    assert re.search(rf'name="line-{r.lines[0].id}" value="{qa.id}"[^>]* checked', body)  # kept, not reset
    assert_nothing_saved(r)


def test_a_withdrawn_quote_is_refused(world, login, setup):
    r, qa, _ = setup
    factories.withdraw_quote(qa)
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version}
    )
    assert resp.status_code == 422 and "withdrew its quote" in text(resp)
    assert_nothing_saved(r)


def test_an_expired_quote_is_refused(world, login, setup):
    r, qa, _ = setup
    qa.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version}
    )
    assert resp.status_code == 422 and "expired on" in text(resp)
    assert_nothing_saved(r)


@pytest.mark.parametrize("line_key", ["line-999999", "line-abc"])
def test_an_unknown_line_id_is_refused(world, login, setup, line_key):
    r, qa, _ = setup
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "split", "version": r.version, line_key: qa.id}
    )
    assert resp.status_code == 422
    assert re.search(r"Line (id 999999 is not a line of|'abc' is not a valid id)", text(resp))
    assert_nothing_saved(r)


def test_no_line_selected_is_refused(world, login, setup):
    r, _, _ = setup
    data = {"mode": "split", "version": r.version, **{f"line-{ln.id}": "none" for ln in r.lines}}
    resp = login(world.procurement).post(award_url(r), data=data)
    assert resp.status_code == 422 and "at least one line" in text(resp)
    assert_nothing_saved(r)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"mode": "whole", "quote_id": "1"}, "missing the RFQ version"),
        ({"mode": "sideways", "version": "current"}, "Choose how to award"),
        ({"mode": "whole", "quote_id": "", "version": "current"}, "Choose the quote to award."),
        ({"mode": "whole", "version": "current"}, "Choose the quote to award."),
        ({"mode": "whole", "quote_id": "1; DROP TABLE awards", "version": "current"}, "is not a valid id"),
    ],
)
def test_malformed_posts_are_refused_with_a_sentence(world, login, setup, data, message):
    r, _, _ = setup
    data = {k: (r.version if v == "current" else v) for k, v in data.items()}
    resp = login(world.procurement).post(award_url(r), data=data)
    assert resp.status_code in (400, 422) and message in text(resp)
    assert_nothing_saved(r)


def test_a_stale_page_is_refused(world, login, setup):
    r, qa, _ = setup
    stale = r.version
    r.title = "Changed meanwhile"
    db.session.commit()
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": stale}
    )
    assert resp.status_code == 409 and "changed after you opened this page" in text(resp)
    assert_nothing_saved(r)


def test_a_second_award_is_refused(world, login, setup):
    r, qa, qb = setup
    c = login(world.procurement)
    version = r.version
    assert (
        c.post(award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": version}).status_code == 302
    )
    # the same page, submitted again (double click / second tab)
    resp = c.post(award_url(r), data={"mode": "split", "version": version, f"line-{r.lines[0].id}": qb.id})
    assert resp.status_code == 409 and "This RFQ has already been awarded." in text(resp)
    assert count_awards() == 1


def test_another_companys_rfq_is_404(world, login, setup):
    r, qa, _ = setup
    other = factories.company("buyer", name="Other Buyer AG")
    c = login(factories.user(other, "procurement"))
    resp = c.post(award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version})
    assert resp.status_code == 404
    assert_nothing_saved(r)


@pytest.mark.parametrize("who", ["sales_a", "admin_b"])
def test_a_supplier_posting_to_the_award_url_gets_404(world, login, setup, who):
    r, qa, _ = setup
    resp = login(getattr(world, who)).post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version}
    )
    assert resp.status_code == 404
    assert_nothing_saved(r)


def test_an_approver_of_the_buyer_gets_403(world, login, setup):
    r, qa, _ = setup
    resp = login(world.approver).post(
        award_url(r), data={"mode": "whole", "quote_id": qa.id, "version": r.version}
    )
    assert resp.status_code == 403
    assert_nothing_saved(r)


def test_award_needs_post(world, login, setup):
    r, _, _ = setup
    assert login(world.procurement).get(award_url(r)).status_code == 405


def test_adjusted_quantities_are_awarded(world, login):
    r = factories.closed_rfq(world.buyer, world.procurement, quantities=[D("480")])
    q = factories.quote(
        r,
        world.supplier_a,
        world.sales_a,
        prices=["1.00"],
        pack_size=D("25"),
        breaks={0: [{"min_quantity": "500", "unit_price": "0.95"}]},
    )
    resp = login(world.procurement).post(
        award_url(r), data={"mode": "whole", "quote_id": q.id, "version": r.version}
    )
    assert resp.status_code == 302
    (al,) = db.session.scalar(sa.select(Award)).lines
    assert (al.quantity, al.unit_price, al.line_total) == (D("500"), D("0.95"), D("475.00"))
