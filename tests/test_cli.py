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


def _assert_the_world_and_everyone_can_sign_in(result, app):
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


def test_demo_seed_twice_changes_nothing_and_force_keeps_accounts(cli, demo_db):
    # one test for both: each seed runs eleven months of history through the services (~15-30 s); the first
    # seed is the run's demo template (tests/conftest.py), copied for this test
    assert demo_db.seed_result.exit_code == 0
    before = _snapshot()
    assert before["tables"]["purchase_orders"] > 0

    again = cli("demo", "seed")

    assert again.exit_code == 0
    assert "Demo data already present; nothing to do." in again.output
    assert _snapshot() == before

    forced = cli("demo", "seed", "--force")
    assert forced.exit_code == 0, forced.output
    after = _snapshot()
    assert after["companies"] == before["companies"]
    assert after["users"] == before["users"]


def test_demo_seed_creates_a_world_with_a_year_of_history_whose_invoices_belong_to_real_orders(demo_db, app):
    """Every demo person can sign in, and the demo looks like a business that has been running for a while:
    orders in most of the last twelve months with several suppliers, dated consistently in the past, and invoices
    of real orders and shipments, numbered without gaps in issue-date order. (One seed for both: it is slow.)"""
    from datetime import timedelta

    from portal.analytics.services import PLACED, build
    from portal.db import utcnow
    from portal.invoices.models import DocumentKind, Invoice, Payment
    from portal.invoices.states import InvoiceStatus
    from portal.orders.models import PurchaseOrder, Shipment

    _assert_the_world_and_everyone_can_sign_in(demo_db.seed_result, app)
    by_vat = {c.vat_number: c for c in Company.query.all()}
    hartmann, nordstahl = by_vat["DE342366712"], by_vat["DE676122202"]
    now, today = utcnow(), utcnow().date()

    spend, sales = build(hartmann, "spend", 12), build(nordstahl, "sales", 12)
    for dash in (spend, sales):
        busy = [m for m in dash.by_month if m.count]
        assert len(busy) >= 10, [(m.label, m.count) for m in dash.by_month]
        assert sum(m.count for m in dash.by_month) >= 2 * len(busy)  # several orders a month
    assert len(spend.by_party) >= 4 and len(spend.by_category) >= 6 and len(sales.by_party) >= 3

    orders = PurchaseOrder.query.filter(PurchaseOrder.status.in_(PLACED)).all()
    assert len(orders) >= 40
    for o in orders:
        times = [o.created_at, o.submitted_at, o.sent_at, o.placed_at]  # sent_at: backdated like the others
        assert None not in times and times == sorted(times) and o.placed_at <= now, o.po_number
        assert o.acknowledged_at is None or o.placed_at <= o.acknowledged_at <= now, o.po_number
        assert o.po_number.startswith(f"PO-{o.created_at.year}-"), o.po_number
        for s in o.shipments:
            assert (o.acknowledged_at or o.placed_at) < s.shipped_at <= now, s.number
            assert s.received_at is None or s.shipped_at < s.received_at <= now, s.number
    first_shipped = (PurchaseOrder.query.filter(PurchaseOrder.shipments.any())
                     .order_by(PurchaseOrder.id).first())  # the screenshots' order in delivery
    assert first_shipped.status.value == "partially_shipped"

    invoices = Invoice.query.filter(Invoice.status != InvoiceStatus.draft).all()
    assert len(invoices) >= 40
    for inv in invoices:
        order = db.session.get(PurchaseOrder, inv.order_id)
        assert order is not None, inv.number
        assert (order.supplier_company_id, order.buyer_company_id) == (inv.supplier_company_id,
                                                                       inv.buyer_company_id)
        assert inv.buyer_reference == order.po_number and order.shipments, inv.number
        if inv.shipment_id:
            shipment = db.session.get(Shipment, inv.shipment_id)
            assert shipment.order_id == order.id, inv.number
            assert inv.supply_date == shipment.shipped_at.date() <= inv.issue_date, inv.number
        assert inv.issue_date <= today and inv.issued_at.date() == inv.issue_date, inv.number
        for p in db.session.scalars(sa.select(Payment).where(Payment.invoice_id == inv.id)):
            assert inv.issue_date <= p.paid_on <= today, inv.number
    real = [i for i in invoices if i.kind == DocumentKind.invoice]
    statuses = {i.status for i in real}
    assert {InvoiceStatus.paid, InvoiceStatus.partially_paid, InvoiceStatus.issued} <= statuses
    assert any(i.overdue for i in real) and any(i.open_amount > 0 and not i.overdue for i in real)
    assert min(i.issue_date for i in real) < today - timedelta(days=270)

    series: dict = {}
    for inv in invoices:
        series.setdefault((inv.supplier_company_id, inv.series, inv.year), []).append(inv)
    for docs in series.values():
        docs.sort(key=lambda i: i.sequence)
        assert [i.sequence for i in docs] == list(range(1, len(docs) + 1))  # gapless
        assert [i.issue_date for i in docs] == sorted(i.issue_date for i in docs)  # in issue-date order
