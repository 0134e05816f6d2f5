"""Fixtures for this folder; the shared ones live in tests/conftest.py."""

import pytest


@pytest.fixture(autouse=True)
def app_ctx():
    """Rendering needs no app context and writes nothing to the database: skip tests/conftest.py's per-test
    table truncation (about half a second per test on PostgreSQL)."""
    yield
