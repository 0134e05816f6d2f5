"""Order notices (portal/orders) are worded for the reader: a German reader sees them in German with German
figures ("2.980,00 €", "06.11.2026"), an English reader in English; the row keeps the English text and the
figures, mails go out in the recipient's language."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.notifications.models import Notification
from portal.orders import approvals, services
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh
from tests.i18n.test_notifications import _mail
from tests.i18n.test_notifications import _page as _page_at


def _page(client) -> str:
    return _page_at(client, "/notifications/")


LINES = [(Decimal("1000"), Decimal("2.50")), (Decimal("40"), Decimal("12.00"))]  # 2,500.00 + 480.00 = 2,980.00


def _notice(user, like: str) -> Notification:
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id,
                                                            Notification.title.like(like))).one()


def test_supplier_proposal_reads_german_for_a_german_buyer_and_english_for_an_english_one(world, login):
    world.procurement.language = "de"
    db.session.commit()
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed", lines=LINES)
    first = fresh(o).lines[0]
    services.acknowledge(fresh(o), world.sales_a, fresh(o).lock_version,
                         {first.id: {"action": "change", "quantity": "800", "note": "Only 800 in stock"}})
    o = fresh(o)
    assert o.status == S.change_proposed
    german = _page(login(world.procurement))
    assert f"Supplier Alpha GmbH schlägt Änderungen an Bestellung {o.po_number}" in german
    assert "Summe 2.980,00\xa0€ → 2.480,00\xa0€, wenn alle angenommen werden" in german
    assert "2,980.00" not in german and "proposes changes" not in german
    english = _page(login(world.procurement2))
    assert f"Supplier Alpha GmbH proposes changes to order {o.po_number}" in english
    assert "Total €2,980.00 → €2,480.00 if all are accepted. Accept or reject the changes" in english
    # The row keeps the English text (API, search) and the figures; the mail is in the recipient's language.
    n = _notice(world.procurement, "%proposes changes%")
    assert "Total €2,980.00 → €2,480.00" in n.body
    old = n.message["body"][1]["old"]
    assert Decimal(old["$money"]) == Decimal("2980") and old["currency"] == "EUR"
    assert _mail(world.procurement).subject.startswith("Supplier Alpha GmbH schlägt Änderungen")
    assert _mail(world.procurement2).subject.startswith("Supplier Alpha GmbH proposes changes")


def test_new_order_notice_for_a_german_supplier(world, login):
    world.sales_a.language = "de"
    db.session.commit()
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="submitted", lines=LINES)
    o = fresh(o)
    services.on_placed(o, world.procurement)
    db.session.commit()
    o = fresh(o)
    german = _page(login(world.sales_a))
    assert f"Neue Bestellung {o.po_number} / {o.supplier_order_number} von Acme Buying GmbH" in german
    assert (f"Bestellung {o.po_number} (2.980,00\xa0€) wartet als {o.supplier_order_number} auf Ihre "
            "Auftragsbestätigung.") in german
    n = _notice(world.sales_a, "New order%")
    assert n.title == f"New order {o.po_number} / {o.supplier_order_number} from Acme Buying GmbH"
    assert n.body == (f"Purchase order {o.po_number} (€2,980.00) is waiting for your acknowledgement as "
                      f"{o.supplier_order_number}.")
    assert _mail(world.sales_a).subject.startswith("Neue Bestellung")
    # The buyer (English) reads the placed notice in English.
    assert f"Order {o.po_number} / {o.supplier_order_number} placed" in _page(login(world.procurement))


def test_escalation_reads_german_with_german_date_and_plural(world, login):
    world.buyer_admin.language = "de"
    db.session.commit()
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="awaiting_approval", lines=LINES)
    o = fresh(o)
    o.submitted_at = datetime(2026, 11, 6, 9, 0, tzinfo=timezone.utc)  # a Friday
    db.session.commit()
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc)) == 1
    german = _page(login(world.buyer_admin))
    assert f"Bestellung {o.po_number} wartet zu lange auf Freigabe" in german
    assert (f"{o.po_number} an Supplier Alpha GmbH (2.980,00\xa0€) wartet seit mehr als 3 Arbeitstagen auf "
            "Freigabe (eingereicht 06.11.2026") in german
    assert "0 von 1 Freigabe erteilt" in german and "working days" not in german
    # The history keeps its English sentence (with the figures for readers of other languages).
    ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "approval_escalated",
                                                       AuditEvent.entity_id == o.id))
    assert "more than 3 working days (submitted 2026-11-06 09:00" in ev.detail
    assert "0 of 1 approval given" in ev.detail
