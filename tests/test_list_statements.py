"""Every list page and list endpoint (UI and API) sends the same number of SQL statements whatever the number of
documents it shows: counted for each route at two data sizes (each document with lines, invitations, quotes,
shipments, payments, notifications). A per-row lazy load (N+1) makes the second count larger and fails here."""
from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from tests import factories
from tests.invoices.conftest import IBAN, ship

# (who, path): who is a person of tests.factories.World
UI_ROUTES = [
    ("procurement", "/rfqs/"),
    ("sales_a", "/rfqs/"),
    ("sales_a", "/quotes"),
    ("procurement", "/orders/"),
    ("sales_a", "/orders/"),
    ("approver", "/orders/approvals"),
    ("buyer_accounts", "/invoices/"),
    ("accounts_a", "/invoices/"),
    ("accounts_a", "/invoices/?kind=credit_note"),
    ("procurement", "/notifications/"),
    ("buyer_admin", "/jobs/"),
    ("accounts_a", "/credit/accounts"),
    ("accounts_a", "/credit/holds"),
    ("procurement", "/dashboard"),
    ("sales_a", "/dashboard"),
    ("buyer_accounts", "/dashboard"),
    ("accounts_a", "/dashboard"),
    # keyset pages (oldest first), totals on request, and the other pages that list the grown documents
    ("procurement", "/rfqs/?before=0"),
    ("procurement", "/orders/?before=0"),
    ("buyer_accounts", "/invoices/?before=0"),
    ("accounts_a", "/invoices/?totals=1"),
    ("accounts_a", "/invoices/?status=overdue"),
    ("accounts_a", "/receivables/aging"),
    ("buyer_accounts", "/payables/"),
    ("sales_a", "/suppliers/my-buyers"),
    ("procurement", "/catalog/suppliers"),
    # issue 20: every other list page and dashboard (test_every_list_route_is_counted_or_excused keeps it whole)
    ("procurement", "/requisitions/"),
    ("engineer", "/requisitions/"),
    ("owner", "/requisitions/"),
    ("procurement", "/requisitions/queue"),
    ("procurement", "/frameworks/"),
    ("sales_a", "/frameworks/"),
    ("procurement", "/orders/awards"),
    ("buyer_admin", "/orders/approval-rules"),
    ("buyer_admin", "/budgets/"),
    ("buyer_admin", "/budgets/cost-centres"),
    ("buyer_admin", "/budgets/gl-accounts"),
    ("buyer_admin", "/budgets/exchange-rates"),
    ("buyer_accounts", "/payables/runs"),
    ("accounts_a", "/payables/"),
    ("procurement", "/suppliers/"),
    ("buyer_admin", "/suppliers/questionnaire"),
    ("buyer_admin", "/settings/webhooks/"),
    ("buyer_admin", "/settings/webhooks/{endpoint}"),  # the endpoint's delivery log
    ("admin_a", "/catalog/"),
    ("admin_a", "/catalog/items"),
    ("procurement", "/catalog/reorder"),
    ("buyer_admin", "/company/members"),
    ("buyer_accounts", "/credit/terms"),
    ("accounts_a", "/receivables/letters"),
    ("buyer_accounts", "/invoices/statement?company_id={supplier_a}"),
    ("accounts_a", "/invoices/statement?company_id={buyer}"),
    ("buyer_admin", "/notifications/outbox"),
    ("procurement", "/account/tokens/"),
    ("procurement", "/analytics/spend"),
    ("sales_a", "/analytics/sales"),
]
API_ROUTES = [
    ("procurement", "/api/v1/rfqs"),
    ("sales_a", "/api/v1/rfqs"),
    ("procurement", "/api/v1/orders"),
    ("sales_a", "/api/v1/orders"),
    ("buyer_accounts", "/api/v1/invoices"),
    ("accounts_a", "/api/v1/invoices"),
    ("accounts_a", "/api/v1/credit-notes"),
    ("procurement", "/api/v1/notifications"),
    ("procurement", "/api/v1/companies"),
    ("accounts_a", "/api/v1/aging"),
    ("accounts_a", "/api/v1/credit-holds"),
    ("accounts_a", "/api/v1/credit-accounts"),
    ("buyer_admin", "/api/v1/jobs"),
    ("procurement", "/api/v1/events"),
    ("accounts_a", "/api/v1/events"),
    ("procurement", "/api/v1/requisitions"),
    ("procurement", "/api/v1/framework-agreements"),
    ("sales_a", "/api/v1/framework-agreements"),
    ("procurement", "/api/v1/awards"),
    ("buyer_admin", "/api/v1/approval-rules"),
    ("buyer_admin", "/api/v1/budgets"),
    ("buyer_admin", "/api/v1/cost-centres"),
    ("buyer_admin", "/api/v1/gl-accounts"),
    ("buyer_admin", "/api/v1/exchange-rates"),
    ("procurement", "/api/v1/catalog?supplier_company_id={supplier_a}"),
    ("admin_a", "/api/v1/catalog/items"),
    ("buyer_accounts", "/api/v1/payment-runs"),
    ("accounts_a", "/api/v1/remittances"),
    ("buyer_accounts", "/api/v1/disputes"),
    ("buyer_accounts", "/api/v1/payables/cash-discounts"),
    ("procurement", "/api/v1/supplier-invitations"),
    ("procurement", "/api/v1/supplier-statuses"),
    ("buyer_admin", "/api/v1/supplier-questions"),
    ("procurement", "/api/v1/questionnaire-answers"),
    ("admin_a", "/api/v1/qualification-documents"),
    ("buyer_admin", "/api/v1/webhook-endpoints"),
    ("buyer_accounts", "/api/v1/statements?counterparty_id={supplier_a}"),
    ("accounts_a", "/api/v1/statements?counterparty_id={buyer}"),
]

