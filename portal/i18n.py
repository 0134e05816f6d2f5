"""Languages of the interface (Flask-Babel, gettext catalogs under ``portal/translations/``).

* The language of a page is the person's profile setting when signed in, else the browser's Accept-Language,
  among ``LANGUAGES``; English is the source language (msgids), so it needs no catalog.
* Number, money and date *formats* follow the person's format setting (``User.locale``, see ``portal/web.py``).
* Python code marks text with ``gettext``/``lazy_gettext`` (forms and module-level constants are lazy),
  templates with ``{{ _('...') }}`` or ``{% trans %}``; ``make i18n`` extracts, updates and compiles.
* ``compile_catalogs()`` turns every ``messages.po`` into ``messages.mo`` when the ``.po`` is newer; ``make
  install`` and the test session call it, and the compiled files are not kept in git.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"

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


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    try:
        compile_catalogs()
    except OSError:  # a read-only install: the catalogs were compiled when it was built
        pass
    babel.init_app(app, locale_selector=select_language)


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
