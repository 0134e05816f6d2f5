"""Document storage on both backends (the local folder and S3 on a moto server): content addressing, streaming
writes and downloads, integrity checks, tenancy of downloads, `flask files verify` and `flask files migrate`."""
from __future__ import annotations

import gc
import hashlib
import io
import os
import tracemalloc
import urllib.request
import zipfile

import pytest

from portal.db import db
from portal.documents import store
from portal.documents.models import StoredFile
from portal.storage import MissingObject, build_storage, get_storage, key_for
from portal.storage.local import LocalStorage


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------ the interface

def test_put_open_size_list_delete(storage_backend, app):
    s = get_storage()
    assert s.name == storage_backend
    s.check()
    data = os.urandom(300_000)
    key = key_for(_digest(data))
    assert not s.exists(key) and s.size(key) is None
    s.put_bytes(key, data, content_type="application/pdf")
    assert s.exists(key) and s.size(key) == len(data)
    assert s.read(key) == data
    assert b"".join(s.iter_chunks(key, 65536)) == data
    assert key in set(s.iter_keys(key[:2]))
    s.delete(key)
    assert not s.exists(key)
    with pytest.raises(MissingObject):
        s.open(key)


def test_keys_cannot_leave_the_store(storage_backend):
    s = get_storage()
    for bad in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(Exception):
            s.put_bytes(bad, b"x")
    with pytest.raises(ValueError):
        key_for("not-a-digest")


def test_same_content_is_stored_once_with_a_row_per_document(storage_backend, world):
    a = store.save_bytes(b"%PDF-1.7 same", filename="a.pdf", content_type="application/pdf",
                         owner_company_id=world.buyer.id)
    b = store.save_bytes(b"%PDF-1.7 same", filename="b.pdf", content_type="application/pdf",
                         owner_company_id=world.supplier_a.id)
    db.session.commit()
    assert a.id != b.id and a.path == b.path == key_for(a.sha256)
    assert [k for k in get_storage().iter_keys(a.path[:2]) if k == a.path] == [a.path]
    assert store.read_bytes(b) == b"%PDF-1.7 same"


def test_tampered_bytes_are_refused(storage_backend, world):
    f = store.save_bytes(b"%PDF-1.7 genuine", filename="g.pdf", content_type="application/pdf",
                         owner_company_id=world.buyer.id)
    db.session.commit()
    get_storage().put_bytes(f.path, b"%PDF-1.7 forged!")  # same key, other bytes
    with pytest.raises(store.IntegrityError):
        store.read_bytes(f)
    with pytest.raises(store.IntegrityError):
        list(store.iter_verified(f))


def test_a_large_document_is_written_without_holding_it_in_memory(storage_backend, world):
    """A generated file (here 24 MB) spools to disk as it is written and is uploaded from there: the Python heap
    never holds it (local: under 2 MB at peak; S3: the bounded multipart buffers, well under the file's size)."""
    chunk = os.urandom(1024 * 1024)
    total = 24
    h = hashlib.sha256()
    get_storage().check()  # the backend's client (botocore's service model) is built before measuring
    gc.collect()
    tracemalloc.start()
    try:
        with store.writer(filename="big.zip", content_type="application/zip",
                          owner_company_id=world.buyer.id) as w:
            for _ in range(total):
                w.write(chunk)
                h.update(chunk)
            assert w.rolled_to_disk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    db.session.commit()
    f = w.stored
    assert f.size == total * len(chunk) and f.sha256 == h.hexdigest()
    assert get_storage().size(f.path) == f.size
    limit = 4 if storage_backend == "local" else 8
    assert peak < limit * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    # read back streamed and verified
    h2 = hashlib.sha256()
    for block in store.iter_verified(f):
        h2.update(block)
    assert h2.hexdigest() == f.sha256


def test_a_failed_writer_stores_nothing(storage_backend, world):
    before = db.session.query(StoredFile).count()
    with pytest.raises(RuntimeError):
        with store.writer(filename="x.zip", content_type="application/zip", owner_company_id=world.buyer.id) as w:
            w.write(b"half a zip")
            raise RuntimeError("boom")
    assert db.session.query(StoredFile).count() == before
    assert not get_storage().exists(key_for(_digest(b"half a zip")))


def test_a_streaming_zip_of_stored_pdfs_reads_back(storage_backend, world):
    pdfs = [store.save_bytes(b"%PDF-1.7 " + bytes([i]) * 200_000, filename=f"{i}.pdf",
                             content_type="application/pdf", owner_company_id=world.buyer.id) for i in range(3)]
    with store.writer(filename="all.zip", content_type="application/zip", owner_company_id=world.buyer.id) as w, \
            zipfile.ZipFile(w, "w") as zf:
        for f in pdfs:
            with zf.open(f.filename, "w", force_zip64=True) as member:
                store.copy_to(f, member)
    db.session.commit()
    zf = zipfile.ZipFile(io.BytesIO(store.read_bytes(w.stored)))
    assert zf.testzip() is None
    assert [zf.read(f.filename) for f in pdfs] == [store.read_bytes(f) for f in pdfs]


# ------------------------------------------------------------------------------------------ downloads

