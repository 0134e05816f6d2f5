"""Tenancy, roles, idempotency, optimistic locking, state errors and input rules of the API resources."""
from datetime import timedelta

import pytest

from portal.db import db, utcnow

# (method, url template, body) — every endpoint that takes an id. {rfq} open RFQ, {closed} closed RFQ,
# {quote}, {order}, {shipment}, {invoice}, {job}, {notification}, {buyer} the buyer company.
BY_ID = [
    ("GET", "/api/v1/rfqs/{rfq}", None),
    ("PATCH", "/api/v1/rfqs/{rfq}", {"title": "x"}),
    ("POST", "/api/v1/rfqs/{rfq}/publish", {}),
    ("POST", "/api/v1/rfqs/{rfq}/close", {}),
    ("POST", "/api/v1/rfqs/{rfq}/cancel", {"reason": "x"}),
    ("GET", "/api/v1/rfqs/{rfq}/quotes", None),
    ("POST", "/api/v1/rfqs/{rfq}/quotes", {"lines": []}),
    ("GET", "/api/v1/quotes/{quote}", None),
    ("POST", "/api/v1/quotes/{quote}/submit", {}),
    ("POST", "/api/v1/quotes/{quote}/withdraw", {"reason": "x"}),
    ("GET", "/api/v1/rfqs/{closed}/comparison", None),
    ("POST", "/api/v1/rfqs/{closed}/award", {"quote_id": 1}),
    ("GET", "/api/v1/rfqs/{closed}/award", None),
    ("POST", "/api/v1/rfqs/{closed}/award/orders", None),
    ("GET", "/api/v1/orders/{order}", None),
    ("POST", "/api/v1/orders/{order}/submit", {}),
    ("POST", "/api/v1/orders/{order}/approve", {"decision": "approved"}),
    ("POST", "/api/v1/orders/{order}/acknowledge", {}),
    ("POST", "/api/v1/orders/{order}/cancel", {"reason": "x"}),
    ("POST", "/api/v1/orders/{order}/reject", {"reason": "x"}),
    ("POST", "/api/v1/orders/{order}/accept-changes", {}),
    ("POST", "/api/v1/orders/{order}/reject-changes", {}),
    ("POST", "/api/v1/orders/{order}/close", {}),
    ("POST", "/api/v1/orders/{order}/shipments", {"lines": [{"order_line_id": 1, "quantity": "1"}]}),
    ("POST", "/api/v1/orders/{order}/release", {"comment": "x"}),
    ("POST", "/api/v1/orders/{order}/reject-hold", {"comment": "x"}),
    ("POST", "/api/v1/shipments/{shipment}/receipt", {}),
    ("GET", "/api/v1/invoices/{invoice}", None),
    ("GET", "/api/v1/invoices/{invoice}/pdf", None),
    ("POST", "/api/v1/invoices/{invoice}/payments", {"amount": {"amount": "1.00", "currency": "EUR"}, "date": "2026-01-01"}),
    ("POST", "/api/v1/credit-notes", {"invoice_id": "{invoice}", "reason": "x", "reason_kind": "other",
                                      "amount": {"amount": "1.00", "currency": "EUR"}}),
    ("POST", "/api/v1/invoices", {"shipment_id": "{shipment}"}),
    ("POST", "/api/v1/invoices", {"order_id": "{order}"}),
    ("PUT", "/api/v1/credit-accounts/{buyer}",
     {"limit": {"amount": "1.00", "currency": "EUR"}, "payment_terms_days": 30}),
    ("GET", "/api/v1/jobs/{job}", None),
    ("POST", "/api/v1/notifications/{notification}/read", None),
    ("GET", "/api/v1/catalog?supplier_id={buyer}", None),
]


def _ids(docs):
    return {"rfq": docs.rfq.id, "closed": docs.closed.id, "quote": docs.quote.id, "order": docs.order.id,
            "shipment": docs.shipment.id, "invoice": docs.invoice.id, "job": docs.job.id,
            "notification": docs.notification.id, "buyer": docs.world.buyer.id}


def _call(client, method, url, body, headers, ids):
    url = url.format(**ids)
    if isinstance(body, dict):
        body = {k: (int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v)
                for k, v in body.items()}
    return client.open(url, method=method, json=body, headers=headers)


