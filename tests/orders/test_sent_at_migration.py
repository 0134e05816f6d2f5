"""Migration vis_0001 backfills purchase_orders.sent_at: from the audit trail (the first move into a state only a
sent order reaches), else from status / placing / the supplier's number; a draft cancelled before sending (or sent
back by an approver) stays unsent. The RFQ's "orders created" events (they name draft orders) become the buyer's."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from portal.db import db
from tests.test_migrations import scratch_database_url  # noqa: F401  (fixture: an empty database of the suite's kind)

T1 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 3, 5, 14, 30, tzinfo=timezone.utc)
T3 = datetime(2026, 4, 1, 8, 15, tzinfo=timezone.utc)
T4 = datetime(2026, 5, 6, 7, 45, tzinfo=timezone.utc)


def test_backfill_tells_sent_from_never_sent(app, scratch_database_url, redis_url):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from portal import create_app
    from portal.audit.models import AuditEvent
    from portal.orders.models import PurchaseOrder
    from tests import factories

    scratch = create_app({
        "TESTING": True, "SECRET_KEY": "scratch", "SQLALCHEMY_DATABASE_URI": scratch_database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}, "REDIS_URL": "", "JOBS_MODE": "inline",
        "RATELIMIT_STORAGE_URI": redis_url, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
    })
    with scratch.app_context():
        try:
            upgrade()
            w = factories.World.build()

            def order(status, events=(), **cols):
                o = factories.order(w.buyer, w.supplier_a, w.procurement, status=status)
                for at, frm, to in events:
                    db.session.add(AuditEvent(entity_type="order", entity_id=o.id, action="x", from_state=frm,
                                              to_state=to, at=at))
                for k, v in cols.items():
                    setattr(o, k, v)
                db.session.commit()
                return o.id

            ids = {
                "cancelled_draft": order("cancelled", [(T1, "draft", "cancelled")], supplier_order_number=None),
                "sent_back": order("draft", [(T1, "draft", "awaiting_approval"), (T2, "awaiting_approval", "draft")]),
                "awaiting": order("awaiting_approval", [(T1, "draft", "awaiting_approval")]),
                "cancelled_after_sending": order("cancelled", [(T1, "draft", "submitted"),
                                                               (T2, "submitted", "cancelled")]),
                "approved_then_placed": order("placed", [(T1, "draft", "awaiting_approval"),
                                                         (T2, "awaiting_approval", "submitted"), (T3, None, "placed")]),
                "placed_no_trail": order("placed", placed_at=T3, submitted_at=T1),
                "cancelled_with_so_number_no_trail": order("cancelled", submitted_at=T4),
                "plain_draft": order("draft"),
            }
            created = AuditEvent(entity_type="rfq", entity_id=1, action="orders_created", company_id=w.buyer.id,
                                 detail="PO-2026-00001")
            published = AuditEvent(entity_type="rfq", entity_id=1, action="published", company_id=w.buyer.id)
            db.session.add_all([created, published])
            db.session.commit()
            events = {"orders_created": created.id, "published": published.id}
            buyer_id = w.buyer.id
            db.session.remove()
            downgrade(revision="4cd172f4093e")
            upgrade()
            got = dict(db.session.execute(sa.select(PurchaseOrder.id, PurchaseOrder.sent_at)
                                          .where(PurchaseOrder.id.in_(ids.values()))).all())
            assert {k: got[v] for k, v in ids.items()} == {
                "cancelled_draft": None, "sent_back": None, "awaiting": None, "plain_draft": None,
                "cancelled_after_sending": T1, "approved_then_placed": T2, "placed_no_trail": T3,
                "cancelled_with_so_number_no_trail": T4}
            seen_by = dict(db.session.execute(sa.select(AuditEvent.id, AuditEvent.visible_to_company_id)
                                              .where(AuditEvent.id.in_(events.values()))).all())
            assert {k: seen_by[v] for k, v in events.items()} == {"orders_created": buyer_id, "published": None}
        finally:
            db.session.remove()
            db.engine.dispose()
