"""The requisition lifecycle: one enum, one transition table.

draft -> submitted (waiting for the cost-centre owners' and the amount rules' approvals) -> approved | rejected
approved -> sourcing (procurement turned it into an RFQ or draft orders) -> ordered (every line is on a sent
purchase order) -> received (every such order received). cancelled: by the requester (draft, submitted) or by
procurement (approved, sourcing). A rejected requisition may be reopened as a draft by its requester.
"""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from portal.errors import InvalidTransition


class RequisitionStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    sourcing = "sourcing"
    ordered = "ordered"
    received = "received"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    "draft": _l("Draft"), "submitted": _l("Awaiting approval"), "approved": _l("Approved"),
    "rejected": _l("Rejected"), "sourcing": _l("Sourcing"), "ordered": _l("Ordered"),
    "received": _l("Received"), "cancelled": _l("Cancelled"),
}
STATUS_LABELS = {RequisitionStatus(k): v for k, v in STATUS_LABELS.items()}

S = RequisitionStatus
TRANSITIONS: dict[RequisitionStatus, set[RequisitionStatus]] = {
    S.draft: {S.submitted, S.cancelled},
    S.submitted: {S.approved, S.rejected, S.cancelled},
    S.approved: {S.sourcing, S.ordered, S.cancelled},
    S.rejected: {S.draft},
    S.sourcing: {S.ordered, S.approved, S.cancelled},
    S.ordered: {S.received, S.sourcing},
    S.received: set(),
    S.cancelled: set(),
}
# Approved and not yet on a sent order: these lines are committed against the budget as requisitions.
COMMITTING = (S.approved, S.sourcing)


def check(current: RequisitionStatus, target: RequisitionStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            _l("A requisition that is %(value)s cannot become %(value2)s."), value=current.value, value2=target.value)
