"""Weighted bid scoring: weights sum to 100 %, scores 1–5, the documented formulas, the award's audit record."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal as D

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.errors import InvalidTransition, NotFound, Forbidden, ValidationFailed
from portal.quotes import award as award_service
from portal.quotes import scoring
from portal.quotes.scoring_models import QuoteScore, ScoringCriterion
from tests.frameworks.helpers import closed_with_quotes, fresh

TOTAL_A, TOTAL_B = D("1440.00"), D("1350.00")


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def r2(x: D) -> D:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def criteria(r, user, *specs):
    return scoring.set_criteria(r, user, [dict(kind=k, name=n, weight=w) for k, n, w in specs])


def test_weights_must_sum_to_100_and_nothing_is_saved(world):
    r, _, _ = closed_with_quotes(world)
    with pytest.raises(ValidationFailed, match="add up to 90 %; they must add up to exactly 100 %"):
        criteria(r, world.procurement, ("price", "", "60"), ("lead_time", "", "30"))
    assert count(ScoringCriterion) == 0
    with pytest.raises(ValidationFailed, match="add up to 100.5 %"):
        criteria(r, world.procurement, ("price", "", "70.5"), ("lead_time", "", "30"))
    assert count(ScoringCriterion) == 0


@pytest.mark.parametrize("weight, message", [("abc", "not a number"), ("0", "more than 0"), ("-5", "more than 0"),
                                             ("101", "at most 100"), ("33.333", "two decimals")])
def test_bad_weights_are_refused_with_a_sentence(world, weight, message):
    r, _, _ = closed_with_quotes(world)
    with pytest.raises(ValidationFailed, match=message):
        criteria(r, world.procurement, ("price", "", weight), ("custom", "Quality", "50"))
    assert count(ScoringCriterion) == 0


def test_a_standard_criterion_once_and_free_criteria_need_a_name(world):
    r, _, _ = closed_with_quotes(world)
    with pytest.raises(ValidationFailed, match="Price is listed twice"):
        criteria(r, world.procurement, ("price", "", "50"), ("price", "", "50"))
    with pytest.raises(ValidationFailed, match="name the free criterion"):
        criteria(r, world.procurement, ("price", "", "50"), ("custom", "", "50"))


def test_only_the_buyers_procurement_sets_criteria(world):
    r, _, _ = closed_with_quotes(world)
    with pytest.raises(NotFound):
        criteria(r, world.sales_a, ("price", "", "100"))
    with pytest.raises(Forbidden):
        criteria(r, world.approver, ("price", "", "100"))


def test_scores_outside_1_to_5_are_refused_and_nothing_saved(world):
    r, qa, qb = closed_with_quotes(world)
    _, quality = criteria(r, world.procurement, ("price", "", "60"), ("custom", "Quality", "40"))
    for bad in ("0", "6", "2.5", "x"):
        with pytest.raises(ValidationFailed, match="1 to 5|outside 1–5"):
            scoring.set_scores(r, world.procurement, [
                {"criterion_id": quality.id, "quote_id": qa.id, "score": "4"},
                {"criterion_id": quality.id, "quote_id": qb.id, "score": bad}])
        assert count(QuoteScore) == 0


def test_the_weighted_score_follows_the_documented_formulas(world):
    r, qa, qb = closed_with_quotes(world)
    # A: payment terms 60 days (a credit account), B: the default 30 days.
    from portal.credit.models import CreditAccount
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=D("100000"), currency="EUR", payment_terms_days=60))
    db.session.commit()
    scoring.set_rating(world.procurement, world.supplier_b.id, "4.5")
    price, lead, terms, rating, quality = criteria(
        r, world.procurement, ("price", "", "40"), ("lead_time", "", "20"), ("payment_terms", "", "10"),
        ("rating", "", "10"), ("custom", "Quality", "20"))
    scoring.set_scores(r, world.procurement, [{"criterion_id": quality.id, "quote_id": qa.id, "score": "5"},
                                              {"criterion_id": quality.id, "quote_id": qb.id, "score": "2"}])
    scoring.set_scores(r, world.procurement2, [{"criterion_id": quality.id, "quote_id": qa.id, "score": "4"}])

    ranking = scoring.ranking(fresh(r))
    lowest = min(TOTAL_A, TOTAL_B)
    expected_a = (D(40) * lowest / TOTAL_A + D(20) * D(10) / D(10) + D(10) * D(60) / D(60)
                  + D(10) * D(3) / D(5)  # no stored rating, no history: neutral 3
                  + D(20) * ((D(5) + D(4)) / D(2)) / D(5))
    expected_b = (D(40) * lowest / TOTAL_B + D(20) * D(10) / D(20) + D(10) * D(30) / D(60)
                  + D(10) * D("4.5") / D(5) + D(20) * D(2) / D(5))
    by_quote = {row.quote_id: row for row in ranking.rows}
    assert by_quote[qa.id].score == r2(expected_a)
    assert by_quote[qb.id].score == r2(expected_b)
    assert by_quote[qa.id].parts[price.id].points == D(40) * lowest / TOTAL_A
    assert [row.quote_id for row in ranking.rows] == [qa.id, qb.id]  # A wins despite the higher price
    assert [row.rank for row in ranking.rows] == [1, 2]


def test_price_only_ranks_by_price(world):
    r, qa, qb = closed_with_quotes(world)
    criteria(r, world.procurement, ("price", "", "100"))
    ranking = scoring.ranking(fresh(r))
    assert [row.quote_id for row in ranking.rows] == [qb.id, qa.id]
    assert ranking.rows[0].score == D("100.00")
    assert ranking.rows[1].score == r2(D(100) * TOTAL_B / TOTAL_A)


def test_the_award_records_the_scores_and_freezes_them(world):
    r, qa, qb = closed_with_quotes(world)
    criteria(r, world.procurement, ("price", "", "70"), ("lead_time", "", "30"))
    award_service.award_whole(fresh(r), world.procurement, qa.id)
    ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "rfq",
                                                       AuditEvent.action == "award_scores"))
    assert ev is not None and ev.visible_to_company_id == world.buyer.id
    score_b = r2(D(70) + D(30) * D(10) / D(20))
    score_a = r2(D(70) * TOTAL_B / TOTAL_A + D(30))
    assert f"#1 Supplier Alpha GmbH {score_a}" in ev.detail
    assert f"#2 Supplier Beta SAS {score_b}" in ev.detail
    assert "Price 70 %, Lead time 30 %" in ev.detail
    with pytest.raises(InvalidTransition):
        criteria(fresh(r), world.procurement, ("price", "", "100"))


def test_an_award_without_criteria_records_no_scores(world):
    r, qa, _ = closed_with_quotes(world)
    award_service.award_whole(r, world.procurement, qa.id)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "award_scores")) == 0


def test_keeping_a_criterion_keeps_its_scores(world):
    r, qa, _ = closed_with_quotes(world)
    _, quality = criteria(r, world.procurement, ("price", "", "50"), ("custom", "Quality", "50"))
    scoring.set_scores(r, world.procurement, [{"criterion_id": quality.id, "quote_id": qa.id, "score": "3"}])
    scoring.set_criteria(fresh(r), world.procurement, [
        {"kind": "price", "weight": "40"}, {"id": quality.id, "kind": "custom", "name": "Quality", "weight": "60"}])
    assert count(QuoteScore) == 1
    assert fresh(quality).weight == D("60")
    scoring.set_criteria(fresh(r), world.procurement, [{"kind": "price", "weight": "100"}])
    assert count(QuoteScore) == 0
