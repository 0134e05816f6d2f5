"""German readers see the services' refusals in German with German figures; English readers in English; the API in
English unless it asks otherwise; role names in the reader's language, codes in the API (issue 19)."""
from __future__ import annotations

import html

from portal.db import db, utcnow
from tests import factories
from tests.invoices.conftest import issued_for, iw, ship, shipped  # noqa: F401 - fixtures

OVERPAY_EN = "The open amount is 1,154.30 EUR; a payment of 2,000.00 EUR would overpay it."


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _german(*users):
    for user in users:
        user.language = "de"
    db.session.commit()


def _pay(c, inv, amount):
    return c.post(f"/invoices/{inv.id}/payments", data={"amount": amount, "paid_on": utcnow().date().isoformat(),
                                                        "lock_version": inv.lock_version})


def test_overpayment_on_a_german_page_reads_german_with_german_figures(shipped, iw, login):  # noqa: F811
    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    _german(iw.accounts_a)
    r = _pay(login(iw.accounts_a), inv, "2000")
    assert r.status_code == 422
    page = _text(r)
    assert ("Der offene Betrag ist 1.154,30\xa0€; eine Zahlung von 2.000,00\xa0€ würde ihn überzahlen." in page)
    assert "Mehr als der offene Betrag." in page  # the field's own message
    assert "would overpay" not in page and "1,154.30" not in page  # nor English figures in the history


def test_overpayment_in_a_german_persons_english_format_choice(shipped, iw, login):  # noqa: F811
    """Words follow the language, figures the person's format setting."""
    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    iw.accounts_a.language = "de"
    iw.accounts_a.format_choice = "en_GB"
    db.session.commit()
    page = _text(_pay(login(iw.accounts_a), inv, "2000"))
    assert "Der offene Betrag ist €1,154.30; eine Zahlung von €2,000.00 würde ihn überzahlen." in page


def test_the_api_keeps_english_and_says_german_when_asked(shipped, iw, client):  # noqa: F811
    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    _german(iw.accounts_a)  # the token's person reads German pages; the API still answers in English
    from portal.api.auth import create_token

    headers = {"Authorization": f"Bearer {create_token(iw.accounts_a, 'test')[1]}"}
    body = {"amount": {"amount": "2000", "currency": "EUR"}, "date": utcnow().date().isoformat()}
    r = client.post(f"/api/v1/invoices/{inv.id}/payments", json=body, headers=headers)
    assert r.status_code == 422
    assert r.get_json()["detail"] == OVERPAY_EN
    assert r.get_json()["errors"] == {"amount": "More than the open amount."}
    r = client.post(f"/api/v1/invoices/{inv.id}/payments", json=body,
                    headers={**headers, "Accept-Language": "de"})
    assert r.status_code == 422
    assert r.get_json()["detail"].startswith("Der offene Betrag ist 1.154,30\xa0€")
    assert r.get_json()["errors"] == {"amount": "Mehr als der offene Betrag."}


def test_credit_refusal_with_a_figure_on_a_german_page(world, login):
    factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    _german(world.accounts_a)
    c = login(world.accounts_a)
    r = c.post(f"/credit/buyers/{world.buyer.id}/account",
               data={"limit_amount": "-5", "currency": "EUR", "payment_terms_days": "30"})
    assert r.status_code == 422
    assert "Das Kreditlimit darf nicht negativ sein" in _text(r)
    r = c.post(f"/credit/buyers/{world.buyer.id}/account",
               data={"limit_amount": "12.5", "currency": "JPY", "payment_terms_days": "30"})
    assert r.status_code == 422
    page = _text(r)
    assert "Das Kreditlimit hat mehr als 0 Nachkommastelle(n) für JPY." in page
    assert "decimal place" not in page


def test_members_page_german_refusal_and_role_names(world, login):
    _german(world.buyer_admin)
    admin = login(world.buyer_admin)
    r = admin.post(f"/company/members/{world.buyer_admin.id}/deactivate", follow_redirects=True)
    page = _text(r)
    assert "Sie können sich nicht selbst deaktivieren." in page
    for german in ("Einkauf", "Buchhaltung", "Freigeber", "Vertrieb", "Anforderer"):
        assert german in page, german
    assert ">Procurement<" not in page and ">Approver<" not in page


def test_role_names_stay_english_for_english_readers_and_codes_in_the_api(world, login):
    page = _text(login(world.buyer_admin).get("/company/members"))
    assert "Procurement" in page and "Approver" in page and "Einkauf" not in page
    from portal.accounts.models import Role

    assert Role.sales.label == "Sales" and Role.sales.value == "sales"


def test_german_role_names_in_the_user_menu(world, login):
    _german(world.procurement)
    page = _text(login(world.procurement).get("/dashboard"))
    assert "Einkauf" in page


def test_invoice_history_words_its_figures_for_the_reader_and_keeps_old_rows(shipped, iw, login):  # noqa: F811
    from portal.audit.models import AuditEvent
    from portal.audit.services import record

    _order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    issued = db.session.query(AuditEvent).filter_by(entity_type="invoice", entity_id=inv.id, action="issued").one()
    assert issued.detail == f"{inv.number}, 1,154.30 EUR"  # the English text is stored beside the message
    assert issued.message[0] == "%(number)s, %(total)s"
    record("invoice", inv.id, "note", company_id=inv.supplier_company_id, detail="An old row: 12.50 EUR")
    db.session.commit()
    _german(iw.accounts_a)
    page = _text(login(iw.accounts_a).get(f"/invoices/{inv.id}"))
    assert f"{inv.number}, 1.154,30\xa0€" in page and "1,154.30 EUR" not in page
    assert "An old row: 12.50 EUR" in page  # stored text stays as it was
    english = _text(login(iw.buyer_accounts).get(f"/invoices/{inv.id}"))
    assert f"{inv.number}, €1,154.30" in english
