"""The invoice list as CSV: one header and one row shape, streamed in batches of 500 (an export can hold years of
invoices). Used by the page (/invoices/export.csv) and the API (/api/v1/exports/invoices)."""
from __future__ import annotations

import csv
import io
from typing import Callable, Iterator

from portal.csvutil import safe_cell
from portal.invoices.models import DocumentKind, Invoice

CSV_HEADER = ["number", "kind", "status", "supplier", "buyer", "buyer_reference", "issue_date", "due_date",
              "currency", "net", "tax", "gross", "paid", "credited", "open", "overdue"]


def csv_row(inv: Invoice) -> list:
    return [safe_cell(v) for v in (
        inv.number or f"draft-{inv.id}", inv.kind.value, inv.status.value, inv.supplier.legal_name,
        inv.buyer.legal_name, inv.buyer_reference, inv.issue_date or "", inv.due_date or "",
        inv.currency, inv.total_net, inv.total_tax, inv.total_gross, inv.paid_amount,
        inv.credited_amount, inv.open_amount if inv.kind == DocumentKind.invoice else 0,
        "yes" if inv.overdue else "no")]


def generate(next_batch: Callable[[int], list[Invoice]]) -> Iterator[str]:
    """CSV text in chunks: ``next_batch(last_id)`` gives the next invoices with an id above ``last_id`` in id order
    (empty at the end). Meant for portal.viewutil.stream_in_app_context: each step runs in an application context
    of its own, and no ORM object is kept across a yield."""
    last, header, inv = 0, True, None
    while True:
        buf = io.StringIO()
        w = csv.writer(buf)
        if header:
            w.writerow(CSV_HEADER)
        batch = next_batch(last)
        for inv in batch:
            w.writerow(csv_row(inv))
        done, last = not batch, (batch[-1].id if batch else last)
        batch = inv = None  # no ORM object of this step's session is kept across the yield
        if header or not done:
            yield buf.getvalue()
        if done:
            return
        header = False
