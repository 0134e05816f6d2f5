"""The dashboard tiles' fixed texts, marked for translation.

Panels are built as plain dicts with English text (tests and code compare titles); the dashboard page translates
``title``, ``count_label``, ``empty`` and ``link_label`` when it draws them (``tr`` in the template). This list
makes them extractable: add a tile's texts here when a domain adds a tile (i18n-b: orders, credit, invoices)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TILE_TEXTS = [
    # dashboard
    _l("Company members"), _l("active"), _l("Manage members"), _l("No invitations waiting."),
    _l("Background jobs"), _l("running"), _l("All jobs"),
    # rfq
    _l("Drafts to publish"), _l("drafts"), _l("draft"), _l("All drafts"), _l("No drafts waiting."),
    _l("Open RFQs"), _l("open, nearest deadline first"), _l("All open RFQs"), _l("No RFQ is open for quotes."),
    _l("Closed, awaiting award"), _l("to compare and award"), _l("All closed RFQs"),
    _l("Nothing waiting for an award."), _l("Supplier questions"), _l("unanswered"),
    _l("Invitations awaiting your quote"), _l("not yet submitted"), _l("Open invitations"),
    _l("Every open invitation has your quote."), _l("Questions answered"), _l("answers on open RFQs"),
    _l("answer on open RFQs"), _l("No answered questions on open RFQs."),
    # quotes
    _l("Quotes not yet submitted"), _l("All our quotes"), _l("No unsubmitted drafts."), _l("Quotes to re-confirm"),
    _l("after amendments"), _l("Nothing to re-confirm."), _l("Submitted quotes awaiting outcome"), _l("submitted"),
    _l("No submitted quotes waiting for a decision."), _l("Quotes received today"), _l("today"),
    _l("No quotes arrived today."),
    # catalog
    _l("Your catalog"), _l("active items"), _l("active item"), _l("Manage the catalog"), _l("No inactive items."),
    _l("Your catalog is empty: add items or import a CSV."), _l("Order from a catalog"), _l("supplier catalogs"),
    _l("supplier catalog"),
]
