"""Creating and editing RFQs: references, defaults, validation, time zones, optimistic locking."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, ValidationFailed
from portal.rfq import services
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from tests import factories
from tests.rfq.conftest import count, events, fresh, in_days, local_input, text


def _create(actor, **kw):
    fields = dict(title="Bolts", deadline=in_days(7), currency="EUR")
    fields.update(kw)
    return services.create_rfq(actor, **fields)


def _form(**kw):
    data = {"title": "Fasteners for line 4", "description": "DIN parts", "currency": "EUR",
            "delivery_address": "Acme, Berlin", "delivery_date": "", "incoterm": "DAP",
            "payment_terms": "30 days net", "deadline": local_input(in_days(7)), "sealed": "y"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------------------------- create

def test_create_assigns_reference_per_buyer_and_year(world):
    year = utcnow().year
    a = _create(world.procurement)
    b = _create(world.procurement2)
    other_buyer = factories.company("buyer", name="Other Buyer AG")
    other = _create(factories.user(other_buyer, "procurement"))
    assert (a.reference, b.reference) == (f"RFQ-{year}-0001", f"RFQ-{year}-0002")
    assert other.reference == f"RFQ-{year}-0001"  # counted per buyer company
    assert a.status == RfqStatus.draft and a.sealed is True
    assert [e.action for e in events(a.id)] == ["created"]


def test_create_form_prefills_buyer_address_and_currency(world, login):
    c = login(world.procurement)
    body = text(c.get("/rfqs/new"))
    assert "Teststraße" in body and world.buyer.legal_name in body
    import re

    assert re.search(r'<input[^>]*checked[^>]*name="sealed"|<input[^>]*name="sealed"[^>]*checked', body)
    assert re.search(r'<option[^>]*selected[^>]*value="EUR"|<option[^>]*value="EUR"[^>]*selected', body)
    assert re.search(r'name="deadline"[^>]*value="\d{4}-\d\d-\d\dT12:00"', body)  # a week ahead, noon


def test_create_through_the_form_converts_local_deadline_to_utc(world, login):
    world.procurement.timezone = "Europe/Berlin"
    db.session.commit()
    c = login(world.procurement)
    resp = c.post("/rfqs/new", data=_form(deadline="2031-01-15T10:00"))
    assert resp.status_code == 302, text(resp)[:2000]
    rfq = db.session.scalar(sa.select(Rfq))
    assert rfq.deadline == datetime(2031, 1, 15, 9, 0, tzinfo=timezone.utc)  # CET = UTC+1
    assert rfq.incoterm == "DAP" and rfq.payment_terms == "30 days net" and rfq.sealed


def test_deadline_is_shown_in_each_viewers_time_zone(world, login):
    world.procurement.timezone = "Europe/Berlin"
    world.sales_a.timezone = "America/New_York"
    db.session.commit()
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a],
                      deadline=datetime(2031, 1, 15, 9, 0, tzinfo=timezone.utc))
    buyer_page = text(login(world.procurement).get(f"/rfqs/{r.id}"))
    supplier_page = text(login(world.sales_a).get(f"/rfqs/{r.id}"))
    assert "10:00" in buyer_page and "Central European" in buyer_page
    assert "04:00" in supplier_page and "Eastern" in supplier_page


def test_unsealed_when_the_box_is_not_ticked(world, login):
    c = login(world.procurement)
    c.post("/rfqs/new", data=_form(sealed=None))
    assert db.session.scalar(sa.select(Rfq)).sealed is False


@pytest.mark.parametrize("field, value, message", [
    ("title", "", "Give the RFQ a title."),
    ("title", "   ", "Give the RFQ a title."),
    ("currency", "XYZ", "“XYZ” is not a known currency"),
    ("currency", "euro", "is not a known currency"),
    ("deadline", "2001-01-01T10:00", "The response deadline is in the past"),
    ("deadline", "", "Set a response deadline"),
    ("incoterm", "ABC", "is not an Incoterm"),
    ("delivery_date", "2001-02-03", "The requested delivery date is in the past."),
])
def test_create_form_refuses_bad_input_with_a_sentence(world, login, field, value, message):
    c = login(world.procurement)
    resp = c.post("/rfqs/new", data=_form(**{field: value}))
    assert resp.status_code == 200
    assert message in text(resp)
    assert count(Rfq) == 0
    assert "is-invalid" in text(resp)  # placed beside the field


def test_create_service_refuses_naive_deadline(world):
    with pytest.raises(ValidationFailed) as exc:
        _create(world.procurement, deadline=datetime(2031, 1, 1, 10, 0))
    assert "time zone" in exc.value.errors["deadline"]


def test_only_procurement_of_a_buyer_creates(world, login):
    with pytest.raises(Forbidden):
        _create(world.sales_a)
    with pytest.raises(Forbidden):
        _create(world.approver)
    assert login(world.sales_a).get("/rfqs/new").status_code == 403
    assert login(world.approver).post("/rfqs/new", data=_form()).status_code == 403
    assert count(Rfq) == 0


# --------------------------------------------------------------------------------------------- edit

def test_draft_edits_freely_with_an_audit_event(world, login, draft):
    c = login(world.procurement)
    before = draft.version
    resp = c.post(f"/rfqs/{draft.id}/edit", data=_form(title="New title", version=before))
    assert resp.status_code == 302, text(resp)[:1500]
    r = fresh(draft)
    assert r.title == "New title" and r.amendment_no == 0 and r.version == before + 1
    assert "Title changed to “New title”" in events(r.id, "edited")[0].detail


def test_edit_form_carries_the_version(world, login, draft):
    body = text(login(world.procurement).get(f"/rfqs/{draft.id}/edit"))
    assert f'name="version" type="hidden" value="{draft.version}"' in body


def test_stale_edit_form_is_refused(world, login, draft):
    stale = draft.version
    services.update_rfq(world.procurement2, draft.id, version=stale, title="Changed by a colleague")
    resp = login(world.procurement).post(f"/rfqs/{draft.id}/edit", data=_form(title="Mine", version=stale))
    assert resp.status_code == 200
    assert str(services.STALE_MESSAGE) in text(resp)
    assert fresh(draft).title == "Changed by a colleague"


def test_service_compares_the_version(world, draft):
    with pytest.raises(Conflict) as exc:
        services.update_rfq(world.procurement, draft.id, version=draft.version - 1 or 99, title="x")
    assert exc.value.message == services.STALE_MESSAGE


def test_concurrent_commit_between_load_and_flush_is_a_conflict(world, draft):
    """StaleDataError (the row's version moved after we loaded it) becomes the same Conflict."""
    loaded = db.session.get(Rfq, draft.id)
    version = loaded.version
    with db.engine.begin() as conn:  # another transaction commits a change meanwhile
        conn.execute(sa.text("UPDATE rfqs SET version = version + 1, title = 'theirs' WHERE id = :id"),
                     {"id": draft.id})
    with pytest.raises(Conflict) as exc:
        services.update_rfq(world.procurement, draft.id, version=version, title="mine")
    assert exc.value.message == services.STALE_MESSAGE
    assert fresh(draft).title == "theirs"


def test_open_rfq_edit_is_an_amendment(world, login, open_rfq):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/edit", data=_form(title="Better title", payment_terms="60 days net",
                                                          version=open_rfq.version, deadline=None,
                                                          currency=None, sealed=None))
    assert resp.status_code == 302, text(resp)[:1500]
    r = fresh(open_rfq)
    assert r.amendment_no == 1 and r.sealed is True  # sealed unchanged although the box was not sent
    assert "Title changed to “Better title”" in r_amend(r).summary
    assert "payment terms “—” → “60 days net”" in r_amend(r).summary


