"""The language of a document: documents follow their recipient.

* A purchase order goes out in the supplier's language; an invoice, credit note, delivery note, dunning letter
  and statement in the buyer's; a remittance advice in the supplier's (``Company.language``, default from the
  company's country: DE/AT/CH -> German, else English). ``Company.bilingual_documents`` adds the English (or
  German) label after each label ("Rechnung / Invoice").
* The choice is frozen into the document's snapshot at issue (``language``, ``bilingual`` and the number/date
  ``locale``), like everything else a document prints; snapshots frozen before this have none and render in
  English, exactly as they did.
* ``render.render_html`` renders under ``flask_babel.force_locale(language)`` so that any Python-side gettext
  (labels of enums, lazy strings) follows the document, and the document templates' ``_()`` reads the
  document's catalog directly (no request is needed: jobs render outside of one).
* Country names, not codes: ``country_name("AT", "de") == "Österreich"`` (Babel's territory names).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from functools import lru_cache

from babel import Locale
from babel.support import NullTranslations, Translations

DOCUMENT_LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
GERMAN_COUNTRIES = frozenset({"DE", "AT", "CH"})
# The number/date format of a document in each language (the portal's money/date helpers take a locale).
FORMAT_LOCALE = {"en": "en_GB", "de": "de_DE"}
LANGUAGE_CHOICES = (("en", "English"), ("de", "Deutsch"))


def default_language(country: str | None) -> str:
    """A company's document language when nobody chose one: German in DE/AT/CH, else English."""
    return "de" if (country or "").upper() in GERMAN_COUNTRIES else DEFAULT_LANGUAGE


def company_language(company) -> str:
    """The language documents addressed to ``company`` are written in."""
    if company is None:
        return DEFAULT_LANGUAGE
    chosen = getattr(company, "language", None)
    return chosen if chosen in DOCUMENT_LANGUAGES else default_language(getattr(company, "country", None))


def recipient_settings(company) -> dict:
    """The snapshot keys that make a document speak its recipient's language (merge into the snapshot)."""
    lang = company_language(company)
    return {"language": lang, "locale": FORMAT_LOCALE[lang],
            "bilingual": bool(getattr(company, "bilingual_documents", False))}


def second_language(lang: str) -> str:
    return "en" if lang != "en" else "de"


@lru_cache(maxsize=None)
def translations(lang: str):
    """The compiled catalog of ``lang`` (English is the source language: no catalog)."""
    if lang == "en":
        return NullTranslations()
    from portal.i18n import TRANSLATIONS, compile_catalogs

    try:
        compile_catalogs()
    except OSError:  # read-only install: compiled at build time
        pass
    return Translations.load(str(TRANSLATIONS), [lang])


def reset_translations() -> None:
    """Forget the loaded catalogs (tests that edit the catalog)."""
    translations.cache_clear()


def gettext_in(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext_in(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def country_name(code: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """The country's name in ``lang`` ("DE" -> "Deutschland"/"Germany"); unknown codes stay as they are."""
    if not code:
        return ""
    try:
        return Locale.parse(lang).territories.get(code.upper(), code)
    except (ValueError, TypeError):
        return code


def address_lines(party: dict | None, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """A party's address lines from a snapshot, the country code (the last line) replaced by its name."""
    if not party:
        return []
    lines = list(party.get("address") or party.get("address_lines") or [])
    country = party.get("country")
    if lines and len(lines[-1]) == 2 and lines[-1].isalpha() and lines[-1].isupper():
        country = country or lines[-1]
        lines[-1] = country_name(lines[-1], lang)
    elif country and lines and lines[-1] == country:
        lines[-1] = country_name(country, lang)
    return lines


@contextmanager
def document_locale(lang: str):
    """Flask-Babel's locale forced to ``lang`` while a document renders (when an app context exists)."""
    from flask import has_app_context

    if not has_app_context():
        with nullcontext():
            yield
        return
    from flask_babel import force_locale

    with force_locale(lang):
        yield