# GET routes without path arguments that are not lists or dashboards (checked by
# test_every_list_route_is_counted_or_excused)
NOT_LISTS = {
    "dashboard.home": "redirects to the dashboard or sign-in",
    "auth.account": "form: the user's own account",
    "auth.signin": "form",
    "auth.signup": "form",
    "api_ordering.get_approval_escalation": "one settings object",
    "api_requisitions.get_budget_settings": "one settings object",
    "api_payables.get_tolerances": "one settings object",
    "api_company.get_company": "one company",
    "api_company.get_default_credit_account": "one credit account",
    "api_catalog.export_catalog_csv": "CSV export, tested in tests/catalog",
    "api_catalog.catalog_csv_template": "static CSV template",
    "api_documents.export_invoices_csv": "CSV export, tested in tests/documents",
    "api_docs.docs": "API documentation",
    "api_docs.docs_spec_30": "API documentation",
    "api-docs.openapi_json": "API documentation",
    "budgets.export": "CSV export, tested in tests/requisitions",
    "budgets.settings": "settings form",
    "catalog.export_csv": "CSV export, tested in tests/catalog",
    "catalog.import_csv": "upload form",
    "catalog.new_item": "form",
    "catalog.template_csv": "static CSV template",
    "company.profile": "form: the company's profile",
    "credit.default_account": "form: one credit account",
    "credit.new_account": "form",
    "einvoice.import_page": "upload form",
    "einvoice.settings": "settings form",
    "invoices.export_csv": "CSV export, tested in tests/invoices",
    "invoices.new": "form",
    "invoices.settings": "settings form",
    "payables.settings": "settings form",
    "receivables.aging_csv": "CSV export, tested in tests/receivables",
    "receivables.index": "redirects to /receivables/aging",
    "receivables.settings": "settings form",
    "requisitions.new": "form",
    "rfq.create": "form",
    "rfq.lines_template": "static CSV template",
    "ops.healthz": "health check",
    "ops.readyz": "health check",
    "metrics_endpoint": "Prometheus metrics",
}


def _grow(w, n: int) -> None:
    """Add n of each kind of document the lists show, each with its children."""
    for _ in range(n):
        inv = _grow_sales(w)
        _grow_others(w, next(_SEQ), inv)


