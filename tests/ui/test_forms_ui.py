"""Forms mark the field that is wrong and sum the errors up at the top of the page, each linked to its field."""
from __future__ import annotations

import re

from tests.accounts.test_signup import signup_form, text


def test_an_error_summary_links_to_the_wrong_field_only(client):
    resp = client.post("/signup", data=signup_form(vat_number="DE123"))

    body = text(resp)
    summary = re.search(r'<div class="alert alert-danger form-error-summary".*?</div>', body, re.S).group(0)
    assert 'href="#vat_number"' in summary
    assert "Not a valid VAT number for DE" in summary
    assert summary.count("<li>") == 1  # only the wrong field, not the first one
    assert body.index("form-error-summary") < body.index('id="vat_number"')  # above the form


def test_no_summary_on_a_fresh_form(client):
    assert "form-error-summary" not in text(client.get("/signup"))