# A buyer-only or supplier-only operation refuses the wrong kind of company by role first (403), as the pages do.
WRONG_SIDE = {("supplier", "GET /api/v1/catalog?supplier_id={buyer}"), ("buyer", "PUT /api/v1/credit-accounts/{buyer}")}
# A buyer of the directory is no one's secret: any supplier's accounts team may give it credit terms before its
# first order (issue 15), so that one answers 200 for another supplier.
DIRECTORY_OK = {("supplier", "PUT /api/v1/credit-accounts/{buyer}")}


@pytest.mark.parametrize("side", ["buyer", "supplier"])
def test_another_companys_ids_are_404(client, docs, outsiders, token_for, side):
    """Every endpoint taking an id, called by people (with every role) of another buyer and another supplier."""
    headers, ids, wrong = token_for(getattr(outsiders, side)), _ids(docs), []
    for method, url, body in BY_ID:
        r = _call(client, method, url, body, headers, ids)
        expected = 403 if (side, f"{method} {url}") in WRONG_SIDE else 404
        if (side, f"{method} {url}") in DIRECTORY_OK:
            if r.status_code != 200:
                wrong.append((method, url, r.status_code, r.get_data(as_text=True)[:200]))
            continue
        if r.status_code != expected or r.mimetype != "application/problem+json":
            wrong.append((method, url, r.status_code, r.get_data(as_text=True)[:200]))
    assert wrong == []


def test_nothing_of_another_company_is_listed(client, docs, outsiders, token_for):
    for user in (outsiders.buyer, outsiders.supplier):
        h = token_for(user)
        for path in ("/api/v1/rfqs", "/api/v1/orders", "/api/v1/invoices", "/api/v1/credit-notes",
                     "/api/v1/notifications"):
            r = client.get(path, headers=h)
            assert r.status_code in (200, 403), path
            if r.status_code == 200:
                assert r.get_json()["total"] == 0, path


def test_uninvited_supplier_and_draft_rfq_are_404(client, docs, token_for):
    from tests import factories

    w = docs.world
    only_a = factories.rfq(w.buyer, w.procurement, suppliers=[w.supplier_a])
    draft = factories.rfq(w.buyer, w.procurement, status="draft", suppliers=[w.supplier_b])
    hb = token_for(w.sales_b)
    assert client.get(f"/api/v1/rfqs/{only_a.id}", headers=hb).status_code == 404
    assert client.get(f"/api/v1/rfqs/{draft.id}", headers=hb).status_code == 404
    assert client.post(f"/api/v1/rfqs/{only_a.id}/quotes", headers=hb, json={"lines": []}).status_code == 404
    listed = {r["id"] for r in client.get("/api/v1/rfqs", headers=hb).get_json()["items"]}
    assert only_a.id not in listed and draft.id not in listed and docs.rfq.id in listed


ROLE_REFUSALS = [
    ("sales_a", "POST", "/api/v1/rfqs", {"title": "x", "deadline": "2030-01-01T00:00:00+00:00"}),
    ("accounts_a", "GET", "/api/v1/rfqs", None),
    ("approver", "GET", "/api/v1/rfqs/{rfq}", None),
    ("approver", "POST", "/api/v1/rfqs/{rfq}/close", {}),
    ("procurement", "POST", "/api/v1/rfqs/{rfq}/quotes", {"lines": []}),
    ("admin_a", "POST", "/api/v1/rfqs/{rfq}/quotes", {"lines": []}),
    ("procurement", "POST", "/api/v1/quotes/{quote}/submit", {}),
    ("procurement", "POST", "/api/v1/quotes/{quote}/withdraw", {"reason": "x"}),
    ("approver", "GET", "/api/v1/rfqs/{closed}/comparison", None),
    ("approver", "POST", "/api/v1/rfqs/{closed}/award", {"quote_id": 1}),
    ("accounts_a", "GET", "/api/v1/quotes/{quote}", None),
    ("approver", "GET", "/api/v1/catalog?supplier_id={supplier_a}", None),
    ("approver", "POST", "/api/v1/orders", {"supplier_id": 1, "lines": [{"sku": "A", "quantity": "1"}]}),
    ("sales_a", "POST", "/api/v1/orders/{order}/cancel", {"reason": "x"}),
    ("procurement", "POST", "/api/v1/orders/{order}/reject", {"reason": "x"}),
    ("procurement", "POST", "/api/v1/orders/{order}/shipments", {"lines": [{"order_line_id": 1, "quantity": "1"}]}),
    ("sales_a", "POST", "/api/v1/shipments/{shipment}/receipt", {}),
    ("procurement", "GET", "/api/v1/invoices", None),
    ("sales_a", "GET", "/api/v1/invoices/{invoice}", None),
    ("sales_a", "POST", "/api/v1/invoices", {"shipment_id": "{shipment}"}),
    ("sales_a", "GET", "/api/v1/credit-accounts", None),
    ("sales_a", "PUT", "/api/v1/credit-accounts/{buyer}",
     {"limit": {"amount": "1.00", "currency": "EUR"}, "payment_terms_days": 30}),
    ("sales_a", "GET", "/api/v1/credit-holds", None),
    ("procurement", "GET", "/api/v1/credit-holds", None),
]


