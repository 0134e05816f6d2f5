"""Fixtures for this folder; the shared ones live in tests/conftest.py."""
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.api.conftest import token_for  # noqa: F401
