"""Questions from invited suppliers; answers shared with every invited supplier without the asker's name."""
from __future__ import annotations

import pytest

from portal.errors import Forbidden, InvalidTransition, ValidationFailed
from portal.rfq import services
from portal.rfq.models import Clarification
from tests import factories
from tests.rfq.conftest import count, events, notifications, text

QUESTION = "Is ISO 4017 acceptable instead of DIN 933 for line 1?"


def test_invited_supplier_asks_and_buyer_procurement_is_told(world, login, open_rfq):
    c = login(world.sales_a)
    resp = c.post(f"/rfqs/{open_rfq.id}/questions", data={"question": QUESTION}, follow_redirects=True)
    assert "Question sent." in text(resp) and QUESTION in text(resp)
    q = services.clarifications_for(open_rfq, world.supplier_a.id)[0]
    assert q.asked_by_company_id == world.supplier_a.id and q.answer is None
    for person in (world.procurement, world.procurement2):
        [n] = notifications(person, "rfq_question")
        assert QUESTION in n.body
    assert not notifications(world.approver)
    assert events(open_rfq.id, "question_asked")[0].visible_to_company_id == world.buyer.id


def test_unanswered_question_is_seen_by_asker_and_buyer_only(world, login, open_rfq):
    services.ask_question(world.sales_a, open_rfq.id, question=QUESTION)
    assert QUESTION in text(login(world.sales_a).get(f"/rfqs/{open_rfq.id}"))
    assert QUESTION in text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    assert QUESTION not in text(login(world.sales_b).get(f"/rfqs/{open_rfq.id}"))


def test_answer_is_shared_without_the_asker(world, login, open_rfq):
    q = services.ask_question(world.sales_a, open_rfq.id, question=QUESTION)
    resp = login(world.procurement).post(f"/rfqs/{open_rfq.id}/questions/{q.id}/answer",
                                         data={"answer": "Yes, ISO 4017 8.8 is fine."}, follow_redirects=True)
    assert "Answer published" in text(resp)
    page_b = text(login(world.sales_b).get(f"/rfqs/{open_rfq.id}"))
    assert QUESTION in page_b and "Yes, ISO 4017 8.8 is fine." in page_b
    for leak in ("Supplier Alpha", world.sales_a.name, world.sales_a.email):
        assert leak not in page_b
    for person in (world.sales_a, world.sales_b):
        [n] = notifications(person, "rfq_answer")
        assert n.title.startswith("Question answered") and "Supplier Alpha" not in n.body
    buyer_page = text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    assert "Asked by Supplier Alpha GmbH" in buyer_page  # the buyer knows


def test_supplier_not_invited_gets_404(world, login):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    resp = login(world.sales_b).post(f"/rfqs/{r.id}/questions", data={"question": QUESTION})
    assert resp.status_code == 404
    assert count(Clarification) == 0


def test_question_rules(world, login, open_rfq):
    with pytest.raises(ValidationFailed):
        services.ask_question(world.sales_a, open_rfq.id, question="   ")
    with pytest.raises(ValidationFailed):
        services.ask_question(world.sales_a, open_rfq.id, question="x" * 4001)
    with pytest.raises(Forbidden):
        services.ask_question(world.admin_a, open_rfq.id, question=QUESTION)  # sales only
    with pytest.raises(Forbidden):
        services.ask_question(world.procurement, open_rfq.id, question=QUESTION)
    assert login(world.procurement).post(f"/rfqs/{open_rfq.id}/questions",
                                         data={"question": QUESTION}).status_code == 403
    closed = factories.rfq(world.buyer, world.procurement, status="closed", suppliers=[world.supplier_a])
    with pytest.raises(InvalidTransition):
        services.ask_question(world.sales_a, closed.id, question=QUESTION)
    assert count(Clarification) == 0


def test_answer_rules(world, open_rfq):
    q = services.ask_question(world.sales_a, open_rfq.id, question=QUESTION)
    with pytest.raises(ValidationFailed):
        services.answer_question(world.procurement, open_rfq.id, q.id, answer="")
    with pytest.raises(Forbidden):
        services.answer_question(world.sales_b, open_rfq.id, q.id, answer="I know!")
    services.answer_question(world.procurement, open_rfq.id, q.id, answer="Yes.")
    from portal.errors import Conflict

    with pytest.raises(Conflict):
        services.answer_question(world.procurement2, open_rfq.id, q.id, answer="Again")
    other = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    from portal.errors import NotFound

    with pytest.raises(NotFound):
        services.answer_question(world.procurement, other.id, q.id, answer="wrong rfq")
