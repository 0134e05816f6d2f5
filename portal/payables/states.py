"""The lifecycles of accounts payable: disputes and payment runs (one enum and one transition table each)."""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l
from portal.errors import state_fig


class DisputeStatus(str, enum.Enum):
    open = "open"            # the buyer disputed; the supplier has not answered yet (or the buyer replied)
    answered = "answered"    # the supplier answered; the buyer may reply, withdraw, or wait for a credit note
    resolved = "resolved"    # closed by a credit note of the supplier
    withdrawn = "withdrawn"  # closed by the buyer

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_open(self) -> bool:
        return self in (DisputeStatus.open, DisputeStatus.answered)


DISPUTE_TRANSITIONS: dict[DisputeStatus, set[DisputeStatus]] = {
    DisputeStatus.open: {DisputeStatus.answered, DisputeStatus.resolved, DisputeStatus.withdrawn},
    DisputeStatus.answered: {DisputeStatus.open, DisputeStatus.resolved, DisputeStatus.withdrawn},
    DisputeStatus.resolved: set(),
    DisputeStatus.withdrawn: set(),
}


class RunStatus(str, enum.Enum):
    draft = "draft"          # built, under review
    approved = "approved"    # approved by someone other than its builder
    exported = "exported"    # the SEPA file was produced (once): its invoices show "payment scheduled"
    executed = "executed"    # the buyer confirmed the bank's execution date: its invoices are paid
    cancelled = "cancelled"  # given up before export: its invoices are free again

    @property
    def label(self) -> str:
        return self.value.capitalize()


RUN_TRANSITIONS: dict[RunStatus, set[RunStatus]] = {
    RunStatus.draft: {RunStatus.approved, RunStatus.cancelled},
    RunStatus.approved: {RunStatus.exported, RunStatus.cancelled},
    RunStatus.exported: {RunStatus.executed},
    RunStatus.executed: set(),
    RunStatus.cancelled: set(),
}


def check_dispute(current: DisputeStatus, target: DisputeStatus) -> None:
    if target not in DISPUTE_TRANSITIONS[current]:
        raise InvalidTransition(_l("A dispute that is %(state)s cannot become %(state2)s."),
                                state=state_fig(current), state2=state_fig(target))


RUN_SENTENCES = {
    RunStatus.approved: "approved",
    RunStatus.exported: "exported",
    RunStatus.executed: "confirmed as executed",
    RunStatus.cancelled: "cancelled",
}


def check_run(current: RunStatus, target: RunStatus) -> None:
    if target not in RUN_TRANSITIONS[current]:
        raise InvalidTransition(_l("A payment run that is %(state)s cannot be %(get)s."),
                                state=state_fig(current), get=RUN_SENTENCES.get(target, target.value))
