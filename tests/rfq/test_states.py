"""The RFQ lifecycle table, walked pair by pair."""
from __future__ import annotations

import itertools

import pytest

from portal.errors import InvalidTransition
from portal.rfq import states
from portal.rfq.states import RfqStatus

ALLOWED = {
    ("draft", "open"), ("draft", "cancelled"),
    ("open", "closed"), ("open", "cancelled"),
    ("closed", "awarded"), ("closed", "cancelled"),
}
PAIRS = list(itertools.product([s.value for s in RfqStatus], repeat=2))


@pytest.mark.parametrize("current, target", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_table(current, target):
    if (current, target) in ALLOWED:
        states.check(RfqStatus(current), RfqStatus(target))
    else:
        with pytest.raises(InvalidTransition) as exc:
            states.check(RfqStatus(current), RfqStatus(target))
        assert exc.value.message.startswith(f"An RFQ that is {current} cannot be")
        assert exc.value.status == 409


def test_the_table_is_what_the_issue_describes():
    allowed = {(a.value, b.value) for a, targets in states.TRANSITIONS.items() for b in targets}
    assert allowed == ALLOWED
