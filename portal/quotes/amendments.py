"""Quotes answer one amendment of the RFQ.

A quote form (web or API) carries the RFQ amendment number it was shown for. If the buyer amended the RFQ
since (say, line 1 went from 10 to 10,000 pcs), saving or submitting that form is refused with a sentence
that names the amendment(s) and what changed; the supplier checks the new figures and sends the form again.
The check runs under the locks taken by ``services._lock_quote`` (the RFQ row re-read FOR SHARE, then the
quote row FOR UPDATE), so an amendment cannot slip in between the check and the save: amending updates the
RFQ row and waits for our lock.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.errors import Conflict
from portal.rfq.models import Rfq, RfqAmendment


class AmendedSince(Conflict):
    """The form answers an older amendment of the RFQ than the current one."""

    title = "RFQ amended since"

    def __init__(self, message: str, *, answered: int, current: int):
        super().__init__(message)
        self.answered = answered
        self.current = current


def parse_number(raw) -> int | None:
    """The amendment number a form carried: None when absent (internal callers), -1 when garbled (stale)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return -1
    return value if value >= 0 else -1


def _changes(rfq: Rfq, after: int) -> list[RfqAmendment]:
    return list(db.session.scalars(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == rfq.id,
                                                                 RfqAmendment.number > after)
                                   .order_by(RfqAmendment.number)))


def stale_message(rfq: Rfq, answered: int, *, api: bool = False) -> str:
    """The refusal: "Amendment 2 of RFQ-… changed the RFQ after this form was opened: Line 1 quantity
    10 → 10000. …"."""
    changes = _changes(rfq, answered)
    numbers = [a.number for a in changes] or [rfq.amendment_no]
    if len(numbers) == 1:
        which = f"Amendment {numbers[0]}"
    else:
        which = "Amendments " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    if len(changes) > 1:
        what = " ".join(f"({a.number}) {a.summary.rstrip('.')}." for a in changes if a.summary)
    else:
        what = " ".join(f"{a.summary.rstrip('.')}." for a in changes if a.summary)
    when = "after this form was opened" if not api else f"after the amendment you answer ({max(answered, 0)})"
    msg = f"{which} of {rfq.reference} changed the RFQ {when}" + (f": {what}" if what else ".")
    if api:
        return msg + (" Nothing was saved. Check your prices against the RFQ as it is now and send the quote "
                      f"again with rfq_amendment_no {rfq.amendment_no}.")
    return msg + (" Nothing was saved: the lines below show the RFQ as it is now; check your prices and send "
                  "the form again.")


def draft_notice(rfq: Rfq, draft_answers: int) -> str | None:
    """For a draft saved before the latest amendment(s): what changed since, to check before submitting."""
    if draft_answers >= rfq.amendment_no:
        return None
    changes = _changes(rfq, draft_answers)
    what = " ".join(f"{a.summary.rstrip('.')}." for a in changes if a.summary)
    which = ", ".join(str(a.number) for a in changes) or str(rfq.amendment_no)
    return (f"Your draft was saved before amendment {which}" + (f": {what}" if what else ".")
            + " Check your prices against the figures below before you submit.")


def check(rfq: Rfq, answered: int | None, *, api: bool = False) -> None:
    """Refuse a form that answers an older amendment. ``rfq`` must have been re-read under its row lock."""
    if answered is None:
        return
    if answered != rfq.amendment_no:
        raise AmendedSince(stale_message(rfq, answered if answered >= 0 else -1, api=api), answered=answered,
                           current=rfq.amendment_no)
