"""The list and detail pages: content by role, query counts that do not grow, 404 for other companies."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.rfq import services
from portal.rfq.models import Rfq, RfqLine
from tests import factories
from tests.rfq.conftest import text


def many_rfqs(world, n, **kw):
    for i in range(n):
        factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a],
                      title=f"Batch RFQ {i:03d}", **kw)


# --------------------------------------------------------------------------------------------- list

def test_buyer_list_filters_and_searches(world, login):
    a = factories.rfq(world.buyer, world.procurement, title="Fasteners for line 4",
                      suppliers=[world.supplier_a])
    b = factories.rfq(world.buyer, world.procurement, status="draft", title="Packaging 2027")
    factories.quote(a, world.supplier_a, world.sales_a)
    other = factories.company("buyer", name="Other Buyer AG")
    factories.rfq(other, factories.user(other, "procurement"), title="Not ours")
    c = login(world.procurement)
    body = text(c.get("/rfqs/"))
    assert a.reference in body and b.reference in body and "Not ours" not in body
    assert body.index(b.reference) < body.index(a.reference)  # newest first
    assert 'class="num">1</td>' in body  # one submitted quote on a
    drafts = text(c.get("/rfqs/?status=draft"))
    assert b.reference in drafts and a.reference not in drafts
    found = text(c.get("/rfqs/?q=fasten"))
    assert a.reference in found and b.reference not in found
    assert a.reference in text(c.get(f"/rfqs/?q={a.reference}"))
    assert "No RFQ matches this filter." in text(c.get("/rfqs/?q=nothing-like-this"))


def test_buyer_list_paginates_fifty_by_id_desc(world, login):
    many_rfqs(world, 55)
    c = login(world.procurement)
    page1 = services.list_for_buyer(world.procurement)
    page2 = services.list_for_buyer(world.procurement, page=2)
    assert len(page1.items) == 50 and len(page2.items) == 5 and page1.pages == 2
    ids = [r.rfq.id for r in page1.items + page2.items]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 55
    body = text(c.get("/rfqs/?page=2"))
    assert "page 2 of 2" in body and "55 RFQs" in body
    assert c.get("/rfqs/?page=abc").status_code == 200


def test_supplier_list_shows_invitations_with_own_quote_state(world, login):
    started = factories.rfq(world.buyer, world.procurement, title="Started", suppliers=[world.supplier_a])
    submitted = factories.rfq(world.buyer, world.procurement, title="Submitted", suppliers=[world.supplier_a])
    fresh_ = factories.rfq(world.buyer, world.procurement, title="Untouched", suppliers=[world.supplier_a])
    factories.rfq(world.buyer, world.procurement, status="draft", title="A draft",
                  suppliers=[world.supplier_a])
    factories.rfq(world.buyer, world.procurement, title="Only for B", suppliers=[world.supplier_b])
    factories.quote(started, world.supplier_a, world.sales_a, submitted=False)
    factories.quote(submitted, world.supplier_a, world.sales_a)
    factories.quote(fresh_, world.supplier_b, world.sales_b)  # B's quote is not A's state
    rows = {r.rfq.title: r.quote_status for r in services.list_for_supplier(world.sales_a).items}
    assert rows == {"Started": "draft", "Submitted": "submitted", "Untouched": "not started"}
    body = text(login(world.sales_a).get("/rfqs/"))
    assert "Only for B" not in body and "A draft" not in body
    assert "Not started" in body and "Acme Buying GmbH" in body


@pytest.mark.parametrize("who", ["procurement", "sales_a"])
def test_list_query_count_does_not_grow(world, login, count_queries, who):
    c = login(getattr(world, who))
    many_rfqs(world, 5)
    for r in db.session.scalars(sa.select(Rfq)):
        factories.quote(r, world.supplier_a, world.sales_a)
    c.get("/rfqs/")
    with count_queries() as few:
        assert c.get("/rfqs/").status_code == 200
    many_rfqs(world, 55)
    with count_queries() as many:
        body = text(c.get("/rfqs/"))
    assert body.count("Batch RFQ") == 50
    assert many.count == few.count, many.statements


# --------------------------------------------------------------------------------------------- detail

def test_buyer_detail_shows_everything(world, login, open_rfq):
    services.add_attachment(world.procurement, open_rfq.id, filename="spec.pdf", data=b"%PDF-1.4 x")
    body = text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    for part in (open_rfq.reference, open_rfq.title, 'data-state="open"', "left", "Item 1", "spec.pdf",
                 "Invited suppliers (2)", "Supplier Alpha GmbH", "Supplier Beta SAS", "History",
                 "Extend deadline", "Close early", "Cancel RFQ", "Amend", "Edit lines", "Import lines"):
        assert part in body, part
    assert 'class="num">100</td>' in body  # quantities right-aligned


def test_supplier_detail_shows_no_buyer_actions(world, login, open_rfq):
    body = text(login(world.sales_a).get(f"/rfqs/{open_rfq.id}"))
    assert open_rfq.reference in body and "Item 3" in body and "Send question" in body
    for part in ("Close early", "Cancel RFQ", "Extend deadline", "Invited suppliers", "Import lines"):
        assert part not in body, part


def test_compare_link_when_closed(world, login, app):
    r = factories.rfq(world.buyer, world.procurement, status="closed", suppliers=[world.supplier_a])
    body = text(login(world.procurement).get(f"/rfqs/{r.id}"))
    if "compare.comparison" in app.view_functions:
        assert "Compare quotes" in body
    else:
        assert "Compare quotes" not in body
    assert "Compare quotes" not in text(login(world.sales_a).get(f"/rfqs/{r.id}"))


def test_detail_query_count_does_not_grow_with_lines(world, login, count_queries):
    small = factories.rfq(world.buyer, world.procurement, lines=5, suppliers=[world.supplier_a])
    big = factories.rfq(world.buyer, world.procurement, lines=500, suppliers=[world.supplier_a])
    small_url, big_url = f"/rfqs/{small.id}", f"/rfqs/{big.id}"  # (reading .id after a commit is a query)
    for who in (world.procurement, world.sales_a):
        c = login(who)
        c.get(small_url)
        with count_queries() as few:
            assert c.get(small_url).status_code == 200
        with count_queries() as many:
            body = c.get(big_url).get_data(as_text=True)
        assert "Item 500" in body
        assert many.count == few.count, (who.email, many.statements)


def test_lines_page_query_count_does_not_grow(world, login, count_queries):
    small = factories.rfq(world.buyer, world.procurement, status="draft", lines=5)
    big = factories.rfq(world.buyer, world.procurement, status="draft", lines=500)
    small_url, big_url = f"/rfqs/{small.id}/lines", f"/rfqs/{big.id}/lines"
    c = login(world.procurement)
    c.get(small_url)
    with count_queries() as few:
        c.get(small_url)
    with count_queries() as many:
        assert "Item 500" in c.get(big_url).get_data(as_text=True)
    assert many.count == few.count


# --------------------------------------------------------------------------------------------- access

ROUTES = [
    ("get", "/rfqs/{id}"), ("get", "/rfqs/{id}/edit"), ("post", "/rfqs/{id}/edit"),
    ("get", "/rfqs/{id}/lines"), ("post", "/rfqs/{id}/lines"), ("get", "/rfqs/{id}/lines/{line}/edit"),
    ("post", "/rfqs/{id}/lines/{line}/edit"),
    ("post", "/rfqs/{id}/lines/{line}/delete"), ("get", "/rfqs/{id}/lines/import"),
    ("post", "/rfqs/{id}/lines/import"), ("get", "/rfqs/{id}/lines.csv"), ("post", "/rfqs/{id}/attachments"),
    ("get", "/rfqs/{id}/attachments/{att}"), ("post", "/rfqs/{id}/attachments/{att}/delete"),
    ("get", "/rfqs/{id}/suppliers"), ("post", "/rfqs/{id}/suppliers"),
    ("post", "/rfqs/{id}/suppliers/{supplier}/remove"), ("post", "/rfqs/{id}/publish"),
    ("post", "/rfqs/{id}/close"), ("get", "/rfqs/{id}/extend"), ("post", "/rfqs/{id}/extend"),
    ("get", "/rfqs/{id}/cancel"), ("post", "/rfqs/{id}/cancel"), ("post", "/rfqs/{id}/questions"),
    ("post", "/rfqs/{id}/questions/{question}/answer"),
]


@pytest.fixture
def foreign(world):
    """Another buyer's open RFQ with everything a route could point at."""
    other = factories.company("buyer", name="Other Buyer AG")
    owner = factories.user(other, "procurement")
    r = factories.rfq(other, owner, suppliers=[world.supplier_b])
    att = services.add_attachment(owner, r.id, filename="x.pdf", data=b"%PDF-1.4 x")
    q = services.ask_question(world.sales_b, r.id, question="?")
    return {"id": r.id, "line": r.lines[0].id, "att": att.id, "supplier": world.supplier_b.id,
            "question": q.id}


