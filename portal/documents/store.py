"""The file store: bytes in the configured storage backend (portal/storage: a local folder or S3), addressed by
their SHA-256, described by a StoredFile row.

* ``save_bytes`` / ``save_stream`` store content once per digest and add the row (the caller commits).
* ``writer(...)`` is for large generated files (ZIP exports): it hashes while it spools to a temporary file
  (in memory up to 1 MB, then on disk) and uploads from that file, so a 500 MB ZIP is never held in memory.
* ``read_bytes`` reads a small document whole and checks its SHA-256; ``send_stored`` answers a download as a
  stream of chunks (or a redirect to a presigned URL when the S3 backend is set to offer them), checking the
  SHA-256 as the bytes pass: a mismatch breaks the download off rather than complete it with wrong bytes.
"""
from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from flask import Response, current_app, redirect, request

from portal.db import db
from portal.documents.models import StoredFile
from portal.storage import MissingObject, get_storage, key_for
from portal.storage.base import content_disposition

log = logging.getLogger(__name__)
SPOOL_IN_MEMORY = 1024 * 1024
COPY_CHUNK = 256 * 1024


class IntegrityError(RuntimeError):
    """Stored bytes do not match the SHA-256 recorded for them."""


def _row(digest: str, size: int, *, filename: str, content_type: str, owner_company_id: int,
         party_company_id: int | None) -> StoredFile:
    f = StoredFile(owner_company_id=owner_company_id, party_company_id=party_company_id,
                   filename=filename, content_type=content_type, size=size, sha256=digest,
                   path=key_for(digest))
    db.session.add(f)
    db.session.flush()
    return f


def save_bytes(data: bytes, *, filename: str, content_type: str, owner_company_id: int,
               party_company_id: int | None = None) -> StoredFile:
    """Store the bytes (once per content) and add a StoredFile row; the caller commits."""
    digest = hashlib.sha256(data).hexdigest()
    storage = get_storage()
    key = key_for(digest)
    if not storage.exists(key):
        storage.put_bytes(key, data, content_type=content_type)
    return _row(digest, len(data), filename=filename, content_type=content_type,
                owner_company_id=owner_company_id, party_company_id=party_company_id)


class DocumentWriter:
    """A write-only file for a document being generated: hashes and counts the bytes as they are written, in
    memory up to SPOOL_IN_MEMORY, then into a temporary file on disk. Not seekable, so ``zipfile`` writes a
    streaming ZIP into it (data descriptors)."""

    def __init__(self):
        self._buf: io.BytesIO | None = io.BytesIO()
        self._file = None
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        data = bytes(data)
        self._hash.update(data)
        self.size += len(data)
        if self._buf is not None and self.size > SPOOL_IN_MEMORY:
            self._file = tempfile.NamedTemporaryFile(prefix="portal-doc-", suffix=".part")
            self._file.write(self._buf.getvalue())
            self._buf = None
        target = self._buf if self._buf is not None else self._file
        target.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def rolled_to_disk(self) -> bool:
        return self._file is not None

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def store_into(self, storage, key: str, content_type: str) -> None:
        if self._file is not None:
            self._file.flush()
            storage.put_path(key, self._file.name, content_type=content_type)
        else:
            storage.put_bytes(key, self._buf.getvalue(), content_type=content_type)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # deletes the temporary file
        self._buf = None


@contextmanager
def writer(*, filename: str, content_type: str, owner_company_id: int, party_company_id: int | None = None):
    """``with writer(...) as w: w.write(...)``; afterwards ``w.stored`` is the StoredFile (caller commits).
    Nothing is stored when the block raises."""
    w = DocumentWriter()
    try:
        yield w
        storage = get_storage()
        key = key_for(w.digest)
        if not storage.exists(key):
            w.store_into(storage, key, content_type)
        w.stored = _row(w.digest, w.size, filename=filename, content_type=content_type,
                        owner_company_id=owner_company_id, party_company_id=party_company_id)
    finally:
        w.close()


def save_stream(fileobj: BinaryIO, **row) -> StoredFile:
    """Store a readable binary stream (copied in chunks through a DocumentWriter)."""
    with writer(**row) as w:
        while True:
            block = fileobj.read(COPY_CHUNK)
            if not block:
                break
            w.write(block)
    return w.stored


def read_bytes(f: StoredFile) -> bytes:
    """The whole document (small ones: PDFs, logos), checked against its SHA-256."""
    data = get_storage().read(f.path)
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise IntegrityError(f"stored file {f.id} does not match its SHA-256")
    return data


def iter_verified(f: StoredFile, chunk: int = COPY_CHUNK) -> Iterator[bytes]:
    """The document's bytes in chunks; raises IntegrityError after the last chunk when the digest differs."""
    h = hashlib.sha256()
    for block in get_storage().iter_chunks(f.path, chunk):
        h.update(block)
        yield block
    if h.hexdigest() != f.sha256:
        raise IntegrityError(f"stored file {f.id} does not match its SHA-256")


def copy_to(f: StoredFile, out) -> None:
    """Write the document into ``out`` (a ZIP member, a writer) chunk by chunk, verifying its hash."""
    for block in iter_verified(f):
        out.write(block)


def send_stored(f: StoredFile, *, as_attachment: bool = True) -> Response:
    """A download of the stored document: streamed in chunks with its length and ETag (the SHA-256), or a
    redirect to a short-lived presigned URL when PORTAL_S3_PRESIGNED_DOWNLOADS is on."""
    storage = get_storage()
    url = storage.download_url(f.path, filename=f.filename, content_type=f.content_type)
    if url:
        return redirect(url, code=302)
    if request.if_none_match and f.sha256 in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(f.sha256)
        return resp
    try:
        first = storage.open(f.path)
    except MissingObject:
        log.error("stored file %s (%s) is missing from %s", f.id, f.path, storage.describe())
        raise
    file_id, digest, path = f.id, f.sha256, f.path

    def body():  # runs after the request context is gone (gunicorn reads the body later): no app access here
        h = hashlib.sha256()
        try:
            while True:
                block = first.read(COPY_CHUNK)
                if not block:
                    break
                h.update(block)
                yield block
        finally:
            first.close()
        if h.hexdigest() != digest:
            log.error("stored file %s (%s) does not match its SHA-256; download broken off", file_id, path)
            raise IntegrityError(f"stored file {file_id} does not match its SHA-256")

    resp = Response(body(), mimetype=f.content_type, direct_passthrough=True)
    resp.headers["Content-Length"] = str(f.size)
    resp.headers["Content-Disposition"] = content_disposition(f.filename, as_attachment)
    resp.headers["X-Content-SHA256"] = f.sha256
    resp.headers["Cache-Control"] = "private, max-age=0"
    resp.set_etag(f.sha256)
    return resp


def storage_description() -> str:
    return get_storage(current_app).describe()
