from __future__ import annotations

from portal.accounts.services import members_csv
from portal.db import db, utcnow
from portal.documents.store import save_bytes
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task


@task(tracked=True)
def export_members_job(company_id: int, record_id: int) -> int:
    rec = db.session.get(JobRecord, record_id)
    if rec is None:
        raise PermanentJobError("The job record is gone.")
    if rec.result_file_id:  # idempotent: already produced
        return rec.result_file_id
    data = members_csv(company_id, progress=lambda p: set_progress(record_id, p))
    f = save_bytes(data, filename=f"members-{utcnow():%Y%m%d-%H%M}.csv", content_type="text/csv",
                   owner_company_id=company_id)
    rec.result_file_id = f.id
    db.session.commit()
    return f.id
