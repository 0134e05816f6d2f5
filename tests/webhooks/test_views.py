"""The Webhooks settings pages (administrators): add (secret shown once), log, send again, disable/enable,
rotate, remove; other people get 403, other companies 404."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import issue_invoice

pytestmark = pytest.mark.usefixtures("allow_private")


def test_an_admin_adds_an_endpoint_sees_the_secret_once_and_reads_the_log(login, shipped, receiver, run_jobs):
    w = shipped.world
    c = login(w.admin_a)
    assert "Add an endpoint" in c.get("/settings/webhooks/").get_data(as_text=True)
    r = c.post("/settings/webhooks/", data={"url": receiver.url, "description": "SAP",
                                            "event_types": ["invoice.issued", "invoice.paid"]})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "shown only once" in page and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", page).group(0)
    ep = db.session.scalar(sa.select(WebhookEndpoint))
    assert ep.secret == secret and ep.event_types == ["invoice.issued", "invoice.paid"]
    detail = c.get(f"/settings/webhooks/{ep.id}").get_data(as_text=True)
    assert secret not in detail and "Nothing sent yet" in detail

    receiver.use_secret(secret)
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    detail = c.get(f"/settings/webhooks/{ep.id}").get_data(as_text=True)
    assert "invoice.issued" in detail and "204" in detail and 'data-state="succeeded"' in detail
    d = db.session.scalar(sa.select(WebhookDelivery))
    one = html.unescape(c.get(f"/settings/webhooks/{ep.id}/deliveries/{d.id}").get_data(as_text=True))
    assert '"type": "invoice.issued"' in one and "ms" in one

    r = c.post(f"/settings/webhooks/{ep.id}/deliveries/{d.id}/redeliver")
    assert r.status_code == 302
    run_jobs(queues=["webhooks"])
    assert len(receiver.requests()) == 2 and all(x["verified"] for x in receiver.requests())

    r = c.post(f"/settings/webhooks/{ep.id}/rotate", data={})
    new = re.search(r"whsec_[A-Za-z0-9+/=]+", r.get_data(as_text=True)).group(0)
    assert new != secret
    c.post(f"/settings/webhooks/{ep.id}/disable", data={})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, ep.id).enabled is False
    assert "Enable again" in c.get(f"/settings/webhooks/{ep.id}").get_data(as_text=True)
    c.post(f"/settings/webhooks/{ep.id}/enable", data={})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, ep.id).enabled is True
    c.post(f"/settings/webhooks/{ep.id}/delete")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_bad_input_is_a_sentence_beside_the_form(login, world):
    c = login(world.admin_a)
    page = c.post("/settings/webhooks/", data={"url": "javascript:alert(1)", "event_types": ["*"]}).get_data(
        as_text=True)
    assert "https://" in page and db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0
    page = c.post("/settings/webhooks/", data={"url": "http://127.0.0.1:1/x"}).get_data(as_text=True)
    assert "at least one event type" in page


def test_only_admins_and_only_their_company(login, world):
    admin_a = login(world.admin_a)
    admin_a.post("/settings/webhooks/", data={"url": "http://127.0.0.1:9/x", "event_types": ["*"]})
    ep = db.session.scalar(sa.select(WebhookEndpoint))
    assert login(world.sales_a).get("/settings/webhooks/").status_code == 403
    other = login(world.admin_b)
    assert other.get(f"/settings/webhooks/{ep.id}").status_code == 404
    assert other.post(f"/settings/webhooks/{ep.id}/delete").status_code == 404
    assert other.post(f"/settings/webhooks/{ep.id}/rotate", data={}).status_code == 404
    assert db.session.get(WebhookEndpoint, ep.id) is not None
