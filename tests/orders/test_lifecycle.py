"""The transition table, walked pair by pair, and illegal moves refused by the services with a sentence."""
from __future__ import annotations

import pytest

from portal.errors import InvalidTransition
from portal.orders.states import TRANSITIONS, OrderStatus, check

@pytest.mark.parametrize("current", list(OrderStatus), ids=[s.value for s in OrderStatus])
def test_transition_table(current):
    """Every move out of ``current``: the allowed ones pass, every other is refused with a sentence."""
    for target in OrderStatus:
        if target in TRANSITIONS[current]:
            check(current, target)
        else:
            with pytest.raises(InvalidTransition) as exc:
                check(current, target)
            assert current.label.lower() in str(exc.value) and target.label.lower() in str(exc.value)


def test_expected_paths_exist():
    S = OrderStatus
    path = [S.draft, S.awaiting_approval, S.submitted, S.placed, S.acknowledged, S.partially_shipped, S.shipped,
            S.received, S.closed]
    for a, b in zip(path, path[1:]):
        check(a, b)
    for terminal in (S.closed, S.cancelled, S.rejected):
        assert TRANSITIONS[terminal] == set()
    for shipped in (S.partially_shipped, S.shipped, S.received):
        assert S.cancelled not in TRANSITIONS[shipped]