def test_download_streams_the_stored_bytes_to_the_parties_only(storage_backend, world, login):
    data = b"%PDF-1.7 " + os.urandom(150_000)
    f = store.save_bytes(data, filename="Rechnung Müller.pdf", content_type="application/pdf",
                         owner_company_id=world.supplier_a.id, party_company_id=world.buyer.id)
    db.session.commit()
    c = login(world.procurement)
    resp = c.get(f"/files/{f.id}")
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.data == data and resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["ETag"] == f'"{f.sha256}"'
    cd = resp.headers["Content-Disposition"]
    assert cd.startswith("attachment;") and "filename*=UTF-8''Rechnung%20M%C3%BCller.pdf" in cd
    assert c.get(f"/files/{f.id}", headers={"If-None-Match": f'"{f.sha256}"'}).status_code == 304
    assert login(world.sales_b).get(f"/files/{f.id}").status_code == 404  # another company: not there


def test_a_tampered_download_is_broken_off_not_completed(storage_backend, world, login):
    f = store.save_bytes(b"%PDF-1.7 genuine", filename="g.pdf", content_type="application/pdf",
                         owner_company_id=world.buyer.id)
    db.session.commit()
    get_storage().put_bytes(f.path, b"%PDF-1.7 forged!")
    resp = login(world.procurement).get(f"/files/{f.id}")
    with pytest.raises(store.IntegrityError):
        resp.get_data()


def test_presigned_downloads_redirect_to_the_object_store(s3_settings, app, world, login):
    app.config.update({**s3_settings, "S3_PRESIGNED_DOWNLOADS": True})
    app.extensions.pop("portal_storage", None)
    try:
        f = store.save_bytes(b"%PDF-1.7 presigned", filename="p.pdf", content_type="application/pdf",
                             owner_company_id=world.buyer.id)
        db.session.commit()
        resp = login(world.procurement).get(f"/files/{f.id}")
        assert resp.status_code == 302
        with urllib.request.urlopen(resp.headers["Location"], timeout=10) as got:
            assert got.read() == b"%PDF-1.7 presigned"
            assert 'filename="p.pdf"' in got.headers["Content-Disposition"]
        assert login(world.sales_b).get(f"/files/{f.id}").status_code == 404
    finally:
        app.config.update({"STORAGE_BACKEND": "local", "S3_PRESIGNED_DOWNLOADS": False})
        app.extensions.pop("portal_storage", None)


# ------------------------------------------------------------------------------------------ readiness of the store

def test_an_unreachable_store_is_not_ready(app, s3_server):
    from portal.storage import StorageUnavailable

    s = build_storage({**s3_server.config("no-such-bucket-here")})
    with pytest.raises(StorageUnavailable):
        s.check()
    with pytest.raises(StorageUnavailable):
        LocalStorage("/nonexistent/portal-files").check()


# ------------------------------------------------------------------------------------------ operator commands

def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_files_verify_finds_missing_and_changed_documents(storage_backend, app, world):
    good = store.save_bytes(b"good", filename="g.txt", content_type="text/plain", owner_company_id=world.buyer.id)
    gone = store.save_bytes(b"gone", filename="x.txt", content_type="text/plain", owner_company_id=world.buyer.id)
    db.session.commit()
    result = _cli(app, "files", "verify")
    assert result.exit_code == 0 and "2 of 2 documents match" in result.output
    get_storage().delete(gone.path)
    get_storage().put_bytes(good.path, b"evil")
    result = _cli(app, "files", "verify")
    assert result.exit_code == 1
    assert f"MISSING  {gone.path}" in result.output and f"MISMATCH {good.path}" in result.output
    assert "0 of 2 documents match" in result.output


def test_files_migrate_to_s3_copies_and_verifies(app, s3_settings, world, tmp_path):
    app.config.update({"UPLOAD_FOLDER": str(tmp_path), "STORAGE_BACKEND": "local"})
    app.extensions.pop("portal_storage", None)
    saved = {k: app.config.get(k) for k in s3_settings if k != "STORAGE_BACKEND"}
    try:
        docs = [store.save_bytes(os.urandom(50_000), filename=f"{i}.pdf", content_type="application/pdf",
                                 owner_company_id=world.buyer.id) for i in range(3)]
        corrupt = store.save_bytes(b"will be corrupted", filename="c.txt", content_type="text/plain",
                                   owner_company_id=world.buyer.id)
        db.session.commit()
        (tmp_path / corrupt.path).write_bytes(b"corrupted on disk")
        app.config.update({k: v for k, v in s3_settings.items() if k != "STORAGE_BACKEND"})
        result = _cli(app, "files", "migrate", "--to", "s3")
        assert result.exit_code == 1
        assert "Copied 3, already there 0, failed 1" in result.output
        assert f"FAILED {corrupt.path}: the source bytes do not match" in result.output
        s3 = build_storage(app.config, "s3")
        assert not s3.exists(corrupt.path)
        assert all(s3.read(d.path) == (tmp_path / d.path).read_bytes() for d in docs)
        # again: nothing copied twice; after repairing the file, it moves too
        (tmp_path / corrupt.path).write_bytes(b"will be corrupted")
        result = _cli(app, "files", "migrate", "--to", "s3")
        assert result.exit_code == 0 and "Copied 1, already there 3, failed 0" in result.output
        result = _cli(app, "files", "verify", "--backend", "s3")
        assert result.exit_code == 0 and "4 of 4 documents match" in result.output
    finally:
        app.config.update(saved)
        app.extensions.pop("portal_storage", None)


def test_the_suite_wide_switch_selects_the_backend(app):
    """PORTAL_TEST_STORAGE=s3 puts the whole run's documents into S3 (moto); the default is the local folder."""
    from tests.conftest import STORAGE_SPEC

    with app.app_context():
        assert get_storage().name == STORAGE_SPEC
