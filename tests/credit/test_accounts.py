"""Credit accounts: the supplier's accounts team sets limits and terms; buyers read theirs."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.credit import services
from portal.credit.models import CreditAccount
from portal.db import db
from portal.errors import Forbidden, NotFound, ValidationFailed
from tests import factories
from tests.credit.helpers import text


def _count():
    return db.session.scalar(sa.select(sa.func.count(CreditAccount.id)))


def _ordered(world, supplier=None):
    return factories.order(world.buyer, supplier or world.supplier_a, world.procurement, status="placed")


def test_save_account_for_a_buyer_and_the_default(world):
    _ordered(world)
    acc = services.save_account(world.accounts_a, world.buyer.id, limit_amount="12 500.50", currency="eur",
                                payment_terms_days="45", block_on_overdue=False)
    assert (acc.limit_amount, acc.currency, acc.payment_terms_days, acc.block_on_overdue) == (
        Decimal("12500.50"), "EUR", 45, False)
    default = services.save_account(world.accounts_a, None, limit_amount="1000", currency="EUR",
                                    payment_terms_days=30, block_on_overdue=True)
    assert default.buyer_company_id is None
    again = services.save_account(world.accounts_a, world.buyer.id, limit_amount="0", currency="EUR",
                                  payment_terms_days="0", block_on_overdue=True)
    assert again.id == acc.id and again.limit_amount == Decimal("0")
    assert _count() == 2


@pytest.mark.parametrize("limit, currency, terms, words", [
    ("-1", "EUR", "30", "cannot be negative"),
    ("100.001", "EUR", "30", "more than 2 decimal places"),
    ("100.5", "JPY", "30", "more than 0 decimal places"),
    ("abc", "EUR", "30", "is not a number"),
    ("", "EUR", "30", "is required"),
    ("100", "XYZ", "30", "not a currency we know"),
    ("100", "", "30", "not a currency we know"),
    ("100", "EUR", "366", "between 0 and 365"),
    ("100", "EUR", "-1", "between 0 and 365"),
    ("100", "EUR", "30.5", "whole number"),
])
def test_bad_input_is_refused_and_nothing_saved(world, limit, currency, terms, words):
    _ordered(world)
    with pytest.raises(ValidationFailed, match=words):
        services.save_account(world.accounts_a, world.buyer.id, limit_amount=limit, currency=currency,
                              payment_terms_days=terms, block_on_overdue=True)
    db.session.rollback()
    assert _count() == 0


def test_only_a_suppliers_accounts_team_saves(world):
    _ordered(world)
    for who in (world.sales_a, world.buyer_accounts, world.admin_a):
        with pytest.raises(Forbidden):
            services.save_account(who, world.buyer.id, limit_amount="1", currency="EUR", payment_terms_days=30,
                                  block_on_overdue=True)


def test_terms_for_a_directory_buyer_before_its_first_order_but_no_other_company(world):
    newcomer = factories.company("buyer")
    acc = services.save_account(world.accounts_a, newcomer.id, limit_amount="1", currency="EUR",
                                payment_terms_days=30, block_on_overdue=True)
    assert acc.buyer_company_id == newcomer.id
    for not_a_buyer in (world.supplier_b.id, world.supplier_a.id, 999999):
        with pytest.raises(NotFound):
            services.save_account(world.accounts_a, not_a_buyer, limit_amount="1", currency="EUR",
                                  payment_terms_days=30, block_on_overdue=True)


# --- pages -----------------------------------------------------------------------------------------------

def test_accounts_list_shows_limit_exposure_available_and_terms(world, account, submitted, login):
    account(world.supplier_a, world.buyer, "1000", terms=45)
    account(world.supplier_a, None, "5000")
    services.check_order(submitted("850").id)
    other = factories.company("buyer", name="Zeta Buyer")
    factories.order(other, world.supplier_a, world.procurement, status="placed")
    drafty = factories.company("buyer", name="Drafty")
    factories.order(drafty, world.supplier_a, world.procurement, status="draft")
    resp = login(world.accounts_a).get("/credit/accounts")
    body = text(resp)
    assert resp.status_code == 200
    assert "Acme Buying GmbH" in body and "net 45" in body and "850.00" in body and "150.00" in body
    assert "Zeta Buyer" in body and "default applies" in body
    # a draft is the buyer's business: Drafty is only one of the directory's buyers to give terms to
    assert f'account-row-{drafty.id}"' not in resp.get_data(as_text=True)
    assert f'<option value="{drafty.id}">' in resp.get_data(as_text=True)
    assert "85 %" in body and "85 % · near" in body


def test_accounts_list_empty_state(world, login):
    body = text(login(world.accounts_a).get("/credit/accounts"))
    assert "No buyers yet" in body and "No default set" in body


def test_edit_form_saves_and_shows_errors_beside_the_field(world, login):
    _ordered(world)
    c = login(world.accounts_a)
    assert c.get(f"/credit/buyers/{world.buyer.id}/account").status_code == 200
    resp = c.post(f"/credit/buyers/{world.buyer.id}/account",
                  data={"limit_amount": "-5", "currency": "EUR", "payment_terms_days": "30"})
    assert resp.status_code == 422 and "cannot be negative" in text(resp) and "is-invalid" in text(resp)
    assert _count() == 0
    resp = c.post(f"/credit/buyers/{world.buyer.id}/account",
                  data={"limit_amount": "7000", "currency": "EUR", "payment_terms_days": "14",
                        "block_on_overdue": "y"})
    assert resp.status_code == 302
    acc = services.pair_account(world.supplier_a.id, world.buyer.id)
    assert acc.limit_amount == Decimal("7000") and acc.payment_terms_days == 14
    assert c.get(f"/credit/accounts/{acc.id}").status_code == 200
    resp = c.post(f"/credit/accounts/{acc.id}", data={"limit_amount": "8000", "currency": "EUR",
                                                      "payment_terms_days": "14"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert services.pair_account(world.supplier_a.id, world.buyer.id).limit_amount == Decimal("8000")


def test_default_form(world, login):
    c = login(world.accounts_a)
    resp = c.post("/credit/accounts/default", data={"limit_amount": "20000", "currency": "EUR",
                                                    "payment_terms_days": "30", "block_on_overdue": "y"})
    assert resp.status_code == 302
    assert services.default_account(world.supplier_a.id).limit_amount == Decimal("20000")
    resp = c.post("/credit/accounts/default", data={"limit_amount": "1", "currency": "QQQ",
                                                    "payment_terms_days": "400"})
    assert resp.status_code == 422 and "not a currency we know" in text(resp)


@pytest.mark.parametrize("who", ["sales_a", "buyer_accounts", "procurement", "admin_a"])
def test_buyers_and_sales_cannot_edit_credit_accounts(world, login, who):
    _ordered(world)
    c = login(getattr(world, who))
    assert c.get("/credit/accounts").status_code == 403
    assert c.post(f"/credit/buyers/{world.buyer.id}/account",
                  data={"limit_amount": "1", "currency": "EUR", "payment_terms_days": "1"}).status_code == 403
    assert c.post("/credit/accounts/default", data={"limit_amount": "1", "currency": "EUR",
                                                    "payment_terms_days": "1"}).status_code == 403
    assert _count() == 0


def test_another_companys_credit_account_id_is_404(world, account, login):
    theirs = account(world.supplier_b, world.buyer, "1000")
    c = login(world.accounts_a)
    assert c.get(f"/credit/accounts/{theirs.id}").status_code == 404
    assert c.post(f"/credit/accounts/{theirs.id}", data={"limit_amount": "1", "currency": "EUR",
                                                         "payment_terms_days": "1"}).status_code == 404
    assert c.get("/credit/buyers/999999/account").status_code == 404
    assert c.get(f"/credit/buyers/{world.supplier_b.id}/account").status_code == 404  # not a buyer
    db.session.expire_all()
    assert db.session.get(CreditAccount, theirs.id).limit_amount == Decimal("1000")


def test_a_both_kind_company_cannot_edit_its_own_buyer_side_account(world, account, login):
    both = factories.company("both")
    person = factories.user(both, "accounts")
    theirs = account(world.supplier_a, both, "1000")  # world.supplier_a's terms for `both` as buyer
    c = login(person)
    assert c.get(f"/credit/accounts/{theirs.id}").status_code == 404


def test_buyer_reads_its_terms(world, account, login):
    account(world.supplier_a, world.buyer, "1000", terms=45)
    account(world.supplier_b, None, "3000", terms=60)
    factories.order(world.buyer, world.supplier_b, world.procurement, status="draft")
    c = login(world.buyer_accounts)
    body = text(c.get("/credit/terms"))
    assert "Supplier Alpha GmbH" in body and "net 45 days" in body
    assert "Supplier Beta SAS" in body and "net 60 days" in body and "standard terms" in body
    assert "<form" not in body.split("<main", 1)[1].split("</main>")[0]  # read only
    assert login(world.procurement).get("/credit/terms").status_code == 403
    assert login(world.accounts_a).get("/credit/terms").status_code == 403


def test_buyer_terms_empty_state(world, login):
    assert "No supplier has set credit terms" in text(login(world.buyer_accounts).get("/credit/terms"))
