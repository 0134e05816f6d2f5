"""The RFQ lifecycle: one enum, one transition table."""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l


class RfqStatus(str, enum.Enum):
    draft = "draft"
    open = "open"
    closed = "closed"
    awarded = "awarded"
    cancelled = "cancelled"


TRANSITIONS: dict[RfqStatus, set[RfqStatus]] = {
    RfqStatus.draft: {RfqStatus.open, RfqStatus.cancelled},
    RfqStatus.open: {RfqStatus.closed, RfqStatus.cancelled},
    RfqStatus.closed: {RfqStatus.awarded, RfqStatus.cancelled},
    RfqStatus.awarded: set(),
    RfqStatus.cancelled: set(),
}

PAST_TENSE = {
    RfqStatus.open: "published", RfqStatus.closed: "closed", RfqStatus.awarded: "awarded",
    RfqStatus.cancelled: "cancelled", RfqStatus.draft: "returned to draft",
}


def check(current: RfqStatus, target: RfqStatus) -> None:
    """Raise InvalidTransition (a sentence for the person; 409 in the API) for an illegal move."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(_l("An RFQ that is %(value)s cannot be %(past_tense)s."),
                                value=current.value, past_tense=PAST_TENSE[target])
