"""Languages of the interface (Flask-Babel, gettext catalogs under ``portal/translations/``).

* The language of a page is the person's profile setting when signed in, else the browser's Accept-Language,
  among ``LANGUAGES``; English is the source language (msgids), so it needs no catalog.
* Number, money and date *formats* follow the person's format setting (``User.format_choice``, column
  ``locale``); without one they follow the language (``FORMATS``: de → de_DE, en → en_GB). ``User.locale`` answers
  the format in effect, ``portal/web.py`` formats with it.
* Python code marks text with ``gettext``/``lazy_gettext`` (forms and module-level constants are lazy),
  templates with ``{{ _('...') }}`` or ``{% trans %}``; ``make i18n`` extracts, updates and compiles.
* ``compile_catalogs()`` turns every ``messages.po`` into ``messages.mo`` when the ``.po`` is newer; ``make
  install`` and the test session call it, and the compiled files are not kept in git.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, lazy_gettext as _l, lazy_pgettext
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"
# The number/date format of each language when the person has not chosen one.
FORMATS = {"en": "en_GB", "de": "de_DE"}

babel = Babel()


def person_language() -> str | None:
    """The signed-in person's chosen language (``User.language``), or None to follow the browser."""
    try:
        if current_user and current_user.is_authenticated:
            chosen = getattr(current_user, "language", None)
            if chosen in LANGUAGES:
                return chosen
    except Exception:  # noqa: BLE001  (outside a request: no person)
        return None
    return None


def select_language() -> str:
    chosen = person_language()
    if chosen:
        return chosen
    try:
        return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE
    except RuntimeError:  # no request (jobs): English unless the caller forces a language
        return DEFAULT_LANGUAGE


# Status words shown on badges and in sentences ("An RFQ that is closed …"), one translation each.
STATES = {
    "draft": _l("Draft"), "open": _l("Open"), "closed": _l("Closed"), "awarded": _l("Awarded"),
    "cancelled": _l("Cancelled"), "submitted": _l("Submitted"), "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"), "locked": _l("Locked"), "revised": _l("Revised"), "queued": _l("Queued"),
    "running": _l("Running"), "succeeded": _l("Succeeded"), "failed": _l("Failed"), "pending": _l("Pending"),
    "accepted": _l("Accepted"), "revoked": _l("Revoked"), "active": _l("Active"), "inactive": _l("Inactive"),
    "sent": _l("Sent"), "kept": _l("Kept"), "sealed": _l("Sealed"), "won": _l("Won"), "lost": _l("Lost"),
    "declined": _l("Declined"), "published": _l("Published"), "invited": _l("Invited"),
    "not_submitted": _l("Not submitted"), "delivered": _l("Delivered"), "disabled": _l("Disabled"),
    "stuck": _l("Stuck"), "partially_awarded": _l("Partially awarded"),
}


def state_label(state) -> str:
    """A status in the page's language: "partially_awarded" → "Partially awarded" / "Teilweise vergeben"."""
    key = getattr(state, "value", state)
    label = STATES.get(str(key))
    return str(label) if label is not None else str(key).replace("_", " ").capitalize()