def _grow_sales(w):
    """RFQs with quotes, orders in three states, an invoice with a payment, a credit note and a dunning letter, a
    notification, a job. Returns the invoice."""
    from portal.invoices import services as invoices
    from portal.invoices.models import Invoice
    from portal.jobs.models import JobRecord, JobStatus
    from portal.notifications.services import notify
    from portal.receivables import dunning

    r = factories.rfq(w.buyer, w.procurement, lines=3, suppliers=[w.supplier_a, w.supplier_b])
    factories.quote(r, w.supplier_a, w.sales_a)
    factories.order(w.buyer, w.supplier_a, w.procurement, status="awaiting_approval")
    factories.order(w.buyer, w.supplier_a, w.procurement, status="credit_hold")
    o = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged",
                        lines=[("10", "2.50"), ("4", "12.00"), ("1", "99.00")])
    sh = ship(o, {1: "10", 2: "4", 3: "1"}, creator=w.sales_a, days_ago=40)
    inv = invoices.create_draft(w.accounts_a, shipment_id=sh.id)
    inv = invoices.issue(inv, w.accounts_a, inv.lock_version)
    invoices.record_payment(inv, w.accounts_a, inv.lock_version, amount="10.00",
                            paid_on=utcnow().date().isoformat(), reference="part")
    db.session.refresh(inv)
    invoices.create_credit_note(inv, w.accounts_a, inv.lock_version, amount="1.00", tax_rate="19",
                                reason="goodwill", reason_kind="other")
    notify([w.procurement, w.buyer_accounts], kind="rfq", title=f"Note {r.id}", body="b", link="/rfqs/")
    db.session.add(JobRecord(kind="members-csv", title="Member list", func="x", args=[], queue="default",
                             company_id=w.buyer.id, user_id=w.buyer_admin.id, status=JobStatus.succeeded))
    today = utcnow().date()  # overdue (issued 60 days ago, due 30 days ago) with a dunning letter
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id)
                       .values(issue_date=today - timedelta(days=60), due_date=today - timedelta(days=30)))
    db.session.commit()
    dunning.dun(inv.id, 1, today)
    return inv


