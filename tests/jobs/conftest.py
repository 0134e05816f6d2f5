"""Fixtures for this folder; the shared ones live in tests/conftest.py."""
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _document_isolation_restored():
    """`flask jobs worker` turns on large-document isolation for its process; a test that runs the command in
    this process must not leave it on for the tests after it."""
    from portal.documents import render

    saved = render._isolation["min_html"]
    yield
    render._isolation["min_html"] = saved
