"""The browsable API docs read like a manual: readable section names, and the way to a token is a link."""
from __future__ import annotations

import re

from flask import url_for

from portal.api.common import section_name


def test_sections_are_readable_names_not_blueprint_names(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    sections = [t["name"] for t in spec["tags"]]
    assert sections == ["Companies", "Sourcing", "Ordering", "Invoicing", "Receivables", "E-invoices",
                        "Accounts payable", "Jobs and notifications", "Events", "Webhooks", "Company",
                        "Questions and documents", "Documents", "Catalog", "Requisitions and budgets",
                        "Scoring and framework agreements", "Supplier onboarding"]
    used = {tag for path in spec["paths"].values() for op in path.values() if isinstance(op, dict)
            for tag in op.get("tags", [])}
    assert used == set(sections)  # every operation sits in one of the listed sections, none left in "api_…"
    assert not any(t.startswith("api_") for t in [*sections, *used])
    assert all(t["description"] for t in spec["tags"])


def test_section_name_falls_back_to_a_readable_form():
    assert section_name("api_sourcing") == "Sourcing"
    assert section_name("api_credit_notes") == "Credit notes"


def test_endpoints_keep_their_blueprint_names(app, client):
    """Only the displayed section changed: url_for (used by the paging links) still builds with api_… names."""
    with app.test_request_context():
        assert url_for("api_companies.list_companies") == "/api/v1/companies"
    assert any(e.startswith("api_sourcing.") for e in app.view_functions)


def test_docs_intro_links_the_api_tokens_page(app, client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    with app.test_request_context():
        tokens = url_for("tokens.index")
    m = re.search(r'<a href="([^"]+)" data-testid="tokens-link">API tokens</a>', page)
    assert m and m.group(1) == tokens
    assert "account menu" in page and page.count("<h1") == 1


def test_the_browsable_docs_get_the_document_in_openapi_30_terms(client):
    """The bundled Swagger UI renders OpenAPI 3.0 only: the page reads a 3.0 rendition of the 3.1 document."""
    from openapi_spec_validator import validate

    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert 'data-spec-url="/api/v1/docs/openapi-3.0.json"' in page
    doc = client.get("/api/v1/docs/openapi-3.0.json").get_json()
    assert doc["openapi"] == "3.0.3"
    validate(doc)
    text = __import__("json").dumps(doc)
    assert '"null"' not in text
    unit_price = doc["components"]["schemas"]["QuoteLineOut"]["properties"]["unit_price"]
    assert unit_price == {"allOf": [{"$ref": "#/components/schemas/Money"}], "nullable": True}
    full = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["paths"]) == set(full["paths"])
