"""Master data: GET/PATCH /api/v1/company, the logo, default credit terms, terms for a buyer before its first
order (API and browser), and `flask companies create --iban --bic`."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal.accounts.models import Company
from portal.credit.models import CreditAccount
from portal.db import db
from tests import factories


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def problem(r, status):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    assert r.mimetype == "application/problem+json"
    return r.get_json()


def test_everyone_reads_their_own_company_only(client, world, token_for):
    me = ok(client.get("/api/v1/company", headers=token_for(world.procurement)))
    assert me["id"] == world.buyer.id and me["invoice_settings"] is None and me["kind"] == "buyer"
    assert ok(client.get("/api/v1/company", headers=token_for(world.sales_a)))["id"] == world.supplier_a.id


@pytest.mark.parametrize("role, allowed", [("admin", True), ("accounts", True), ("sales", False),
                                           ("procurement", False)])
def test_admins_and_accounts_may_change_it(client, world, token_for, role, allowed):
    person = factories.user(world.supplier_a, role, email=f"{role}-x@alpha.test")
    r = client.patch("/api/v1/company", headers=token_for(person), json={"city": "Bremen"})
    db.session.expire_all()
    if allowed:
        assert ok(r)["city"] == "Bremen" and db.session.get(Company, world.supplier_a.id).city == "Bremen"
    else:
        assert "administrators or accounts" in problem(r, 403)["detail"]
        assert db.session.get(Company, world.supplier_a.id).city != "Bremen"


@pytest.mark.parametrize("body, field", [
    ({"iban": "DE89370400440532013001"}, "iban"),  # check digits wrong
    ({"bic": "COBA-DE"}, "bic"),
    ({"vat_number": "DE123"}, "vat_number"),
    ({"website": "javascript:alert(1)"}, "website"),
    ({"default_currency": "XYZ"}, "default_currency"),
    ({"legal_name": ""}, "legal_name"),
    ({"invoice_settings": {"default_tax_rate": "140"}}, "default_tax_rate"),
    ({"invoice_settings": {"mode": "weekly"}}, "mode"),
    ({"invoice_settings": {"default_tax_rate": 19.5}}, "default_tax_rate"),
    ({"invoice_settings": {"reminder_days": [3, 14, 30, 60]}}, "reminder_days"),  # three dunning levels
    ({"colour": "red"}, "colour"),
])
def test_bad_master_data_is_a_sentence_and_nothing_is_saved(client, world, token_for, body, field):
    before = db.session.get(Company, world.supplier_a.id).updated_at
    r = client.patch("/api/v1/company", headers=token_for(world.accounts_a), json={**body, "city": "Nowhere"})
    assert r.status_code in (400, 409, 422) and r.mimetype == "application/problem+json"
    assert field in str(r.get_json()), r.get_json()
    db.session.expire_all()
    c = db.session.get(Company, world.supplier_a.id)
    assert c.city != "Nowhere" and c.updated_at == before


def test_a_buyer_has_no_invoice_settings(client, world, token_for):
    r = client.patch("/api/v1/company", headers=token_for(world.buyer_admin),
                     json={"invoice_settings": {"auto_issue": True}, "city": "Ulm"})
    assert "invoice" in problem(r, 422)["detail"].lower()


def test_logo_upload_refuses_what_is_not_an_image(client, world, token_for):
    headers = token_for(world.accounts_a)
    bad = client.put("/api/v1/company/logo", headers=headers, data={"logo": (io.BytesIO(b"%PDF-1.4"), "x.png")},
                     content_type="multipart/form-data")
    assert "PNG or JPEG" in str(problem(bad, 422))
    assert problem(client.put("/api/v1/company/logo", headers=headers, data={},
                              content_type="multipart/form-data"), 422)
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (1200, 400), (200, 10, 10)).save(png, "PNG")
    got = ok(client.put("/api/v1/company/logo", headers=headers,
                        data={"logo": (io.BytesIO(png.getvalue()), "logo.png")}, content_type="multipart/form-data"))
    assert got["invoice_settings"]["has_logo"] is True
    assert ok(client.delete("/api/v1/company/logo", headers=headers))["invoice_settings"]["has_logo"] is False


def test_default_credit_terms_through_the_api(client, world, token_for):
    accounts = token_for(world.accounts_a)
    assert problem(client.get("/api/v1/credit-accounts/default", headers=accounts), 404)
    assert problem(client.put("/api/v1/credit-accounts/default", headers=token_for(world.sales_a), json={
        "limit": {"amount": "100.00", "currency": "EUR"}, "payment_terms_days": 30}), 403)
    put = ok(client.put("/api/v1/credit-accounts/default", headers=accounts, json={
        "limit": {"amount": "1000.00", "currency": "EUR"}, "payment_terms_days": 45}))
    assert put["payment_terms_days"] == 45 and put["buyer_company_id"] is None
    assert ok(client.get("/api/v1/credit-accounts/default", headers=accounts))["limit"]["amount"] == "1000.00"
    assert problem(client.put("/api/v1/credit-accounts/default", headers=accounts, json={
        "limit": {"amount": "10.001", "currency": "EUR"}, "payment_terms_days": 45}), 422)


def test_terms_for_any_directory_buyer_before_a_first_order_but_not_for_others(client, world, token_for):
    accounts = token_for(world.accounts_a)
    fresh = factories.company("buyer", name="Fresh Buyer AG")
    body = {"limit": {"amount": "2500.00", "currency": "EUR"}, "payment_terms_days": 20}
    acc = ok(client.put(f"/api/v1/credit-accounts/{fresh.id}", headers=accounts, json=body))
    assert acc["buyer_company_id"] == fresh.id and acc["own_account"] is True
    listed = ok(client.get("/api/v1/credit-accounts", headers=accounts))["items"]
    assert fresh.id in [r["buyer_company_id"] for r in listed]
    # a supplier-only company, your own company or an unknown id is no buyer
    for other in (world.supplier_b.id, world.supplier_a.id, 999999):
        assert problem(client.put(f"/api/v1/credit-accounts/{other}", headers=accounts, json=body), 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditAccount)) == 1


def test_the_browser_sets_terms_for_a_new_buyer(login, world):
    fresh = factories.company("buyer", name="Fresh Buyer AG")
    c = login(world.accounts_a)
    page = c.get("/credit/accounts").get_data(as_text=True)
    assert "before its first order" in page and "Fresh Buyer AG" in page
    r = c.get(f"/credit/accounts/new?buyer_id={fresh.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/credit/buyers/{fresh.id}/account")
    r = c.post(f"/credit/buyers/{fresh.id}/account", data={"limit_amount": "3000", "currency": "EUR",
                                                          "payment_terms_days": "21", "block_on_overdue": "y"})
    assert r.status_code == 302
    acc = db.session.scalar(sa.select(CreditAccount).where(CreditAccount.buyer_company_id == fresh.id))
    assert acc.payment_terms_days == 21 and acc.limit_amount == 3000
    assert c.get(f"/credit/buyers/{world.supplier_b.id}/account").status_code == 404


def test_companies_create_takes_bank_details(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["companies", "create", "--name", "Bank Ready GmbH", "--country", "DE",
                                 "--kind", "supplier", "--iban", "DE89 3704 0044 0532 0130 00", "--bic",
                                 "cobadeffxxx", "--bank-name", "Commerzbank", "--address2", "Hof 2",
                                 "--website", "bank-ready.example"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    c = db.session.get(Company, int(result.output.strip()))
    assert (c.iban, c.bic, c.bank_name, c.address_line2, c.website) == (
        "DE89370400440532013000", "COBADEFFXXX", "Commerzbank", "Hof 2", "https://bank-ready.example")
    bad = runner.invoke(args=["companies", "create", "--name", "Bad Bank GmbH", "--country", "DE", "--kind",
                              "supplier", "--iban", "DE00 0000"])
    assert bad.exit_code != 0 and "not a valid IBAN" in bad.output
    bad = runner.invoke(args=["companies", "create", "--name", "Bad Bic GmbH", "--country", "DE", "--kind",
                              "supplier", "--bic", "12"])
    assert bad.exit_code != 0 and "not a valid BIC" in bad.output
