"""Notifications keep their message and figures and are worded when read: in the reader's language and format;
mails in the recipient's language. Plain-text notices (not yet converted callers) are shown as stored."""
from __future__ import annotations

import html
from datetime import date, datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, lazy_gettext as _l

from portal.db import db
from portal.notifications.messages import day, moment, money, msg, render
from portal.notifications.models import Notification, OutboxMail
from portal.notifications.services import notify
from tests import factories


def _page(client, url) -> str:
    resp = client.get(url)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def _mail(user) -> OutboxMail:
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.to_address == user.email)
                              .order_by(OutboxMail.id.desc())).first()


def test_award_notice_reads_german_with_german_money_for_a_german_reader(world, login):
    world.sales_a.language = "de"
    db.session.commit()
    lines = msg(_l("%(n)s lines"), n=3)
    notify([world.sales_a, world.sales_b], kind="rfq_awarded", link="/rfqs/1",
           title=msg(_l("You won %(lines)s of %(reference)s"), lines=lines, reference="RFQ-2026-0001"),
           body=msg(_l("%(buyer)s awarded you %(lines)s of %(reference)s “%(title)s”, worth %(total)s before "
                       "shipping. A purchase order follows."), buyer="Acme Buying GmbH", lines=lines,
                    reference="RFQ-2026-0001", title="Bolts", total=money(Decimal("6812.51"), "EUR")))
    db.session.commit()
    german = _page(login(world.sales_a), "/notifications/")
    assert "Zuschlag für 3 Positionen von RFQ-2026-0001" in german
    assert "6.812,51\xa0€" in german and "6,812.51" not in german
    english = _page(login(world.sales_b), "/notifications/")
    assert "You won 3 lines of RFQ-2026-0001" in english and "€6,812.51" in english
    # The row keeps the English text for the API and the figures for later readers.
    n = db.session.scalars(sa.select(Notification).where(Notification.user_id == world.sales_a.id)).one()
    assert n.title == "You won 3 lines of RFQ-2026-0001"
    assert n.message["body"][1]["total"] == {"$money": "6812.51", "currency": "EUR"}
    # Mails: each in the recipient's language.
    assert _mail(world.sales_a).subject == "Zuschlag für 3 Positionen von RFQ-2026-0001"
    assert "Guten Tag" in _mail(world.sales_a).body and "6.812,51\xa0€" in _mail(world.sales_a).body
    assert _mail(world.sales_b).subject == "You won 3 lines of RFQ-2026-0001"
    assert _mail(world.sales_b).body.startswith("Hello ")


def test_a_reader_who_changes_language_sees_old_notices_in_the_new_one(world, login):
    notify([world.procurement], kind="x", mail=False,
           title=msg(_l("RFQ closed: %(reference)s"), reference="RFQ-7"))
    db.session.commit()
    assert "RFQ closed: RFQ-7" in _page(login(world.procurement), "/notifications/")
    world.procurement.language = "de"
    db.session.commit()
    assert "Angebotsanfrage geschlossen: RFQ-7" in _page(login(world.procurement), "/notifications/")


def test_dates_and_times_in_the_readers_format_and_zone(app):
    stored = msg(_l("Your quote for %(reference)s “%(title)s” was valid until %(until)s. Revise it with a new "
                    "validity date if you still stand by it."), reference="R", title="T", until=day(date(2026, 12, 6)))
    with force_locale("de"):
        assert "war gültig bis 06.12.2026." in render(stored, locale="de_DE")
    with force_locale("en"):
        assert "was valid until 6 Dec 2026." in render(stored, locale="en_GB")
    when = msg(_l("%(buyer)s invites you to quote for “%(title)s”. Responses are due by %(deadline)s."),
               buyer="B", title="T", deadline=moment(datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)))
    with force_locale("de"):
        text = render(when, locale="de_DE", tz="Europe/Berlin")
    assert "Angebotsfrist: 06.12.2026, 13:00 (Europe/Berlin)" in text


def test_plain_text_notices_are_shown_as_stored(world, login):
    world.procurement.language = "de"
    db.session.commit()
    notify([world.procurement], kind="legacy", title="Order PO-1 shipped", body="Nordstahl Fasteners shipped it.",
           mail=False)
    db.session.commit()
    page = _page(login(world.procurement), "/notifications/")
    assert "Order PO-1 shipped" in page and "Nordstahl Fasteners shipped it." in page


def test_rfq_invitation_is_german_for_a_german_supplier(world, login):
    world.sales_b.language = "de"
    db.session.commit()
    from portal.rfq import services

    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a], title="Sechskantschrauben")
    services.invite_suppliers(world.procurement, r.id, [world.supplier_b.id])
    db.session.commit()
    page = _page(login(world.sales_b), "/notifications/")
    assert f"Angebotsanfrage {r.reference}: Sechskantschrauben" in page
    assert "lädt Sie ein, ein Angebot für „Sechskantschrauben“ abzugeben" in page
    assert "Angebotsanfrage" in _mail(world.sales_b).subject


def test_no_possessive_s_after_a_name_ending_in_s(world):
    """"Nordstahl Fasteners's" never appears: sentences name the company without a possessive."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "portal"
    mine = ["rfq", "quotes", "catalog", "notifications", "webhooks", "accounts"]
    import re

    pattern = re.compile(r"\{[^}]*(name|display_name|supplier|buyer)[^}]*\}'s\b")
    found = [f"{p}:{i}" for d in mine for p in (root / d).rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
