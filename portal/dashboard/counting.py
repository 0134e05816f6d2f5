"""Bounded figures for the dashboard tiles: a tile's cost must not grow with the company's history (issue 20).

A tile counts at most ``CAP`` + 1 matching rows (``SELECT count(*) FROM (SELECT 1 … LIMIT CAP + 1)``): with an index
that serves the condition the statement stops after CAP + 1 index entries whatever the number of documents, and the
tile shows "99+" above the cap. Amounts summed over the matching rows are exact as long as the rows are within the
cap; above it the tile links to the list, which computes count and totals on request (``?totals=1``).
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db

CAP = 99


def capped_count(stmt: sa.Select, cap: int | None = None) -> int:
    """How many rows ``stmt`` (a SELECT of the matching rows) returns, counting no further than ``cap`` + 1."""
    cap = CAP if cap is None else cap
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0)


def count_text(n: int, cap: int | None = None) -> str:
    """The tile's figure: the count, or "99+" above the cap."""
    cap = CAP if cap is None else cap
    return f"{cap}+" if n > cap else str(n)
