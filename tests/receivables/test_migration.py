"""Migration ar_0001: the reminder stages already sent become dunning notices (levels in the order sent), and
going back restores them."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from portal.db import db
from tests.test_migrations import scratch_database_url  # noqa: F401  (fixture)


def _fill(conn, table: str, **values) -> int:
    """Insert a row giving every NOT NULL column without a default a plausible value."""
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    row = {}
    for c in t.columns:
        if c.name in values or c.nullable or c.primary_key or c.server_default is not None:
            continue
        py = c.type.python_type if not isinstance(c.type, sa.JSON) else dict
        row[c.name] = {int: 1, str: "x", bool: False, date: date(2026, 1, 1),
                       datetime: datetime(2026, 1, 1, 12, 0)}.get(py, 0)
    row.update(values)
    return conn.execute(sa.insert(t).values(**row).returning(t.c.id)).scalar_one()


def test_reminders_become_levels_and_come_back(app, scratch_database_url, redis_url):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from portal import create_app

    scratch = create_app({
        "TESTING": True, "SECRET_KEY": "scratch", "SQLALCHEMY_DATABASE_URI": scratch_database_url,
        "REDIS_URL": "", "JOBS_MODE": "inline", "RATELIMIT_STORAGE_URI": redis_url,
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
    })
    with scratch.app_context():
        try:
            upgrade(revision="disp_0001")
            with db.engine.begin() as conn:
                s = _fill(conn, "companies", kind="supplier", vat_number="DE1", country="DE")
                b = _fill(conn, "companies", kind="buyer", vat_number="DE2", country="DE")
                u = _fill(conn, "users", company_id=s, email="a@x.test")
                inv = _fill(conn, "invoices", kind="invoice", supplier_company_id=s, buyer_company_id=b,
                            series="INV", status="partially_paid", number="INV-1", year=2026, sequence=1,
                            currency="EUR", total_net=100, total_tax=19, total_gross=119, paid_amount=19,
                            credited_amount=0, created_by_id=u, due_date=date(2026, 1, 31), credit_reason=None)
                for days, sent in ((14, datetime(2026, 2, 14, 9)), (3, datetime(2026, 2, 3, 9)),
                                   (30, datetime(2026, 3, 2, 9)), (60, datetime(2026, 4, 1, 9))):
                    conn.execute(sa.text("INSERT INTO invoice_reminders (invoice_id, days_after_due, sent_at) "
                                         "VALUES (:i, :d, :s)"), {"i": inv, "d": days, "s": sent})
            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT level, days_late, sent_on, open_amount, currency, snapshot "
                                            "FROM dunning_notices ORDER BY level")).all()
                assert "invoice_reminders" not in sa.inspect(conn).get_table_names()
            assert [(r[0], r[1], str(r[2])) for r in rows] == [(1, 3, "2026-02-03"), (2, 14, "2026-02-14"),
                                                               (3, 30, "2026-03-02")]
            assert all(float(r[3]) == 100.0 and r[4] == "EUR" and r[5] is None for r in rows)
            downgrade(revision="disp_0001")
            with db.engine.connect() as conn:
                back = conn.execute(sa.text("SELECT days_after_due FROM invoice_reminders "
                                            "ORDER BY days_after_due")).scalars().all()
            assert back == [3, 14, 30]  # the fourth stage had no level to become
        finally:
            db.engine.dispose()