def test_roles_are_checked_like_the_pages(client, docs, token_for):
    ids = {**_ids(docs), "supplier_a": docs.world.supplier_a.id}
    tokens, wrong = {}, []
    for who, method, url, body in ROLE_REFUSALS:
        if who not in tokens:
            tokens[who] = token_for(getattr(docs.world, who))
        r = _call(client, method, url, body, tokens[who], ids)
        if r.status_code != 403 or r.mimetype != "application/problem+json" or not r.get_json()["detail"]:
            wrong.append((who, method, url, r.status_code, r.get_data(as_text=True)[:200]))
    assert wrong == []


# --------------------------------------------------------------------------------------------- input

def test_malformed_json_is_400_problem(client, world, token_for):
    r = client.post("/api/v1/rfqs", data="{not json", content_type="application/json",
                    headers=token_for(world.procurement))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.get_json()["status"] == 400


@pytest.mark.parametrize("value", [1.5, 100.0, "NaN", "Infinity", "1e400", True, "12,5", "abc"])
def test_float_and_non_decimal_quantities_are_422(client, world, token_for, value):
    from portal.rfq.models import Rfq

    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement), json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": value}]})
    assert r.status_code == 422, r.get_data(as_text=True)
    body = r.get_json()
    assert r.mimetype == "application/problem+json" and body["detail"] and body["errors"]
    assert db.session.query(Rfq).count() == 0


def test_json_float_is_refused_with_a_sentence(client, world, token_for):
    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement), json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": 1.5}]})
    assert "string" in r.get_json()["detail"] and "lines" in "".join(r.get_json()["errors"])


def test_decimals_are_strings_of_the_documented_pattern(client, world, token_for):
    """One shape everywhere (the OpenAPI pattern): a JSON integer or an exponent is refused with a sentence."""
    h = token_for(world.procurement)
    for bad, words in [(100, '"100", not 100'), ("1e3", "no exponent"), (" 5", "no exponent, spaces"),
                       ("1.23456", "at most 4 decimal places")]:
        r = client.post("/api/v1/rfqs", headers=h, json={
            "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
            "lines": [{"description": "Bolt", "quantity": bad}]})
        assert r.status_code == 422 and words in r.get_json()["detail"], (bad, r.get_json())
    r = client.post("/api/v1/rfqs", headers=h, json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": "100"}]})
    assert r.status_code == 201 and r.get_json()["lines"][0]["quantity"] == "100"


def test_a_bad_line_saves_nothing_and_names_the_line(client, world, token_for):
    from portal.rfq.models import Rfq

    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement), json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": "1"}, {"description": "", "quantity": "-2"}]})
    assert r.status_code == 422 and "lines.1.description" in r.get_json()["errors"]
    assert db.session.query(Rfq).count() == 0


def test_unknown_supplier_cancels_the_half_made_rfq(client, world, token_for):
    from portal.rfq.models import Rfq

    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement), json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": "1"}], "supplier_ids": [world.buyer.id]})
    assert r.status_code == 422
    assert [x.status.value for x in db.session.query(Rfq)] == ["cancelled"]


