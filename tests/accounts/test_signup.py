"""Sign-up: a company and its first administrator, in one transaction."""
from __future__ import annotations

import re

import pytest

from portal.accounts.models import Company, Role, User
from portal.audit.models import AuditEvent
from tests import factories
from tests.accounts.helpers import count, location_path, text

GOOD_PASSWORD = "Sturdy-Lantern-42"


def signup_form(**overrides) -> dict:
    form = {
        "legal_name": "Keller Werkzeugbau GmbH", "display_name": "Keller Werkzeug", "kind": "buyer",
        "currency": "EUR", "country": "DE", "vat_number": "DE136695976", "address_line1": "Hauptstraße 1",
        "address_line2": "", "postcode": "10115", "city": "Berlin", "name": "Greta Keller",
        "email": "greta@keller.example", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD,
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize("kind, roles", [
    ("buyer", {Role.admin, Role.procurement, Role.approver, Role.accounts}),
    ("supplier", {Role.admin, Role.sales, Role.accounts}),
    ("both", set(Role) - {Role.requester}),  # requester is for people who do nothing else; every role requests
])
def test_signup_creates_company_and_first_admin(client, kind, roles):
    resp = client.post("/signup", data=signup_form(kind=kind))

    assert resp.status_code == 302, text(resp)[:400]
    assert location_path(resp) == "/company/members"
    company = Company.query.one()
    assert company.legal_name == "Keller Werkzeugbau GmbH"
    assert company.vat_number == "DE136695976"
    assert company.kind.value == kind
    user = User.query.one()
    assert user.company_id == company.id
    assert user.email == "greta@keller.example"
    assert user.roles == roles
    assert user.password_hash != GOOD_PASSWORD
    assert count(AuditEvent, AuditEvent.action == "signed_up") == 1
    # and the new admin is signed in
    members = client.get("/company/members")
    assert members.status_code == 200
    assert "Members of Keller Werkzeug" in text(members)


def test_signup_normalises_email_and_vat_without_prefix(client):
    resp = client.post("/signup", data=signup_form(email="Greta@Keller.Example", vat_number="136695976"))
    assert resp.status_code == 302
    assert User.query.one().email == "greta@keller.example"
    assert Company.query.one().vat_number == "DE136695976"


def test_duplicate_email_refused_with_message(client):
    taken = factories.company("supplier")
    factories.user(taken, "sales", email="greta@keller.example")

    resp = client.post("/signup", data=signup_form(email="GRETA@keller.example"))

    assert resp.status_code == 200
    assert "An account with this email address already exists." in text(resp)
    assert count(Company) == 1  # only the existing one: nothing half-saved
    assert count(User) == 1


@pytest.mark.parametrize("password, reason", [
    ("short1", "use at least 10 characters"),
    ("aaaaaaaaaaaaaa", "use more different characters"),
    ("password123", "this password is too common"),
    ("greta-keller-2024", "do not use your email address in the password"),
])
def test_weak_password_refused_and_no_company_left(client, password, reason):
    resp = client.post("/signup", data=signup_form(email="greta-keller@keller.example",
                                                   password=password, confirm=password))

    assert resp.status_code == 200
    body = text(resp)
    assert "Choose a stronger password" in body
    assert reason in body
    assert count(Company) == 0
    assert count(User) == 0


def test_invalid_vat_refused_with_field_message(client):
    resp = client.post("/signup", data=signup_form(vat_number="DE123"))

    assert resp.status_code == 200
    body = text(resp)
    # the sentence beside the VAT field, and the field marked invalid
    assert "Not a valid VAT number for DE (check the digits and the country prefix)." in body
    vat_input = re.search(r'<input[^>]*id="vat_number"[^>]*>', body).group(0)
    assert "is-invalid" in vat_input
    assert count(Company) == 0
    assert count(User) == 0


def test_vat_of_another_country_refused(client):
    resp = client.post("/signup", data=signup_form(vat_number="FR17185119393"))
    assert resp.status_code == 200
    assert "This VAT number is not from DE." in text(resp)
    assert count(Company) == 0


def test_vat_already_registered_refused(client):
    factories.company("supplier", vat_number="DE136695976")
    resp = client.post("/signup", data=signup_form())
    assert resp.status_code == 200
    assert "A company with this VAT number is already registered." in text(resp)
    assert count(Company) == 1
    assert count(User) == 0


def test_passwords_must_match(client):
    resp = client.post("/signup", data=signup_form(confirm="Something-Else-99"))
    assert resp.status_code == 200
    assert "The passwords differ." in text(resp)
    assert count(Company) == 0


def test_failure_while_saving_the_user_leaves_no_company(app, client, monkeypatch):
    """The user insert fails after the company row was flushed (a concurrent sign-up took the email between
    the check and the insert): the whole sign-up is rolled back, no orphan company remains."""
    other = factories.company("supplier")
    factories.user(other, "sales", email="greta@keller.example")
    monkeypatch.setattr("portal.accounts.services._ensure_email_free", lambda email: None)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    resp = client.post("/signup", data=signup_form())

    assert resp.status_code >= 400
    assert count(Company) == 1  # only the other company
    assert count(Company, Company.legal_name == "Keller Werkzeugbau GmbH") == 0
    assert count(User) == 1


def test_signed_in_user_is_sent_to_dashboard(world, login):
    c = login(world.buyer_admin)
    resp = c.get("/signup")
    assert resp.status_code == 302
    assert location_path(resp) == "/dashboard"