def _grow_others(w, i: int, inv) -> None:
    """Budgets and their master data with a requisition on them, a framework agreement (from an awarded RFQ) with
    a call-off, an approval rule, a catalog item, a member, an API token, an executed payment run (its remittance
    advice), a dispute, supplier onboarding (invitation, status, question and answer, certificate), a webhook
    endpoint (the grown documents' events fill the delivery logs). ``inv`` (overdue, dunned) is disputed."""
    from portal.api.auth import create_token
    from portal.budgets.models import Budget, CostCentre, ExchangeRate, GlAccount, PeriodKind
    from portal.frameworks import services as fa
    from portal.invoices.models import Invoice
    from portal.orders import approvals
    from portal.payables import disputes, runs
    from portal.requisitions import services as requisitions
    from portal.suppliers import services as suppliers
    from portal.webhooks import services as webhooks
    from portal.credit import services as credit
    from portal.payables import matching
    from tests.frameworks.helpers import agreement
    from tests.payables.conftest import invoice_for
    from tests.requisitions.conftest import line, raise_req

    today = utcnow().date()
    cc = CostCentre(company_id=w.buyer.id, code=f"CC-{i}", name=f"Centre {i}", owner_id=w.owner.id)
    gl = GlAccount(company_id=w.buyer.id, code=f"4{i:03d}", name=f"Account {i}")
    db.session.add_all([cc, gl])
    db.session.flush()
    db.session.add_all([
        Budget(company_id=w.buyer.id, cost_centre_id=cc.id, period_kind=PeriodKind.year,
               period_start=date(today.year, 1, 1), period_end=date(today.year, 12, 31),
               amount=Decimal("1000.00"), currency="EUR"),
        ExchangeRate(company_id=w.buyer.id, currency="USD", rate=Decimal("0.9"),
                     valid_from=date(2000 + i, 1, 1)),
    ])
    db.session.commit()
    # one waiting for its owner, one approved (in procurement's queue)
    raise_req(w, line(cc=cc, gl=gl), line(desc="Belt", cc=w.cc, gl=w.gl), who=w.procurement)
    req = raise_req(w, line(cc=cc, gl=gl), line(desc="Chain", cc=w.cc, gl=w.gl))
    requisitions.decide(w.owner, req.id, req.lock_version, "approved")
    r = factories.closed_rfq(w.buyer, w.procurement, lines=2, suppliers=[w.supplier_a])
    q = factories.quote(r, w.supplier_a, w.sales_a)
    factories.award(r, w.procurement, [(0, q, "10", "1.00"), (1, q, "10", "1.00")])  # no orders made from it yet
    a = agreement(w)
    fa.call_off(a, w.procurement, {a.lines[0].id: "1"})
    approvals.save_rule(w.buyer_admin, str(1000 * i), "1")
    factories.catalog_item(w.supplier_a)
    factories.user(w.buyer, "procurement", email=f"member{i}@acme.test")
    create_token(w.procurement, f"token {i}")
    o = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged",
                        lines=[("5", "3.00"), ("2", "7.00")])
    paid = invoice_for(w, w.accounts_a, o)
    db.session.execute(sa.update(Invoice).where(Invoice.id == paid.id).values(approved_for_payment_at=utcnow()))
    db.session.commit()
    run = runs.build_run(w.buyer_accounts, invoice_ids=[paid.id])
    run, _ = runs.approve_run(run, w.accounts2)
    run, _ = runs.export_run(run, w.accounts2)
    runs.confirm_execution(run, w.buyer_accounts, executed_on=today.isoformat())
    disputes.open_dispute(inv, w.buyer_accounts, reason=f"Wrong price {i}")  # the overdue one (dunned first)
    suppliers.invite_new_supplier(w.procurement, email=f"new{i}@supplier.test", company_name=f"New {i}")
    # another supplier (with a catalog, a cash discount and credit terms for the buyer) and another buyer (with
    # credit terms from supplier A)
    s = factories.company("supplier", name=f"Supplier {i}")
    suppliers.add_supplier(w.procurement, s.id)
    factories.catalog_item(s)
    matching.set_discount_terms(w.buyer_accounts, s.id, percent="2", days="10")
    credit.save_account(factories.user(s, "accounts", email=f"accounts{i}@supplier.test"), w.buyer.id,
                        limit_amount="5000", currency="EUR", payment_terms_days="30", block_on_overdue=False)
    credit.save_account(w.accounts_a, factories.company("buyer", name=f"Buyer {i}").id, limit_amount="5000",
                        currency="EUR", payment_terms_days="30", block_on_overdue=False)
    q = suppliers.add_question(w.buyer_admin, f"Question {i}?")
    suppliers.answer_question(w.sales_a, q.id, f"Answer {i}")
    suppliers.add_document(w.sales_a, cert_type="iso9001", number=f"Q-{i}", issuer="TÜV",
                           valid_until=(today + timedelta(days=400)).isoformat())
    webhooks.create_endpoint(w.buyer_admin, url=f"http://127.0.0.1:9/hook{i}", event_types=["dispute.opened"])


_SEQ = itertools.count(1)


@pytest.fixture
def lw(world, app, monkeypatch):
    from portal.budgets.models import CostCentre, GlAccount
    from portal.suppliers import services as suppliers
    from portal.webhooks import services as webhooks

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", True)
    world.supplier_a.iban = IBAN
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    world.buyer.iban = "DE02120300000000202051"
    world.buyer.bic = "BYLADEM1001"
    for name, role in (("engineer", "requester"), ("owner", "approver"), ("accounts2", "accounts")):
        world.people[name] = factories.user(world.buyer, role, email=f"{name}@acme.test", commit=False)
    db.session.flush()
    world.cc = CostCentre(company_id=world.buyer.id, code="CC-100", name="Maintenance", owner_id=world.owner.id)
    world.gl = GlAccount(company_id=world.buyer.id, code="4400", name="Spare parts")
    db.session.add_all([world.cc, world.gl])
    db.session.commit()
    suppliers.set_status(world.procurement, world.supplier_a.id, "approved")
    world.endpoint, _ = webhooks.create_endpoint(world.buyer_admin, url="http://127.0.0.1:9/log",
                                                 event_types=["*"])
    return world


def _counts(routes, get, count_queries, ids):
    """{(who, path): (the statements its GET sent, the response)}; every route must answer 200."""
    out, failed = {}, []
    for who, path in routes:
        with count_queries() as q:
            resp = get(who, path.format(**ids))
        if resp.status_code != 200:
            failed.append((who, path, resp.status_code, resp.location or resp.get_data(as_text=True)[:200]))
        out[(who, path)] = (list(q.statements), resp.get_data(as_text=True))
    assert not failed, f"list routes that did not answer 200: {failed}"
    return out