def test_deadline_without_offset_is_422(client, world, token_for):
    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement),
                    json={"title": "x", "deadline": "2030-01-01T10:00:00"})
    assert r.status_code == 422 and "deadline" in r.get_json()["errors"]


def test_quote_with_bad_cells_saves_nothing(client, docs, token_for):
    from portal.quotes.models import QuoteVersion

    w = docs.world
    rfq_lines = [ln.id for ln in docs.rfq.lines]
    before = db.session.query(QuoteVersion).count()
    r = client.post(f"/api/v1/rfqs/{docs.rfq.id}/quotes", headers=token_for(w.sales_b), json={
        "valid_until": (utcnow() + timedelta(days=9)).date().isoformat(),
        "lines": [{"rfq_line_id": rfq_lines[0], "unit_price": {"amount": "-1", "currency": "EUR"}, "lead_time_days": 3},
                  {"rfq_line_id": rfq_lines[1], "declined": True}]})
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {f"lines.{rfq_lines[0]}.unit_price", f"lines.{rfq_lines[1]}.decline_reason"}
    assert db.session.query(QuoteVersion).count() == before


def test_quote_draft_then_submit_and_withdraw(client, docs, token_for):
    w = docs.world
    h = token_for(w.sales_b)
    a, b = (ln.id for ln in docs.rfq.lines)
    draft = client.post(f"/api/v1/rfqs/{docs.rfq.id}/quotes", headers=h, json={
        "submit": False, "valid_until": (utcnow() + timedelta(days=9)).date().isoformat(),
        "lines": [{"rfq_line_id": a, "unit_price": {"amount": "3.00", "currency": "EUR"}, "lead_time_days": 3},
                  {"rfq_line_id": b, "declined": True, "reason": "Not our range"}]})
    assert draft.status_code == 201
    body = draft.get_json()
    assert body["status"] == "draft" and body["version"] == 0 and body["draft_version"] == 1
    # the buyer does not see a draft
    assert client.get(f"/api/v1/quotes/{body['id']}", headers=token_for(w.procurement)).status_code == 404
    sub = client.post(f"/api/v1/quotes/{body['id']}/submit", headers=h, json={})
    assert sub.status_code == 200 and sub.get_json()["status"] == "submitted" and sub.get_json()["version"] == 1
    stale = client.post(f"/api/v1/quotes/{body['id']}/withdraw", headers=h,
                        json={"reason": "Mistake", "lock_version": 1})
    assert stale.status_code == 409
    wd = client.post(f"/api/v1/quotes/{body['id']}/withdraw", headers=h, json={"reason": "Mistake"})
    assert wd.status_code == 200 and wd.get_json()["status"] == "withdrawn"
    again = client.post(f"/api/v1/quotes/{body['id']}/withdraw", headers=h, json={"reason": "Mistake"})
    assert again.status_code == 409


def test_incomplete_quote_is_saved_as_draft_but_not_submitted(client, docs, token_for):
    w = docs.world
    a = docs.rfq.lines[0].id
    r = client.post(f"/api/v1/rfqs/{docs.rfq.id}/quotes", headers=token_for(w.sales_b), json={
        "valid_until": (utcnow() + timedelta(days=9)).date().isoformat(),
        "lines": [{"rfq_line_id": a, "unit_price": {"amount": "3.00", "currency": "EUR"}, "lead_time_days": 3}]})
    assert r.status_code == 422 and "saved but not submitted" in r.get_json()["detail"]


def test_patch_rfq_changes_fields_and_lines(client, world, token_for):
    h = token_for(world.procurement)
    rfq = client.post("/api/v1/rfqs", headers=h, json={
        "title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
        "lines": [{"description": "Bolt", "quantity": "1"}, {"description": "Nut", "quantity": "2"}]}).get_json()
    a, b = (ln["id"] for ln in rfq["lines"])
    r = client.patch(f"/api/v1/rfqs/{rfq['id']}", headers=h, json={
        "title": "Fasteners", "lock_version": rfq["lock_version"],
        "lines": [{"id": a, "quantity": "5"}, {"id": b, "delete": True}, {"description": "Washer", "quantity": "9"}],
        "supplier_company_ids": [world.supplier_a.id]})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["title"] == "Fasteners" and body["supplier_company_ids"] == [world.supplier_a.id]
    assert [(ln["description"], ln["quantity"]) for ln in body["lines"]] == [("Bolt", "5"), ("Washer", "9")]
    stale = client.patch(f"/api/v1/rfqs/{rfq['id']}", headers=h, json={"title": "Old", "lock_version": rfq["lock_version"]})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"