@pytest.mark.parametrize("method, route", ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_another_companys_rfq_is_404_everywhere(world, login, foreign, method, route):
    url = route.format(**foreign)
    # people who have the role the route needs: the id alone must not exist for them
    people = [world.sales_a] if route == "/rfqs/{id}/questions" else [world.procurement]
    if method == "get" and route in ("/rfqs/{id}", "/rfqs/{id}/lines.csv", "/rfqs/{id}/attachments/{att}"):
        people.append(world.sales_a)
    before = db.session.scalar(sa.select(Rfq.version).where(Rfq.id == foreign["id"]))
    for person in people:
        data = {"version": str(before), "question": "?", "reason": "x", "answer": "x", "description": "x",
                "quantity": "1"}
        resp = getattr(login(person), method)(url, data=data)
        assert resp.status_code == 404, (person.email, url, resp.status_code)
    db.session.expire_all()
    assert before == db.session.scalar(sa.select(Rfq.version).where(Rfq.id == foreign["id"]))


BUYER_ROUTES = [r for r in ROUTES if r[1] not in ("/rfqs/{id}", "/rfqs/{id}/lines.csv",
                                                  "/rfqs/{id}/attachments/{att}", "/rfqs/{id}/questions")]


@pytest.mark.parametrize("method, route", BUYER_ROUTES, ids=[f"{m} {r}" for m, r in BUYER_ROUTES])
def test_invited_supplier_cannot_use_buyer_routes(world, login, open_rfq, method, route):
    att = services.add_attachment(world.procurement, open_rfq.id, filename="x.pdf", data=b"%PDF-1.4 x")
    q = services.ask_question(world.sales_a, open_rfq.id, question="?")
    url = route.format(id=open_rfq.id, line=open_rfq.lines[0].id, att=att.id, supplier=world.supplier_a.id,
                       question=q.id)
    version = db.session.scalar(sa.select(Rfq.version).where(Rfq.id == open_rfq.id))
    data = {"version": str(version), "reason": "x", "answer": "x", "description": "x", "quantity": "1"}
    resp = getattr(login(world.sales_a), method)(url, data=data)
    assert resp.status_code in (403, 404)
    db.session.expire_all()
    r = db.session.get(Rfq, open_rfq.id)
    assert r.status.value == "open" and r.version == version
    assert db.session.scalar(sa.select(sa.func.count(RfqLine.id)).where(RfqLine.rfq_id == r.id)) == 3


def test_people_without_the_roles_see_no_rfqs(world, login, open_rfq):
    for person in (world.approver, world.buyer_accounts, world.admin_a, world.accounts_a):
        c = login(person)
        assert c.get("/rfqs/").status_code == 403
        assert c.get(f"/rfqs/{open_rfq.id}").status_code == 403


# --------------------------------------------------------------------------------------------- dashboard

def test_dashboard_panels(world, login):
    factories.rfq(world.buyer, world.procurement, status="draft", title="Draft one")
    soon = factories.rfq(world.buyer, world.procurement, title="Closing soon", suppliers=[world.supplier_a],
                         deadline=utcnow() + timedelta(hours=5))
    later = factories.rfq(world.buyer, world.procurement, title="Closing later", suppliers=[world.supplier_a],
                          deadline=utcnow() + timedelta(days=9))
    factories.rfq(world.buyer, world.procurement, status="closed", title="Ready to award",
                  suppliers=[world.supplier_a])
    factories.quote(later, world.supplier_a, world.sales_a)
    q = services.ask_question(world.sales_a, soon.id, question="Pallet height?")
    services.answer_question(world.procurement, soon.id, q.id, answer="Max 1.2 m")
    from portal.rfq.panels import panels

    buyer = {p["title"]: p for p in panels(world.procurement)}
    assert buyer["Drafts to publish"]["count"] == 1
    assert [label for label, _ in buyer["Open RFQs"]["items"]][0].startswith(soon.reference)
    assert buyer["Closed, awaiting award"]["count"] == 1
    supplier = {p["title"]: p for p in panels(world.sales_a)}
    assert supplier["Invitations awaiting your quote"]["count"] == 1  # `later` has A's quote
    assert supplier["Questions answered"]["count"] == 1
    assert panels(world.approver) == []
    body = text(login(world.procurement).get("/dashboard"))
    assert "Drafts to publish" in body and "Closing soon" in body


def test_demo_seed_builds_the_sourcing_world(app, monkeypatch):
    from portal import demo
    from portal.rfq.states import RfqStatus

    monkeypatch.setattr(demo, "DOMAIN_SEEDERS", ["portal.rfq.demo"])  # this domain's seeder only
    demo.seed()
    rfqs = {r.title: r for r in db.session.scalars(sa.select(Rfq))}
    assert rfqs["Fasteners for assembly line 4"].status == RfqStatus.open
    assert rfqs["Fasteners for assembly line 4"].sealed is False
    assert len(rfqs["Fasteners for assembly line 4"].lines) == 6
    assert rfqs["Packaging materials Q1 2027"].sealed and len(rfqs["Packaging materials Q1 2027"].lines) == 12
    assert rfqs["Hydraulic fittings framework 2027"].status == RfqStatus.closed
    assert rfqs["Hydraulic fittings framework 2027"].deadline < utcnow() - timedelta(hours=20)
    assert len(rfqs["Hydraulic fittings framework 2027"].invitations) == 3
    assert rfqs["Draft: spare parts for press line"].status == RfqStatus.draft
    assert rfqs["Stainless fittings for bottling line"].status == RfqStatus.open


def test_supplier_trail_shows_public_events_only(world, login, draft):
    line = services.add_line(world.procurement, draft.id, description="Secret prototype part", quantity="1")
    services.delete_line(world.procurement, draft.id, line.id)
    services.invite_suppliers(world.procurement, draft.id, [world.supplier_b.id])
    services.publish(world.procurement, draft.id)
    supplier_page = text(login(world.sales_a).get(f"/rfqs/{draft.id}"))
    assert "Published" in supplier_page
    for internal in ("Secret prototype part", "Supplier invited", "Edited"):
        assert internal not in supplier_page
    buyer_page = text(login(world.procurement).get(f"/rfqs/{draft.id}"))
    assert "Secret prototype part" in buyer_page and "Supplier invited" in buyer_page
