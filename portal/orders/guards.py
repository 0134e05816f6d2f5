"""Hooks other domains register to guard edits of an order's lines, so orders import none of them.

A guard is called inside the editing transaction, after the order row is locked and the edit validated, before
anything is applied: ``guard(order, quantities, removed, adding)`` with ``quantities`` {order line id: new
quantity} of the kept lines, ``removed`` the ids of removed lines and ``adding`` whether new lines are added. It
raises a ``DomainError`` to refuse (the edit is rolled back) and may update its own rows to follow the edit.
Framework agreements use it: a call-off's quantities stay within the agreement's caps (portal/frameworks).
"""
from __future__ import annotations

from collections.abc import Callable

DRAFT_LINE_GUARDS: list[Callable] = []


def guard_draft_lines(func: Callable) -> Callable:
    if func not in DRAFT_LINE_GUARDS:
        DRAFT_LINE_GUARDS.append(func)
    return func


def check_draft_lines(order, quantities: dict, removed: set, adding: bool, apply: bool = True) -> None:
    """``apply=False`` only checks (a change order proposed: nothing is applied until it is accepted)."""
    for guard in DRAFT_LINE_GUARDS:
        guard(order, quantities, removed, adding, apply=apply)