def test_illegal_transitions_are_409(client, docs, token_for):
    w = docs.world
    h = token_for(w.procurement)
    assert client.post(f"/api/v1/rfqs/{docs.rfq.id}/publish", headers=h, json={}).status_code == 409
    assert client.post(f"/api/v1/rfqs/{docs.closed.id}/close", headers=h, json={}).status_code == 409
    # award while open
    r = client.post(f"/api/v1/rfqs/{docs.rfq.id}/award", headers=h, json={"quote_id": docs.quote.id})
    assert r.status_code == 409
    # order: submitting a shipped order
    r = client.post(f"/api/v1/orders/{docs.order.id}/submit", headers=h, json={})
    assert r.status_code == 409 and r.get_json()["title"]


def test_stale_order_lock_version_is_409_and_absent_means_current(client, world, token_for):
    from tests import factories

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft")
    h = token_for(world.procurement)
    r = client.post(f"/api/v1/orders/{o.id}/cancel", headers=h, json={"reason": "x", "lock_version": o.lock_version + 5})
    assert r.status_code == 409
    r = client.post(f"/api/v1/orders/{o.id}/cancel", headers=h, json={"reason": "Not needed"})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled" and r.get_json()["cancel_reason"]


def test_acknowledge_with_a_change_proposal_and_buyer_decision(client, world, token_for):
    from tests import factories

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    lines = [ln.id for ln in o.lines]
    r = client.post(f"/api/v1/orders/{o.id}/acknowledge", headers=token_for(world.sales_a), json={
        "lines": [{"order_line_id": lines[0], "decision": "change", "quantity": "80", "note": "Short stock"},
                  {"order_line_id": lines[1], "decision": "accept"}]})
    assert r.status_code == 200 and r.get_json()["status"] == "change_proposed"
    assert r.get_json()["lines"][0]["proposed_quantity"] == "80"
    r = client.post(f"/api/v1/orders/{o.id}/accept-changes", headers=token_for(world.procurement), json={})
    assert r.status_code == 200 and r.get_json()["status"] == "acknowledged"


def test_credit_hold_release_through_the_api(client, world, token_for, run_jobs):
    from portal.credit import services as credit_services
    from tests import factories

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft",
                        lines=[("100", "100.00")])
    hb = token_for(world.procurement)
    assert client.post(f"/api/v1/orders/{o.id}/submit", headers=hb, json={}).status_code == 200
    credit_services.save_account(world.accounts_a, world.buyer.id, limit_amount="10.00", currency="EUR",
                                 payment_terms_days=30, block_on_overdue=True)
    run_jobs()
    ha = token_for(world.accounts_a)
    holds = client.get("/api/v1/credit-holds", headers=ha).get_json()["items"]
    assert [h["order"]["id"] for h in holds] == [o.id] and holds[0]["order"]["status"] == "credit_hold"
    assert client.post(f"/api/v1/orders/{o.id}/release", headers=ha, json={}).status_code == 422
    r = client.post(f"/api/v1/orders/{o.id}/release", headers=ha, json={"comment": "Known customer"})
    assert r.status_code == 200 and r.get_json()["status"] == "placed"
    accounts = client.get("/api/v1/credit-accounts", headers=ha).get_json()
    row = [a for a in accounts["items"] if a["buyer_company_id"] == world.buyer.id][0]
    assert row["limit"] == {"amount": "10.00", "currency": "EUR"} and row["reserved"]["amount"] == "10000.00"


# --------------------------------------------------------------------------------------------- idempotency

