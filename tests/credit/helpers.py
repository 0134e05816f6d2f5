"""Small helpers for the credit tests."""
from __future__ import annotations

import html

from portal.db import db


def fresh(obj):
    """Reload an ORM object from the database (other sessions and requests changed it)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def fake_figures(monkeypatch, *, unpaid=None, overdue=None) -> None:
    """Pretend the pair has ``unpaid`` open invoices / ``overdue`` overdue ones: for the credit check (which reads
    all figures in one statement, ledger.pair_figures) and for the pages (the separate look-ups) alike."""
    from portal.credit import services

    real = services.ledger.pair_figures

    def figures(s, b, c):
        u, r, o = real(s, b, c)
        return (u if unpaid is None else unpaid, r, o if overdue is None else overdue)

    monkeypatch.setattr(services.ledger, "pair_figures", figures)
    if unpaid is not None:
        monkeypatch.setattr(services, "unpaid_invoices_total", lambda s, b, c: unpaid)

        class EveryPair(dict):  # the list pages' grouped look-up (ledger.unpaid_invoices_totals): any pair
            def get(self, key, default=None):
                return unpaid

        monkeypatch.setattr(services.ledger, "unpaid_invoices_totals", lambda *where: EveryPair())
    if overdue is not None:
        monkeypatch.setattr(services, "overdue_invoices_count", lambda s, b: overdue)
