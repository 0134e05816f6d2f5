"""Numbers people type are read in their own locale, and numbers the portal puts into fields read back exactly.

A German accounts clerk sees "1.000" for a thousand on the page; the quantity field of the new-invoice form must
not carry that text (it would read back as 1), and "100,50" typed into the payment form is 100.50. The API keeps
to plain JSON numbers."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.errors import ValidationFailed
from portal.invoices.models import Invoice, Payment
from portal.money import input_number, reset_input_locale, set_input_locale, to_decimal
from tests import factories
from tests.invoices.conftest import issued_for, ship


@pytest.mark.parametrize("locale,text,expected", [
    (None, "12.50", "12.50"), ("de_DE", "12.5", "12.5"), ("de_DE", "100,50", "100.50"),
    ("de_DE", "1.250,50", "1250.50"), ("de_DE", "2.328", "2.328"),  # no comma: the point is decimal
    ("fr_FR", "1\u202f250,5", "1250.5"), ("en_GB", "1,250.50", "1250.50"), ("en_GB", "1,000", "1000"),
])
def test_typed_numbers_in_the_persons_locale(locale, text, expected):
    token = set_input_locale(locale)
    try:
        assert to_decimal(text, "Amount") == Decimal(expected)
    finally:
        reset_input_locale(token)


@pytest.mark.parametrize("locale,text,hint", [
    (None, "12,50", "12.50"), ("en_GB", "100,50", "12.50"), ("de_DE", "1,2,3", "12,50"), ("de_DE", "abc", "12,50"),
])
def test_what_cannot_be_read_is_a_sentence_with_an_example_in_the_persons_format(locale, text, hint):
    token = set_input_locale(locale)
    try:
        with pytest.raises(ValidationFailed) as exc:
            to_decimal(text, "Amount")
    finally:
        reset_input_locale(token)
    assert exc.value.message == f"Amount: “{text}” is not a number (e.g. {hint})."


@pytest.mark.parametrize("value,locale,shown", [
    (Decimal("1000.0000"), "de_DE", "1000"), (Decimal("12.5000"), "de_DE", "12,5"), (Decimal("1200"), "en_GB", "1200"),
    (Decimal("0.0815"), "en_GB", "0.0815"), (Decimal("19.00"), "de_DE", "19"),
])
def test_field_values_carry_no_grouping_and_read_back_exactly(value, locale, shown):
    assert input_number(value, locale) == shown
    token = set_input_locale(locale)
    try:
        assert to_decimal(shown) == value
    finally:
        reset_input_locale(token)


@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
def test_new_invoice_saved_untouched_keeps_the_shipped_quantities(iw, login, locale):
    iw.accounts_a.locale = locale
    db.session.commit()
    order = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                            lines=[("1000", "0.92"), ("1200", "0.33"), ("12.5", "2.00")])
    sh = ship(order, {1: "1000", 2: "1200", 3: "12.5"}, creator=iw.sales_a)
    c = login(iw.accounts_a)
    page = c.get(f"/invoices/new?shipment_id={sh.id}").get_data(as_text=True)
    ids = [ln.id for ln in order.lines]
    shown = {"de_DE": ["1000", "1200", "12,5"], "en_GB": ["1000", "1200", "12.5"]}[locale]
    for olid, value in zip(ids, shown):
        assert f'name="qty-{olid}" inputmode="decimal" aria-label' in page and f'value="{value}"' in page
    # what the browser sends back when nothing is touched
    form = {"shipment_id": sh.id, **{f"qty-{i}": v for i, v in zip(ids, shown)},
            **{f"tax-{i}": "19" for i in ids}, **{f"discount-{i}": "0" for i in ids}}
    assert c.post("/invoices/new", data=form).status_code == 302
    inv = db.session.scalars(db.select(Invoice)).one()
    assert [ln.quantity for ln in inv.lines] == [Decimal("1000"), Decimal("1200"), Decimal("12.5")]


def test_german_clerk_types_a_decimal_comma_in_the_payment_form(shipped, iw, login):
    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    iw.accounts_a.locale = "de_DE"
    db.session.commit()
    c = login(iw.accounts_a)
    r = c.post(f"/invoices/{inv.id}/payments", data={"amount": "100,50", "paid_on": utcnow().date().isoformat(),
                                                     "lock_version": inv.lock_version})
    assert r.status_code == 302
    assert db.session.scalars(db.select(Payment.amount)).all() == [Decimal("100.50")]


def test_english_clerk_gets_a_sentence_for_a_decimal_comma_and_nothing_is_saved(shipped, iw, login):
    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    r = login(iw.accounts_a).post(f"/invoices/{inv.id}/payments", data={
        "amount": "100,50", "paid_on": utcnow().date().isoformat(), "lock_version": inv.lock_version})
    assert r.status_code == 422 and "“100,50” is not a number (e.g. 12.50)." in r.get_data(as_text=True)
    assert db.session.scalars(db.select(Payment)).all() == []


def test_the_api_keeps_to_plain_numbers_whatever_the_tokens_owner_locale(shipped, iw, client):
    from portal.api.auth import create_token

    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    iw.accounts_a.locale = "de_DE"
    db.session.commit()
    _tok, secret = create_token(iw.accounts_a, "erp")
    r = client.post(f"/api/v1/invoices/{inv.id}/payments", headers={"Authorization": f"Bearer {secret}"},
                    json={"amount": {"amount": "100,50", "currency": "EUR"}, "date": utcnow().date().isoformat()})
    # the API's decimal pattern (OpenAPI: ^-?[0-9]{1,14}(\.[0-9]{1,4})?$) refuses it before any locale is asked
    detail = r.get_json()["detail"]
    assert r.status_code == 422 and "digits with a point" in detail and "thousands separators" in detail
    assert db.session.scalars(db.select(Payment)).all() == []
