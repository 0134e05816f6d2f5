"""Keyset (cursor) pages for the long lists: newest first by id, "older" and "newer" from the ids at the page's
edges, so page 2,000 costs what page 1 costs (no OFFSET walking past 100,000 rows). Page numbers keep working
where they did; the lists' Older/Newer links use cursors."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.db import db

MAX_ID = 2_147_483_647


def cursor(value) -> int | None:
    """A cursor id from a query string; anything odd is no cursor (the first page). ``before=0`` is the oldest
    page."""
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if 0 <= n <= MAX_ID else None


def cursors(args) -> tuple[int | None, int | None]:
    """(after, before) from request args; after=0 means nothing."""
    return cursor(args.get("after")) or None, cursor(args.get("before"))


def page_edges(rows, page: int, pages: int) -> "KeysetPage":
    """Cursors for the Older/Newer links of a page reached by number."""
    return KeysetPage(rows, newer=rows[0].id if rows and page > 1 else None,
                      older=rows[-1].id if rows and page < pages else None)


@dataclass
class KeysetPage:
    rows: list = field(default_factory=list)
    newer: int | None = None  # ?before=<newer> shows the page before this one (newer rows)
    older: int | None = None  # ?after=<older> shows the page after this one (older rows)


def keyset_page(stmt, id_col, *, after: int | None = None, before: int | None = None, size: int = 50) -> KeysetPage:
    """One page of ``stmt`` newest first: ids below ``after`` (older) or, with ``before``, the ids just above it
    (newer). One statement; one row more than the page is read to know whether there is a next one."""
    if before is not None:
        rows = list(db.session.scalars(stmt.where(id_col > before).order_by(id_col.asc()).limit(size + 1)).unique())
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        # the page we came from (ids from ``before`` down) is older; before=0 is the oldest page itself
        return KeysetPage(rows, newer=rows[0].id if rows and more_newer else None,
                          older=rows[-1].id if rows and before > 0 else None)
    q = stmt.where(id_col < after) if after is not None else stmt
    rows = list(db.session.scalars(q.order_by(id_col.desc()).limit(size + 1)).unique())
    more_older = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows, newer=rows[0].id if rows and after is not None else None,
                      older=rows[-1].id if rows and more_older else None)


__all__ = ["KeysetPage", "cursor", "keyset_page", "sa"]
