"""The file store: bytes on disk under UPLOAD_FOLDER, addressed by SHA-256, described by a StoredFile row."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app

from portal.db import db
from portal.documents.models import StoredFile


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def save_bytes(data: bytes, *, filename: str, content_type: str, owner_company_id: int,
               party_company_id: int | None = None) -> StoredFile:
    """Write the bytes (once per content) and add a StoredFile row; the caller commits."""
    digest = hashlib.sha256(data).hexdigest()
    rel = Path(digest[:2]) / digest
    full = _root() / rel
    if not full.exists():
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = full.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, full)
    f = StoredFile(owner_company_id=owner_company_id, party_company_id=party_company_id,
                   filename=filename, content_type=content_type, size=len(data), sha256=digest,
                   path=str(rel))
    db.session.add(f)
    db.session.flush()
    return f


def read_bytes(f: StoredFile) -> bytes:
    data = (_root() / f.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise RuntimeError(f"stored file {f.id} does not match its SHA-256")
    return data


def full_path(f: StoredFile) -> Path:
    return _root() / f.path
