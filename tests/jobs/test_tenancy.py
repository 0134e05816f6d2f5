"""Tenant walls: another company's ids do not exist for you (404, never 403, never the object)."""
from __future__ import annotations

import pytest

from portal.db import db
from portal.documents.store import save_bytes
from portal.errors import NotFound
from portal.jobs.models import JobRecord, JobStatus
from portal.tenancy import get_for_company
from tests.accounts.helpers import fresh


@pytest.fixture
def theirs(world):
    """A failed job record and a stored file belonging to supplier A."""
    f = save_bytes(b"name,email\nA,a@alpha.test\n", filename="alpha-members.csv", content_type="text/csv",
                   owner_company_id=world.supplier_a.id)
    rec = JobRecord(kind="members-csv", title="Member list (CSV)",
                    func="portal.accounts.jobs.export_members_job", args=[world.supplier_a.id],
                    queue="default", company_id=world.supplier_a.id, user_id=world.admin_a.id,
                    status=JobStatus.failed,
                    error="The job failed: x. You can retry it.", result_file_id=f.id)
    db.session.add(rec)
    db.session.commit()
    return rec, f


def test_get_for_company_refuses_other_companies(world, theirs):
    rec, f = theirs
    with pytest.raises(NotFound, match="No such job."):
        get_for_company(JobRecord, rec.id, world.buyer.id)
    with pytest.raises(NotFound, match="No such file."):
        get_for_company(type(f), f.id, world.buyer.id)
    # the owner sees them
    assert get_for_company(JobRecord, rec.id, world.supplier_a.id) is rec
    assert get_for_company(type(f), f.id, world.supplier_a.id) is f


@pytest.mark.parametrize("bad_id", [None, "abc", "1; drop table", 10**9])
def test_get_for_company_refuses_garbage_ids(world, bad_id):
    with pytest.raises(NotFound):
        get_for_company(JobRecord, bad_id, world.buyer.id)


def test_a_shared_file_is_visible_to_both_parties_only(world):
    f = save_bytes(b"%PDF-1.7 invoice", filename="invoice.pdf", content_type="application/pdf",
                   owner_company_id=world.supplier_a.id, party_company_id=world.buyer.id)
    db.session.commit()
    assert get_for_company(type(f), f.id, world.supplier_a.id) is f
    assert get_for_company(type(f), f.id, world.buyer.id) is f
    with pytest.raises(NotFound):
        get_for_company(type(f), f.id, world.supplier_b.id)


def test_other_companys_job_and_file_pages_are_404(world, login, theirs, app):
    rec, f = theirs
    outsider = login(world.buyer_admin)
    for url in (f"/jobs/{rec.id}", f"/jobs/{rec.id}.json", f"/files/{f.id}"):
        resp = outsider.get(url)
        assert resp.status_code == 404, url
        assert b"alpha-members" not in resp.data and b"a@alpha.test" not in resp.data
    assert outsider.post(f"/jobs/{rec.id}/retry").status_code == 404
    assert fresh(rec).status == JobStatus.failed  # not re-queued
    assert len(app.extensions["portal_redis"].keys("rq:queue:*")) == 0

    # a colleague who did not start it does not see it; an admin of the owner company does
    assert login(world.sales_a).get(f"/jobs/{rec.id}").status_code == 404
    owner_side = login(world.admin_a)
    assert owner_side.get(f"/jobs/{rec.id}").status_code == 200
    assert owner_side.get(f"/jobs/{rec.id}.json").get_json()["status"] == "failed"
    download = owner_side.get(f"/files/{f.id}")
    assert download.status_code == 200
    assert download.data == b"name,email\nA,a@alpha.test\n"


def test_shared_file_download_for_the_party(world, login):
    f = save_bytes(b"%PDF-1.7 invoice", filename="invoice.pdf", content_type="application/pdf",
                   owner_company_id=world.supplier_a.id, party_company_id=world.buyer.id)
    db.session.commit()
    assert login(world.procurement).get(f"/files/{f.id}").status_code == 200
    assert login(world.sales_b).get(f"/files/{f.id}").status_code == 404


def test_json_clients_get_problem_json_404(world, login, theirs):
    rec, _ = theirs
    resp = login(world.buyer_admin).get(f"/jobs/{rec.id}.json", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 404


def test_admin_only_export_is_not_offered_to_other_members(world, login, run_jobs):
    admin = login(world.buyer_admin)
    resp = admin.post("/company/members/export")
    rec_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    run_jobs()
    rec = db.session.get(JobRecord, rec_id)
    assert rec.status == JobStatus.succeeded
    assert admin.get(f"/files/{rec.result_file_id}").status_code == 200

    colleague = login(world.procurement)  # same company, not an administrator
    assert colleague.get("/company/members").status_code == 403
    assert colleague.get(f"/files/{rec.result_file_id}").status_code == 404
    assert colleague.get(f"/jobs/{rec.id}").status_code == 404
