"""The multi-host topology (scripts/cluster.sh) driven across its hosts: two gunicorns, a worker for the
documents queue and one for the rest, the scheduler, PostgreSQL, a private Redis and a moto S3 server; every
process has an instance folder of its own (no shared local files).

One run: a statement PDF asked for on web 2 is rendered by worker 2 and downloaded through web 1 (the bytes are
the stored SHA-256, the object is in S3, no host has it on disk; worker 2's log line carries web 2's request id);
web 1 is stopped mid-flow and web 2 carries the next one through; /readyz turns 503 naming Redis while Redis is
stopped, and ready again when it is back."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from portal.db import db
from portal.documents.models import StoredFile
from portal.jobs.models import JobRecord
from tests.faults.conftest import Session, wait_for
from tests.invoices.conftest import issued_for, iw, shipped  # noqa: F401  (fixtures)
from tests.s3server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]
ROOT = Path(__file__).resolve().parents[2]


class Cluster:
    def __init__(self, database_url: str, tmp: Path):
        self.dir = tmp / "cluster"
        self.ports = {"WEB1_PORT": free_port(), "WEB2_PORT": free_port(), "CLUSTER_REDIS_PORT": free_port(),
                      "CLUSTER_S3_PORT": free_port()}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "AWS_", "REDIS_URL"))}
        self.env.update({k: str(v) for k, v in self.ports.items()})
        self.env.update(CLUSTER_DIR=str(self.dir), PORTAL_DATABASE_URL=database_url, WEB_CONCURRENCY="1",
                        GUNICORN_THREADS="4", GUNICORN_GRACEFUL_TIMEOUT="3", PORTAL_METRICS_TOKEN="cluster-token")
        self.web1 = f"http://127.0.0.1:{self.ports['WEB1_PORT']}"
        self.web2 = f"http://127.0.0.1:{self.ports['WEB2_PORT']}"

    def sh(self, *args):
        r = subprocess.run([str(ROOT / "scripts/cluster.sh"), *args], cwd=ROOT, env=self.env, capture_output=True,
                           text=True, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr + self.logs()
        return r.stdout

    def logs(self, name=None) -> str:
        out = []
        for f in sorted((self.dir / "logs").glob("*.log")) if (self.dir / "logs").exists() else []:
            if name is None or f.stem == name:
                out.append(f"--- {f.name}\n" + f.read_text()[-3000:])
        return "\n".join(out)

    def json_lines(self, name):
        text = (self.dir / "logs" / f"{name}.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def cluster(app, database_url, tmp_path):
    c = Cluster(database_url, tmp_path)
    try:
        c.sh("start")
        yield c
    finally:
        subprocess.run([str(ROOT / "scripts/cluster.sh"), "stop"], cwd=ROOT, env=c.env, capture_output=True,
                       timeout=120)


def _ask_statement(s: Session, buyer_id: int) -> tuple[int, str]:
    today = date.today().isoformat()
    r = s.post("/invoices/statement/pdf", {"company_id": buyer_id, "from": today, "to": today})
    assert r.status_code == 302, r.text[:300]
    return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1]), r.headers["X-Request-ID"]


def _done(s: Session, job_id: int) -> str:
    def check():
        r = s.get(f"/jobs/{job_id}.json")
        body = r.json() if r.status_code == 200 else {}
        assert body.get("status") != "failed", body
        return body.get("status") == "succeeded" and body.get("result_url")

    return wait_for(check, 90, 0.3, f"job {job_id}")


def test_a_flow_across_the_hosts(cluster, shipped, iw):  # noqa: F811
    import boto3

    issued_for(iw, shipment=shipped[1])
    db.session.commit()

    # 1. asked on web 2, rendered by worker 2 (the only one on the documents queue), downloaded through web 1
    on2 = Session(cluster.web2).signin(iw.accounts_a)
    job_id, rid = _ask_statement(on2, iw.buyer.id)
    on1 = Session(cluster.web1)
    on1.http.cookies.update(on2.http.cookies)  # the same person, whichever host the balancer picks
    url = _done(on1, job_id)
    pdf = on1.get(url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    db.session.expire_all()
    f = db.session.get(StoredFile, db.session.get(JobRecord, job_id).result_file_id)
    assert hashlib.sha256(pdf.content).hexdigest() == f.sha256
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{cluster.ports['CLUSTER_S3_PORT']}",
                      region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert s3.head_object(Bucket="portal-documents", Key=f.path)["ContentLength"] == f.size
    on_disk = [p for p in (cluster.dir / "hosts").rglob("*") if p.is_file() and "files" in p.parts]
    assert on_disk == [], on_disk  # no host keeps documents of its own
    jobs2 = [x for x in cluster.json_lines("worker2") if x.get("event") == "job" and x.get("queue") == "documents"]
    assert any(x["request_id"] == rid and x["outcome"] == "succeeded" for x in jobs2), cluster.logs("worker2")
    assert not any(x.get("request_id") == rid for x in cluster.json_lines("worker1") if x.get("event") == "job")
    assert any(x.get("event") == "request" and x.get("request_id") == rid
               and x["route"] == "/invoices/statement/pdf" for x in cluster.json_lines("web2"))

    # cluster-wide job figures on either web
    metrics = requests.get(cluster.web1 + "/metrics", headers={"Authorization": "Bearer cluster-token"},
                           timeout=20).text
    assert 'portal_jobs_total{outcome="succeeded",queue="documents"}' in metrics
    assert "portal_pdfs_rendered_total 1.0" in metrics or "portal_pdfs_rendered_total 2.0" in metrics

    # 2. web 1 stops mid-flow: the job it accepted is finished by the worker and served by web 2
    on1 = Session(cluster.web1).signin(iw.accounts_a)
    job2, _ = _ask_statement(on1, iw.buyer.id)
    cluster.sh("stop-one", "web1")
    with pytest.raises(requests.ConnectionError):
        requests.get(cluster.web1 + "/healthz", timeout=5)
    on2.http.cookies.update(on1.http.cookies)  # the balancer sends this person to web 2 now
    on2.token = on1.token
    url2 = _done(on2, job2)
    assert on2.get(url2).content.startswith(b"%PDF")
    assert requests.get(cluster.web2 + "/readyz", timeout=10).status_code == 200

    # 3. Redis stopped: web 2 says so at /readyz; back: ready again, and work flows again
    cluster.sh("stop-one", "redis")
    r = requests.get(cluster.web2 + "/readyz", timeout=10)
    assert r.status_code == 503 and r.json()["failed"] == ["redis"], r.text
    assert requests.get(cluster.web2 + "/healthz", timeout=10).status_code == 200  # alive, just not ready
    cluster.sh("start-one", "redis")
    wait_for(lambda: requests.get(cluster.web2 + "/readyz", timeout=10).status_code == 200, 30, 0.3, "ready")
    job3, _ = _ask_statement(on2, iw.buyer.id)
    assert on2.get(_done(on2, job3)).content.startswith(b"%PDF")
    assert db.session.scalar(sa.select(sa.func.count(JobRecord.id))
                             .where(JobRecord.id.in_([job_id, job2, job3]), JobRecord.result_file_id.is_not(None))) == 3
