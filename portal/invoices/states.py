"""The invoice lifecycle. Overdue is derived from the due date, never stored.

draft -> issued -> partially_paid -> paid. Issued documents are immutable: corrections are credit notes.
A credit note is issued (its own series) and reduces the open amount of the invoice it corrects.
"""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l
from portal.errors import state_fig


class InvoiceStatus(str, enum.Enum):
    draft = "draft"
    issued = "issued"
    partially_paid = "partially_paid"
    paid = "paid"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


TRANSITIONS: dict[InvoiceStatus, set[InvoiceStatus]] = {
    InvoiceStatus.draft: {InvoiceStatus.issued},
    InvoiceStatus.issued: {InvoiceStatus.partially_paid, InvoiceStatus.paid},
    InvoiceStatus.partially_paid: {InvoiceStatus.partially_paid, InvoiceStatus.paid},
    InvoiceStatus.paid: set(),
}


def check(current: InvoiceStatus, target: InvoiceStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            _l("An invoice that is %(state)s cannot become %(state2)s."),
            state=state_fig(current), state2=state_fig(target))
