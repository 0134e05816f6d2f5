"""Notifications, awards and jobs in the change feed: created_at/updated_at on each, `updated_since` on their
lists, cursor pages, a named NotificationKind enum, and another company's (or person's) ids are 404."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from portal.db import db, utcnow
from tests import factories


def _iso(moment):
    return moment.replace(microsecond=0).isoformat()


def _note(user, kind="order", title="Hello", created=None):
    from portal.notifications.models import Notification

    n = Notification(user_id=user.id, company_id=user.company_id, kind=kind, title=title)
    if created is not None:
        n.created_at = n.updated_at = created
    db.session.add(n)
    db.session.commit()
    return n


def test_notifications_carry_kind_enum_timestamps_and_filter_by_updated_since(client, world, token_for):
    h = token_for(world.procurement)
    old = _note(world.procurement, "rfq_closed", "Old", created=utcnow() - timedelta(days=3))
    new = _note(world.procurement, "approval", "New")
    odd = _note(world.procurement, "something-new", "Unnamed kind")
    page = client.get("/api/v1/notifications", headers=h).get_json()
    by_id = {n["id"]: n for n in page["items"]}
    assert by_id[old.id]["kind"] == "rfq_closed" and by_id[odd.id]["kind"] == "other"
    assert {"created_at", "updated_at", "read_at"} <= set(by_id[new.id])
    since = _iso(utcnow() - timedelta(days=1))
    recent = client.get("/api/v1/notifications", headers=h, query_string={"updated_since": since}).get_json()
    assert {n["id"] for n in recent["items"]} == {new.id, odd.id}
    # reading the old one changes it: it is in the feed again
    assert client.post(f"/api/v1/notifications/{old.id}/read", headers=h).status_code == 200
    recent = client.get("/api/v1/notifications", headers=h, query_string={"updated_since": since}).get_json()
    assert old.id in {n["id"] for n in recent["items"]}
    got = client.get(f"/api/v1/notifications/{old.id}", headers=h).get_json()
    assert got["read_at"] and got["updated_at"] >= got["created_at"]
    # kind filter, cursor
    only = client.get("/api/v1/notifications", headers=h, query_string={"kind": "approval"}).get_json()
    assert [n["id"] for n in only["items"]] == [new.id]
    other = client.get("/api/v1/notifications", headers=h, query_string={"kind": "other"}).get_json()
    assert [n["id"] for n in other["items"]] == [odd.id]
    after = client.get("/api/v1/notifications", headers=h, query_string={"starting_after": old.id}).get_json()
    assert [n["id"] for n in after["items"]] == [new.id, odd.id]
    assert client.get("/api/v1/notifications?kind=nonsense", headers=h).status_code == 422


def test_another_persons_notification_is_404(client, world, token_for):
    mine = _note(world.procurement)
    colleague = token_for(world.procurement2)
    assert client.get(f"/api/v1/notifications/{mine.id}", headers=colleague).status_code == 404
    assert client.get(f"/api/v1/notifications/{mine.id}", headers=token_for(world.sales_a)).status_code == 404
    assert client.post(f"/api/v1/notifications/{mine.id}/read", headers=colleague).status_code == 404


def test_read_all_marks_everything_read(client, world, token_for):
    h = token_for(world.procurement)
    for _ in range(3):
        _note(world.procurement)
    resp = client.post("/api/v1/notifications/read-all", headers=h)
    assert resp.status_code == 200 and resp.get_json() == {"marked": 3, "unread_count": 0}
    assert client.get("/api/v1/notifications?unread=true", headers=h).get_json()["total"] == 0


def test_every_kind_the_code_notifies_with_is_named_in_the_enum():
    """A new notify(kind="...") without a NotificationKind member fails here (the API would say `other`)."""
    from portal.notifications.models import NotificationKind

    used = set()
    for path in Path("portal").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", "")
                if "notif" in name.lower() or name == "Notification":
                    used |= {kw.value.value for kw in node.keywords
                             if kw.arg == "kind" and isinstance(kw.value, ast.Constant)}
    assert used and used <= {k.value for k in NotificationKind}, used - {k.value for k in NotificationKind}


def _award(world):
    closed = factories.closed_rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a])
    quote = factories.quote(closed, world.supplier_a, world.sales_a, prices=["1.00"])
    from portal.quotes import award as award_service

    return award_service.award_whole(closed, world.procurement, quote.id, "")


def test_awards_list_and_get_with_timestamps_and_updated_since(client, world, token_for, outsiders):
    from portal.quotes.models import Award

    h = token_for(world.procurement)
    first = _award(world)
    db.session.execute(sa.update(Award).where(Award.id == first.id).values(updated_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    second = _award(world)
    page = client.get("/api/v1/awards", headers=h).get_json()
    assert [a["id"] for a in page["items"]] == [first.id, second.id]
    assert {"created_at", "updated_at"} <= set(page["items"][0])
    since = _iso(utcnow() - timedelta(days=1))
    recent = client.get("/api/v1/awards", headers=h, query_string={"updated_since": since}).get_json()
    assert [a["id"] for a in recent["items"]] == [second.id]
    # creating the orders changes the award: it comes back in the feed
    assert client.post(f"/api/v1/rfqs/{first.rfq_id}/award/orders", headers=h).status_code == 201
    recent = client.get("/api/v1/awards", headers=h, query_string={"updated_since": since}).get_json()
    assert {a["id"] for a in recent["items"]} == {first.id, second.id}
    by_rfq = client.get("/api/v1/awards", headers=h, query_string={"rfq_id": second.rfq_id}).get_json()
    assert [a["id"] for a in by_rfq["items"]] == [second.id]
    one = client.get(f"/api/v1/awards/{first.id}", headers=h)
    assert one.status_code == 200 and one.get_json()["orders_created_at"]
    # another buyer: 404; a supplier (even the winner): 403 (awards are the buyer's decision)
    assert client.get(f"/api/v1/awards/{first.id}", headers=token_for(outsiders.buyer)).status_code == 404
    assert client.get("/api/v1/awards", headers=token_for(outsiders.buyer)).get_json()["items"] == []
    assert client.get(f"/api/v1/awards/{first.id}", headers=token_for(world.sales_a)).status_code == 403


def test_jobs_list_with_updated_since_and_who_sees_what(client, world, token_for, outsiders):
    from portal.jobs.models import JobRecord, JobStatus

    def job(user, minutes_ago=0, status=JobStatus.succeeded, kind="invoice-pdf"):
        moment = utcnow() - timedelta(minutes=minutes_ago)
        rec = JobRecord(kind=kind, title="A job", func="x", args=[], queue="default", company_id=world.buyer.id,
                        user_id=None if user is None else user.id, status=status, created_at=moment,
                        updated_at=moment)
        db.session.add(rec)
        db.session.commit()
        return rec

    old = job(world.procurement, minutes_ago=600)
    mine = job(world.procurement, kind="comparison-pdf", status=JobStatus.failed)
    system = job(None)
    colleagues = job(world.procurement2)
    h = token_for(world.procurement)
    page = client.get("/api/v1/jobs", headers=h).get_json()
    assert [j["id"] for j in page["items"]] == [old.id, mine.id, system.id]  # not a colleague's
    assert {"created_at", "updated_at"} <= set(page["items"][0])
    since = _iso(utcnow() - timedelta(minutes=60))
    recent = client.get("/api/v1/jobs", headers=h, query_string={"updated_since": since}).get_json()
    assert [j["id"] for j in recent["items"]] == [mine.id, system.id]
    failed = client.get("/api/v1/jobs", headers=h, query_string={"status": "failed"}).get_json()
    assert [j["id"] for j in failed["items"]] == [mine.id]
    kind = client.get("/api/v1/jobs", headers=h, query_string={"kind": "comparison-pdf"}).get_json()
    assert [j["id"] for j in kind["items"]] == [mine.id]
    admin = client.get("/api/v1/jobs", headers=token_for(world.buyer_admin)).get_json()
    assert colleagues.id in {j["id"] for j in admin["items"]}
    assert client.get(f"/api/v1/jobs/{colleagues.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/jobs/{mine.id}", headers=token_for(outsiders.buyer)).status_code == 404
    assert client.get("/api/v1/jobs", headers=token_for(outsiders.buyer)).get_json()["items"] == []


def test_a_jobs_updated_at_moves_with_its_status(app, world):
    from portal.jobs.models import JobRecord, JobStatus

    moment = utcnow() - timedelta(hours=1)
    rec = JobRecord(kind="k", title="t", func="x", args=[], queue="default", company_id=world.buyer.id,
                    status=JobStatus.queued, created_at=moment, updated_at=moment)
    db.session.add(rec)
    db.session.commit()
    db.session.execute(sa.update(JobRecord).where(JobRecord.id == rec.id).values(status=JobStatus.running))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(JobRecord, rec.id).updated_at > moment + timedelta(minutes=30)


def test_the_document_names_the_notification_kind_enum(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["NotificationOut"]["properties"]["kind"]["$ref"] == "#/components/schemas/NotificationKind"
    assert "other" in schemas["NotificationKind"]["enum"]
    for name in ("NotificationOut", "AwardOut", "Job"):
        assert {"created_at", "updated_at"} <= set(schemas[name]["required"]), name
    for path in ("/api/v1/notifications", "/api/v1/awards", "/api/v1/jobs"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"updated_since", "starting_after", "sort"} <= names, path
