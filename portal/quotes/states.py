"""The quote lifecycle: draft -> submitted (revised as new versions) -> withdrawn (may submit again)."""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l


class QuoteStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"


TRANSITIONS: dict[QuoteStatus, set[QuoteStatus]] = {
    QuoteStatus.draft: {QuoteStatus.submitted},
    QuoteStatus.submitted: {QuoteStatus.submitted, QuoteStatus.withdrawn},  # submitted -> submitted = revision
    QuoteStatus.withdrawn: {QuoteStatus.submitted},
}

PAST_TENSE = {QuoteStatus.submitted: "submitted", QuoteStatus.withdrawn: "withdrawn",
              QuoteStatus.draft: "returned to draft"}


def check(current: QuoteStatus, target: QuoteStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(_l("A quote that is %(value)s cannot be %(past_tense)s."),
                                value=current.value, past_tense=PAST_TENSE[target])
