"""Document storage behind one interface: a local folder (the embedded default) or an S3-compatible object store
(AWS S3, MinIO, Ceph) through boto3. Objects are addressed by their SHA-256 (``ab/abcdef…``); the StoredFile row
(portal/documents/models.py) describes them. ``get_storage()`` answers the backend the settings choose, built once
per process (and again after a fork, since boto3 clients must not cross one)."""
from __future__ import annotations

import os

from flask import Flask, current_app

from portal.storage.base import MissingObject, Storage, StorageError, StorageUnavailable, key_for

__all__ = ["MissingObject", "Storage", "StorageError", "StorageUnavailable", "get_storage", "key_for",
           "build_storage"]

BACKENDS = ("local", "s3")


def build_storage(config: dict, backend: str | None = None) -> Storage:
    """A backend from a Flask config mapping (``backend`` overrides STORAGE_BACKEND, for ``files migrate``)."""
    backend = (backend or config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        from portal.storage.local import LocalStorage

        return LocalStorage(config["UPLOAD_FOLDER"])
    if backend == "s3":
        from portal.storage.s3 import S3Storage

        return S3Storage.from_config(config)
    raise StorageError(f"PORTAL_STORAGE must be one of {', '.join(BACKENDS)}, not {backend!r}")


def get_storage(app: Flask | None = None) -> Storage:
    app = app or current_app._get_current_object()
    cached = app.extensions.get("portal_storage")
    if cached is None or cached[0] != os.getpid() or cached[1] != app.config.get("STORAGE_BACKEND"):
        cached = (os.getpid(), app.config.get("STORAGE_BACKEND"), build_storage(app.config))
        app.extensions["portal_storage"] = cached
    return cached[2]
