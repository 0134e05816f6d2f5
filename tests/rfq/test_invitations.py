"""The supplier directory and invitations: only invited suppliers see an RFQ, none sees the others."""
from __future__ import annotations

import pytest

from portal.errors import InvalidTransition, ValidationFailed
from portal.rfq import services
from portal.rfq.models import RfqInvitation
from tests import factories
from tests.rfq.conftest import count, events, notifications, text


@pytest.fixture
def directory(world):
    extra = {
        "both": factories.company("both", name="Alpen Hydraulik", country="AT",
                                  categories="hydraulics, seals"),
        "pl": factories.company("supplier", name="Polmet Industrial", country="PL",
                                categories="bearings, fasteners"),
        "buyer2": factories.company("buyer", name="Another Buyer Fasteners", country="DE"),
    }
    return extra


def names(companies):
    return [c.display_name for c in companies]


def test_directory_search_by_name_country_and_category(world, directory):
    p = world.procurement
    everyone = names(services.search_suppliers(p))
    assert "Another Buyer Fasteners" not in everyone and "Acme Buying GmbH" not in everyone
    assert set(everyone) == {"Alpen Hydraulik", "Polmet Industrial", "Supplier Alpha GmbH",
                             "Supplier Beta SAS"}
    assert names(services.search_suppliers(p, q="polmet")) == ["Polmet Industrial"]
    assert names(services.search_suppliers(p, q="company")) == []  # legal names are searched too
    assert names(services.search_suppliers(p, q="Beta SAS")) == ["Supplier Beta SAS"]
    assert names(services.search_suppliers(p, country="at")) == ["Alpen Hydraulik"]
    fasteners = set(names(services.search_suppliers(p, category="FASTEN")))
    assert fasteners == {"Polmet Industrial", "Supplier Alpha GmbH"}
    assert names(services.search_suppliers(p, q="%")) == []  # wildcards are literal


def test_directory_page_and_invite(world, login, draft, directory):
    c = login(world.procurement)
    body = text(c.get(f"/rfqs/{draft.id}/suppliers?category=fasteners"))
    assert "Polmet Industrial" in body and "Supplier Beta" not in body.split("data-testid=\"directory\"")[1]
    chosen = [str(directory["pl"].id), str(world.supplier_a.id)]
    resp = c.post(f"/rfqs/{draft.id}/suppliers", data={"supplier_id": chosen}, follow_redirects=True)
    assert "Invited: Polmet Industrial" in text(resp) and "They are told when you publish." in text(resp)
    assert count(RfqInvitation, RfqInvitation.rfq_id == draft.id) == 2  # A was already invited
    assert not notifications(world.sales_a)  # drafts tell nobody
    [ev] = events(draft.id, "supplier_invited")
    assert ev.detail == "Polmet Industrial" and ev.visible_to_company_id == world.buyer.id


def test_buyers_and_own_company_cannot_be_invited(world, draft, directory):
    with pytest.raises(ValidationFailed):
        services.invite_suppliers(world.procurement, draft.id, [directory["buyer2"].id])
    with pytest.raises(ValidationFailed):
        services.invite_suppliers(world.procurement, draft.id, [world.buyer.id])
    with pytest.raises(ValidationFailed):
        services.invite_suppliers(world.procurement, draft.id, ["abc"])
    assert count(RfqInvitation, RfqInvitation.rfq_id == draft.id) == 1


def test_remove_invitation_only_in_draft(world, login, draft, open_rfq):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{draft.id}/suppliers/{world.supplier_a.id}/remove", data={}, follow_redirects=True)
    assert "Invitation removed." in text(resp)
    assert count(RfqInvitation, RfqInvitation.rfq_id == draft.id) == 0
    assert events(draft.id, "supplier_removed")[0].visible_to_company_id == world.buyer.id
    with pytest.raises(InvalidTransition):
        services.remove_invitation(world.procurement, open_rfq.id, world.supplier_a.id)
    resp = c.post(f"/rfqs/{open_rfq.id}/suppliers/{world.supplier_a.id}/remove", data={},
                  follow_redirects=True)
    assert "only be removed while the RFQ is a draft" in text(resp)
    assert count(RfqInvitation, RfqInvitation.rfq_id == open_rfq.id) == 2


def test_adding_a_supplier_after_publishing_notifies_it(world, login):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    new = services.invite_suppliers(world.procurement, r.id, [world.supplier_b.id])
    assert names(new) == ["Supplier Beta SAS"]
    [n] = notifications(world.sales_b, "rfq_invited")
    assert r.reference in n.title and n.link == f"/rfqs/{r.id}"
    assert not notifications(world.sales_a)
    assert login(world.sales_b).get(f"/rfqs/{r.id}").status_code == 200


def test_only_invited_suppliers_see_the_rfq(world, login, open_rfq):
    loner = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    assert login(world.sales_b).get(f"/rfqs/{loner.id}").status_code == 404
    assert login(world.sales_a).get(f"/rfqs/{loner.id}").status_code == 200
    draft = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_b])
    assert login(world.sales_b).get(f"/rfqs/{draft.id}").status_code == 404  # drafts never


def test_supplier_page_names_no_other_supplier(world, login, open_rfq):
    services.invite_suppliers(world.procurement, open_rfq.id,
                              [factories.company("supplier", name="Gamma Fittings Ltd").id])
    q = services.ask_question(world.sales_b, open_rfq.id, question="Can we deliver in two batches?")
    services.answer_question(world.procurement, open_rfq.id, q.id, answer="Yes.")
    services.close_early(world.procurement, open_rfq.id)
    page = text(login(world.sales_a).get(f"/rfqs/{open_rfq.id}"))
    assert "Can we deliver in two batches?" in page
    for other in ("Supplier Beta", "Gamma Fittings", world.sales_b.name, world.sales_b.email):
        assert other not in page
    buyer_page = text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    assert "Supplier Beta SAS" in buyer_page and "Gamma Fittings Ltd" in buyer_page


def test_suppliers_cannot_manage_invitations(world, login, open_rfq):
    c = login(world.sales_a)
    assert c.get(f"/rfqs/{open_rfq.id}/suppliers").status_code == 403
    resp = c.post(f"/rfqs/{open_rfq.id}/suppliers", data={"supplier_id": str(world.supplier_b.id)})
    assert resp.status_code == 403
    from portal.errors import Forbidden

    with pytest.raises(Forbidden):
        services.invite_suppliers(world.sales_a, open_rfq.id, [world.supplier_b.id])
