"""The last sentences the server used to build in English (issue 19): audit details, the supplier's change summary,
the first revision's summary, the credit check's reason in the history, job titles, the shipping line of an
invoice (in the *document's* language) and status words inside sentences. German readers see German with German
figures; the stored English text stays as it was (API, search) and old rows keep their stored text."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale

from portal.audit.models import AuditEvent
from portal.db import db
from portal.errors import InvalidTransition
from tests import factories
from tests.accounts.helpers import fresh
from tests.credit.conftest import account, submitted  # noqa: F401 - fixtures
from tests.i18n.test_service_messages_pages import _german, _text
from tests.invoices.conftest import issued_for, iw, ship  # noqa: F401 - fixtures and helpers
from tests.orders.conftest import order_in  # noqa: F401 - fixture
from tests.requisitions.conftest import rw  # noqa: F401 - fixture


def _german_order_page(login, user, order_id) -> str:
    """The order page as ``user`` sees it reading German."""
    _german(user)
    return _text(login(user).get(f"/orders/{order_id}"))


def _events(entity_type, entity_id, action):
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id, AuditEvent.action == action)
        .order_by(AuditEvent.id)))


def _german_text(event) -> str:
    with force_locale("de"):
        return event.text("de_DE")


# ------------------------------------------------------------------------------------------------- credit check

def test_the_credit_checks_reason_in_the_history_is_german_with_german_figures(world, account, submitted,  # noqa: F811
                                                                               login):
    from portal.credit import services

    account(world.supplier_a, world.buyer, "5000")
    order = submitted("1234.5")
    assert services.check_order(order.id).outcome == "passed"
    passed = _events("order", order.id, "credit_check_passed")[-1]
    # the English text is what it always was (the check's own reason)
    assert passed.detail == ("Exposure 1,234.50 EUR is within the limit of 5,000.00 EUR (3,765.50 EUR still "
                             "available; 25 % used, within the limit).")
    page = _german_order_page(login, world.procurement, order.id)
    assert ("Obligo 1.234,50\xa0€ liegt innerhalb des Limits von 5.000,00\xa0€ (3.765,50\xa0€ noch verfügbar; "
            "25 % ausgeschöpft, innerhalb des Limits).") in page
    assert "Kreditprüfung bestanden." in page  # the "placed" event
    assert "Bestellung erteilt." in page  # revision 1's summary
    assert "Eingereicht → Erteilt" in page and "Submitted → Placed" not in page  # the history's status moves
    assert "is within the limit" not in page and "Order placed." not in page
    english = _text(login(world.sales_a).get(f"/orders/{order.id}"))
    assert "Exposure €1,234.50 is within the limit of €5,000.00" in english and "Order placed." in english


def test_a_hold_in_the_history_names_the_factor_and_the_manual_decision_in_german(world, account,  # noqa: F811
                                                                                  submitted):  # noqa: F811
    from portal.credit import services

    account(world.supplier_a, world.buyer, "1000")
    order = submitted("1240")
    assert services.check_order(order.id).outcome == "hold"
    held = _events("order", order.id, "credit_check_hold")[-1]
    assert held.detail == ("Exposure 1,240.00 EUR would exceed the limit of 1,000.00 EUR by 240.00 EUR (124 % used, "
                           "over the limit). The order is on hold for a manual decision.")
    assert _german_text(held) == ("Obligo 1.240,00\xa0€ würde das Limit von 1.000,00\xa0€ um 240,00\xa0€ überschreiten "
                                  "(124 % ausgeschöpft, über dem Limit). Die Bestellung ist für eine manuelle "
                                  "Entscheidung gesperrt.")
    assert _german_text(_events("order", order.id, "credit_hold")[-1]) == (
        "Die Kreditprüfung hat die Bestellung gesperrt.")


# ------------------------------------------------------------------------------------------------- orders

def test_the_suppliers_change_summary_in_german_with_german_figures(world, order_in, login):  # noqa: F811
    from portal.orders import services

    o = order_in("placed")  # 100 x 2.50 + 40 x 12.00 = 730.00
    l1, l2 = [ln.id for ln in fresh(o).lines]
    services.acknowledge(o, world.sales_a, fresh(o).lock_version, {
        l1: {"action": "change", "quantity": "80.5", "note": "Stock"},
        l2: {"action": "change", "date": "2030-01-15", "note": "Later"}})
    proposed = _events("order", o.id, "change_proposed")[-1]
    assert proposed.detail == ("line 1: quantity 100 -> 80.5 (Stock); line 2: date -> 2030-01-15 (Later). "
                               "Total 730.00 EUR → 681.25 EUR if all are accepted")
    page = _german_order_page(login, world.procurement, o.id)
    assert ("Position 1: Menge 100 -> 80,5 (Stock); Position 2: Datum -> 15.01.2030 (Later). "
            "Summe 730,00\xa0€ → 681,25\xa0€, wenn alle angenommen werden") in page
    assert "if all are accepted" not in page

    services.accept_changes(fresh(o), world.procurement, fresh(o).lock_version)
    decided = _events("order", o.id, "changes_decided")[-1]
    assert decided.detail.startswith("Change 1: accepted line 1: quantity 100 → 80.5 (Stock); accepted line 2: date ")
    assert decided.detail.endswith(". Total €730.00 → €681.25.")
    german = _german_text(decided)
    assert german.startswith("Änderung 1: angenommen: Position 1: Menge 100 → 80,5 (Stock); angenommen: Position 2: ")
    assert german.endswith(". Summe 730,00\xa0€ → 681,25\xa0€.")


def test_a_state_inside_a_sentence_is_lower_case_and_a_quoted_one_keeps_its_badge(world, order_in,  # noqa: F811
                                                                                 app):
    from portal.orders.core import move
    from portal.orders.states import OrderStatus as S

    o = order_in("cancelled")
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        try:
            move(o, S.placed, world.procurement, "placed")
        except InvalidTransition as exc:
            assert exc.message == "Diese Bestellung ist storniert; damit ist nichts mehr zu tun."
        else:  # pragma: no cover
            raise AssertionError("a cancelled order moved")
        try:
            move(order_in("draft"), S.closed, world.procurement, "closed")
        except InvalidTransition as exc:
            assert exc.message == "Eine Bestellung im Status „Entwurf“ kann nicht „Abgeschlossen“ werden."
        else:  # pragma: no cover
            raise AssertionError("a draft closed")
    db.session.rollback()


# ------------------------------------------------------------------------------------------------- RFQ

def test_rfq_csv_import_and_sealed_publishing_in_german(world):
    from portal.rfq import services

    rfq = factories.rfq(world.buyer, world.procurement, status="draft", lines=1, suppliers=[world.supplier_a])
    n = services.import_lines(world.procurement, rfq.id, text="description,quantity,unit\nBolt,10,pcs\nNut,20,pcs\n")
    assert n == 2
    imported = _events("rfq", rfq.id, "lines_imported")[-1]
    assert imported.detail == "2 line(s) imported from CSV (lines 2–3)"
    assert _german_text(imported) == "2 Zeile(n) aus CSV importiert (Zeilen 2–3)"


# ------------------------------------------------------------------------------------------------- jobs

def test_job_titles_are_worded_for_the_reader(world, login):
    from portal.jobs.models import JobRecord
    from portal.jobs.titles import job_title

    with force_locale("de"):
        assert job_title("PDF of Invoice INV-2026-000034") == "PDF der Rechnung INV-2026-000034"
        assert job_title("Delivery note DN-2026-000007") == "Lieferschein DN-2026-000007"
        assert job_title("Receivables aging 2026-12-06") == "Fälligkeitsanalyse der Forderungen 06.12.2026"
        assert job_title("Something else entirely") == "Something else entirely"  # unknown: as stored
    assert job_title("PDF of Invoice INV-2026-000034") == "PDF of Invoice INV-2026-000034"  # English: as stored
    rec = JobRecord(kind="delivery-note", title="Delivery note DN-2026-000007", func="x", args=[], queue="default",
                    company_id=world.supplier_a.id, user_id=world.sales_a.id)
    db.session.add(rec)
    db.session.commit()
    _german(world.sales_a)
    page = _text(login(world.sales_a).get("/jobs/"))
    assert "Lieferschein DN-2026-000007" in page and "Delivery note DN-" not in page


# ------------------------------------------------------------------------------------------------- award, invoice

def test_orders_from_an_award_and_the_shipping_line_in_the_documents_language(iw):  # noqa: F811
    """The award's history detail is worded for the reader; the invoice's freight line is a line of the document, so
    it is written in the buyer's document language (as the invoice's snapshot and PDF), whoever drafts it."""
    from portal.invoices import services as inv_services
    from portal.orders.states import OrderStatus
    from tests.invoices.test_shipping_charge import _orders

    iw.buyer.country, iw.buyer.language = "DE", "de"  # documents to this buyer are German
    iw.sales_a.language = iw.accounts_a.language = "en"  # the people drafting read English
    db.session.commit()
    order = _orders(iw)[iw.supplier_a.id]
    created = _events("order", order.id, "created")[-1]
    rfq_ref = created.detail.split(" from the award of ")[1]
    assert created.detail == f"{order.po_number} from the award of {rfq_ref}"
    assert _german_text(created) == f"{order.po_number} aus der Vergabe von {rfq_ref}"

    order.status = OrderStatus.acknowledged
    db.session.commit()
    inv = issued_for(iw, shipment=ship(order, {1: "100"}, creator=iw.sales_a))
    assert [ln.description for ln in inv.lines if ln.charge == "shipping"] == [
        f"Versand (Bestellung {order.po_number})"]
    assert inv.snapshot["language"] == "de"  # the document it belongs to is German

    iw.buyer.language = "en"  # a buyer that reads English documents gets the English line
    db.session.commit()
    assert inv_services._shipping_text(fresh(order)) == f"Shipping (order {order.po_number})"


# ------------------------------------------------------------------------------------------------- requisitions

def test_a_requisitions_history_is_worded_for_the_reader(rw):  # noqa: F811
    from tests.requisitions.conftest import line, raise_req

    req = raise_req(rw, line(qty="10", price="1234.5"), submit=False)
    created = _events("requisition", req.id, "created")[-1]
    assert created.detail == f"{req.number}: 1 line(s), €12,345.00"
    assert _german_text(created) == f"{req.number}: 1 Position(en), 12.345,00\xa0€"


def test_an_order_sent_over_budget_says_so_in_german_with_german_figures(rw):  # noqa: F811
    from tests.requisitions.test_budget_orders import _events as budget_events
    from tests.requisitions.test_budget_orders import _order, _submit

    order = _submit(rw, _order(rw, "1200.00"))  # the company warns: sent, and recorded
    [ev] = budget_events(order, "over_budget")
    assert ev.detail == ("Sent over budget (the company warns): CC-100 has €1,000.00 available, this order needs "
                         "€1,200.00 (-€200.00 after)")
    assert _german_text(ev) == ("Über Budget gesendet (das Unternehmen warnt nur): CC-100 hat 1.000,00\xa0€ verfügbar, "
                                "diese Bestellung benötigt 1.200,00\xa0€ (danach -200,00\xa0€)")
