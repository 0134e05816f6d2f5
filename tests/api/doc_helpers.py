"""Small helpers of the document and catalog API tests."""
from __future__ import annotations

import io

import sqlalchemy as sa

from portal.db import db


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def problem(resp, status: int) -> dict:
    """The problem+json body of a refusal with this status."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    return resp.get_json()


def upload(client, url, headers, data: bytes, name: str, field: str = "file"):
    return client.post(url, headers=headers, data={field: (io.BytesIO(data), name)},
                       content_type="multipart/form-data")