def test_idempotent_retry_returns_the_first_response_and_creates_nothing(client, world, token_for):
    from portal.rfq.models import Rfq

    h = {**token_for(world.procurement), "Idempotency-Key": "erp-4711"}
    body = {"title": "x", "deadline": (utcnow() + timedelta(days=2)).isoformat(),
            "lines": [{"description": "Bolt", "quantity": "1"}]}
    first = client.post("/api/v1/rfqs", headers=h, json=body)
    second = client.post("/api/v1/rfqs", headers=h, json=body)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"] and second.headers.get("Idempotent-Replayed")
    assert db.session.query(Rfq).count() == 1
    other = client.post("/api/v1/rfqs", headers=h, json={**body, "title": "y"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    assert db.session.query(Rfq).count() == 1


def test_idempotent_order_shipment_payment(client, docs, token_for):
    from portal.invoices.models import Payment
    from portal.orders.models import PurchaseOrder, Shipment
    from tests import factories

    w = docs.world
    factories.catalog_item(w.supplier_a, sku="IDEM-1", price="1.00")
    hb = {**token_for(w.procurement), "Idempotency-Key": "order-1"}
    body = {"supplier_id": w.supplier_a.id, "lines": [{"sku": "IDEM-1", "quantity": "3"}]}
    n = db.session.query(PurchaseOrder).count()
    ids = {client.post("/api/v1/orders", headers=hb, json=body).get_json()["id"] for _ in range(2)}
    assert len(ids) == 1 and db.session.query(PurchaseOrder).count() == n + 1

    o = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged")
    hs = {**token_for(w.sales_a), "Idempotency-Key": "ship-1"}
    sbody = {"lines": [{"order_line_id": o.lines[0].id, "quantity": "10"}]}
    n = db.session.query(Shipment).count()
    ids = {client.post(f"/api/v1/orders/{o.id}/shipments", headers=hs, json=sbody).get_json()["id"] for _ in range(2)}
    assert len(ids) == 1 and db.session.query(Shipment).count() == n + 1

    ha = {**token_for(w.accounts_a), "Idempotency-Key": "pay-1"}
    pbody = {"amount": {"amount": "1.00", "currency": "EUR"}, "date": utcnow().date().isoformat(), "reference": "R"}
    codes = [client.post(f"/api/v1/invoices/{docs.invoice.id}/payments", headers=ha, json=pbody).status_code
             for _ in range(2)]
    assert codes == [201, 201] and db.session.query(Payment).count() == 1


# --------------------------------------------------------------------------------------------- award

def test_whole_award_creates_one_order_and_second_award_is_409(client, docs, token_for):
    h = token_for(docs.world.procurement)
    r = client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json={"quote_id": docs.qb.id})
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["award"]["mode"] == "whole" and [o["supplier_company_id"] for o in body["orders"]] == [
        docs.world.supplier_b.id]
    again = client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json={"quote_id": docs.qa.id})
    assert again.status_code == 409
    got = client.get(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h).get_json()
    assert [o["id"] for o in got["orders"]] == [o["id"] for o in body["orders"]]


def test_award_needs_quote_id_or_lines(client, docs, token_for):
    h = token_for(docs.world.procurement)
    assert client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json={}).status_code == 422
    both = {"quote_id": docs.qa.id, "lines": [{"rfq_line_id": docs.closed.lines[0].id, "quote_id": docs.qa.id}]}
    assert client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json=both).status_code == 422


def test_award_stands_when_orders_fail_and_the_orders_can_be_retried(client, docs, token_for, monkeypatch):
    from portal.errors import ValidationFailed
    from portal.orders import services as order_services

    real = order_services.create_orders_from_award

    def broken(award_id, actor):
        raise ValidationFailed("Ordering is down for maintenance.")

    monkeypatch.setattr(order_services, "create_orders_from_award", broken)
    h = token_for(docs.world.procurement)
    r = client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json={"quote_id": docs.qa.id})
    assert r.status_code == 201
    body = r.get_json()
    assert body["orders"] == [] and body["orders_error"]["detail"] == "Ordering is down for maintenance."
    assert body["award"]["id"]
    monkeypatch.setattr(order_services, "create_orders_from_award", real)
    retry = client.post(f"/api/v1/rfqs/{docs.closed.id}/award/orders", headers=h)
    assert retry.status_code == 201 and len(retry.get_json()["orders"]) == 1
    twice = client.post(f"/api/v1/rfqs/{docs.closed.id}/award/orders", headers=h)
    assert [o["id"] for o in twice.get_json()["orders"]] == [o["id"] for o in retry.get_json()["orders"]]


