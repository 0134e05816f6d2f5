"""Job ids carry the installation's namespace: two portals on one Redis never take each other's jobs for their own."""
from __future__ import annotations

from flask import Flask
from rq import Queue

from portal.jobs.queue import enqueue_rq, namespace, rq_id
from portal.jobs.reconcile import ABSENT, WAITING, job_state

JOB = "portal.jobs.periodic.tick"


def installation(url: str, **config) -> Flask:
    other = Flask("another_portal")
    other.config["SQLALCHEMY_DATABASE_URI"] = url
    other.config.update(config)
    return other


def test_two_portals_sharing_one_redis_both_get_their_invoice_pdf_job(app):
    conn = app.extensions["portal_redis"]
    other = installation("postgresql+psycopg://db.example.com:5432/other_portal")
    with app.app_context():
        assert enqueue_rq(conn, JOB, [42], queue="documents", job_id="invoice-pdf-42")
    with other.app_context():
        assert enqueue_rq(conn, JOB, [42], queue="documents", job_id="invoice-pdf-42")  # not skipped as a double

    ids = Queue("documents", connection=conn).job_ids
    with app.app_context():
        mine = rq_id("invoice-pdf-42")
    with other.app_context():
        theirs = rq_id("invoice-pdf-42")
    assert sorted(ids) == sorted([mine, theirs]) and mine != theirs
    assert all(i.endswith("__invoice-pdf-42") for i in ids)

    # inside one portal a double enqueue stays harmless, and each reads only its own job's state
    with app.app_context():
        assert not enqueue_rq(conn, JOB, [42], queue="documents", job_id="invoice-pdf-42")
        assert job_state(conn, "invoice-pdf-42") == WAITING
    with other.app_context():
        Queue("documents", connection=conn).fetch_job(theirs).delete()
        assert job_state(conn, "invoice-pdf-42") == ABSENT  # the other portal's job is not taken for its own
    with app.app_context():
        assert job_state(conn, "invoice-pdf-42") == WAITING


def test_namespace_is_derived_from_the_database_and_can_be_set():
    def ns(url, **config):
        return namespace(installation(url, **config))

    a = ns("postgresql+psycopg://postgres@db.example.com:5432/portal")
    assert a.startswith("portal-") and len(a) == len("portal-") + 10
    # the same database however it is spelled (driver, user, password) -> the same namespace: web processes,
    # workers and the scheduler of one portal agree without configuration
    assert ns("postgresql://other:secret@db.example.com:5432/portal") == a
    assert ns("postgresql+psycopg://postgres@db.example.com:5432/portal_two") != a
    assert ns("postgresql+psycopg://postgres@db2.example.com:5432/portal") != a
    assert ns("sqlite:////srv/a/portal.db") != ns("sqlite:////srv/b/portal.db")
    assert ns("sqlite:////srv/a/portal.db", JOBS_NAMESPACE="acme-prod") == "acme-prod"
    assert ns("sqlite:////srv/a/portal.db", JOBS_NAMESPACE="acme prod:eu/1") == "acme-prod-eu-1"  # RQ's id rules

    plain = installation("sqlite:////srv/a/portal.db", JOBS_NAMESPACE="")
    with plain.app_context():
        assert rq_id("invoice-pdf-1") == "invoice-pdf-1"  # an empty setting turns the prefix off
    named = installation("sqlite:////srv/a/portal.db", JOBS_NAMESPACE="acme-prod")
    with named.app_context():
        assert rq_id("invoice-pdf-1") == "acme-prod__invoice-pdf-1"
        assert rq_id(rq_id("invoice-pdf-1")) == "acme-prod__invoice-pdf-1"  # never prefixed twice


def test_the_database_keeps_the_portals_own_job_id_and_redis_the_namespaced_one(app, world, login):
    from tests.jobs.test_jobs import start_export

    rec = start_export(login(world.buyer_admin))
    assert rec.rq_job_id == f"members-csv-{rec.id}"
    assert Queue("default", connection=app.extensions["portal_redis"]).job_ids == [
        f"{namespace()}__members-csv-{rec.id}"]
