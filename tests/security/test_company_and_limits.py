"""A company's website is an http(s) address; the API documents the limits the service enforces."""
from __future__ import annotations

import pytest

from portal.accounts.models import Company
from portal.quotes import services as quote_services
from portal.db import db
from portal.rfq import csvlines
from portal.rfq import services as rfq_services
from tests.accounts.helpers import text


def _profile(world, **changes):
    c = world.buyer
    data = {"legal_name": c.legal_name, "display_name": c.display_name, "country": c.country,
            "vat_number": c.vat_number or "", "address_line1": c.address_line1 or "", "postcode": c.postcode or "",
            "city": c.city or "", "default_currency": c.default_currency, "categories": "", "website": ""}
    data.update(changes)
    return data


@pytest.mark.parametrize("website", ["javascript:alert(document.cookie)", "JavaScript:alert(1)",
                                     "data:text/html,<script>alert(1)</script>", "ftp://files.example",
                                     "https://user@evil.example", "java\tscript:alert(1)"])
def test_website_other_than_http_or_https_is_refused(world, login, website):
    client = login(world.buyer_admin)
    resp = client.post("/company/", data=_profile(world, website=website))
    assert resp.status_code == 200
    assert "Enter the website as an http:// or https:// address" in text(resp)
    db.session.expire_all()
    assert db.session.get(Company, world.buyer.id).website is None


@pytest.mark.parametrize("website,stored", [("https://www.acme.example/", "https://www.acme.example/"),
                                            ("http://acme.example", "http://acme.example"),
                                            ("acme.example", "https://acme.example")])
def test_http_and_https_websites_are_kept(world, login, website, stored):
    client = login(world.buyer_admin)
    resp = client.post("/company/", data=_profile(world, website=website))
    assert resp.status_code == 302, text(resp)[:2000]
    db.session.expire_all()
    assert db.session.get(Company, world.buyer.id).website == stored


def test_openapi_states_the_limits_the_service_enforces(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    create = schemas["RfqCreateIn"]["properties"]
    assert create["title"]["maxLength"] == rfq_services.MAX_TITLE == 200
    assert create["description"]["maxLength"] == rfq_services.MAX_DESCRIPTION
    assert create["delivery_address"]["maxLength"] == rfq_services.MAX_ADDRESS
    assert create["payment_terms"]["maxLength"] == rfq_services.MAX_PAYMENT_TERMS
    line = schemas["RfqLineIn"]["properties"]
    assert line["description"]["maxLength"] == csvlines.MAX_DESCRIPTION
    assert line["unit"]["maxLength"] == csvlines.MAX_UNIT
    assert line["part_number"]["maxLength"] == csvlines.MAX_PART_NUMBER
    quote, quote_line = schemas["QuoteIn"]["properties"], schemas["QuoteLineIn"]["properties"]
    assert quote["delivery_terms"]["maxLength"] == quote_services.MAX_TERMS
    assert quote["notes"]["maxLength"] == quote_services.MAX_NOTES
    assert quote_line["reason"]["maxLength"] == quote_services.MAX_REASON
    assert quote_line["price_breaks"]["maxItems"] == quote_services.MAX_BREAKS
    assert quote_line["lead_time_days"]["maximum"] == quote_services.MAX_LEAD_TIME_DAYS


def test_a_title_over_the_limit_is_refused_naming_the_field(world, client, token_for):
    too_long = client.post("/api/v1/rfqs", headers=token_for(world.procurement),
                           json={"title": "T" * (rfq_services.MAX_TITLE + 1),
                                 "deadline": "2030-01-01T10:00:00+00:00"})
    assert too_long.status_code == 422
    assert "title" in too_long.get_json()["errors"]
