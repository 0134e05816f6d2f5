"""The buyer's rating of a supplier (portal/suppliers/ratings.py): stored by procurement on the supplier's page or
the API, else the history of the team's free scores, else 3; bad input refused with a sentence and nothing saved;
audited; the buyer's own (another company: 404, never another buyer's figure)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal as D

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.quotes import scoring
from portal.quotes.scoring_models import SupplierRating
from portal.suppliers import ratings
from tests import factories
from tests.frameworks.helpers import closed_with_quotes, fresh
from tests.suppliers.conftest import count, text

API = "/api/v1"
CENT = D("0.01")


def scored_history(world, a_scores, b_scores=()):
    """A closed RFQ with a free criterion "Quality" scored by the team: ``a_scores`` for Alpha's quote (one per
    person: procurement, procurement2), ``b_scores`` for Beta's."""
    r, qa, qb = closed_with_quotes(world)
    (_, quality) = scoring.set_criteria(r, world.procurement, [{"kind": "price", "weight": "50"},
                                                               {"kind": "custom", "name": "Quality", "weight": "50"}])
    people = (world.procurement, world.procurement2)
    for quote, scores in ((qa, a_scores), (qb, b_scores)):
        for person, score in zip(people, scores):
            scoring.set_scores(fresh(r), person, [{"criterion_id": quality.id, "quote_id": quote.id,
                                                   "score": str(score)}])
    return r


def test_without_stored_rating_or_history_the_rating_is_neutral(world):
    r = ratings.rating_of(world.procurement, world.supplier_a.id)
    assert (r.stored, r.history, r.history_scores, r.source, r.effective) == (None, None, 0, "neutral", D(3))


def test_history_is_the_mean_of_the_teams_free_scores_and_a_stored_rating_wins(world):
    scored_history(world, [5, 4], [2])
    expected = ((D(5) + D(4)) / 2).quantize(CENT, ROUND_HALF_UP)
    a = ratings.rating_of(world.procurement, world.supplier_a.id)
    assert (a.history, a.history_scores, a.source, a.effective) == (expected, 2, "history", expected)
    assert ratings.rating_of(world.procurement, world.supplier_b.id).effective == D(2)

    ratings.set_rating(world.procurement, world.supplier_a.id, "3.25")
    a = ratings.rating_of(world.procurement, world.supplier_a.id)
    assert (a.stored, a.source, a.effective, a.history) == (D("3.25"), "stored", D("3.25"), expected)
    ratings.clear_rating(world.procurement, world.supplier_a.id)
    assert ratings.rating_of(world.procurement, world.supplier_a.id).effective == expected
    assert count(SupplierRating) == 0


def test_the_scoring_criterion_uses_the_same_rating(world):
    """The rating criterion reads portal.suppliers.ratings: stored for B, neutral 3 for A (the RFQ's own scores
    are not history)."""
    r, qa, qb = closed_with_quotes(world)
    ratings.set_rating(world.procurement, world.supplier_b.id, "4")
    scoring.set_criteria(r, world.procurement, [{"kind": "price", "weight": "50"}, {"kind": "rating", "weight": "50"}])
    rows = {row.quote_id: row for row in scoring.ranking(fresh(r)).rows}
    crit = [c for c in scoring.criteria_for(r.id) if c.kind.value == "rating"][0]
    assert rows[qb.id].parts[crit.id].points == D(50) * D(4) / D(5)
    assert rows[qa.id].parts[crit.id].points == D(50) * D(3) / D(5)


@pytest.mark.parametrize("bad", ["", "0", "0.99", "5.01", "6", "-3", "4.555", "x", "NaN", "Infinity", "1e1"])
def test_bad_ratings_are_refused_with_a_sentence_and_nothing_saved(world, bad):
    ratings.set_rating(world.procurement, world.supplier_a.id, "4")
    with pytest.raises(ValidationFailed, match="from 1 to 5"):
        ratings.set_rating(world.procurement, world.supplier_a.id, bad)
    db.session.expire_all()
    assert db.session.scalar(sa.select(SupplierRating.rating)) == D("4.00")
    assert count(AuditEvent, AuditEvent.entity_type == "supplier_rating") == 1


