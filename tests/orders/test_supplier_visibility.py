"""What a supplier may see of a buyer's orders: an order only once the buyer has sent it (from the credit check
on). Drafts, orders waiting for the buyer's approval, drafts sent back by an approver, and any of these cancelled
by the buyer are the buyer's alone: they appear in no supplier page, count, tile, export, notification or API answer.

The walk enumerates the app's GET routes (app.url_map), so a page added later is covered too.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.orders import approvals, services, shipping
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh, text

SMALL = [("10", "2.50")]  # below Acme's 10,000 rule: submitting sends it to the supplier's credit check
BIG = [("1", "20000")]  # above it: submitting asks Acme's approver first
SECRET_BUYER = "Hushhush Buying AG"  # a buyer whose only order with Supplier Alpha is a cancelled draft
SKIP_ENDPOINTS = {"static", "bootstrap.static", "api_docs.docs_assets", "auth.signout"}
# The public company directory lists every company on the portal: being listed there says nothing about orders.
DIRECTORY_ENDPOINTS = {"api_companies.list_companies"}
# Credit terms may be given to any buyer of the directory before its first order (issue 15): the credit pages
# offer every buyer by name and open the terms form for each; they must still not tell of an unsent order.
PAGE_DIRECTORY_ENDPOINTS = {"credit.accounts", "credit.buyer_account", "credit.new_account"}


def _lv(order) -> int:
    return fresh(order).lock_version


def _submit(order, who):
    return services.submit(fresh(order), who, _lv(order))


def _cancel(order, who):
    return services.cancel(fresh(order), who, _lv(order), "Not needed after all")


def _decide(order, who, decision):
    return approvals.decide(fresh(order), who, _lv(order), decision, "Too dear" if decision == "rejected" else "")


@pytest.fixture
def book(world, rules):
    """Orders of every kind between the buyers and Supplier Alpha, made through the services where a service
    makes them (submission, approval, cancellation), plus a supplier person holding every supplier role."""
    hush = factories.company("buyer", name=SECRET_BUYER)
    hush_buyer = factories.user(hush, "procurement", email="p@hush.test")

    def make(lines, key, buyer=world.buyer, creator=world.procurement, status="draft"):
        o = factories.order(buyer, world.supplier_a, creator, lines=lines, status=status)
        o.notes = f"MARK-{key}-NOTE"
        if buyer is not world.buyer:
            o.po_number = "HUSH-PO-0001"  # each buyer numbers its own orders: keep the markers apart
        db.session.commit()
        return o

    unsent = {}
    unsent["draft"] = make(SMALL, "draft")
    unsent["cancelled_draft"] = _cancel(make(SMALL, "cancelled_draft"), world.procurement)
    unsent["awaiting_approval"] = _submit(make(BIG, "awaiting"), world.procurement)
    o = _submit(make(BIG, "sent_back"), world.procurement)
    unsent["sent_back"] = _decide(o, world.approver, "rejected")
    o = _decide(_submit(make(BIG, "sent_back_cancelled"), world.procurement), world.approver, "rejected")
    unsent["sent_back_cancelled"] = _cancel(o, world.procurement)
    unsent["approval_cancelled"] = _cancel(_submit(make(BIG, "approval_cancelled"), world.procurement),
                                           world.procurement)
    unsent["hush_cancelled_draft"] = _cancel(make(SMALL, "hush", buyer=hush, creator=hush_buyer), hush_buyer)
    # An RFQ awarded to Supplier Alpha whose order the buyer drafted from the award and cancelled unsent.
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, status="awarded", suppliers=[world.supplier_a])
    quote = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["1.00", "2.00"])
    award = factories.award(rfq, world.procurement, [(0, quote, "10", "1.00"), (1, quote, "5", "2.00")])
    (o,) = services.create_orders_from_award(award.id, world.procurement)
    o.notes = "MARK-award-NOTE"
    db.session.commit()
    unsent["award_cancelled_draft"] = _cancel(o, world.procurement)

    sent = {}
    sent["submitted"] = _submit(make(SMALL, "submitted"), world.procurement)
    sent["cancelled_after_sending"] = _cancel(_submit(make(SMALL, "cancelled_sent"), world.procurement),
                                              world.procurement)
    o = _decide(_submit(make(BIG, "approved"), world.procurement), world.approver, "rejected")  # sent back,
    o = _submit(o, world.procurement)  # submitted again, and approved this time
    sent["approved"] = approvals.decide(fresh(o), world.approver, _lv(o), "approved", "MARK-approver-comment")
    sent["placed"] = make(SMALL, "placed", status="placed")
    sent["credit_hold"] = make(SMALL, "credit_hold", status="credit_hold")
    ack = make(SMALL, "shipped", status="acknowledged")
    shipping.record_shipment(fresh(ack), world.sales_a, _lv(ack), {ln.id: str(ln.quantity) for ln in ack.lines},
                             "DHL", "1")
    sent["shipped"] = ack

    unsent = {k: fresh(o) for k, o in unsent.items()}
    sent = {k: fresh(o) for k, o in sent.items()}
    expected = {"draft": S.draft, "cancelled_draft": S.cancelled, "awaiting_approval": S.awaiting_approval,
                "sent_back": S.draft, "sent_back_cancelled": S.cancelled, "approval_cancelled": S.cancelled,
                "hush_cancelled_draft": S.cancelled, "award_cancelled_draft": S.cancelled}
    assert {k: o.status for k, o in unsent.items()} == expected
    assert {k: o.status for k, o in sent.items()} == {
        "submitted": S.submitted, "cancelled_after_sending": S.cancelled, "approved": S.submitted,
        "placed": S.placed, "credit_hold": S.credit_hold, "shipped": S.shipped}
    everyone = factories.user(world.supplier_a, "sales", "accounts", "admin", email="all@alpha.test")
    # ids of the supplier's own documents around these orders, for the pages that take them
    related = {"rfq_id": rfq.id, "quote_id": quote.id, "number": quote.current_version.number,
               "buyer_id": world.buyer.id, "supplier_id": world.supplier_a.id}
    return SimpleNamespace(unsent=unsent, sent=sent, hush=hush, supplier_user=everyone, related=related)


def _markers(order) -> list[str]:
    return [order.po_number, order.notes]


def _leaks(body: str, book, *, directory=False) -> list[str]:
    found = []
    for key, o in book.unsent.items():
        found += [f"{key}: {m}" for m in _markers(o) if m in body]
        if re.search(rf"/orders/{o.id}(?!\d)", body):
            found.append(f"{key}: link /orders/{o.id}")
    if not directory and SECRET_BUYER in body:
        found.append(f"buyer {SECRET_BUYER}")
    return found


def _api_ids(payload) -> set[int]:
    """Every id of an order-shaped object (one with a po_number) anywhere in a JSON answer."""
    out = set()
    if isinstance(payload, dict):
        if "po_number" in payload and isinstance(payload.get("id"), int):
            out.add(payload["id"])
        for v in payload.values():
            out |= _api_ids(v)
    elif isinstance(payload, list):
        for v in payload:
            out |= _api_ids(v)
    return out


def _paths(app, book, *, api: bool):
    """(endpoint, path, must_be_404) for every GET route: plain, searched (in lower case: a search box that echoes
    the query is no leak) and filtered for each unsent order, and with each unsent order's id (or the secret buyer's id) in every id of the path."""
    statuses = sorted({o.status.value for o in book.unsent.values()})
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.rule.startswith("/api/") != api:
            continue
        args = list(rule.arguments)
        if any(not re.search(rf"<(int(\([^)]*\))?:)?{a}>", rule.rule) for a in args):
            continue  # tokens, file names: not ids
        if not args:
            yield rule.endpoint, rule.rule, False
            for o in book.unsent.values():
                yield rule.endpoint, f"{rule.rule}?q={o.po_number.lower()}&order_id={o.id}&buyer_id={o.buyer_company_id}", False
            for st in statuses:
                yield rule.endpoint, f"{rule.rule}?status={st}", False
            continue
        values = [(o.id, "order_id" in args) for o in book.unsent.values()]
        if "buyer_id" in args:
            values.append((book.hush.id, True))
        for value, must_404 in values:
            path = rule.rule
            for a in args:
                path = re.sub(rf"<(int(\([^)]*\))?:)?{a}>", str(value), path)
            yield rule.endpoint, path, must_404
        if "order_id" not in args and set(args) <= set(book.related):
            path = rule.rule  # the supplier's own RFQ, quote, buyer... around an unsent order
            for a in args:
                path = re.sub(rf"<(int(\([^)]*\))?:)?{a}>", str(book.related[a]), path)
            yield rule.endpoint, path, False


def test_the_supplier_sees_no_unsent_order_on_any_page(app, world, login, book):
    client = login(book.supplier_user)
    failures, walked = [], set()
    for endpoint, path, must_404 in _paths(app, book, api=False):
        walked.add(endpoint)
        resp = client.get(path)
        directory = endpoint in PAGE_DIRECTORY_ENDPOINTS
        if must_404 and resp.status_code != 404 and not directory:
            failures.append((path, resp.status_code, "should be 404"))
        if resp.status_code >= 500:
            failures.append((path, resp.status_code, "error"))
        leaks = _leaks(text(resp), book, directory=directory)
        if leaks:
            failures.append((path, resp.status_code, leaks))
    assert {"orders.index", "orders.detail", "dashboard.index", "invoices.new", "invoices.export_csv",
            "rfq.detail", "quotes.detail", "catalog.supplier",
            "credit.accounts", "credit.holds", "credit.buyer_account", "notifications.index",
            "analytics.sales"} <= walked
    assert not failures, "\n".join(map(str, failures[:40]))


def test_the_supplier_api_answers_no_unsent_order(app, world, book, client):
    from portal.api.auth import create_token

    _, raw = create_token(book.supplier_user, "walk")
    headers = {"Authorization": f"Bearer {raw}"}
    unsent_ids = {o.id for o in book.unsent.values()}
    failures, walked = [], set()
    for n, (endpoint, path, must_404) in enumerate(_paths(app, book, api=True)):
        if n and n % 400 == 0:  # a fresh token: the walk is longer than one token's rate limit (600 a minute)
            _, raw = create_token(book.supplier_user, f"walk-{n}")
            headers = {"Authorization": f"Bearer {raw}"}
        walked.add(endpoint)
        resp = client.get(path, headers=headers)
        if must_404 and resp.status_code != 404:
            failures.append((path, resp.status_code, "should be 404"))
        if resp.status_code >= 500:
            failures.append((path, resp.status_code, "error"))
        body = resp.get_data(as_text=True)
        leaks = _leaks(body, book, directory=endpoint in DIRECTORY_ENDPOINTS)
        if resp.is_json:
            leaks += [f"order id {i}" for i in _api_ids(resp.get_json()) & unsent_ids]
        if leaks:
            failures.append((path, resp.status_code, leaks))
    assert {"api_ordering.list_orders", "api_ordering.get_order", "api_ordering.list_credit_holds",
            "api_misc.list_notifications", "api_invoicing.list_invoices"} <= walked
    assert not failures, "\n".join(map(str, failures[:40]))

    # ... while every sent order is there, cancelled after sending included (a second token: the walk above
    # spends the first one's rate limit, 600 requests a minute, now that the API has that many read paths).
    _, raw = create_token(book.supplier_user, "check")
    headers = {"Authorization": f"Bearer {raw}"}
    resp = client.get("/api/v1/orders?per_page=100", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    listed = _api_ids(resp.get_json())
    assert listed == {o.id for o in book.sent.values()}
    for o in book.sent.values():
        resp = client.get(f"/api/v1/orders/{o.id}", headers=headers)
        assert resp.status_code == 200 and resp.get_json()["po_number"] == o.po_number


def test_sent_orders_stay_visible_to_the_supplier(world, login, book):
    client = login(book.supplier_user)
    page = text(client.get("/orders/"))
    for key, o in book.sent.items():
        assert o.po_number in page, key
        assert o.po_number in text(client.get(f"/orders/?q={o.po_number}")), key
        resp = client.get(f"/orders/{o.id}")
        assert resp.status_code == 200 and o.po_number in text(resp), key
    cancelled = book.sent["cancelled_after_sending"]
    assert cancelled.po_number in text(client.get("/orders/?status=cancelled"))


def test_the_supplier_reads_the_history_from_the_sending_on(world, login, book):
    """The approval rounds before sending (a rejection, the approver's comments) are the buyer's business."""
    o = book.sent["approved"]
    supplier_page = text(login(book.supplier_user).get(f"/orders/{o.id}"))
    buyer_page = text(login(world.procurement).get(f"/orders/{o.id}"))
    for internal in ("Too dear", "MARK-approver-comment", "Approval rejected", "Needs 1 approval"):
        assert internal in buyer_page
        assert internal not in supplier_page
    assert 'data-testid="audit-trail"' in supplier_page and "now submitted" in supplier_page


def test_counts_tiles_and_sales_figures_leave_unsent_orders_out(world, book):
    from portal.analytics.services import PLACED, build
    from portal.credit.services import known_buyer_ids
    from portal.orders.panels import panels

    supplier = world.supplier_a
    _, total, _, _ = services.list_orders(supplier)
    assert total == len(book.sent)
    for st in {o.status for o in book.unsent.values()}:
        _, n, _, _ = services.list_orders(supplier, status=st.value)
        assert n == sum(1 for o in book.sent.values() if o.status == st)
    tiles = {p["title"]: p["count"] for p in panels(book.supplier_user)}
    assert tiles["Placed orders to acknowledge"] == 1
    dash = build(supplier, "sales")
    assert dash.totals.orders == sum(1 for o in book.sent.values() if o.status in PLACED)
    assert book.hush.id not in known_buyer_ids(supplier.id)
    # the buyer still sees all of its own orders
    _, buyer_total, _, _ = services.list_orders(world.buyer)
    assert buyer_total == len(book.sent) + len(book.unsent) - 1  # less the secret buyer's own draft


def test_no_notification_or_mail_to_the_supplier_about_unsent_orders(world, book):
    from portal.accounts.models import User
    from portal.notifications.models import Notification, OutboxMail

    supplier_users = sa.select(User.id).where(User.company_id == world.supplier_a.id)
    notes = db.session.scalars(sa.select(Notification).where(Notification.user_id.in_(supplier_users))).all()
    mails = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.company_id == world.supplier_a.id)).all()
    blobs = [f"{n.title}\n{n.body}\n{n.link}" for n in notes] + [f"{m.subject}\n{m.body}" for m in mails]
    assert blobs, "the sent orders notified the supplier of something"
    for blob in blobs:
        assert not _leaks(blob + "\n", book), blob
