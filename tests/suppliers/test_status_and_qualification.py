"""Supplier status per buyer (history, reason, transitions), blocked suppliers never invited, the award rule,
certificates (expiry in the past refused; reminders to both sides, once), the questionnaire; tenancy."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.notifications.models import Notification
from portal.quotes.award import award_whole
from portal.quotes.models import Award
from portal.rfq import services as rfq_services
from portal.rfq.models import RfqInvitation
from portal.suppliers import services, states
from portal.suppliers.models import (QualificationDocument, QuestionnaireAnswer, SupplierRelation,
                                     SupplierStatusChange)
from portal.suppliers.states import SupplierStatus
from tests import factories
from tests.suppliers.conftest import count, text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@pytest.mark.parametrize("current", list(SupplierStatus))
@pytest.mark.parametrize("target", list(SupplierStatus))
def test_the_transition_table(current, target):
    if target in states.TRANSITIONS[current]:
        states.check(current, target)
    else:
        with pytest.raises(InvalidTransition):
            states.check(current, target)


def test_status_changes_keep_history_and_tell_the_supplier(world):
    sid = world.supplier_a.id
    assert services.status_of(world.buyer.id, sid) == SupplierStatus.new
    rel = services.set_status(world.procurement, sid, "approved", reason="Audit passed")
    assert rel.status == SupplierStatus.approved
    with pytest.raises(ValidationFailed, match="reason"):
        services.set_status(world.procurement, sid, "blocked", reason="  ")
    assert services.status_of(world.buyer.id, sid) == SupplierStatus.approved
    services.set_status(world.procurement, sid, "blocked", reason="Late deliveries")
    with pytest.raises(InvalidTransition):
        services.set_status(world.procurement, sid, "new")
    rel = services.relation(world.buyer.id, sid)
    assert [(h.from_status, h.to_status, h.reason) for h in reversed(rel.history)] == [
        (None, SupplierStatus.new, "First status"), (SupplierStatus.new, SupplierStatus.approved, "Audit passed"),
        (SupplierStatus.approved, SupplierStatus.blocked, "Late deliveries")]
    assert count(Notification, Notification.user_id == world.sales_a.id, Notification.kind == "supplier_status") == 2


def test_a_stale_status_form_is_refused(world):
    rel = services.set_status(world.procurement, world.supplier_a.id, "approved")
    old = rel.lock_version
    services.set_status(world.procurement2, world.supplier_a.id, "blocked", reason="x", lock_version=old)
    with pytest.raises(Conflict):
        services.set_status(world.procurement, world.supplier_a.id, "approved", lock_version=old)
    assert services.status_of(world.buyer.id, world.supplier_a.id) == SupplierStatus.blocked


def test_statuses_belong_to_the_buyer_and_the_supplier_sees_its_own(world, login):
    other = factories.company("buyer", name="Other Buyer")
    other_p = factories.user(other, "procurement")
    services.set_status(world.procurement, world.supplier_a.id, "blocked", reason="Quality")
    assert services.status_of(other.id, world.supplier_a.id) == SupplierStatus.new
    c = login(other_p)
    assert "Quality" not in text(c.get(f"/suppliers/{world.supplier_a.id}"))
    s = login(world.sales_a)
    page = text(s.get("/suppliers/my-buyers"))
    assert "Acme Buying GmbH" in page and "Quality" in page and 'data-state="blocked"' in page
    assert s.get(f"/suppliers/{world.supplier_b.id}").status_code == 403  # no buyer pages for suppliers
    assert login(world.sales_b).get("/suppliers/my-buyers").status_code == 200
    assert "Quality" not in text(login(world.sales_b).get("/suppliers/my-buyers"))
    assert c.get("/suppliers/999999").status_code == 404
    assert c.get(f"/suppliers/{world.buyer.id}").status_code == 404  # a buyer is no supplier


def test_status_page_form(world, login):
    c = login(world.procurement)
    resp = c.post(f"/suppliers/{world.supplier_a.id}", data={"status": "blocked", "reason": ""})
    assert "reason is required" in text(resp)
    assert count(SupplierStatusChange) == 0 and count(SupplierRelation) == 0
    resp = c.post(f"/suppliers/{world.supplier_a.id}", data={"status": "blocked", "reason": "Fraud"},
                  follow_redirects=True)
    assert "Status saved." in text(resp) and "Fraud" in text(resp)
    assert "Fraud" in text(c.get("/suppliers/?status=blocked"))


def test_blocked_suppliers_are_never_invited(world, login):
    draft = factories.rfq(world.buyer, world.procurement, status="draft")
    services.set_status(world.procurement, world.supplier_b.id, "blocked", reason="Sanctions list")
    with pytest.raises(ValidationFailed, match="Supplier Beta SAS is blocked by your company"):
        rfq_services.invite_suppliers(world.procurement, draft.id, [world.supplier_a.id, world.supplier_b.id])
    assert count(RfqInvitation, RfqInvitation.rfq_id == draft.id) == 0  # nothing partial
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{draft.id}/suppliers", data={"supplier_id": [world.supplier_b.id]}, follow_redirects=True)
    assert "blocked by your company" in text(resp) and "Sanctions list" in text(resp)
    # also through the button offered for an e-mail already on the portal
    resp = c.post("/suppliers/invite-existing", data={"company_id": world.supplier_b.id, "rfq_id": draft.id},
                  follow_redirects=True)
    assert "blocked by your company" in text(resp)
    assert count(RfqInvitation, RfqInvitation.rfq_id == draft.id) == 0


def _closed_with_quote(world):
    r = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    q = factories.quote(r, world.supplier_a, world.sales_a)
    return r, q


def test_only_approved_suppliers_can_be_awarded_when_the_buyer_says_so(world):
    r, q = _closed_with_quote(world)
    services.set_policy(world.buyer_admin, only_approved_awards=True)
    with pytest.raises(ValidationFailed, match="approved suppliers only"):
        award_whole(r, world.procurement, q.id)
    assert count(Award) == 0
    services.set_status(world.procurement, world.supplier_a.id, "approved")
    assert award_whole(r, world.procurement, q.id).id


def test_blocked_suppliers_are_not_awarded_and_new_ones_are_without_the_setting(world):
    r, q = _closed_with_quote(world)
    services.set_status(world.procurement, world.supplier_a.id, "blocked", reason="Quality")
    with pytest.raises(ValidationFailed, match="blocked"):
        award_whole(r, world.procurement, q.id)
    assert count(Award) == 0
    r2, q2 = _closed_with_quote(world)
    services.set_status(world.procurement, world.supplier_a.id, "approved")
    assert award_whole(r2, world.procurement, q2.id).id


def test_only_an_admin_changes_the_award_rule(world, login):
    with pytest.raises(Forbidden):
        services.set_policy(world.procurement, only_approved_awards=True)
    c = login(world.buyer_admin)
    c.post("/suppliers/policy", data={"only_approved_awards": "y"})
    assert services.policy(world.buyer.id).only_approved_awards is True


# --------------------------------------------------------------------------------------------- certificates

def test_a_certificate_with_an_expiry_in_the_past_is_refused(world, login):
    yesterday = utcnow().date() - timedelta(days=1)
    with pytest.raises(ValidationFailed, match="expired on"):
        services.add_document(world.sales_a, cert_type="iso9001", number="Q-1", issuer="TÜV",
                              valid_until=yesterday, filename="c.pdf", data=PDF)
    assert count(QualificationDocument) == 0
    c = login(world.sales_a)
    resp = c.post("/suppliers/certificates", data={"cert_type": "iso9001", "number": "Q-1", "issuer": "TÜV",
                                                   "valid_until": yesterday.isoformat()}, follow_redirects=True)
    assert "expired on" in text(resp) and count(QualificationDocument) == 0


def test_certificate_upload_download_and_tenancy(world, login):
    from io import BytesIO

    services.set_status(world.procurement, world.supplier_a.id, "approved")
    c = login(world.sales_a)
    until = (utcnow().date() + timedelta(days=400)).isoformat()
    resp = c.post("/suppliers/certificates", data={"cert_type": "iso9001", "number": "Q-77", "issuer": "TÜV Süd",
                                                   "valid_until": until, "file": (BytesIO(PDF), "iso.pdf")},
                  content_type="multipart/form-data", follow_redirects=True)
    assert "Certificate Q-77 added." in text(resp)
    doc = db.session.query(QualificationDocument).one()
    assert c.get(f"/suppliers/certificates/{doc.id}/file").data == PDF
    buyer = login(world.procurement)
    assert "Q-77" in text(buyer.get(f"/suppliers/{world.supplier_a.id}"))
    assert buyer.get(f"/suppliers/certificates/{doc.id}/file").data == PDF
    other = factories.company("buyer", name="Other Buyer")
    assert login(factories.user(other, "procurement")).get(f"/suppliers/certificates/{doc.id}/file").status_code == 404
    assert login(world.sales_b).get(f"/suppliers/certificates/{doc.id}/file").status_code == 404
    # a file that is not what its name says is refused, nothing saved
    resp = c.post("/suppliers/certificates", data={"cert_type": "iso14001", "number": "E-1", "issuer": "DEKRA",
                                                   "valid_until": until, "file": (BytesIO(b"MZ..."), "x.pdf")},
                  content_type="multipart/form-data", follow_redirects=True)
    assert "does not contain what its name says" in text(resp) and count(QualificationDocument) == 1


def test_reminders_before_expiry_go_to_both_sides_once(world):
    services.set_status(world.procurement, world.supplier_a.id, "approved")
    today = utcnow().date()
    soon = services.add_document(world.sales_a, cert_type="iso9001", number="Q-1", issuer="TÜV",
                                 valid_until=today + timedelta(days=20))
    services.add_document(world.sales_a, cert_type="iso14001", number="E-1", issuer="TÜV",
                          valid_until=today + timedelta(days=200))
    assert services.remind_expiring_certificates() == 1
    assert services.remind_expiring_certificates() == 0  # once
    kinds = Notification.kind == "certificate_expiring"
    assert count(Notification, kinds, Notification.company_id == world.supplier_a.id) == 2  # admin and sales
    assert count(Notification, kinds, Notification.company_id == world.buyer.id) == 2  # procurement people
    assert count(Notification, kinds, Notification.company_id == world.supplier_b.id) == 0
    assert db.session.get(QualificationDocument, soon.id).reminded_at is not None


def test_the_sweep_is_registered():
    from portal.jobs.periodic import SWEEPS

    assert "portal.suppliers.services.remind_expiring_certificates" in SWEEPS


# --------------------------------------------------------------------------------------------- questionnaire

def test_questionnaire_buyer_asks_supplier_answers_buyer_reviews(world, login):
    services.set_status(world.procurement, world.supplier_a.id, "approved")
    b = login(world.procurement)
    b.post("/suppliers/questionnaire", data={"text": "Do you hold a REACH declaration?"})
    q = services.questions_of(world.buyer.id)[0]
    s = login(world.sales_a)
    assert "Do you hold a REACH declaration?" in text(s.get("/suppliers/my-buyers"))
    assert "REACH" not in text(login(world.sales_b).get("/suppliers/my-buyers"))  # no status with this buyer
    with pytest.raises(NotFound):
        services.answer_question(world.sales_b, q.id, "Yes")
    s.post(f"/suppliers/questions/{q.id}/answer", data={"answer": "Yes, since 2021."})
    ans = db.session.query(QuestionnaireAnswer).one()
    with pytest.raises(ValidationFailed):
        services.review_answer(world.procurement, ans.id, "rejected", "")
    resp = b.post(f"/suppliers/answers/{ans.id}/review", data={"decision": "rejected", "note": "Attach it"},
                  follow_redirects=True)
    assert "Review saved." in text(resp)
    assert "Attach it" in text(s.get("/suppliers/my-buyers"))
    db.session.expire_all()
    services.answer_question(world.sales_a, q.id, "Yes, attached.")
    db.session.expire_all()
    assert db.session.get(QuestionnaireAnswer, ans.id).review.value == "pending"  # back to review
    other = factories.company("buyer", name="Other Buyer")
    with pytest.raises(NotFound):
        services.review_answer(factories.user(other, "procurement"), ans.id, "accepted")
    assert services.review_answer(world.procurement, ans.id, "accepted").review.value == "accepted"


def test_pages_render(world, login):
    services.set_status(world.procurement, world.supplier_a.id, "approved")
    for path in ("/suppliers/", "/suppliers/questionnaire", f"/suppliers/{world.supplier_a.id}"):
        assert login(world.procurement).get(path).status_code == 200, path
    assert login(world.sales_a).get("/suppliers/").status_code == 302
    assert login(world.buyer_accounts).get("/suppliers/").status_code == 403


def test_the_directory_and_customers_pages_do_not_grow_with_rows(world, login, count_queries):
    """Statements per page stay flat as suppliers, statuses and e-mail invitations are added."""
    b, s = login(world.procurement), login(world.sales_a)

    def measure():
        with count_queries() as q:
            assert b.get("/suppliers/").status_code == 200
        with count_queries() as q2:
            assert s.get("/suppliers/my-buyers").status_code == 200
        return q.count, q2.count

    services.set_status(world.procurement, world.supplier_a.id, "approved")
    services.invite_new_supplier(world.procurement, email="one@new.test",
                                 rfq_id=factories.rfq(world.buyer, world.procurement, status="draft").id)
    services.add_question(world.procurement, "ISO 9001?")
    few = measure()
    for i in range(12):
        c = factories.company("supplier", name=f"Extra Supplier {i}")
        services.set_status(world.procurement, c.id, "approved")
        services.invite_new_supplier(world.procurement, email=f"x{i}@new.test",
                                     rfq_id=factories.rfq(world.buyer, world.procurement, status="draft").id)
        other = factories.company("buyer", name=f"Extra Buyer {i}")
        services.set_status(factories.user(other, "procurement"), world.supplier_a.id, "approved")
        services.add_question(factories.user(other, "procurement"), f"Question {i}?")
    print("statements (directory, customers):", few)
    assert measure() == few, (few, measure())