def test_a_rating_is_kept_to_two_places_and_each_change_is_audited(world):
    ratings.set_rating(world.procurement, world.supplier_a.id, "4.5")
    ratings.set_rating(world.procurement2, world.supplier_a.id, "1")
    ratings.clear_rating(world.procurement, world.supplier_a.id)
    ratings.set_rating(world.procurement, world.supplier_a.id, "5")
    assert db.session.scalar(sa.select(SupplierRating.rating)) == D("5.00")
    changes = ratings.rating_history(world.buyer.id, world.supplier_a.id)
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in reversed(changes)] == [
        ("rating_set", None, "4.50", world.procurement.id), ("rating_set", "4.50", "1.00", world.procurement2.id),
        ("rating_cleared", "1.00", None, world.procurement.id), ("rating_set", None, "5.00", world.procurement.id)]
    assert all(e.visible_to_company_id == world.buyer.id for e in changes)


def test_who_may_rate_whom(world):
    with pytest.raises(Forbidden):
        ratings.set_rating(world.buyer_admin, world.supplier_a.id, "4")  # admins read, procurement rates
    assert ratings.rating_of(world.buyer_admin, world.supplier_a.id).source == "neutral"
    for who in (world.approver, world.buyer_accounts, world.sales_a):
        with pytest.raises(Forbidden):
            ratings.rating_of(who, world.supplier_b.id)
    with pytest.raises(NotFound):
        ratings.set_rating(world.procurement, world.buyer.id, "4")  # a buyer, not a supplier
    with pytest.raises(NotFound):
        ratings.set_rating(world.procurement, 2**31 + 5, "4")
    assert count(SupplierRating) == 0


def test_ratings_are_the_buyers_own(world):
    other = factories.company("buyer", name="Other Buyer AG")
    other_buyer = factories.user(other, "procurement", email="p@other.test")
    ratings.set_rating(world.procurement, world.supplier_a.id, "5")
    ratings.set_rating(other_buyer, world.supplier_a.id, "2")
    assert ratings.rating_of(world.procurement, world.supplier_a.id).stored == D("5.00")
    assert ratings.rating_of(other_buyer, world.supplier_a.id).stored == D("2.00")
    assert ratings.rating_history(other.id, world.supplier_a.id)[0].to_state == "2.00"
    assert len(ratings.rating_history(world.buyer.id, world.supplier_a.id)) == 1


# --------------------------------------------------------------------------------------------- pages

def test_the_supplier_page_shows_and_sets_the_rating(world, login):
    scored_history(world, [4, 3])
    c = login(world.procurement)
    page = text(c.get(f"/suppliers/{world.supplier_a.id}"))
    assert 'data-testid="rating-form"' in page and "from history" in page and "3.5" in page and "2 scores" in page
    assert page.count('id="rating"') == 1  # the label's target is the input (nothing else on the page has its id)
    resp = c.post(f"/suppliers/{world.supplier_a.id}/rating", data={"rating": "4.25"})
    assert resp.status_code == 302
    page = text(c.get(f"/suppliers/{world.supplier_a.id}"))
    assert "Rating saved: 4.25 of 5." in page and 'data-testid="rating-source">stored' in page
    assert 'data-testid="rating-changes"' in page
    directory = text(c.get("/suppliers/"))
    assert f'data-testid="rating-{world.supplier_a.id}">4.25<' in directory
    assert f'data-testid="rating-{world.supplier_b.id}">3 <span class="small text-muted">(neutral)' in directory
    resp = c.post(f"/suppliers/{world.supplier_a.id}/rating", data={"rating": "", "clear": "1"})
    assert resp.status_code == 302 and count(SupplierRating) == 0


