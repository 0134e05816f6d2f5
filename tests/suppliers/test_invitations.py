"""Inviting a supplier that is not on the portal by e-mail: the signed, expiring link, registration (VAT id,
IBAN/BIC checked; nothing saved on bad input), landing on the RFQ ready to quote; e-mails already on the portal."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.accounts.models import Company, User
from portal.db import db, utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.rfq.models import RfqInvitation
from portal.suppliers import services
from portal.suppliers.models import SupplierContact, SupplierInvitation, SupplierRelation
from portal.suppliers.states import SupplierStatus
from tests.suppliers.conftest import count, link_in_outbox, registration, text


def _register(client, path, **over):
    return client.post(path, data=registration(**over))


def test_invite_from_the_rfq_page_register_and_land_on_the_rfq(world, login, open_rfq, client):
    c = login(world.procurement)
    page = text(c.get(f"/rfqs/{open_rfq.id}/suppliers"))
    assert "Invite a supplier not on the portal" in page
    resp = c.post("/suppliers/invite", data={"email": "nora@neuland.test", "company_name": "Neuland Metallbau",
                                             "contact_name": "Nora Lang", "rfq_id": open_rfq.id},
                  follow_redirects=True)
    assert "Invitation sent to nora@neuland.test" in text(resp)
    assert "Neuland Metallbau" in text(resp)  # listed as pending on the RFQ page
    path = link_in_outbox("nora@neuland.test")
    form = client.get(path)
    assert form.status_code == 200 and "Acme Buying GmbH invited nora@neuland.test" in text(form)
    resp = _register(client, path)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/rfqs/{open_rfq.id}")
    company = db.session.query(Company).filter_by(legal_name="Neuland Metallbau GmbH").one()
    user = db.session.query(User).filter_by(email="nora@neuland.test").one()
    assert user.company_id == company.id and {r.value for r in user.roles} == {"admin", "sales"}
    assert company.is_supplier and company.iban == "DE89370400440532013000" and company.vat_number == "DE136695976"
    assert count(SupplierContact, SupplierContact.company_id == company.id) == 1
    assert count(RfqInvitation, RfqInvitation.rfq_id == open_rfq.id,
                 RfqInvitation.supplier_company_id == company.id) == 1
    assert services.status_of(world.buyer.id, company.id) == SupplierStatus.new
    detail = text(client.get(f"/rfqs/{open_rfq.id}"))
    assert open_rfq.title in detail and 'data-testid="start-quote"' in detail  # ready to quote
    # the link works once
    again = client.get(path)
    assert again.status_code == 410 and "already been used" in text(again)


def test_invitation_from_the_directory_without_rfq(world, login, client):
    c = login(world.procurement)
    resp = c.post("/suppliers/invite", data={"email": "info@newco.test", "company_name": "NewCo"},
                  follow_redirects=True)
    assert "Invitation sent to info@newco.test" in text(resp)
    assert "NewCo" in text(c.get("/suppliers/"))
    resp = _register(client, link_in_outbox("info@newco.test"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")
    assert count(SupplierRelation, SupplierRelation.buyer_company_id == world.buyer.id) == 1


def test_an_email_already_on_the_portal_is_refused_with_an_offer_to_invite_the_company(world, login, open_rfq):
    c = login(world.procurement)
    resp = c.post("/suppliers/invite", data={"email": world.sales_b.email, "rfq_id": open_rfq.id})
    body = text(resp)
    assert resp.status_code == 409
    assert f"{world.sales_b.email} is already on the portal at Supplier Beta SAS" in body
    assert "Invite Supplier Beta SAS instead" in body
    assert count(SupplierInvitation) == 0
    resp = c.post("/suppliers/invite-existing", data={"company_id": world.supplier_b.id, "rfq_id": open_rfq.id},
                  follow_redirects=True)
    assert "Invited: Supplier Beta SAS" in text(resp)
    assert count(RfqInvitation, RfqInvitation.rfq_id == open_rfq.id,
                 RfqInvitation.supplier_company_id == world.supplier_b.id) == 1


def test_service_refusals_save_nothing(world, open_rfq):
    with pytest.raises(services.AlreadyOnPortal) as exc:
        services.invite_new_supplier(world.procurement, email=world.sales_a.email.upper(), rfq_id=open_rfq.id)
    assert exc.value.company.id == world.supplier_a.id
    with pytest.raises(Conflict):
        services.invite_new_supplier(world.procurement, email=world.approver.email)
    with pytest.raises(ValidationFailed):
        services.invite_new_supplier(world.procurement, email="not an address")
    assert count(SupplierInvitation) == 0
    services.invite_new_supplier(world.procurement, email="x@new.test")
    with pytest.raises(Conflict, match="still pending"):
        services.invite_new_supplier(world.procurement, email="x@new.test")
    assert count(SupplierInvitation) == 1


@pytest.mark.parametrize("field,value,sentence", [
    ("vat_number", "DE136695977", "not a valid DE VAT number"),
    ("vat_number", "", "Enter your company's VAT id"),
    ("iban", "DE89370400440532013001", "not a valid IBAN"),
    ("bic", "COBAXX", "not a valid BIC"),
    ("contact0_email", "nora at neuland", "contact"),
])
def test_bad_registration_input_gets_a_sentence_and_saves_nothing(world, client, field, value, sentence):
    services.invite_new_supplier(world.procurement, email="nora@neuland.test", rfq_id=None)
    path = link_in_outbox("nora@neuland.test")
    companies = count(Company)
    resp = _register(client, path, **{field: value})
    assert resp.status_code == 200
    body = text(resp)
    assert sentence.lower() in body.lower() or "not valid" in body.lower()
    assert count(Company) == companies and count(User, User.email == "nora@neuland.test") == 0
    assert db.session.query(SupplierInvitation).one().accepted_at is None


def test_forged_tampered_and_expired_links(world, client, app):
    inv, token = services.invite_new_supplier(world.procurement, email="nora@neuland.test")
    for forged in ("nonsense", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x"):
        resp = client.get(f"/supplier-invitations/{forged}")
        assert resp.status_code == 404 and "not valid" in text(resp)
        assert client.post(f"/supplier-invitations/{forged}", data=registration()).status_code == 404
    # a link signed with another key is forged too
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer("another-secret", salt="portal.supplier-invitation").dumps({"i": inv.id, "n": "x"})
    assert client.get(f"/supplier-invitations/{other}").status_code == 404
    with pytest.raises(NotFound):
        services.find_invitation(other)
    # expired (the row's expiry passed)
    inv.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resp = client.post(f"/supplier-invitations/{token}", data=registration())
    assert resp.status_code == 410 and "expired" in text(resp)
    assert count(User, User.email == "nora@neuland.test") == 0 and count(Company, Company.legal_name.like("Neuland%")) == 0


def test_a_signature_older_than_the_ttl_is_expired(world, app, monkeypatch):
    _inv, token = services.invite_new_supplier(world.procurement, email="nora@neuland.test")
    monkeypatch.setitem(app.config, "SUPPLIER_INVITATION_TTL_DAYS", 1)
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 2 * 86400)
    with pytest.raises(Conflict, match="expired"):
        services.find_invitation(token)


def test_withdrawn_invitation_and_tenancy(world, login, client):
    inv, token = services.invite_new_supplier(world.procurement, email="nora@neuland.test")
    other_buyer = __import__("tests.factories", fromlist=["x"]).company("buyer", name="Other Buyer")
    from tests import factories

    stranger = factories.user(other_buyer, "procurement", "admin")
    with pytest.raises(NotFound):
        services.revoke_invitation(stranger, inv.id)
    c = login(stranger)
    assert c.post(f"/suppliers/invitations/{inv.id}/revoke").status_code == 404
    services.revoke_invitation(world.procurement, inv.id)
    resp = client.get(f"/supplier-invitations/{token}")
    assert resp.status_code == 410 and "withdrawn" in text(resp)


def test_invitation_to_a_closed_rfq_is_refused(world):
    from tests import factories

    closed = factories.closed_rfq(world.buyer, world.procurement)
    with pytest.raises(Exception, match="closed"):
        services.invite_new_supplier(world.procurement, email="nora@neuland.test", rfq_id=closed.id)
    assert count(SupplierInvitation) == 0


def test_suppliers_cannot_invite(world, login):
    c = login(world.sales_a)
    assert c.post("/suppliers/invite", data={"email": "x@y.test"}).status_code == 403
