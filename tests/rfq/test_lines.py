"""Single lines: validation, the draft editor, amendments of open RFQs and re-confirmation of quotes."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import Conflict, InvalidTransition, ValidationFailed
from portal.rfq import services
from portal.rfq.models import RfqAmendment, RfqLine
from tests import factories
from tests.rfq.conftest import count, events, fresh, mails_to, notifications, text


def line(**kw):
    data = {"description": "Hex bolt M12x60", "part_number": "HB-12", "quantity": "100", "unit": "pcs",
            "target_price": "0.25", "notes": ""}
    data.update(kw)
    return data


def positions(rfq):
    return list(db.session.scalars(sa.select(RfqLine.position).where(RfqLine.rfq_id == rfq.id)
                                   .order_by(RfqLine.position)))


# --------------------------------------------------------------------------------------------- validation

@pytest.mark.parametrize("field, value, message", [
    ("quantity", "0", "The quantity must be greater than zero"),
    ("quantity", "-5", "The quantity must be greater than zero"),
    ("quantity", "", "A quantity is required."),
    ("quantity", "abc", "“abc” is not a number"),
    ("quantity", "1,5", "use a point as the decimal separator"),
    ("quantity", "1.23456", "has more than 4 decimal places"),
    ("quantity", "100000000000000", "is too large"),
    ("quantity", "NaN", "is not a number"),
    ("target_price", "-0.01", "The target unit price cannot be negative."),
    ("target_price", "0.123456", "has more than 4 decimal places"),
    ("target_price", "1e15", "is too large"),
    ("description", "", "A description is required."),
    ("description", "x" * 501, "at most 500 are allowed"),
    ("unit", "u" * 17, "is too long"),
])
def test_bad_line_is_refused_with_a_sentence_and_nothing_saved(world, login, draft, field, value, message):
    c = login(world.procurement)
    before = count(RfqLine)
    resp = c.post(f"/rfqs/{draft.id}/lines", data=line(**{field: value}, version=draft.version))
    assert resp.status_code == 200
    assert message in text(resp)
    assert count(RfqLine) == before
    with pytest.raises(ValidationFailed) as exc:
        services.add_line(world.procurement, draft.id, **line(**{field: value}))
    assert field in exc.value.errors


def test_good_line_keeps_exact_decimals(world, login, draft):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{draft.id}/lines",
                  data=line(quantity="12.5", target_price="0.1234", version=draft.version))
    assert resp.status_code == 302
    ln = db.session.scalar(sa.select(RfqLine).where(RfqLine.rfq_id == draft.id)
                           .order_by(RfqLine.position.desc()))
    assert ln.position == 4 and ln.quantity == Decimal("12.5") and ln.target_price == Decimal("0.1234")
    assert "Line 4 added" in events(draft.id, "edited")[-1].detail


def test_german_buyer_types_decimal_commas_in_the_line_editor(world, login, draft):
    world.procurement.locale = "de_DE"
    db.session.commit()
    resp = login(world.procurement).post(f"/rfqs/{draft.id}/lines", data=line(
        quantity="12,5", target_price="1.250,75", version=draft.version))
    assert resp.status_code == 302
    ln = db.session.scalar(sa.select(RfqLine).where(RfqLine.rfq_id == draft.id)
                           .order_by(RfqLine.position.desc()))
    assert ln.quantity == Decimal("12.5") and ln.target_price == Decimal("1250.75")
    db.session.expire_all()
    resp = login(world.procurement).post(f"/rfqs/{draft.id}/lines", data=line(quantity="1,2,5",
                                                                              version=draft.version))
    assert "“1,2,5” is not a number (e.g. 12,5)." in text(resp)


def test_line_editor_lists_lines_with_edit_and_delete(world, login, draft):
    body = text(login(world.procurement).get(f"/rfqs/{draft.id}/lines"))
    assert body.count("/delete") == 3 and body.count("/edit\"") >= 3
    assert 'class="num">100<' in body


def test_edit_line_in_draft(world, login, draft):
    ln = draft.lines[1]
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{draft.id}/lines/{ln.id}/edit",
                  data=line(description=ln.description, part_number=ln.part_number, quantity="250",
                            target_price="", version=draft.version))
    assert resp.status_code == 302, text(resp)[:1000]
    assert fresh(ln).quantity == Decimal("250") and fresh(ln).target_price is None
    assert "Line 2 quantity 200 → 250" in events(draft.id, "edited")[-1].detail
    assert fresh(draft).amendment_no == 0


def test_delete_in_draft_renumbers_following_lines(world, login, draft):
    c = login(world.procurement)
    first = draft.lines[0]
    resp = c.post(f"/rfqs/{draft.id}/lines/{first.id}/delete", data={"version": draft.version})
    assert resp.status_code == 302
    assert positions(draft) == [1, 2]
    descriptions = list(db.session.scalars(sa.select(RfqLine.description).where(RfqLine.rfq_id == draft.id)
                                           .order_by(RfqLine.position)))
    assert descriptions == ["Item 2", "Item 3"]


def test_stale_delete_is_refused(world, login, draft):
    stale = draft.version
    services.add_line(world.procurement2, draft.id, **line())
    resp = login(world.procurement).post(f"/rfqs/{draft.id}/lines/{draft.lines[0].id}/delete",
                                         data={"version": stale}, follow_redirects=True)
    assert str(services.STALE_MESSAGE) in text(resp)
    assert positions(draft) == [1, 2, 3, 4]


def test_line_of_another_rfq_is_404(world, login, draft):
    other = factories.rfq(world.buyer, world.procurement, status="draft")
    c = login(world.procurement)
    assert c.get(f"/rfqs/{draft.id}/lines/{other.lines[0].id}/edit").status_code == 404
    assert c.post(f"/rfqs/{draft.id}/lines/{other.lines[0].id}/delete",
                  data={"version": draft.version}).status_code == 404
    assert count(RfqLine, RfqLine.rfq_id == other.id) == 3


# --------------------------------------------------------------------------------------------- amendments

def test_amending_a_line_of_an_open_rfq(world, login, open_rfq):
    q_a = factories.quote(open_rfq, world.supplier_a, world.sales_a)  # submitted
    q_b = factories.quote(open_rfq, world.supplier_b, world.sales_b, submitted=False)  # draft only
    ln = open_rfq.lines[2]
    before_lock = q_a.lock_version
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/lines/{ln.id}/edit",
                  data=line(description=ln.description, part_number=ln.part_number, quantity="350",
                            target_price="", version=open_rfq.version))
    assert resp.status_code == 302, text(resp)[:1000]
    r = fresh(open_rfq)
    a = db.session.scalar(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == r.id))
    assert r.amendment_no == 1 and a.number == 1
    assert a.summary == "Line 3 quantity 300 → 350"
    assert fresh(q_a).needs_reconfirmation is True and fresh(q_a).lock_version == before_lock + 1
    assert fresh(q_b).needs_reconfirmation is False
    assert [e.detail for e in events(r.id, "amended")] == ["Amendment 1: Line 3 quantity 300 → 350"]
    for person in (world.sales_a, world.sales_b):
        [n] = notifications(person, "rfq_amended")
        assert "amendment 1" in n.title and "Line 3 quantity 300 → 350" in n.body
        assert mails_to(person)
    assert not notifications(world.admin_a, "rfq_amended")  # sales people only


def test_withdrawn_quotes_are_not_flagged(world, open_rfq):
    from portal.quotes.states import QuoteStatus

    q = factories.quote(open_rfq, world.supplier_a, world.sales_a)
    q.status = QuoteStatus.withdrawn
    db.session.commit()
    services.add_line(world.procurement, open_rfq.id, **line())
    assert fresh(q).needs_reconfirmation is False


def test_amendments_number_up_and_list_on_the_page(world, login, open_rfq):
    services.add_line(world.procurement, open_rfq.id, **line(description="Washer A13"))
    services.delete_line(world.procurement, open_rfq.id, open_rfq.lines[0].id)
    r = fresh(open_rfq)
    assert r.amendment_no == 2
    assert positions(r) == [2, 3, 4]  # numbers stay in an open RFQ
    page = text(login(world.sales_a).get(f"/rfqs/{r.id}"))
    assert "Amendment 2" in page and "Line 1 removed: “Item 1”, 100 pcs" in page
    assert "Line 4 added: “Washer A13”, 100 pcs" in page


def test_open_rfq_keeps_at_least_one_line(world):
    r = factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a])
    with pytest.raises(ValidationFailed) as exc:
        services.delete_line(world.procurement, r.id, r.lines[0].id)
    assert "at least one line" in exc.value.message


def test_unchanged_line_of_open_rfq_sends_no_amendment(world, open_rfq):
    ln = open_rfq.lines[0]
    with pytest.raises(ValidationFailed):
        services.update_line(world.procurement, open_rfq.id, ln.id, description=ln.description,
                             part_number=ln.part_number, quantity="100.000", unit="pcs", target_price="",
                             notes="")
    assert fresh(open_rfq).amendment_no == 0


def test_lines_of_cancelled_rfq_cannot_change(world, login):
    r = factories.rfq(world.buyer, world.procurement, status="cancelled", suppliers=[world.supplier_a])
    with pytest.raises(InvalidTransition) as exc:
        services.add_line(world.procurement, r.id, **line())
    assert exc.value.message == "An RFQ that is cancelled can no longer be changed."
    resp = login(world.procurement).post(f"/rfqs/{r.id}/lines", data=line(version=r.version))
    assert "An RFQ that is cancelled can no longer be changed." in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == r.id) == 3


def test_two_amendments_from_the_same_stale_version_conflict(world, open_rfq):
    version = open_rfq.version
    services.add_line(world.procurement, open_rfq.id, version=version, **line())
    with pytest.raises(Conflict):
        services.add_line(world.procurement2, open_rfq.id, version=version, **line(description="other"))
    assert fresh(open_rfq).amendment_no == 1