def test_a_bad_rating_on_the_page_gets_a_sentence_and_nothing_is_saved(world, login):
    c = login(world.procurement)
    c.post(f"/suppliers/{world.supplier_a.id}/rating", data={"rating": "4"})
    for bad in ("7", "abc", "4.123", ""):
        resp = c.post(f"/suppliers/{world.supplier_a.id}/rating", data={"rating": bad})
        page = text(resp)
        assert resp.status_code == 422, bad
        assert "A rating is a number from 1 to 5 with at most two decimals, such as 4.5." in page
        assert f'value="{bad}"' in page  # the typed value is kept for correcting
    db.session.expire_all()
    assert db.session.scalar(sa.select(SupplierRating.rating)) == D("4.00")


def test_a_german_procurement_person_types_a_decimal_comma(world, login):
    world.procurement.language = "de"
    db.session.commit()
    c = login(world.procurement)
    assert c.post(f"/suppliers/{world.supplier_a.id}/rating", data={"rating": "4,5"}).status_code == 302
    assert db.session.scalar(sa.select(SupplierRating.rating)) == D("4.50")
    assert 'value="4,5"' in text(c.get(f"/suppliers/{world.supplier_a.id}"))


def test_rating_pages_tenancy(world, login):
    other = factories.company("buyer", name="Other Buyer AG")
    other_buyer = factories.user(other, "procurement", email="p@other.test")
    ratings.set_rating(other_buyer, world.supplier_a.id, "1.75")
    page = text(login(world.procurement).get(f"/suppliers/{world.supplier_a.id}"))
    assert "1.75" not in page  # another buyer's rating is never shown
    # another buyer company is no supplier: 404; a supplier's people have no such page
    assert login(world.procurement).post(f"/suppliers/{other.id}/rating", data={"rating": "4"}).status_code == 404
    assert login(world.procurement).get(f"/suppliers/{other.id}").status_code == 404
    assert login(world.sales_a).post(f"/suppliers/{world.supplier_b.id}/rating",
                                     data={"rating": "4"}).status_code == 403
    assert login(world.buyer_admin).post(f"/suppliers/{world.supplier_a.id}/rating",
                                         data={"rating": "4"}).status_code == 403
    assert count(SupplierRating) == 1


# --------------------------------------------------------------------------------------------- API

def test_rating_through_the_api(world, client, token_for):
    h = token_for(world.procurement)
    url = f"{API}/suppliers/{world.supplier_a.id}/rating"
    body = client.get(url, headers=h).get_json()
    assert body == {"supplier_company_id": world.supplier_a.id, "supplier_name": world.supplier_a.display_name,
                    "rating": "3.00", "source": "neutral", "stored": None, "stored_at": None, "history": None,
                    "history_scores": 0}
    resp = client.put(url, headers=h, json={"rating": "4.5"})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["rating"], resp.get_json()["source"], resp.get_json()["stored"]) == ("4.50", "stored",
                                                                                               "4.50")
    for bad in ({"rating": "6"}, {"rating": 4.5}, {"rating": "4.555"}, {}):
        resp = client.put(url, headers=h, json=bad)
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", bad
    assert client.get(url, headers=h).get_json()["stored"] == "4.50"
    resp = client.put(url, headers=h, json={"rating": None})
    assert resp.status_code == 200 and resp.get_json()["source"] == "neutral" and count(SupplierRating) == 0


def test_rating_api_tenancy(world, client, token_for):
    other = factories.company("buyer", name="Other Buyer AG")
    ratings.set_rating(factories.user(other, "procurement", email="p@other.test"), world.supplier_a.id, "2")
    h = token_for(world.procurement)
    assert client.get(f"{API}/suppliers/{world.supplier_a.id}/rating", headers=h).get_json()["stored"] is None
    assert client.get(f"{API}/suppliers/{other.id}/rating", headers=h).status_code == 404
    assert client.put(f"{API}/suppliers/{other.id}/rating", headers=h, json={"rating": "4"}).status_code == 404
    assert client.get(f"{API}/suppliers/{world.supplier_b.id}/rating",
                      headers=token_for(world.sales_a)).status_code == 403
    assert client.put(f"{API}/suppliers/{world.supplier_a.id}/rating", headers=token_for(world.buyer_admin),
                      json={"rating": "4"}).status_code == 403
    assert count(SupplierRating) == 1
