"""Words the pages and documents translate at display time although the code holds them as data: status labels
of the lifecycles (``OrderStatus.label`` etc. stay English: services, audit and the API use them), credit-note
reasons, dunning levels and letter texts (frozen English into snapshots and rows), aging buckets.

Templates say ``{{ _(order.status.label) }}``; listing the words here with ``N_`` puts them into the catalog
(``pybabel extract`` knows ``N_``), so ``make i18n`` keeps their translations. ``N_`` returns its text unchanged.
"""
from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    return text


STATUS_LABELS = (
    # orders (portal/orders/states.py) and change orders (portal/orders/models.py ChangeStatus)
    N_("Draft"), N_("Awaiting approval"), N_("Submitted"), N_("Placed"), N_("Credit hold"), N_("Change proposed"),
    N_("Acknowledged"), N_("Partially shipped"), N_("Shipped"), N_("Received"), N_("Closed"), N_("Cancelled"),
    N_("Rejected"), N_("Proposed"), N_("Decided"), N_("Withdrawn"), N_("Superseded"),
    # invoices (portal/invoices/states.py)
    N_("Issued"), N_("Partially paid"), N_("Paid"),
    # payables (portal/payables: matching, disputes, payment runs, remittance advices)
    N_("Matched"), N_("Exceptions"), N_("Covered by credit notes"), N_("Sent"), N_("Reconciled"), N_("Open"),
    N_("Answered"), N_("Resolved"), N_("Approved"), N_("Exported"), N_("Executed"),
)

CREDIT_REASONS = (  # portal/invoices/models.py CREDIT_REASON_LABELS
    N_("Goods returned"), N_("Goods rejected at receipt"), N_("Invoicing mistake (wrong quantity or price)"),
    N_("Other (price reduction, goodwill)"),
)

DUNNING = (  # portal/receivables: LEVELS and LETTER_TEXT (frozen into each letter's snapshot)
    N_("Payment reminder"), N_("First dunning notice"), N_("Final notice"),
    N_("Perhaps this has escaped your attention: the invoice below is past its due date. If you have paid it "
       "in the meantime, please disregard this reminder."),
    N_("Despite our reminder, the invoice below is still unpaid. Please pay the open amount within 7 days of "
       "the date of this letter."),
    N_("This is our final notice. Unless the open amount reaches our account within 7 days of the date of this "
       "letter, we will hand the claim over for collection without further notice."),
)

AGING_BUCKETS = (N_("Not due"), N_("Over 90"))  # portal/receivables/aging.py BUCKETS ("1–30" needs no words)

DOCUMENT_WORDS = (  # stored English in invoice snapshots before documents had a language; the page counter
    N_("Page %(page)s of %(pages)s"),
    N_("Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"),
)

# Running headers and footers of the PDFs say these in the document's language only (``primary()`` in
# portal/documents/render.py: no second language in a page margin).
RUNNING_HEADS = (
    N_('%(company)s · receivables aging as of %(date)s'),
    N_('%(company)s · statement for %(counterparty)s'),
    N_('%(legal_name)s · %(title)s · invoice %(number)s'),
    N_('%(legal_name)s · remittance advice %(reference)s for %(legal_name2)s'),
    N_('As of %(date)s'),
    N_('Credit note'),
    N_('Delivery note'),
    N_('Invoice'),
    N_('Purchase order'),
    N_('Quote comparison'),
    N_('Receivables aging'),
    N_('Remittance advice'),
    N_('Statement of account'),
    N_('by'),
    N_('rev.'),
    N_('· PO'),
    N_('· delivery note'),
    N_('· generated'),
    N_('· order'),
    N_('· paid'),
    N_('· purchase order'),
    N_('· supplier order'),
)

ORDER_SOURCES = (N_("Award"), N_("Catalog"), N_("Reorder"), N_("Api"))  # portal/orders/models.py OrderSource

# Audit actions shown on the invoice page (the action itself; the stored detail stays as written).
INVOICE_ACTIONS = (N_("created"), N_("issued"), N_("draft deleted"), N_("payment recorded"),
                   N_("approved for payment"), N_("credit note issued"), N_("credited"))
