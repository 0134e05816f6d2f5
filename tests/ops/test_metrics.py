"""/metrics: only with a token, Prometheus text, requests per route, jobs and queues, business counts."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.jobs.queue import enqueue_rq

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def token(app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield TOKEN
    app.config["METRICS_TOKEN"] = ""


def scrape(client, token=TOKEN) -> dict:
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.data
    assert resp.content_type.startswith("text/plain; version=")
    out = {}
    for fam in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_no_token_configured_no_metrics(client):
    assert client.get("/metrics").status_code == 404


def test_a_wrong_or_missing_token_is_refused(client, token):
    assert client.get("/metrics").status_code == 401
    resp = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_requests_are_counted_per_route_template(client, token):
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/orders/424242")
    after = scrape(client)
    key = dict(method="GET", route="/healthz", status="200")
    assert value(after, "portal_http_requests_total", **key) - value(before, "portal_http_requests_total",
                                                                        **key) == 3
    assert value(after, "portal_http_request_duration_seconds_count", method="GET", route="/healthz") >= 3
    routes = {dict(k[1]).get("route") for k in after}
    assert "/orders/<int:order_id>" in routes and "/orders/424242" not in routes


def test_queue_depth_age_and_job_outcomes(app, client, token, run_jobs):
    conn = app.extensions["portal_redis"]
    enqueue_rq(conn, "portal.jobs.periodic.tick", [], queue="timed", job_id="ops-metrics-tick")
    s = scrape(client)
    assert value(s, "portal_queue_depth", queue="timed") == 1
    assert value(s, "portal_queue_oldest_job_age_seconds", queue="timed") >= 0
    assert value(s, "portal_queue_depth", queue="mail") == 0
    run_jobs(["timed"])
    s = scrape(client)
    assert value(s, "portal_queue_depth", queue="timed") == 0
    assert value(s, "portal_jobs_total", queue="timed", outcome="succeeded") == 1
    assert value(s, "portal_job_duration_seconds_count", queue="timed") == 1
    assert value(s, "portal_metrics_redis_up") == 1


def test_business_counts_come_from_the_documents(world, client, token):
    from portal.credit.models import CreditCheck
    from portal.db import db
    from tests import factories

    s = scrape(client)
    assert value(s, "portal_orders_on_credit_hold") == 0 and value(s, "portal_invoices_issued_total") == 0
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="credit_hold")
    db.session.add(CreditCheck(order_id=o.id, provider="builtin", outcome="hold", reason="limit",
                               currency="EUR"))
    db.session.commit()
    s = scrape(client)
    assert value(s, "portal_orders_on_credit_hold") == 1 and value(s, "portal_credit_holds_total") == 1


def test_pdfs_rendered_are_counted(app, client, token):
    from portal.documents.render import html_to_pdf

    before = value(scrape(client), "portal_pdfs_rendered_total")
    assert html_to_pdf("<p>One page</p>").startswith(b"%PDF")
    # kept in Redis: every web host reports the PDFs every worker rendered
    assert value(scrape(client), "portal_pdfs_rendered_total") == before + 1


def test_webhook_deliveries_are_counted_per_outcome(app, client, token):
    from portal.ops.metrics import webhook_delivery

    webhook_delivery("delivered")
    webhook_delivery("delivered")
    webhook_delivery("failed")
    s = scrape(client)
    assert value(s, "portal_webhook_deliveries_total", outcome="delivered") == 2
    assert value(s, "portal_webhook_deliveries_total", outcome="failed") == 1
