"""Keyset (cursor) pages for the long lists: newest first by id, "older" and "newer" from the ids at the page's
edges, so page 2,000 costs what page 1 costs (no OFFSET walking past 100,000 rows). Page numbers keep working
where they did; the lists' Older/Newer links use cursors."""
from __future__ import annotations

from dataclasses import dataclass, field

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


def keyset_page(stmt, id_col, *, after: int | None = None, before: int | None = None, size: int = 50,
                rows: bool = False) -> KeysetPage:
    """One page of ``stmt`` newest first: ids below ``after`` (older) or, with ``before``, the ids just above it
    (newer). One statement; one row more than the page is read to know whether there is a next one. ``rows``:
    the statement selects several columns, the entity with the id first (rows are returned as they are)."""
    run = (lambda q: db.session.execute(q).all()) if rows else (lambda q: list(db.session.scalars(q).unique()))
    ident = (lambda r: r[0].id) if rows else (lambda r: r.id)
    if before is not None:
        found = run(stmt.where(id_col > before).order_by(id_col.asc()).limit(size + 1))
        more_newer = len(found) > size
        found = found[:size][::-1]
        # the page we came from (ids from ``before`` down) is older; before=0 is the oldest page itself
        return KeysetPage(found, newer=ident(found[0]) if found and more_newer else None,
                          older=ident(found[-1]) if found and before > 0 else None)
    q = stmt.where(id_col < after) if after is not None else stmt
    found = run(q.order_by(id_col.desc()).limit(size + 1))
    more_older = len(found) > size
    found = found[:size]
    return KeysetPage(found, newer=ident(found[0]) if found and after is not None else None,
                      older=ident(found[-1]) if found and more_older else None)


__all__ = ["KeysetPage", "cursor", "cursors", "keyset_page", "page_edges"]
