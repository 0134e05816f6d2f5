"""Pages: the list for both sides, detail, documents, tenancy (404), roles (403), panels."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.orders import services, shipping
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh, text
from tests.orders.conftest import post


def _place(o):
    """What the credit check does when it passes: submitted -> placed through the on_placed hook."""
    o = services.lock_order(o)
    o.status = S.submitted
    db.session.flush()
    services.on_placed(o)
    services.commit()
    return fresh(o)


def test_list_buyer_and_supplier_sides(world, order_in, login):
    draft = order_in("draft")
    placed = order_in("placed")
    other = order_in("placed", supplier=world.supplier_b)
    buyer_page = text(login(world.procurement).get("/orders/"))
    assert all(o.po_number in buyer_page for o in (draft, placed, other))
    sup_page = text(login(world.sales_a).get("/orders/"))
    assert placed.po_number in sup_page and placed.supplier_order_number in sup_page
    assert draft.po_number not in sup_page and other.po_number not in sup_page


def test_list_filter_and_search(world, order_in, login):
    a = order_in("draft")
    b = order_in("placed")
    c = login(world.procurement)
    page = text(c.get("/orders/?status=placed"))
    assert b.po_number in page and a.po_number not in page
    page = text(c.get(f"/orders/?q={b.supplier_order_number}"))
    assert b.po_number in page and a.po_number not in page
    page = text(c.get(f"/orders/?q={a.po_number.lower()}"))
    assert a.po_number in page and b.po_number not in page
    assert "No orders match" in text(c.get("/orders/?q=nothing-like-this"))
    assert c.get("/orders/?status=bogus&page=abc").status_code == 200


def _bulk_orders(world, n):
    from portal.orders.models import OrderSource

    rows = [dict(buyer_company_id=world.buyer.id, supplier_company_id=world.supplier_a.id,
                 po_number=f"PO-BULK-{i:05d}", supplier_order_number=f"SO-BULK-{i:05d}", source=OrderSource.catalog,
                 currency="EUR", status=S.placed, total_net=Decimal("10"), created_by_id=world.procurement.id,
                 delivery_address="x", payment_terms_days=30, notes="", lock_version=1, sent_at=utcnow())
            for i in range(n)]
    db.session.execute(sa.insert(PurchaseOrder), rows)
    db.session.commit()


def test_list_query_count_is_constant(world, login, count_queries):
    c = login(world.procurement)
    _bulk_orders(world, 5)
    c.get("/orders/")
    with count_queries() as small:
        r = c.get("/orders/")
    assert r.status_code == 200
    _bulk_orders_more = 55
    from portal.orders.models import OrderSource  # noqa: F401

    rows = [dict(buyer_company_id=world.buyer.id, supplier_company_id=world.supplier_b.id,
                 po_number=f"PO-MORE-{i:05d}", source="catalog", currency="EUR", status=S.draft,
                 total_net=Decimal("1"), created_by_id=world.procurement.id, delivery_address="",
                 payment_terms_days=30, notes="", lock_version=1) for i in range(_bulk_orders_more)]
    db.session.execute(sa.insert(PurchaseOrder), rows)
    db.session.commit()
    with count_queries() as big:
        r = c.get("/orders/")
    page = text(r)
    assert big.count == small.count, (small.statements, big.statements)
    assert "60 orders" in page and "page 1 of 2" in page
    assert page.count("PO-MORE-") == 50
    page2 = text(c.get("/orders/?page=2"))
    assert page2.count("PO-BULK-") == 5 and page2.count("PO-MORE-") == 5


def test_detail_in_several_states(world, order_in, rules, login, run_jobs):
    from portal.orders import approvals

    c = login(world.procurement)
    draft = order_in("draft", lines=[("1", "20000")])
    page = text(c.get(f"/orders/{draft.id}"))
    assert "Submit order" in page and "Needs 1 approval" in page and draft.po_number in page
    services.submit(draft, world.procurement, fresh(draft).lock_version)
    approvals.decide(draft, world.approver, fresh(draft).lock_version, "approved", "Budget ok")
    page = text(c.get(f"/orders/{draft.id}"))
    assert "Budget ok" in page and "credit check is running" in page
    placed = _place(order_in("submitted"))
    s_page = text(login(world.sales_a).get(f"/orders/{placed.id}"))
    assert "Acknowledge order" in s_page and placed.supplier_order_number in s_page and placed.po_number in s_page
    assert "History" in s_page and "Placed" in s_page


def test_credit_check_figures_shown(world, order_in, login):
    from portal.credit.models import CreditCheck

    o = order_in("credit_hold")
    db.session.add(CreditCheck(order_id=o.id, provider="builtin", outcome="hold", reason="Limit exceeded by 230.00",
                               limit_amount=Decimal("500"), unpaid_invoices=Decimal("0"),
                               reserved_orders=Decimal("0"), order_amount=Decimal("730"), currency="EUR"))
    db.session.commit()
    page = text(login(world.procurement).get(f"/orders/{o.id}"))
    assert "On hold" in page and "Limit exceeded by 230.00" in page and "€730.00" in page


def test_po_pdf_produced_when_placed_and_served_byte_for_byte(app, world, order_in, login, run_jobs):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    o = _place(order_in("submitted"))
    assert o.supplier_order_number.startswith("SO-") and o.placed_at is not None
    run_jobs(["documents"])
    o = fresh(o)
    assert o.po_pdf_file_id
    stored = read_bytes(db.session.get(StoredFile, o.po_pdf_file_id))
    assert stored.startswith(b"%PDF")
    version = o.lock_version
    for user in (world.procurement, world.sales_a):
        r = login(user).get(f"/orders/{o.id}/purchase-order.pdf")
        assert r.status_code == 200 and r.data == stored
    run_jobs(["documents"])  # idempotent; and the PDF did not make open forms stale
    assert fresh(o).lock_version == version
    stranger = factories.user(factories.company("buyer"), "procurement")
    assert login(stranger).get(f"/orders/{o.id}/purchase-order.pdf").status_code == 404


def test_delivery_note_job_and_download(world, order_in, login, run_jobs):
    from portal.jobs.models import JobRecord

    o = order_in("acknowledged")
    s = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[0].id: "10"})
    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.rq_job_id == f"delivery-note-{s.id}"))
    assert rec.company_id == world.supplier_a.id and rec.status.value == "queued"
    assert "progress" in text(login(world.sales_a).get(f"/orders/{o.id}"))
    run_jobs(["documents"])
    rec = fresh(rec)
    assert rec.status.value == "succeeded" and rec.progress == 100 and rec.result_file_id
    for user in (world.procurement, world.sales_a):
        r = login(user).get(f"/orders/{o.id}/shipments/{s.id}/delivery-note.pdf")
        assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_notifications_carry_both_numbers(world, order_in):
    from portal.notifications.models import Notification

    o = _place(order_in("submitted"))
    titles = db.session.scalars(sa.select(Notification.title)).all()
    assert any(o.po_number in t and o.supplier_order_number in t for t in titles)


# --------------------------------------------------------------------------------------------- tenancy and roles

ROUTES = [
    ("get", "/orders/{id}"), ("post", "/orders/{id}/submit"), ("post", "/orders/{id}/cancel"),
    ("post", "/orders/{id}/accept-changes"), ("post", "/orders/{id}/reject-changes"), ("post", "/orders/{id}/close"),
    ("post", "/orders/{id}/decide"), ("post", "/orders/{id}/reject"), ("get", "/orders/{id}/acknowledge"),
    ("post", "/orders/{id}/acknowledge"), ("get", "/orders/{id}/ship"), ("post", "/orders/{id}/ship"),
    ("get", "/orders/{id}/shipments/{sid}/receive"), ("post", "/orders/{id}/shipments/{sid}/receive"),
    ("get", "/orders/{id}/purchase-order.pdf"), ("get", "/orders/{id}/shipments/{sid}/delivery-note.pdf"),
]


@pytest.mark.parametrize("method,route", ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_another_companys_order_is_404(world, order_in, login, method, route):
    o = order_in("acknowledged")
    s = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[0].id: "1"})
    outsiders = [world.sales_b, factories.user(factories.company("buyer"), "procurement", "approver", "admin")]
    for user in outsiders:
        c = login(user)
        r = getattr(c, method)(route.format(id=o.id, sid=s.id), data={"lock_version": fresh(o).lock_version,
                                                                      "reason": "x", "decision": "approve"})
        assert r.status_code == 404, (user.email, r.status_code)
    assert fresh(o).status == S.partially_shipped


def test_supplier_never_sees_drafts(world, order_in, login):
    o = order_in("draft")
    c = login(world.sales_a)
    assert c.get(f"/orders/{o.id}").status_code == 404
    assert c.post(f"/orders/{o.id}/submit", data={"lock_version": 1}).status_code == 404


@pytest.mark.parametrize("route,status,data", [
    ("/orders/{id}/cancel", "placed", {"reason": "x"}),
    ("/orders/{id}/accept-changes", "change_proposed", {}),
    ("/orders/{id}/reject-changes", "change_proposed", {}),
    ("/orders/{id}/close", "received", {}),
    ("/orders/{id}/shipments/{sid}/receive", "acknowledged", {}),
])
def test_supplier_trying_buyer_actions_is_403(world, order_in, login, route, status, data):
    o = order_in(status)
    sid = 0
    if "receive" in route:
        sid = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[0].id: "1"}).id
        status = "partially_shipped"
    r = post(login(world.admin_a), route.format(id=o.id, sid=sid), o, **data)
    assert r.status_code == 403
    assert fresh(o).status.value == status


@pytest.mark.parametrize("route,status,data", [
    ("/orders/{id}/acknowledge", "placed", {}),
    ("/orders/{id}/reject", "placed", {"reason": "x"}),
    ("/orders/{id}/ship", "acknowledged", {}),
])
def test_buyer_trying_supplier_actions_is_403(world, order_in, login, route, status, data):
    o = order_in(status)
    for user in (world.procurement, world.buyer_admin):
        r = post(login(user), route.format(id=o.id), o, **data)
        assert r.status_code == 403
    assert login(world.procurement).get(route.format(id=o.id)).status_code in (403, 405)
    assert fresh(o).status.value == status


def test_roles_inside_the_company(world, order_in, login):
    o = order_in("draft")
    r = post(login(world.buyer_accounts), f"/orders/{o.id}/submit", o)
    assert r.status_code == 403 and fresh(o).status == S.draft
    p = order_in("placed")
    r = post(login(world.accounts_a), f"/orders/{p.id}/acknowledge", p)
    assert r.status_code == 403 and fresh(p).status == S.placed


def test_submit_through_the_page(world, order_in, login):
    o = order_in("draft")
    c = login(world.procurement)
    r = post(c, f"/orders/{o.id}/submit", o)
    assert r.status_code == 302 and fresh(o).status == S.submitted
    assert "credit check" in text(c.get(f"/orders/{o.id}"))


# --------------------------------------------------------------------------------------------- panels

def test_dashboard_panels(world, order_in, rules, login):
    order_in("draft")
    big = order_in("draft", lines=[("1", "50000")])
    services.submit(big, world.procurement, fresh(big).lock_version)
    order_in("placed")
    order_in("change_proposed")
    page = text(login(world.procurement).get("/dashboard"))
    assert "Drafts to submit" in page and "Change proposals to decide" in page and "Shipments to receive" in page
    page = text(login(world.approver).get("/dashboard"))
    assert "Approvals waiting for me" in page and big.po_number in page
    page = text(login(world.sales_a).get("/dashboard"))
    assert "Placed orders to acknowledge" in page and "Acknowledged orders to ship" in page
    from portal.orders.panels import panels
    from flask import current_app

    with current_app.test_request_context():
        counts = {p["title"]: p["count"] for p in panels(world.procurement)}
    assert counts["Drafts to submit"] == 1 and counts["Orders awaiting approval"] == 1
