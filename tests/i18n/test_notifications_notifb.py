"""Notices of the credit, receivables, requisition and supplier domains are worded when read (issue 19): the real
service call stores a message with figures; a German reader (and their mail) gets German words and German money
and dates, an English reader English ones."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale

from portal.credit import services as credit
from portal.credit.models import CreditAccount
from portal.db import db
from portal.notifications.messages import for_reader
from portal.notifications.models import Notification, OutboxMail
from portal.receivables import dunning
from tests import factories
from tests.receivables.conftest import open_invoice, set_days


def _notice(user, kind) -> Notification:
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id,
                                                            Notification.kind == kind)
                              .order_by(Notification.id.desc())).first()


def _read(n: Notification, part: str, language: str) -> str:
    with force_locale(language):
        return for_reader(n, part, locale="de_DE" if language == "de" else "en_GB", tz="Europe/Berlin")


def _mail(user) -> OutboxMail:
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.to_address == user.email)
                              .order_by(OutboxMail.id.desc())).first()


def test_a_dunning_reminder_reads_german_with_german_money_and_dates(world):
    world.supplier_a.iban = "DE89370400440532013000"
    world.buyer_accounts.language = "de"
    db.session.commit()
    set_days(world.supplier_a, "3")
    inv = open_invoice(world, "1234.50", days_late=4)
    assert dunning.run_dunning() == 1
    buyer_note, supplier_note = _notice(world.buyer_accounts, "invoice-reminder"), _notice(world.accounts_a,
                                                                                            "invoice-reminder")
    german = _read(buyer_note, "body", "de")
    assert f"Rechnung {inv.number} über 1.234,50\xa0€ war am {inv.due_date.strftime('%d.%m.%Y')} fällig" in german
    assert "(vor 4 Tagen)" in german and "Bitte veranlassen Sie die Zahlung" in german
    assert "1,234.50" not in german and "Please" not in german
    assert _read(buyer_note, "title", "de") == f"Zahlungserinnerung: Rechnung {inv.number} von " \
                                               f"{world.supplier_a.display_name}"
    # The mail to the German reader is German too; the stored row keeps the English text for the API.
    mail = _mail(world.buyer_accounts)
    assert mail.subject.startswith("Zahlungserinnerung: Rechnung") and "1.234,50\xa0€" in mail.body
    assert buyer_note.title.startswith("Payment reminder: invoice") and "€1,234.50" in buyer_note.body
    english = _read(supplier_note, "body", "en")
    assert f"Invoice {inv.number} of €1,234.50 was due on" in english and "(4 days ago)" in english
    assert _read(supplier_note, "title", "en") == (f"Payment reminder sent to {world.buyer.display_name} "
                                                    f"for invoice {inv.number}")


def test_a_credit_hold_decision_reads_german_for_a_german_buyer(world):
    world.procurement.language = "de"
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("1000"), currency="EUR", payment_terms_days=30,
                                 block_on_overdue=True))
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="submitted",
                            lines=[("1", "1500")], currency="EUR")
    credit.check_order(order.id)
    credit.release_hold(db.session.get(type(order), order.id), world.accounts_a, "Bekannter Kunde.")
    note = _notice(world.procurement, "credit_decision")
    assert _read(note, "title", "de") == f"Bestellung {order.po_number} wurde aus der Kreditsperre freigegeben"
    assert _read(note, "body", "de") == f"{world.supplier_a.display_name} hat die Bestellung freigegeben: " \
                                        "Bekannter Kunde."
    assert _mail(world.procurement).subject == f"Bestellung {order.po_number} wurde aus der Kreditsperre freigegeben"
    english = _notice(world.procurement2, "credit_decision")
    assert _read(english, "title", "en") == f"Order {order.po_number} was released from credit hold"
    assert english.title == f"Order {order.po_number} was released from credit hold"


def test_a_requisition_approval_request_reads_german_with_german_money(world):
    from portal.budgets.models import CostCentre, GlAccount
    from portal.requisitions import services as requisitions

    engineer = factories.user(world.buyer, "requester", email="engineer@acme.test", commit=False)
    owner = factories.user(world.buyer, "approver", email="owner@acme.test", commit=False)
    owner.language = "de"
    db.session.flush()
    cc = CostCentre(company_id=world.buyer.id, code="CC-100", name="Maintenance", owner_id=owner.id)
    gl = GlAccount(company_id=world.buyer.id, code="4400", name="Spare parts")
    db.session.add_all([cc, gl])
    db.session.commit()
    req = requisitions.save(engineer, title="Bearings", justification="Line 3 stands still", submit=True,
                            lines=[{"description": "Bearing 6204", "quantity": "100", "estimated_price": "12.345",
                                    "cost_centre_id": cc.id, "gl_account_id": gl.id}])
    note = _notice(owner, "requisition")
    assert _read(note, "title", "de") == f"Bedarfsanforderung {req.number} braucht Ihre Freigabe"
    assert _read(note, "body", "de") == f"{engineer.name} bittet um Bearings (1.234,50\xa0€)."
    assert _mail(owner).subject == f"Bedarfsanforderung {req.number} braucht Ihre Freigabe"
    assert _read(note, "title", "en") == note.title == f"Requisition {req.number} needs your approval"
    assert _read(note, "body", "en") == f"{engineer.name} asks for Bearings (€1,234.50)."


def test_an_invoice_dispute_reads_german_for_the_german_supplier(world):
    from portal.payables import disputes

    world.accounts_a.language = "de"
    db.session.commit()
    inv = open_invoice(world, "1234.50", due_in=10)
    disputes.open_dispute(inv, world.buyer_accounts, reason="Preis falsch")
    note = _notice(world.accounts_a, "invoice")
    assert _read(note, "title", "de") == f"{world.buyer.display_name} beanstandet Rechnung {inv.number}"
    assert "Die Rechnung (1.234,50\xa0€ offen) ist nicht fällig" in _read(note, "body", "de")
    assert note.title == _read(note, "title", "en") == f"{world.buyer.display_name} disputes Invoice {inv.number}"
    assert "The invoice (€1,234.50 open) is not due" in _read(note, "body", "en")


def test_a_supplier_status_notice_reads_german_for_the_german_supplier(world):
    from portal.suppliers import services as suppliers

    world.admin_a.language = "de"
    db.session.commit()
    suppliers.set_status(world.procurement, world.supplier_a.id, "approved")
    german, english = _notice(world.admin_a, "supplier_status"), _notice(world.sales_a, "supplier_status")
    assert _read(german, "title", "de") == f"{world.buyer.display_name}: Ihr Lieferantenstatus ist freigegeben"
    assert _read(german, "body", "de") == f"{world.buyer.display_name} hat Ihren Status auf freigegeben gesetzt."
    assert _read(english, "title", "en") == english.title == (f"{world.buyer.display_name}: your supplier status "
                                                               "is approved")
