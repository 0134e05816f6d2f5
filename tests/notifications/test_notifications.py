"""Notifications: the bell, the outbox, and the mail job (kept without SMTP, sent once with it)."""
from __future__ import annotations

import smtplib

import pytest
from rq import Queue

from portal.accounts.models import Role
from portal.db import db
from portal.jobs import queue as jobs_queue
from portal.jobs.queue import enqueue_after_commit, rq_id
from portal.notifications.jobs import send_mail_job
from portal.notifications.models import MailStatus, Notification, OutboxMail
from portal.notifications.services import notify, notify_company, unread_count
from tests import factories
from tests.accounts.helpers import count, fresh, location_path, text


class FakeSMTP:
    """Records what would have been sent; ``fail_next`` connections raise like an unreachable server."""

    sent: list = []
    connections: list = []
    fail_next = 0

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.fail_next:
            FakeSMTP.fail_next -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        self.host, self.port, self.calls = host, port, []
        FakeSMTP.connections.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append("quit")
        return False

    def starttls(self):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, msg):
        self.calls.append("send")
        FakeSMTP.sent.append(msg)


@pytest.fixture
def smtp(app, monkeypatch):
    FakeSMTP.sent, FakeSMTP.connections, FakeSMTP.fail_next = [], [], 0
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "MAIL_PORT", 2525)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "portal")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "s3cret")
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)
    return FakeSMTP


def mail_queue(app) -> Queue:
    return Queue("mail", connection=app.extensions["portal_redis"])


# ------------------------------------------------------------------------------------------- notify()

