"""Fixtures of the operations tests."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture
def ops_logs(caplog):
    """Capture the portal's request and job log lines (alembic's fileConfig during the session's migration run
    disables loggers that existed before it; in production migrations run in their own process)."""
    for name in ("portal.request", "portal.job"):
        logging.getLogger(name).disabled = False
    caplog.set_level(logging.INFO, logger="portal.job")
    caplog.set_level(logging.DEBUG, logger="portal.request")  # last: the capturing handler takes this level

    def lines(event):
        return [r for r in caplog.records if getattr(r, "fields", {}).get("event") == event]

    return lines
