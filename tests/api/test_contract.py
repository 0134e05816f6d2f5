"""The OpenAPI contract: the live document is valid OpenAPI 3.1 and every operation carries the conventions
(operationId, summary, tags, declared problem+json answers, Idempotency-Key on writes, Location on 201, required
lists, one Money schema, decimal strings with a pattern, named enums) — including operations added later, which
get them from the blueprint without asking. And the request rules behind them: unknown query parameters 400,
a body in another content type 415, malformed JSON 400, idempotent replays."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask

from portal.db import utcnow

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def spec(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, op


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        _, section, kind, name = node["$ref"].split("/")
        node = spec[section][kind][name]
    return node


def test_the_live_document_passes_openapi_spec_validator(spec):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: F401

    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any error


def test_every_operation_has_an_operation_id_summary_tag_and_its_problem_answers(spec):
    ids = []
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", op.get("operationId", "")), where
        ids.append(op["operationId"])
        assert op.get("summary", "").strip(), f"{where}: give the view a docstring"
        assert op.get("tags") and not op["tags"][0].startswith("api_"), where
        statuses = set(op["responses"])
        must = {"400", "401", "403", "429"}
        if "{" in path or method in WRITES:
            must.add("404")
        if "{" in path:
            must.add("405")
        if method in WRITES:
            must |= {"409", "413", "422"}
        if "requestBody" in op:
            must.add("415")
        if any(p.get("in") == "query" for p in op.get("parameters", [])):
            must.add("422")
        assert must <= statuses, f"{where}: undeclared {sorted(must - statuses)}"
        assert "default" not in statuses, where  # every status is named; no catch-all hides one
        for status, resp in op["responses"].items():
            resp = resolve(spec, resp)
            if status.startswith(("4", "5")):
                assert list(resp["content"]) == ["application/problem+json"], f"{where} {status}"
                assert resp["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if status == "429":
                assert resp["headers"]["Retry-After"]["required"] is True
            if status.startswith("2"):
                assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(resp["headers"]), where
            if status == "201":
                assert resolve(spec, resp["headers"]["Location"])["required"] is True, where
                assert resp.get("links"), f"{where}: a created resource links to what can be done with it"
            if status == "202":
                assert "Retry-After" in resp["headers"], where
        params = [resolve(spec, p) for p in op.get("parameters", [])]
        if method in WRITES:
            assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params), where
    assert len(ids) == len(set(ids)), "operationIds are unique"
    assert {"listOrders", "issueInvoice", "createRfq", "awardRfq", "downloadInvoicePdf", "recordPayment"} <= set(ids)


def test_binary_download_and_job_answers_are_declared(spec):
    op = spec["paths"]["/api/v1/invoices/{inv_id}/pdf"]["get"]
    assert op["responses"]["200"]["content"] == {"application/pdf": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}
    assert op["responses"]["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}


def test_response_schemas_list_their_required_fields(spec):
    schemas = spec["components"]["schemas"]
    for name in ("RfqOut", "QuoteOut", "OrderOut", "InvoiceOut", "ShipmentOut", "Job", "Problem", "Money",
                 "OrderPage", "ComparisonOut", "AwardResultOut", "CreditAccountOut"):
        sch = schemas[name]
        assert set(sch.get("required", [])) | set(getattr_optional(name)) == set(sch["properties"]), name
    # buyer-only and supplier-only fields are the only ones left out
    assert set(schemas["RfqOut"]["properties"]) - set(schemas["RfqOut"]["required"]) == {
        "supplier_company_ids", "quote_count", "outcome"}


def getattr_optional(name):
    return {"RfqOut": ("supplier_company_ids", "quote_count", "outcome")}.get(name, ())


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def test_money_is_one_schema_and_decimals_are_patterned_strings(spec):
    schemas = spec["components"]["schemas"]
    money = schemas["Money"]
    assert money["required"] == ["amount", "currency"]
    assert money["properties"]["amount"]["format"] == "decimal"
    assert re.fullmatch(money["properties"]["amount"]["pattern"], "1234.50")
    assert not re.fullmatch(money["properties"]["amount"]["pattern"], "1e5")
    # no other schema has the amount+currency shape: money in (credit limit) and out (unit price) is Money
    others = [n for n, s in schemas.items() if n != "Money" and {"amount", "currency"} <= set(s.get("properties", {}))]
    assert others == []
    assert schemas["CreditAccountIn"]["properties"]["limit"] == {"$ref": "#/components/schemas/Money"}
    assert schemas["OrderLineOut"]["properties"]["unit_price"] == {"$ref": "#/components/schemas/Money"}
    nullable = schemas["QuoteLineOut"]["properties"]["unit_price"]
    assert nullable == {"anyOf": [{"$ref": "#/components/schemas/Money"}, {"type": "null"}]}
    # every decimal-looking property (quantities, rates, prices) is a decimal string with the pattern
    for name, sch in schemas.items():
        for prop, node in (sch.get("properties") or {}).items():
            if re.search(r"quantity$|^moq$|^pack_size$|^tax_rate$|^discount_percent$", prop):
                assert node.get("format") == "decimal" and node.get("pattern"), (name, prop, node)


def test_statuses_and_kinds_are_named_enums(spec):
    schemas = spec["components"]["schemas"]
    from portal.orders.states import OrderStatus

    assert schemas["OrderStatus"] == {"type": "string", "enum": [s.value for s in OrderStatus]}
    for name, prop, enum in [("OrderOut", "status", "OrderStatus"), ("RfqOut", "status", "RfqStatus"),
                             ("QuoteOut", "status", "QuoteStatus"), ("InvoiceOut", "status", "InvoiceStatus"),
                             ("InvoiceOut", "kind", "InvoiceKind"), ("Job", "status", "JobStatus"),
                             ("OrderLineOut", "ack", "LineAck"), ("Company", "kind", "CompanyKind")]:
        assert schemas[name]["properties"][prop]["$ref"] == f"#/components/schemas/{enum}", (name, prop)
    reason = schemas["InvoiceOut"]["properties"]["credit_reason"]
    assert reason["anyOf"] == [{"$ref": "#/components/schemas/CreditReason"}, {"type": "null"}]
    params = spec["paths"]["/api/v1/orders"]["get"]["parameters"]
    status = next(p for p in params if p["name"] == "status")
    assert status["schema"]["$ref"] == "#/components/schemas/OrderStatus"


def test_a_new_endpoint_gets_the_conventions_without_asking():
    """An endpoint another module adds (here on a throwaway app) is documented like the rest."""
    from marshmallow import Schema, fields

    from portal.api.common import created, make_blueprint
    from portal.api.spec import API_CONFIG, Api

    app = Flask("conventions")
    app.config.update(API_CONFIG)
    app.config["SERVER_NAME"] = "x.test"
    api = Api(app)
    bp = make_blueprint("api_widgets", "Widgets.")

    class WidgetIn(Schema):
        name = fields.String(required=True)

    class WidgetOut(Schema):
        id = fields.Integer()
        name = fields.String()

    @bp.route("/widgets", methods=["POST"])
    @created("api_widgets.get_widget", widget_id="id")
    @bp.arguments(WidgetIn)
    @bp.response(201, WidgetOut)
    def create_widget(data):
        """Make a widget."""

    @bp.route("/widgets/<int:widget_id>", methods=["GET"])
    @bp.response(200, WidgetOut)
    def get_widget(widget_id):
        """One widget."""

    api.register_blueprint(bp)
    spec = api.spec.to_dict()
    post = spec["paths"]["/api/v1/widgets"]["post"]
    assert post["operationId"] == "createWidget" and post["tags"] == ["Widgets"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "429"} <= set(post["responses"])
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in post["parameters"]
    assert post["responses"]["201"]["links"]["getWidget"] == {
        "operationId": "getWidget", "parameters": {"widget_id": "$response.body#/id"}}
    assert spec["components"]["schemas"]["WidgetOut"]["required"] == ["id", "name"]
    get = spec["paths"]["/api/v1/widgets/{widget_id}"]["get"]
    assert get["operationId"] == "getWidget" and "404" in get["responses"] and "409" not in get["responses"]


# ------------------------------------------------------------------------------------------ request rules

def _problem(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["detail"]
    return body


def test_unknown_query_parameters_are_refused(client, world, token_for):
    h = token_for(world.procurement)
    body = _problem(client.get("/api/v1/orders?statsu=placed", headers=h), 400)
    assert "statsu" in body["detail"] and "status" in body["detail"] and body["errors"] == {"statsu": "Unknown parameter."}
    _problem(client.get("/api/v1/orders/1?expand=lines", headers=h), 400)
    assert client.get("/api/v1/orders?status=placed&page=1", headers=h).status_code == 200


def test_a_json_body_in_another_content_type_is_415(client, world, token_for):
    h = token_for(world.procurement)
    resp = client.post("/api/v1/rfqs", headers=h, data='{"title": "x"}', content_type="text/plain")
    body = _problem(resp, 415)
    assert "application/json" in body["detail"]
    resp = client.post("/api/v1/rfqs", headers=h, data={"title": "x"})  # a form post
    _problem(resp, 415)


def test_malformed_json_is_a_problem_in_our_words(client, world, token_for):
    h = token_for(world.procurement)
    body = _problem(client.post("/api/v1/rfqs", headers=h, data='{"title": "x",}',
                                content_type="application/json"), 400)
    assert body["detail"].startswith("The request body is not valid JSON at line 1, column")
    assert body["title"] == "Malformed request"


def test_a_405_names_the_allowed_methods(client, world, token_for):
    """/rfqs/1%2Fpublish is /rfqs/1/publish to the router: PATCH there is 405 with Allow, as documented."""
    resp = client.patch("/api/v1/rfqs/1/publish", headers=token_for(world.procurement), json={})
    assert _problem(resp, 405) and "POST" in resp.headers["Allow"]


def test_rate_limit_headers_on_answers(client, world, token_for):
    resp = client.get("/api/v1/orders", headers=token_for(world.procurement))
    assert int(resp.headers["RateLimit-Limit"]) >= int(resp.headers["RateLimit-Remaining"]) >= 0
    assert int(resp.headers["RateLimit-Reset"]) >= 0


DEADLINE = (utcnow() + timedelta(days=3)).replace(microsecond=0).isoformat()


def _rfq_json(**over):
    return {"title": "Bolts", "deadline": DEADLINE, "currency": "EUR",
            "lines": [{"description": "Bolt", "quantity": "10", "unit": "pcs"}], **over}


def _count_rfqs():
    from portal.db import db
    from portal.rfq.models import Rfq

    db.session.expire_all()
    return db.session.query(Rfq).count()


def test_semantically_equal_json_is_a_replay(client, world, token_for):
    h = {**token_for(world.procurement), "Idempotency-Key": "rfq-001"}
    body = _rfq_json()
    first = client.post("/api/v1/rfqs", headers=h, data=json.dumps(body), content_type="application/json")
    assert first.status_code == 201 and first.headers["Location"] == f"/api/v1/rfqs/{first.get_json()['id']}"
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)
    again = client.post("/api/v1/rfqs", headers=h, data=reordered, content_type="application/json")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data() and again.content_type == first.content_type
    assert again.headers["Location"] == first.headers["Location"]
    assert _count_rfqs() == 1
    other = client.post("/api/v1/rfqs", headers=h, json=_rfq_json(title="Nuts"))
    assert _problem(other, 422)["errors"] == {"Idempotency-Key": "Reused with a different body."}


def test_a_key_belongs_to_its_token_method_and_path(client, world, token_for):
    h1 = {**token_for(world.procurement, "erp"), "Idempotency-Key": "same"}
    h2 = {**token_for(world.procurement, "other system"), "Idempotency-Key": "same"}
    body = _rfq_json(supplier_company_ids=[world.supplier_a.id])
    assert client.post("/api/v1/rfqs", headers=h1, json=body).status_code == 201
    # another token of the same person: its own key space -> a second RFQ
    second = client.post("/api/v1/rfqs", headers=h2, json=body)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert _count_rfqs() == 2
    # the same key on another path is another key
    rid = second.get_json()["id"]
    published = client.post(f"/api/v1/rfqs/{rid}/publish", headers=h2, json={})
    assert published.status_code == 200 and "Idempotent-Replayed" not in published.headers


def test_answers_of_an_executing_endpoint_are_stored_validation_before_it_is_not(client, world, token_for):
    h = {**token_for(world.procurement), "Idempotency-Key": "award-1"}
    # schema validation (before the endpoint runs): not stored, the key stays free
    bad = client.post("/api/v1/rfqs", headers=h, json={"title": "No deadline"})
    assert bad.status_code == 422 and "Idempotent-Replayed" not in bad.headers
    ok = client.post("/api/v1/rfqs", headers=h, json=_rfq_json(supplier_company_ids=[world.supplier_a.id]))
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers
    rid = ok.get_json()["id"]
    # a business refusal from the endpoint itself (closing a draft: 409) is stored and replayed as it was
    h2 = {**h, "Idempotency-Key": "close-1"}
    first = client.post(f"/api/v1/rfqs/{rid}/close", headers=h2, json={})
    assert first.status_code == 409 and first.mimetype == "application/problem+json"
    assert client.post(f"/api/v1/rfqs/{rid}/publish", headers=token_for(world.procurement), json={}).status_code == 200
    again = client.post(f"/api/v1/rfqs/{rid}/close", headers=h2, json={})
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.mimetype == "application/problem+json" and again.get_data() == first.get_data()


def test_a_bad_idempotency_key_is_400(client, world, token_for):
    h = {**token_for(world.procurement), "Idempotency-Key": "has space"}
    _problem(client.post("/api/v1/rfqs", headers=h, json=_rfq_json()), 400)
    h["Idempotency-Key"] = "x" * 201
    _problem(client.post("/api/v1/rfqs", headers=h, json=_rfq_json()), 400)
    assert _count_rfqs() == 0


def test_one_naming_scheme_and_the_old_names_still_read(client, world, token_for, spec):
    """supplier_company_id and lock_version everywhere in the document; the names used before still work."""
    text = json.dumps(spec)
    assert '"supplier_id"' not in text and '"supplier_ids"' not in text
    rfq_props = spec["components"]["schemas"]["RfqOut"]["properties"]
    assert "lock_version" in rfq_props and "version" not in rfq_props
    h = token_for(world.procurement)
    old = client.post("/api/v1/rfqs", headers=h, json=_rfq_json(supplier_ids=[world.supplier_a.id]))
    assert old.status_code == 201 and old.get_json()["supplier_company_ids"] == [world.supplier_a.id]
    rfq = old.get_json()
    stale = client.post(f"/api/v1/rfqs/{rfq['id']}/publish", headers=h, json={"version": rfq["lock_version"] + 5})
    assert stale.status_code == 409
    assert client.post(f"/api/v1/rfqs/{rfq['id']}/publish", headers=h,
                       json={"lock_version": rfq["lock_version"]}).status_code == 200
    factories_item = __import__("tests.factories", fromlist=["catalog_item"]).catalog_item
    factories_item(world.supplier_a, sku="OLD-1", price="1.00")
    assert client.get(f"/api/v1/catalog?supplier_id={world.supplier_a.id}", headers=h).status_code == 200
    assert client.get(f"/api/v1/catalog?supplier_company_id={world.supplier_a.id}", headers=h).status_code == 200


def test_an_upload_is_fingerprinted_by_its_fields_and_file_bytes(app):
    """Upload endpoints (multipart) get idempotency too: the same key with another file is another request."""
    import io

    from portal.api.auth import request_fingerprint

    def fingerprint(content: bytes, note="x"):
        with app.test_request_context("/api/v1/anything", method="POST", data={
                "note": note, "file": (io.BytesIO(content), "a.pdf", "application/pdf")}):
            from flask import request

            assert request.form["note"] == note  # already parsed, as the input filter does
            return request_fingerprint()

    assert fingerprint(b"%PDF-1") == fingerprint(b"%PDF-1")
    assert fingerprint(b"%PDF-1") != fingerprint(b"%PDF-2")
    assert fingerprint(b"%PDF-1") != fingerprint(b"%PDF-1", note="y")


def test_a_key_may_be_reused_after_a_day(client, world, token_for):
    import sqlalchemy as sa

    from portal.api.models import IdempotencyRecord
    from portal.db import db

    h = {**token_for(world.procurement), "Idempotency-Key": "daily-import"}
    assert client.post("/api/v1/rfqs", headers=h, json=_rfq_json()).status_code == 201
    db.session.execute(sa.update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    again = client.post("/api/v1/rfqs", headers=h, json=_rfq_json(title="Tomorrow's bolts"))
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _count_rfqs() == 2