def _repeated(small: list[str], large: list[str]) -> list[str]:
    """The statements sent more often at 6 documents than at 2 (the start of each: where the N+1 is)."""
    def shape(st):  # an IN list of 2 or 6 ids is the same statement
        return re.sub(r"IN \((?:[?]|%\(\w+\)s|\$\d+)(?:, (?:[?]|%\(\w+\)s|\$\d+))*\)", "IN (...)",
                      " ".join(st.split()))

    a, b = Counter(map(shape, small)), Counter(map(shape, large))
    return [f"{a[st]} -> {n}: {st[:80]} ... {st[-160:]}"
            for st, n in b.items() if n > a[st]]


def test_every_list_sends_the_same_statements_for_2_and_6_documents(lw, login, count_queries, app):
    from portal.api.auth import create_token

    clients = {}
    headers = {}

    def get(who, path):
        if path.startswith("/api/"):
            if who not in headers:
                headers[who] = {"Authorization": f"Bearer {create_token(getattr(lw, who), 'lists')[1]}"}
            return app.test_client().get(path, headers=headers[who])
        if who not in clients:
            clients[who] = login(getattr(lw, who))
        return clients[who].get(path)

    routes = UI_ROUTES + API_ROUTES
    ids = {"endpoint": lw.endpoint.id, "supplier_a": lw.supplier_a.id, "buyer": lw.buyer.id}
    _grow(lw, 2)
    _counts(routes, get, count_queries, ids)  # warm-up: caches, first-request work
    small = _counts(routes, get, count_queries, ids)
    _grow(lw, 4)
    large = _counts(routes, get, count_queries, ids)
    same = [k for k in small if small[k][1] == large[k][1]]
    assert not same, f"these lists show none of the documents grown between the counts (grow them in _grow): {same}"
    small = {k: v[0] for k, v in small.items()}
    large = {k: v[0] for k, v in large.items()}
    grew = {k: (len(small[k]), len(large[k]), _repeated(small[k], large[k]))
            for k in small if len(large[k]) != len(small[k])}
    if os.environ.get("LIST_STATEMENTS_REPORT"):  # the counts of every route, for the README and reviews
        with open(os.environ["LIST_STATEMENTS_REPORT"], "w") as f:
            f.writelines(f"{len(small[k]):3} {len(large[k]):3}  {k[0]:15} {k[1]}\n" for k in small)
    assert not grew, f"statements grew with the data (2 -> 6 documents of each kind): {grew}"


def test_every_list_route_is_counted_or_excused(app):
    """Each GET route without path arguments (UI and API) is counted above or named in NOT_LISTS with its reason."""
    from urllib.parse import urlsplit

    adapter = app.url_map.bind("portal.test")
    counted = set()
    for _, path in UI_ROUTES + API_ROUTES:
        endpoint, _ = adapter.match(urlsplit(path.format(endpoint=1, supplier_a=1, buyer=1)).path, method="GET")
        counted.add(endpoint)
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if "GET" in r.methods and not r.arguments and r.endpoint != "static"}
    missing = sorted(routes - counted - set(NOT_LISTS))
    assert not missing, f"GET routes neither counted in UI_ROUTES/API_ROUTES nor excused in NOT_LISTS: {missing}"
    both = sorted(counted & set(NOT_LISTS))
    assert not both, f"counted and excused at once: {both}"
    gone = sorted(set(NOT_LISTS) - routes)
    assert not gone, f"NOT_LISTS names routes the app no longer has: {gone}"


def test_postgresql_connections_plan_each_statement_for_its_parameters(tmp_path, monkeypatch, app):
    """No generic plans (bench/bench_dashboards.py: a prepared count switched to a 22-second generic plan)."""
    import sqlalchemy as sa

    from portal.config import load_config

    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql://postgres@db.example.com/portal")
    opts = load_config(str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]
    assert opts["connect_args"] == {"options": "-c plan_cache_mode=force_custom_plan", "connect_timeout": 5}
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert "connect_args" not in load_config(str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):  # and the server takes it
        engine = sa.create_engine(url, connect_args=opts["connect_args"])
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        engine.dispose()
