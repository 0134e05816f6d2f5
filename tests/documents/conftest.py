"""Fixtures for this folder; the shared ones live in tests/conftest.py.

``storage_backend`` runs a test once per document storage backend: the local folder and S3 (a moto server of
this run, tests/s3server.py). Tests that store or download documents take it.
"""

import pytest


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, app):
    saved = {k: app.config.get(k) for k in ("STORAGE_BACKEND", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_PREFIX",
                                             "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
                                             "S3_ADDRESSING_STYLE", "S3_PRESIGNED_DOWNLOADS")}
    if request.param == "s3":
        app.config.update(request.getfixturevalue("s3_settings"))
    else:
        app.config["STORAGE_BACKEND"] = "local"
    app.extensions.pop("portal_storage", None)
    yield request.param
    app.config.update(saved)
    app.extensions.pop("portal_storage", None)