@pytest.mark.postgres
def test_concurrent_awards_one_wins(app, docs, token_for):
    import threading

    headers = [token_for(docs.world.procurement, f"t{i}") for i in range(4)]
    rfq_id, quote_ids = docs.closed.id, [docs.qa.id, docs.qb.id]
    barrier = threading.Barrier(len(headers))
    codes = []

    def worker(i):
        with app.app_context():
            c = app.test_client()
            barrier.wait()
            r = c.post(f"/api/v1/rfqs/{rfq_id}/award", headers=headers[i], json={"quote_id": quote_ids[i % 2]})
            codes.append(r.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(headers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409, 409, 409], codes
    from portal.orders.models import PurchaseOrder
    from portal.quotes.models import Award

    db.session.expire_all()
    assert db.session.query(Award).count() == 1 and db.session.query(PurchaseOrder).filter(
        PurchaseOrder.award_id.isnot(None)).count() == 1


# --------------------------------------------------------------------------------------------- jobs, pdf

def test_pdf_of_a_buyer_and_job_visibility(client, docs, token_for, run_jobs):
    w = docs.world
    # the job is the issuer's: another supplier person without admin role cannot see it
    other = __import__("tests.factories", fromlist=["user"]).user(w.supplier_a, "accounts", email="acc2@alpha.test")
    assert client.get(f"/api/v1/jobs/{docs.job.id}", headers=token_for(other)).status_code == 404
    assert client.get(f"/api/v1/jobs/{docs.job.id}", headers=token_for(w.admin_a)).status_code == 200
    pending = client.get(f"/api/v1/invoices/{docs.invoice.id}/pdf", headers=token_for(w.buyer_accounts))
    body = pending.get_json()
    assert pending.status_code == 202 and body["links"] is None and body["id"] is None  # not the buyer's job
    run_jobs()
    pdf = client.get(f"/api/v1/invoices/{docs.invoice.id}/pdf", headers=token_for(w.buyer_accounts))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-") and pdf.headers["X-Content-SHA256"]


def test_notifications_are_the_token_users_own(client, docs, token_for):
    w = docs.world
    assert client.post(f"/api/v1/notifications/{docs.notification.id}/read",
                       headers=token_for(w.procurement2)).status_code == 404
    mine = client.get("/api/v1/notifications", headers=token_for(w.procurement)).get_json()
    assert docs.notification.id in [n["id"] for n in mine["items"]]
    theirs = client.get("/api/v1/notifications", headers=token_for(w.procurement2)).get_json()
    assert docs.notification.id not in [n["id"] for n in theirs["items"]]


def test_openapi_describes_bodies(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/rfqs"]["post"]
    assert "requestBody" in post and "201" in post["responses"]
    assert "/api/v1/invoices/{inv_id}/pdf" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert schemas["RfqLineIn"]["properties"]["quantity"]["type"] == "string"


def test_too_large_body_is_413_problem(client, world, token_for, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement),
                    json={"title": "x" * 5000, "deadline": "2030-01-01T00:00:00+00:00"})
    assert r.status_code == 413 and r.mimetype == "application/problem+json"


def test_unknown_fields_are_422(client, world, token_for):
    r = client.post("/api/v1/rfqs", headers=token_for(world.procurement),
                    json={"title": "x", "deadline": "2030-01-01T00:00:00+00:00", "colour": "red"})
    assert r.status_code == 422 and "colour" in r.get_json()["errors"]


def test_huge_ids_are_404_or_422_never_500(client, docs, token_for):
    h = token_for(docs.world.procurement)
    assert client.get("/api/v1/rfqs/99999999999999999999", headers=h).status_code == 404
    r = client.post(f"/api/v1/rfqs/{docs.closed.id}/award", headers=h, json={"quote_id": 2**63})
    assert r.status_code == 422 and "quote_id" in r.get_json()["errors"]


def test_pending_pdf_job_has_iso_timestamps(client, docs, token_for):
    r = client.get(f"/api/v1/invoices/{docs.invoice.id}/pdf", headers=token_for(docs.world.accounts_a))
    body = r.get_json()
    assert r.status_code == 202 and r.headers["Retry-After"] and body["links"]["self"].endswith(f"/{docs.job.id}")
    assert "T" in body["created_at"] and body["created_at"][-6] in "+-"
