"""One structured line per request and per job; the request id travels from the request into its jobs."""
from __future__ import annotations

import json
import logging

from rq import Queue

from portal.ops.logs import JsonFormatter, TextFormatter


def test_one_line_per_request_with_route_template_and_ids(world, login, ops_logs):
    c = login(world.procurement)
    resp = c.get("/orders/999999")
    line = ops_logs("request")[-1].fields
    assert line["method"] == "GET" and line["route"] == "/orders/<int:order_id>"
    assert line["status"] == resp.status_code == 404
    assert line["user_id"] == world.procurement.id and line["company_id"] == world.buyer.id
    assert line["request_id"] == resp.headers["X-Request-ID"] and len(line["request_id"]) == 32
    assert line["duration_ms"] >= 0


def test_the_json_line_is_json_with_ids_only(world, login, ops_logs):
    c = login(world.procurement)
    c.get("/")
    rec = ops_logs("request")[-1]
    out = json.loads(JsonFormatter().format(rec))
    assert {"ts", "level", "logger", "msg", "method", "route", "status", "duration_ms", "user_id", "company_id",
            "request_id"} <= set(out)
    assert world.procurement.email not in json.dumps(out)  # no personal data beyond ids


def test_text_lines_in_development(world, client, ops_logs):
    client.get("/healthz", headers={"X-Request-ID": "proxy-abc-123456"})
    line = TextFormatter().format(ops_logs("request")[-1])
    assert "GET /healthz 200" in line and "rid=proxy-abc-12" in line
    assert not line.startswith("{")


def test_a_proxys_request_id_is_kept_and_garbage_is_replaced(client, ops_logs):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-0123456789"}).headers["X-Request-ID"] == \
        "lb-0123456789"
    evil = client.get("/healthz", headers={"X-Request-ID": "x\" injected=1"}).headers["X-Request-ID"]
    assert evil != "x\" injected=1" and len(evil) == 32


def test_unauthenticated_and_unmatched_requests_are_logged_too(client, ops_logs):
    resp = client.get("/no/such/page")
    line = ops_logs("request")[-1].fields
    assert line["route"] == "(unmatched)" and line["status"] == resp.status_code == 404
    assert line["user_id"] is None and line["company_id"] is None


def test_the_request_id_is_carried_into_the_job_it_enqueued(app, world, login, ops_logs, run_jobs):
    c = login(world.buyer_admin)
    resp = c.post("/company/members/export")
    rid = resp.headers["X-Request-ID"]
    conn = app.extensions["portal_redis"]
    job = Queue("default", connection=conn).jobs[0]
    assert job.meta["request_id"] == rid
    run_jobs(["default"])
    lines = [r.fields for r in ops_logs("job")]
    assert lines, "no job line"
    line = lines[-1]
    assert line["request_id"] == rid and line["queue"] == "default" and line["outcome"] == "succeeded"
    assert line["func"] == "portal.accounts.jobs.export_members_job" and line["job_id"] == job.id
    assert line["duration_ms"] > 0


def test_a_failing_job_logs_its_outcome(app, ops_logs, caplog):
    from portal.jobs.queue import task

    @task()
    def broken():
        raise ValueError("no")

    try:
        broken()
    except ValueError:
        pass
    line = ops_logs("job")[-1]
    assert line.fields["outcome"] == "failed" and line.levelno == logging.WARNING
