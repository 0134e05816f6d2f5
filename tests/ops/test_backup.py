"""A backup restores: scripts/backup.sh dumps the database, pg_restore loads the dump into a new, empty
database, and the portal serves it (ready, the restored order on a signed-in page, every document verified)."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.documents.store import save_bytes
from tests import factories

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def test_dump_restore_into_an_empty_database_and_serve_it(app, world, database_url, redis_url, tmp_path):
    from portal import create_app

    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    save_bytes(b"%PDF-1.7 kept", filename="kept.pdf", content_type="application/pdf",
               owner_company_id=world.buyer.id)
    db.session.commit()
    po_number = order.po_number
    email = world.procurement.email
    db.session.remove()  # nothing of this test's session survives into the restored app

    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, BACKUP_DIR=str(tmp_path))
    dump = subprocess.run([str(ROOT / "scripts/backup.sh")], env=env, capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()
    assert Path(dump).is_file() and Path(dump).stat().st_size > 0

    url = sa.engine.make_url(database_url)
    name = f"portal_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    restored_url = url.set(database=name)
    try:
        plain = restored_url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", plain, dump], check=True,
                       capture_output=True, timeout=120)
        restored = create_app({"TESTING": True, "SECRET_KEY": "restore", "WTF_CSRF_ENABLED": False,
                               "SQLALCHEMY_DATABASE_URI": restored_url.render_as_string(hide_password=False),
                               "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url, "JOBS_MODE": "rq",
                               "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "MAIL_SERVER": ""})
        with restored.app_context():
            c = restored.test_client()
            ready = c.get("/readyz")
            assert ready.status_code == 200, ready.get_json()
            assert c.post("/signin", data={"email": email,
                                           "password": factories.PASSWORD}).status_code == 302
            page = c.get("/orders/").get_data(as_text=True)
            assert po_number in page
            verify = restored.test_cli_runner().invoke(args=["files", "verify"])
            assert verify.exit_code == 0 and "1 of 1 documents match" in verify.output
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
