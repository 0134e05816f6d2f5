"""Operator commands: flask companies/users/demo."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.accounts.models import Company, CompanyKind, Role, User
from portal.db import db
from portal.demo import COMPANIES, DEMO_PASSWORD, PEOPLE
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.accounts.helpers import count, location_path

STRONG = "Granite-Orchard-Vessel-3"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        result = runner.invoke(args=list(args))
        db.session.expire_all()  # the command ran in its own app context and session
        return result

    return invoke


# ------------------------------------------------------------------------------------------- companies

def test_companies_create_prints_the_id(cli):
    result = cli("companies", "create", "--name", "Rhein Logistik GmbH", "--country", "de",
                 "--vat", "DE136695976", "--kind", "supplier", "--city", "Köln",
                 "--categories", "pallets, transport")
    assert result.exit_code == 0, result.output
    company_id = int(result.output.strip())
    company = db.session.get(Company, company_id)
    assert company.legal_name == "Rhein Logistik GmbH"
    assert company.display_name == "Rhein Logistik GmbH"
    assert company.country == "DE"
    assert company.vat_number == "DE136695976"
    assert company.kind == CompanyKind.supplier
    assert company.category_list == ["pallets", "transport"]

    listing = cli("companies", "list")
    assert listing.exit_code == 0
    assert f"{company_id}\tsupplier\tDE\tDE136695976\tRhein Logistik GmbH" in listing.output


@pytest.mark.parametrize("args, message", [
    (["--country", "DE", "--vat", "DE123", "--kind", "buyer"], "DE123 is not a valid DE VAT number."),
    (["--country", "XX", "--kind", "buyer"], "XX is not a known country code."),
    (["--country", "DE", "--kind", "reseller"], "Invalid value for '--kind'"),
    (["--country", "DE", "--kind", "buyer", "--currency", "XYZ"], "XYZ is not a supported currency."),
])
def test_companies_create_refuses_bad_input(cli, args, message):
    result = cli("companies", "create", "--name", "Bad Input GmbH", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert count(Company) == 0


def test_companies_create_refuses_duplicate_vat(cli):
    factories.company("buyer", vat_number="DE136695976")
    result = cli("companies", "create", "--name", "Copy GmbH", "--country", "DE", "--vat", "136695976",
                 "--kind", "buyer")
    assert result.exit_code != 0
    assert "A company with VAT number DE136695976 is already registered." in result.output
    assert count(Company) == 1


# ------------------------------------------------------------------------------------------- users

def test_users_create_and_sign_in(cli, client):
    company = factories.company("buyer")
    result = cli("users", "create", "--company-id", str(company.id), "--email", "Ops@Example.com",
                 "--name", "Olga Ops", "--role", "admin", "--role", "approver", "--password", STRONG)
    assert result.exit_code == 0, result.output
    user = db.session.get(User, int(result.output.strip()))
    assert user.email == "ops@example.com"
    assert user.company_id == company.id
    assert user.roles == {Role.admin, Role.approver}
    resp = client.post("/signin", data={"email": "ops@example.com", "password": STRONG})
    assert location_path(resp) == "/dashboard"


def test_users_create_refuses_duplicate_email(cli):
    company = factories.company("buyer")
    factories.user(company, "admin", email="ops@example.com")
    result = cli("users", "create", "--company-id", str(company.id), "--email", "OPS@example.com",
                 "--name", "Twin", "--role", "admin", "--password", STRONG)
    assert result.exit_code != 0
    assert "An account with this email address already exists." in result.output
    assert count(User) == 1


def test_users_create_refuses_unknown_company(cli):
    result = cli("users", "create", "--company-id", "4242", "--email", "ops@example.com", "--name", "Nobody",
                 "--role", "admin", "--password", STRONG)
    assert result.exit_code != 0
    assert "No company with id 4242." in result.output
    assert count(User) == 0


def test_users_create_refuses_weak_password_and_unknown_role(cli):
    company = factories.company("buyer")
    weak = cli("users", "create", "--company-id", str(company.id), "--email", "ops@example.com",
               "--name", "Olga", "--role", "admin", "--password", "short")
    assert weak.exit_code != 0
    assert "Choose a stronger password" in weak.output
    role = cli("users", "create", "--company-id", str(company.id), "--email", "ops@example.com",
               "--name", "Olga", "--role", "overlord", "--password", STRONG)
    assert role.exit_code != 0
    assert "Invalid value for '--role'" in role.output
    assert count(User) == 0


# ------------------------------------------------------------------------------------------- demo

def _snapshot():
    return {
        "companies": sorted(db.session.execute(
            sa.select(Company.id, Company.vat_number, Company.legal_name)).all()),
        "users": sorted(db.session.execute(
            sa.select(User.id, User.email, User.company_id, User.password_hash)).all()),
        "tables": {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                   for t in db.metadata.sorted_tables},
    }


def test_demo_seed_creates_the_world_and_everyone_can_sign_in(cli, app):
    result = cli("demo", "seed")
    assert result.exit_code == 0, result.output
    people = [p for group in PEOPLE.values() for p in group]
    assert f"Seeded 6 companies and {len(people)} people. Password for all: portal-demo" in result.output

    assert count(Company) == 6
    assert {c.vat_number for c in Company.query.all()} == {spec["vat_number"] for spec in COMPANIES}
    kinds = sorted(c.kind.value for c in Company.query.all())
    assert kinds == ["both", "buyer", "buyer", "supplier", "supplier", "supplier"]
    assert count(User) == len(people)

    for i, (name, email, roles) in enumerate(people):
        user = User.query.filter_by(email=email).one()
        assert user.roles == {Role(r) for r in roles}
        c = app.test_client()
        # a different address per person: the sign-in rate limit is per address too
        resp = c.post("/signin", data={"email": email, "password": DEMO_PASSWORD},
                      environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"})
        assert resp.status_code == 302 and location_path(resp) == "/dashboard", email
        assert c.get("/dashboard").status_code == 200


def test_demo_seed_twice_changes_nothing(cli):
    assert cli("demo", "seed").exit_code == 0
    before = _snapshot()

    again = cli("demo", "seed")

    assert again.exit_code == 0
    assert "Demo data already present; nothing to do." in again.output
    assert _snapshot() == before


def test_demo_seed_force_keeps_accounts(cli):
    assert cli("demo", "seed").exit_code == 0
    before = _snapshot()
    forced = cli("demo", "seed", "--force")
    assert forced.exit_code == 0, forced.output
    after = _snapshot()
    assert after["companies"] == before["companies"]
    assert after["users"] == before["users"]