# The same statuses inside a sentence ("This order is %(state)s …"): lower case where the language writes it so
# ("ist bereits angenommen", not "ist bereits Angenommen"), keyed by the English words (``state_fig``'s neutral).
STATES_IN_SENTENCE = {
    "acknowledged": lazy_pgettext("state in sentence", "acknowledged"),
    "answered": lazy_pgettext("state in sentence", "answered"),
    "approved": lazy_pgettext("state in sentence", "approved"),
    "awaiting approval": lazy_pgettext("state in sentence", "awaiting approval"),
    "cancelled": lazy_pgettext("state in sentence", "cancelled"),
    "change proposed": lazy_pgettext("state in sentence", "change proposed"),
    "closed": lazy_pgettext("state in sentence", "closed"),
    "credit hold": lazy_pgettext("state in sentence", "credit hold"),
    "decided": lazy_pgettext("state in sentence", "decided"),
    "draft": lazy_pgettext("state in sentence", "draft"),
    "executed": lazy_pgettext("state in sentence", "executed"),
    "exported": lazy_pgettext("state in sentence", "exported"),
    "issued": lazy_pgettext("state in sentence", "issued"),
    "open": lazy_pgettext("state in sentence", "open"),
    "ordered": lazy_pgettext("state in sentence", "ordered"),
    "paid": lazy_pgettext("state in sentence", "paid"),
    "partially paid": lazy_pgettext("state in sentence", "partially paid"),
    "partially shipped": lazy_pgettext("state in sentence", "partially shipped"),
    "placed": lazy_pgettext("state in sentence", "placed"),
    "proposed": lazy_pgettext("state in sentence", "proposed"),
    "received": lazy_pgettext("state in sentence", "received"),
    "rejected": lazy_pgettext("state in sentence", "rejected"),
    "resolved": lazy_pgettext("state in sentence", "resolved"),
    "shipped": lazy_pgettext("state in sentence", "shipped"),
    "sourcing": lazy_pgettext("state in sentence", "sourcing"),
    "submitted": lazy_pgettext("state in sentence", "submitted"),
    "superseded": lazy_pgettext("state in sentence", "superseded"),
    "withdrawn": lazy_pgettext("state in sentence", "withdrawn"),
    "awarded": lazy_pgettext("state in sentence", "awarded"),
    "expired": lazy_pgettext("state in sentence", "expired"),
    "locked": lazy_pgettext("state in sentence", "locked"),
    "revised": lazy_pgettext("state in sentence", "revised"),
    "queued": lazy_pgettext("state in sentence", "queued"),
    "running": lazy_pgettext("state in sentence", "running"),
    "succeeded": lazy_pgettext("state in sentence", "succeeded"),
    "failed": lazy_pgettext("state in sentence", "failed"),
    "pending": lazy_pgettext("state in sentence", "pending"),
    "accepted": lazy_pgettext("state in sentence", "accepted"),
    "revoked": lazy_pgettext("state in sentence", "revoked"),
    "active": lazy_pgettext("state in sentence", "active"),
    "inactive": lazy_pgettext("state in sentence", "inactive"),
    "sent": lazy_pgettext("state in sentence", "sent"),
    "kept": lazy_pgettext("state in sentence", "kept"),
    "sealed": lazy_pgettext("state in sentence", "sealed"),
    "won": lazy_pgettext("state in sentence", "won"),
    "lost": lazy_pgettext("state in sentence", "lost"),
    "declined": lazy_pgettext("state in sentence", "declined"),
    "published": lazy_pgettext("state in sentence", "published"),
    "invited": lazy_pgettext("state in sentence", "invited"),
    "not submitted": lazy_pgettext("state in sentence", "not submitted"),
    "delivered": lazy_pgettext("state in sentence", "delivered"),
    "disabled": lazy_pgettext("state in sentence", "disabled"),
    "stuck": lazy_pgettext("state in sentence", "stuck"),
    "partially awarded": lazy_pgettext("state in sentence", "partially awarded"),
}


def state_in_sentence(words: str) -> str:
    """A status inside a sentence in the page's language; ``words`` is its English lower-case form ("credit hold").
    A status without a sentence form keeps its English words."""
    label = STATES_IN_SENTENCE.get(str(words))
    return str(label) if label is not None else str(words)


def tr(text) -> str:
    """A text known only at run time (a dashboard tile's title) in the page's language; the msgid must be marked
    elsewhere (portal/dashboard/texts.py). Unknown texts come back unchanged."""
    from flask_babel import gettext

    return gettext(str(text)) if text else ""


def page_language() -> str:
    """The language this page (or mail, under ``force_locale``) is written in."""
    from flask_babel import get_locale

    try:
        loc = get_locale()
    except Exception:  # noqa: BLE001  (no app context)
        loc = None
    return loc.language if loc is not None and loc.language in LANGUAGES else DEFAULT_LANGUAGE


def format_for_language(language: str | None) -> str:
    return FORMATS.get(language or DEFAULT_LANGUAGE, FORMATS[DEFAULT_LANGUAGE])


def language_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in LANGUAGES.items()]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("WTF_I18N_ENABLED", True)  # WTForms' own messages ("Not a valid choice.") translated
    try:
        compile_catalogs()
    except OSError:  # a read-only install: the catalogs were compiled when it was built
        pass
    babel.init_app(app, locale_selector=select_language)
    app.jinja_env.globals.update(state_label=state_label, page_language=page_language, tr=tr)


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``<lang>/LC_MESSAGES/messages.po`` whose ``.mo`` is missing or older. Fuzzy entries are
    left out (as ``pybabel compile`` does without ``--use-fuzzy``)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        tmp.replace(mo)  # atomic: parallel workers never read half a file
        written.append(mo)
    return written


if __name__ == "__main__":  # python -m portal.i18n
    for path in compile_catalogs():
        print(f"compiled {path}")