def test_notify_creates_notification_and_outbox_mail(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://portal.example.com")
    user = world.procurement
    notify([user, user], kind="rfq", title="RFQ 7 closes tomorrow", body="Three quotes are in.",
           link="/rfq/7")
    assert mail_queue(app).job_ids == []  # not before the commit
    db.session.commit()

    n = Notification.query.one()  # the duplicate was ignored
    assert (n.user_id, n.company_id, n.kind, n.title, n.link) == (user.id, world.buyer.id, "rfq",
                                                                    "RFQ 7 closes tomorrow", "/rfq/7")
    assert n.read_at is None
    mail = OutboxMail.query.one()
    assert mail.to_address == user.email
    assert mail.subject == "RFQ 7 closes tomorrow"
    assert mail.status == MailStatus.queued
    assert mail.company_id == world.buyer.id
    assert f"Hello {user.name}," in mail.body
    assert "Three quotes are in." in mail.body
    assert "Open it in the portal: https://portal.example.com/rfq/7" in mail.body
    assert mail_queue(app).job_ids == [rq_id(f"mail-{mail.id}")]


def test_notify_without_mail(world):
    notify([world.procurement], kind="info", title="FYI", mail=False)
    db.session.commit()
    assert count(Notification) == 1
    assert count(OutboxMail) == 0


def test_notify_company_reaches_active_people_with_the_role(world):
    gone = factories.user(world.buyer, "procurement", email="gone@acme.test", active=False)
    notify_company(world.buyer.id, [Role.procurement], kind="rfq", title="New RFQ")
    db.session.commit()
    got = {n.user_id for n in Notification.query.all()}
    assert got == {world.procurement.id, world.procurement2.id}
    assert gone.id not in got


# ------------------------------------------------------------------------------------------- mail job

def test_mail_is_kept_in_the_outbox_without_smtp(world, run_jobs):
    notify([world.procurement], kind="info", title="Hello there")
    db.session.commit()
    run_jobs()
    mail = fresh(OutboxMail.query.one())
    assert mail.status == MailStatus.kept
    assert mail.sent_at is not None
    assert mail.error is None


def test_mail_is_sent_with_smtp_and_only_once(world, run_jobs, smtp, app):
    notify([world.procurement], kind="info", title="Order 12 confirmed", body="Your order is confirmed.")
    db.session.commit()

    run_jobs()

    mail = fresh(OutboxMail.query.one())
    assert mail.status == MailStatus.sent
    assert mail.sent_at is not None
    assert len(smtp.sent) == 1
    msg = smtp.sent[0]
    assert msg["To"] == world.procurement.email
    assert msg["Subject"] == "Order 12 confirmed"
    assert msg["From"] == app.config["MAIL_FROM"]
    assert "Your order is confirmed." in msg.get_content()
    conn = smtp.connections[0]
    assert (conn.host, conn.port) == ("smtp.example.com", 2525)
    assert conn.calls == ["starttls", ("login", "portal", "s3cret"), "send", "quit"]

    # a second run (a duplicate delivery, or a retry after a crash) sends nothing
    assert send_mail_job(mail.id) == "sent"
    enqueue_after_commit("portal.notifications.jobs.send_mail_job", mail.id, queue="mail",
                         job_id="mail-again")
    db.session.commit()
    run_jobs()
    assert len(smtp.sent) == 1
    assert len(smtp.connections) == 1


def test_mail_without_tls_or_login_when_not_configured(world, run_jobs, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "")
    notify([world.procurement], kind="info", title="Plain")
    db.session.commit()
    run_jobs()
    assert smtp.connections[0].calls == ["send", "quit"]


def test_unreachable_smtp_is_retried_then_sent(world, run_jobs, smtp, monkeypatch):
    monkeypatch.setattr(jobs_queue, "RETRY_INTERVALS", [0, 0, 0])
    smtp.fail_next = 2
    notify([world.procurement], kind="info", title="Eventually")
    db.session.commit()

    run_jobs()

    mail = fresh(OutboxMail.query.one())
    assert mail.status == MailStatus.sent
    assert len(smtp.sent) == 1


def test_smtp_that_never_answers_leaves_mail_failed_with_the_reason(world, run_jobs, smtp, monkeypatch):
    monkeypatch.setattr(jobs_queue, "RETRY_INTERVALS", [0, 0, 0])
    smtp.fail_next = 99
    notify([world.procurement], kind="info", title="Never")
    db.session.commit()

    run_jobs()

    mail = fresh(OutboxMail.query.one())
    assert mail.status == MailStatus.failed
    assert "Connection refused" in mail.error
    assert smtp.sent == []


def test_mail_job_for_a_vanished_mail_does_nothing(world, smtp):
    assert send_mail_job(424242) == "gone"
    assert smtp.connections == []


# ------------------------------------------------------------------------------------------- the bell

def test_bell_shows_unread_count(world, login):
    notify([world.procurement], kind="info", title="First", mail=False)
    notify([world.procurement], kind="info", title="Second", mail=False)
    notify([world.approver], kind="info", title="Not yours", mail=False)
    db.session.commit()

    page = login(world.procurement).get("/dashboard").get_data(as_text=True)
    assert 'data-testid="unread-count">2</span>' in page
    assert "Notifications, 2 unread" in page

    quiet = login(world.buyer_accounts).get("/dashboard").get_data(as_text=True)
    assert 'data-testid="unread-count"' not in quiet


def test_mark_read_follows_the_link_and_lowers_the_count(world, login):
    notify([world.procurement], kind="job", title="Export ready", link="/jobs/", mail=False)
    notify([world.procurement], kind="info", title="Other", mail=False)
    db.session.commit()
    first = Notification.query.filter_by(title="Export ready").one()
    c = login(world.procurement)

    resp = c.post(f"/notifications/{first.id}/read")
    assert resp.status_code == 302
    assert location_path(resp) == "/jobs/"
    assert fresh(first).read_at is not None
    assert unread_count(world.procurement) == 1
    assert 'data-testid="unread-count">1</span>' in c.get("/dashboard").get_data(as_text=True)

    resp = c.post("/notifications/read-all")
    assert resp.status_code == 302
    assert unread_count(world.procurement) == 0
    assert 'data-testid="unread-count"' not in c.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("link", ["//evil.example/x", "https://evil.example/"])
def test_mark_read_never_redirects_off_site(world, login, link):
    notify([world.procurement], kind="info", title="Sneaky", link=link, mail=False)
    db.session.commit()
    n = Notification.query.one()
    resp = login(world.procurement).post(f"/notifications/{n.id}/read")
    assert location_path(resp) == "/notifications/"
    assert "evil" not in resp.headers["Location"]


def test_another_users_notification_is_404(world, login):
    notify([world.approver], kind="info", title="Approver only", mail=False)
    db.session.commit()
    n = Notification.query.one()

    c = login(world.procurement)
    assert c.post(f"/notifications/{n.id}/read").status_code == 404
    assert fresh(n).read_at is None
    assert "Approver only" not in text(c.get("/notifications/"))
    c.post("/notifications/read-all")
    assert fresh(n).read_at is None
    assert "Approver only" in text(login(world.approver).get("/notifications/"))


def test_outbox_is_for_admins_and_shows_own_company_mail(world, login):
    notify([world.procurement], kind="info", title="For Acme", mail=True)
    notify([world.sales_a], kind="info", title="For Alpha", mail=True)
    db.session.commit()
    assert login(world.procurement).get("/notifications/outbox").status_code == 403
    body = text(login(world.buyer_admin).get("/notifications/outbox"))
    assert "For Acme" in body
    assert "For Alpha" not in body
    assert "No SMTP configured" in body