def r_amend(r):
    from portal.rfq.models import RfqAmendment

    return db.session.scalar(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == r.id)
                             .order_by(RfqAmendment.number.desc()))


def test_open_rfq_cannot_change_currency_sealing_or_deadline_by_edit(world, open_rfq):
    for kw, msg in ((dict(currency="USD"), "currency cannot change"),
                    (dict(sealed=False), "Sealed bidding cannot be switched"),
                    (dict(deadline=in_days(30)), "Extend deadline")):
        with pytest.raises(ValidationFailed) as exc:
            services.update_rfq(world.procurement, open_rfq.id, **kw)
        assert msg in exc.value.message
    assert fresh(open_rfq).amendment_no == 0


def test_open_rfq_edit_without_change_sends_no_amendment(world, open_rfq):
    with pytest.raises(ValidationFailed) as exc:
        services.update_rfq(world.procurement, open_rfq.id, title=open_rfq.title)
    assert "no amendment" in exc.value.message
    assert fresh(open_rfq).amendment_no == 0


@pytest.mark.parametrize("status", ["closed", "awarded", "cancelled"])
def test_finished_rfqs_cannot_be_edited(world, status):
    r = factories.rfq(world.buyer, world.procurement, status=status, suppliers=[world.supplier_a])
    from portal.errors import InvalidTransition

    with pytest.raises(InvalidTransition) as exc:
        services.update_rfq(world.procurement, r.id, title="x")
    assert f"An RFQ that is {status} can no longer be changed." == exc.value.message


def test_open_rfq_past_its_deadline_cannot_be_amended(world):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a],
                      deadline=utcnow() + timedelta(seconds=1))
    r.deadline = utcnow() - timedelta(seconds=5)
    db.session.commit()
    from portal.errors import InvalidTransition

    with pytest.raises(InvalidTransition) as exc:
        services.update_rfq(world.procurement, r.id, title="late")
    assert "deadline has passed" in exc.value.message
