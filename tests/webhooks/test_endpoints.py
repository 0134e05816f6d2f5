"""Managing webhook endpoints: who may, what is refused with a sentence, and the address rules."""
from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.webhooks import outbound
from portal.webhooks import services as hooks
from portal.webhooks.models import WebhookEndpoint


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def problem(r, status):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    assert r.mimetype == "application/problem+json"
    return r.get_json()


NEW = {"url": "https://erp.example.com/hooks", "event_types": ["order.placed"]}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """erp.example.com resolves to a public address; internal.example.com to a private one."""
    real = socket.getaddrinfo

    def fake(host, port, *a, **kw):
        if host == "erp.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real(host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_only_admins_manage_endpoints_and_other_companies_get_404(client, world, token_for):
    admin_a, sales_a, admin_b = token_for(world.admin_a), token_for(world.sales_a), token_for(world.admin_b)
    assert problem(client.post("/api/v1/webhook-endpoints", headers=sales_a, json=NEW), 403)["detail"]
    ep = ok(client.post("/api/v1/webhook-endpoints", headers=admin_a, json=NEW), 201)
    assert ok(client.get("/api/v1/webhook-endpoints", headers=admin_a))["items"][0]["id"] == ep["id"]
    assert ok(client.get("/api/v1/webhook-endpoints", headers=admin_b))["items"] == []
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate-secret"),
                         ("get", "/deliveries")]:
        r = getattr(client, method)(f"/api/v1/webhook-endpoints/{ep['id']}{path}", headers=admin_b,
                                    **({"json": {}} if method in ("patch", "post") else {}))
        assert problem(r, 404)["detail"] == "No such webhook endpoint.", (method, path)
    assert db.session.get(WebhookEndpoint, ep["id"]) is not None


@pytest.mark.parametrize("url, words", [
    ("ftp://erp.example.com/x", "https://"),
    ("https://user:pw@erp.example.com/x", "https://"),
    ("http://127.0.0.1:8080/x", "loopback, private or reserved"),
    ("http://[::1]/x", "loopback, private or reserved"),
    ("http://169.254.169.254/latest/meta-data", "loopback, private or reserved"),
    ("http://10.0.0.7/x", "loopback, private or reserved"),
    ("http://localhost:5000/x", "localhost"),
    ("not a url", "https://"),
])
def test_bad_or_internal_urls_are_refused_with_a_sentence(client, world, token_for, url, words):
    body = problem(client.post("/api/v1/webhook-endpoints", headers=token_for(world.admin_a),
                               json={**NEW, "url": url}), 422)
    assert words in str(body), body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_unknown_event_types_and_unknown_fields_are_refused(client, world, token_for):
    admin = token_for(world.admin_a)
    assert problem(client.post("/api/v1/webhook-endpoints", headers=admin,
                               json={**NEW, "event_types": ["order.exploded"]}), 422)
    assert problem(client.post("/api/v1/webhook-endpoints", headers=admin, json={**NEW, "event_types": []}), 422)
    assert problem(client.post("/api/v1/webhook-endpoints", headers=admin, json={**NEW, "colour": "red"}), 422)


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery():
    with pytest.raises(outbound.RefusedAddress, match="10.1.2.3"):
        outbound.resolve("internal.example.com", 443)
    assert outbound.resolve("erp.example.com", 443) == "93.184.216.34"


def test_private_addresses_are_allowed_only_with_the_setting(app, monkeypatch):
    with pytest.raises(outbound.RefusedAddress):
        outbound.resolve("127.0.0.1", 80)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", True)
    assert outbound.resolve("127.0.0.1", 80) == "127.0.0.1"
    assert outbound.check_url("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from portal.config import load_config

    monkeypatch.delenv("PORTAL_WEBHOOK_ALLOW_PRIVATE_URLS", raising=False)
    assert load_config(str(tmp_path))["WEBHOOK_ALLOW_PRIVATE_URLS"] is False
    monkeypatch.setenv("PORTAL_WEBHOOK_ALLOW_PRIVATE_URLS", "1")
    assert load_config(str(tmp_path))["WEBHOOK_ALLOW_PRIVATE_URLS"] is True


def test_patch_checks_lock_version_and_disabling_stops_deliveries(client, world, token_for):
    admin = token_for(world.admin_a)
    ep = ok(client.post("/api/v1/webhook-endpoints", headers=admin, json=NEW), 201)
    changed = ok(client.patch(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin,
                              json={"event_types": ["*"], "lock_version": ep["lock_version"]}))
    assert changed["event_types"] == ["*"] and changed["lock_version"] == ep["lock_version"] + 1
    stale = problem(client.patch(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin,
                                 json={"enabled": False, "lock_version": ep["lock_version"]}), 409)
    assert "reload" in stale["detail"]
    off = ok(client.patch(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin, json={"enabled": False}))
    assert off["enabled"] is False and off["disabled_reason"]
    on = ok(client.patch(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin, json={"enabled": True}))
    assert on["enabled"] is True and on["disabled_reason"] is None and on["failing_since"] is None


def test_a_disabled_endpoint_gets_no_new_deliveries_and_cannot_redeliver(client, world, token_for):
    from portal.events.services import emit
    from portal.webhooks.models import WebhookDelivery
    from tests import factories

    admin = token_for(world.admin_a)
    ep = ok(client.post("/api/v1/webhook-endpoints", headers=admin, json={**NEW, "event_types": ["*"]}), 201)
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    emit([world.supplier_a.id], "order.placed", order)
    db.session.commit()
    (d,) = db.session.scalars(sa.select(WebhookDelivery))
    ok(client.patch(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin, json={"enabled": False}))
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, d.id).status.value == "failed"
    emit([world.supplier_a.id], "order.changed", order)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1
    r = client.post(f"/api/v1/webhook-endpoints/{ep['id']}/deliveries/{d.id}/redeliver", headers=admin, json={})
    assert "enable it" in problem(r, 409)["detail"]


def test_delete_removes_the_endpoint_and_its_log(client, world, token_for):
    admin = token_for(world.admin_a)
    ep = ok(client.post("/api/v1/webhook-endpoints", headers=admin, json=NEW), 201)
    assert client.delete(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin).status_code == 204
    assert problem(client.get(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin), 404)


def test_signatures_match_the_reference_library():
    """Our signer and standardwebhooks agree byte for byte (the reference library signs the same content)."""
    from datetime import datetime, timezone

    from standardwebhooks.webhooks import Webhook

    from portal.webhooks.signing import new_secret, sign

    secret = new_secret()
    body = b'{"type":"order.placed","data":{"id":1}}'
    ts = 1_700_000_000
    ours = sign(secret, "evt_1", ts, body)
    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    assert ours == theirs


def test_the_retry_schedule_spans_more_than_a_day():
    from datetime import timedelta

    assert hooks.total_retry_span() >= timedelta(hours=24)
    assert hooks.SCHEDULE == sorted(hooks.SCHEDULE)
