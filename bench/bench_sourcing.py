"""Sourcing benchmark: the comparison page (500 lines x 20 suppliers) and the buyer's RFQ list (10,000 RFQs).

    .venv/bin/python bench/bench_sourcing.py                  # throwaway SQLite file
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_sourcing.py

With BENCH_DATABASE_URL a throwaway database bench_<random> is created on that server and dropped afterwards.
Data is bulk-inserted (no factories), then a signed-in buyer's test client measures each page: the number of
SQL statements and the median of BENCH_RUNS (default 7) timings. It also shows that the number of queries of
the comparison does not grow with lines (50 vs 500) or suppliers (2 vs 20). A script, not a test.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
PASSWORD = "bench-password-1"


# --------------------------------------------------------------------------------------------- database


@contextmanager
def throwaway_database():
    spec = os.environ.get("BENCH_DATABASE_URL", "")
    if not spec:
        with tempfile.TemporaryDirectory(prefix="bench-sourcing-") as tmp:
            yield f"sqlite:///{tmp}/bench.db", "SQLite (file)"
        return
    url = sa.engine.make_url(
        spec.replace("postgresql://", "postgresql+psycopg://", 1)
        if spec.startswith("postgresql://")
        else spec
    )
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(database=url.database or "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False), "PostgreSQL"
    finally:
        from portal.db import db

        try:
            db.engine.dispose()
        except Exception:  # noqa: BLE001 - no app context any more
            pass
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(db_url: str, instance: str):
    os.environ["PORTAL_INSTANCE_PATH"] = instance
    from portal import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": db_url,
            "REDIS_URL": "",
            "JOBS_MODE": "inline",
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_FOLDER": str(Path(instance) / "files"),
            "MAIL_SERVER": "",
        }
    )


# --------------------------------------------------------------------------------------------- seeding


def seed(app):
    from portal.accounts.models import Company, CompanyKind, User, UserRole
    from portal.accounts.services import hash_password
    from portal.db import db, utcnow
    from portal.quotes.models import Quote, QuoteLine, QuoteVersion
    from portal.quotes.states import QuoteStatus
    from portal.rfq.models import Rfq, RfqInvitation, RfqLine
    from portal.rfq.states import RfqStatus

    now = utcnow()
    pw = hash_password(PASSWORD)
    s = db.session

    def company(name, kind):
        c = Company(
            legal_name=name,
            display_name=name,
            country="DE",
            kind=CompanyKind(kind),
            default_currency="EUR",
            address_line1="Benchstraße 1",
            postcode="10115",
            city="Berlin",
        )
        s.add(c)
        s.flush()
        return c

    def person(c, email, role):
        u = User(company_id=c.id, email=email, name=email.split("@")[0].title(), password_hash=pw)
        u.role_rows.append(UserRole(role=role))
        s.add(u)
        s.flush()
        return u

    buyer = company("Bench Buyer GmbH", "buyer")
    procurement = person(buyer, "buyer@bench.test", "procurement")
    suppliers = [company(f"Bench Supplier {i:02d}", "supplier") for i in range(20)]
    sales = [person(c, f"sales{i:02d}@bench.test", "sales") for i, c in enumerate(suppliers)]
    s.commit()

    ref_no = iter(range(1, 1_000_000))

    def rfq_row(**kw):
        n = next(ref_no)
        row = dict(
            buyer_company_id=buyer.id,
            reference=f"RFQ-{now.year}-{n:05d}",
            title=f"Bench RFQ {n}",
            description="",
            currency="EUR",
            delivery_address="Benchstraße 1",
            deadline=now - timedelta(days=1),
            sealed=True,
            status=RfqStatus.closed,
            amendment_no=0,
            published_at=now - timedelta(days=8),
            closed_at=now,
            opened_at=now,
            created_by_id=procurement.id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        row.update(kw)
        return row

    def sourcing(lines: int, n_suppliers: int, title: str) -> int:
        rfq_id = s.execute(sa.insert(Rfq).returning(Rfq.id), [rfq_row(title=title)]).scalar_one()
        s.execute(
            sa.insert(RfqLine),
            [
                dict(
                    rfq_id=rfq_id,
                    position=i + 1,
                    description=f"Bench item {i + 1} stainless hex bolt M{6 + i % 10}",
                    part_number=f"B-{i + 1:05d}",
                    quantity=Decimal(50 + (i % 20) * 25),
                    unit="pcs",
                    notes="",
                )
                for i in range(lines)
            ],
        )
        line_ids = list(
            s.scalars(sa.select(RfqLine.id).where(RfqLine.rfq_id == rfq_id).order_by(RfqLine.position))
        )
        s.execute(
            sa.insert(RfqInvitation),
            [
                dict(rfq_id=rfq_id, supplier_company_id=c.id, invited_by_id=procurement.id, invited_at=now)
                for c in suppliers[:n_suppliers]
            ],
        )
        for k, (c, u) in enumerate(zip(suppliers[:n_suppliers], sales)):
            quote_id = s.execute(
                sa.insert(Quote).returning(Quote.id),
                [
                    dict(
                        rfq_id=rfq_id,
                        supplier_company_id=c.id,
                        status=QuoteStatus.submitted,
                        submitted_at=now,
                        created_by_id=u.id,
                        lock_version=1,
                        needs_reconfirmation=False,
                        created_at=now,
                        updated_at=now,
                    )
                ],
            ).scalar_one()
            version_id = s.execute(
                sa.insert(QuoteVersion).returning(QuoteVersion.id),
                [
                    dict(
                        quote_id=quote_id,
                        number=1,
                        submitted_at=now,
                        submitted_by_id=u.id,
                        created_by_id=u.id,
                        created_at=now,
                        valid_until=(now + timedelta(days=30 if k % 7 else -1)).date(),
                        delivery_terms="",
                        shipping_cost=Decimal(20 + k * 5),
                        notes="",
                        rfq_amendment_no=0,
                    )
                ],
            ).scalar_one()

            def declines(i, k=k):  # every third supplier declines some lines; the others quote everything
                return k % 3 == 1 and (i + k) % 17 == 0

            s.execute(
                sa.insert(QuoteLine),
                [
                    dict(
                        version_id=version_id,
                        rfq_line_id=lid,
                        declined=declines(i),
                        decline_reason="Not in our range" if declines(i) else None,
                        unit_price=None
                        if declines(i)
                        else Decimal("1.00") + Decimal((i * 7 + k * 13) % 97) / 100,
                        price_breaks=[{"min_quantity": "500", "unit_price": "0.95"}] if i % 5 == 0 else [],
                        moq=Decimal(100) if i % 9 == 0 else None,
                        pack_size=Decimal(25) if i % 4 == 0 else None,
                        lead_time_days=5 + (i + k) % 20,
                    )
                    for i, lid in enumerate(line_ids)
                ],
            )
            s.execute(sa.update(Quote).where(Quote.id == quote_id).values(current_version_id=version_id))
        s.commit()
        return rfq_id

    t = time.perf_counter()
    main = sourcing(500, 20, "Bench comparison 500 x 20")
    sizes = {
        (50, 2): sourcing(50, 2, "50 x 2"),
        (50, 20): sourcing(50, 20, "50 x 20"),
        (500, 2): sourcing(500, 2, "500 x 2"),
        (500, 20): main,
    }
    statuses = [RfqStatus.draft, RfqStatus.open, RfqStatus.closed, RfqStatus.awarded, RfqStatus.cancelled]
    total_rfqs = db.session.scalar(sa.select(sa.func.count(Rfq.id)))
    batch = []
    for i in range(10_000 - total_rfqs):
        st = statuses[i % 5]
        batch.append(
            rfq_row(
                status=st,
                sealed=bool(i % 2),
                deadline=now + timedelta(days=(i % 30) - 10),
                opened_at=now if st in (RfqStatus.closed, RfqStatus.awarded) else None,
            )
        )
        if len(batch) == 2000:
            s.execute(sa.insert(Rfq), batch)
            batch = []
    if batch:
        s.execute(sa.insert(Rfq), batch)
    s.commit()
    seeded = time.perf_counter() - t
    counts = {
        m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (Rfq, RfqLine, Quote, QuoteLine)
    }
    return {
        "buyer_email": procurement.email,
        "main": main,
        "sizes": sizes,
        "seconds": seeded,
        "counts": counts,
    }


# --------------------------------------------------------------------------------------------- measuring


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _before(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        self.count = 0
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)


def measure(fn, engine, runs=RUNS):
    fn()  # warm up (templates compiled, caches filled)
    with QueryCounter(engine) as qc:
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return qc.count, statistics.median(times), min(times), max(times)


def main():
    with (
        tempfile.TemporaryDirectory(prefix="bench-sourcing-inst-") as instance,
        throwaway_database() as (url, label),
    ):
        app = make_app(url, instance)
        from flask_migrate import upgrade

        from portal.db import db

        with app.app_context():
            import logging

            logging.getLogger("alembic").setLevel(logging.WARNING)
            upgrade()
            info = seed(app)
        print(
            f"Database: {label}. Seeded in {info['seconds']:.1f}s: "
            + ", ".join(f"{v:,} {k}" for k, v in info["counts"].items())
        )

        client = app.test_client()
        resp = client.post("/signin", data={"email": info["buyer_email"], "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]

        def page(path, expect=200):
            def run():
                r = client.get(path)
                assert r.status_code == expect, (path, r.status_code)
                return r

            return run

        rows = []
        with app.app_context():
            engine = db.engine
            main_id = info["main"]
            body = page(f"/rfqs/{main_id}/comparison")()
            size_kb = len(body.get_data()) / 1024
            rows.append(
                (
                    f"GET /rfqs/{main_id}/comparison (500 lines x 20 quotes, {size_kb:,.0f} KB HTML)",
                    *measure(page(f"/rfqs/{main_id}/comparison"), engine),
                )
            )
            rows.append(
                (
                    "GET comparison.csv (10,000 cells)",
                    *measure(page(f"/rfqs/{main_id}/comparison.csv"), engine),
                )
            )
            has_list = any(r.rule in ("/rfqs/", "/rfqs") for r in app.url_map.iter_rules())
            if has_list:
                rows.append(
                    ("GET /rfqs/ (buyer with 10,000 RFQs, first page)", *measure(page("/rfqs/"), engine))
                )
                rows.append(
                    (
                        "GET /rfqs/?status=closed&page=20",
                        *measure(page("/rfqs/?status=closed&page=20"), engine),
                    )
                )
            else:
                print("The RFQ list (/rfqs) is not there yet: skipped.")

            from portal.quotes import comparison
            from portal.rfq.models import Rfq

            def build(rfq_id):
                def run():
                    db.session.expire_all()
                    rfq = db.session.get(Rfq, rfq_id)
                    return comparison.build(rfq)

                return run

            rows.append(
                (
                    "comparison.build() alone (500 x 20, incl. loading the RFQ)",
                    *measure(build(main_id), engine),
                )
            )

            from portal.documents import render

            rfq = db.session.get(Rfq, main_id)
            snap = comparison.snapshot(comparison.build(rfq), rfq, generated_by="Bench")
            t = time.perf_counter()
            render.preload()
            preload = time.perf_counter() - t
            t = time.perf_counter()
            pdf = render.render_pdf("comparison.html", snap)
            pdf_seconds = time.perf_counter() - t
            small = dict(snap, lines=snap["lines"][:10], line_count=10)
            _, small_median, _, _ = measure(
                lambda: render.render_pdf("comparison.html", small), engine, runs=5
            )

        w = max(len(r[0]) for r in rows)
        print()
        print(f"{'measurement':<{w}}  {'queries':>7}  {'median':>9}  {'min':>9}  {'max':>9}")
        print("-" * (w + 42))
        for name, q, med, lo, hi in rows:
            print(f"{name:<{w}}  {q:>7}  {med * 1000:>7.0f}ms  {lo * 1000:>7.0f}ms  {hi * 1000:>7.0f}ms")
        print()
        print(
            f"PDF: stylesheet + fonts loaded once in {preload * 1000:.0f} ms; comparison PDF of 500 lines "
            f"rendered in {pdf_seconds:.1f} s ({len(pdf) / 1024:,.0f} KB); a 10-line document: "
            f"median {small_median * 1000:.0f} ms."
        )

        print()
        print("Queries do not grow with lines or suppliers:")
        print(f"{'lines x suppliers':<18}  {'build()':>7}  {'page':>5}")
        with app.app_context():
            engine = db.engine
            for (n_lines, n_sup), rfq_id in sorted(info["sizes"].items()):
                db.session.expire_all()
                rfq = db.session.get(Rfq, rfq_id)
                with QueryCounter(engine) as qb:
                    comparison.build(rfq)
                page(f"/rfqs/{rfq_id}/comparison")()
                with QueryCounter(engine) as qp:
                    page(f"/rfqs/{rfq_id}/comparison")()
                print(f"{f'{n_lines} x {n_sup}':<18}  {qb.count:>7}  {qp.count:>5}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
