"""Job titles in the reader's language (issue 19).

A job record keeps the English title it was started with (``JobRecord.title``: logs, the API, search). Pages word
the titles the portal itself builds from a known pattern ("PDF of Invoice INV-2026-000034" → "PDF der Rechnung
INV-2026-000034"); any other title (an older or a free-text one) is shown as stored.
"""
from __future__ import annotations

import re
from datetime import date

from portal.i18n import _l

# (pattern of the stored English title, the message it says in words); the groups are the message's figures.
PATTERNS = [
    (re.compile(r"PDF of Invoice (?P<number>\S+)"), _l("PDF of Invoice %(number)s")),
    (re.compile(r"PDF of Credit note (?P<number>\S+)"), _l("PDF of Credit note %(number)s")),
    (re.compile(r"PDF of Draft invoice #(?P<number>\d+)"), _l("PDF of Draft invoice #%(number)s")),
    (re.compile(r"PDF of Draft credit note #(?P<number>\d+)"), _l("PDF of Draft credit note #%(number)s")),
    (re.compile(r"Delivery note (?P<number>\S+)"), _l("Delivery note %(number)s")),
    (re.compile(r"Factur-X PDF of (?P<number>\S+)"), _l("Factur-X PDF of %(number)s")),
    (re.compile(r"Remittance advice (?P<reference>\S+)"), _l("Remittance advice %(reference)s")),
    (re.compile(r"Comparison PDF · (?P<reference>\S+)"), _l("Comparison PDF · %(reference)s")),
    (re.compile(r"Receivables aging (?P<day>\d{4}-\d{2}-\d{2})"), _l("Receivables aging %(day)s")),
]


def job_title(title: str | None) -> str:
    """The title for the person reading now (current gettext language and date format)."""
    title = title or ""
    for pattern, words in PATTERNS:
        m = pattern.fullmatch(title)
        if m:
            figures = m.groupdict()
            if "day" in figures:
                from flask_babel import format_date

                figures["day"] = format_date(date.fromisoformat(figures["day"]), "medium")
            return str(words) % figures
    return title
