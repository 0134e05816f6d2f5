"""Domain errors: what services raise, what views flash and the API turns into problem+json.

A service words its refusal once, as a gettext message id with its figures, and the sentence is written when it
is shown — in the reader's language and number/date format (issue 19):

    raise ValidationFailed(_l("The open amount is %(open)s; a payment of %(amount)s would overpay it."),
                           open=money_fig(inv.open_amount, inv.currency), amount=money_fig(value, inv.currency),
                           errors={"amount": _l("More than the open amount.")})

* ``exc.message`` (and ``str(exc)``) is the sentence for whoever is reading now: on a web page the person's
  language and format ("Der offene Betrag ist 7.972,05 €; …"); in the API, jobs, the CLI and tests the English
  sentence with figures in the neutral format the portal always used ("7,972.05 EUR"), unless an API request asks
  for another language with ``Accept-Language`` (then that language and its format; see README "Languages").
* ``exc.english`` is always the English, neutral sentence (for stored texts and checks on the wording).
* ``errors`` values may be plain strings, ``_l(...)`` or ``say(_l(...), **figures)``; they are worded the same way.
* Figures: ``money_fig(amount, currency)``, ``number_fig(n)`` (grouped), ``state_fig(status)``; a ``Decimal`` or ``date`` is
  formatted for the reader, anything else is shown as ``str``. Plain (unmarked) strings still work, shown as given.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


# ------------------------------------------------------------------------------------------------- figures

class Figure:
    """A value inside a sentence, written for the reader: ``neutral`` for English in the API/jobs, ``local(loc)``
    for a page."""

    def __init__(self, kind: str, value, *, currency: str | None = None, neutral: str | None = None):
        self.kind, self.value, self.currency = kind, value, currency
        self._neutral = neutral

    def neutral(self) -> str:
        if self._neutral is not None:
            return self._neutral
        if self.kind == "money":
            return _neutral_money(self.value, self.currency)
        if self.kind == "number":
            return f"{self.value:,}"
        return _neutral(self.value)

    def local(self, locale: str, *, quoted: bool = False) -> str:
        """``quoted``: the sentence quotes the figure („%(state)s“), so a status keeps its badge form."""
        from babel.numbers import format_decimal

        if self.kind == "money":
            from portal.money import format_money

            return format_money(Decimal(str(self.value)), self.currency or "EUR", locale)
        if self.kind == "number":
            return format_decimal(self.value, locale=locale, decimal_quantization=False)
        if self.kind == "state":
            from portal.i18n import page_language, state_in_sentence, state_label

            if page_language() == "en":
                return self.neutral()
            # inside a sentence its sentence form ("ist bereits angenommen"), quoted its badge ("„Entwurf“")
            return state_label(self.value) if quoted else state_in_sentence(self.neutral())
        return _local(self.value, locale)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Figure({self.kind}, {self.value!r})"


def money_fig(amount, currency: str) -> Figure:
    """An amount: "7,972.05 EUR" in English sentences of the API, "7.972,05 €" on a German page."""
    return Figure("money", Decimal(str(amount)) if amount is not None else Decimal(0), currency=currency)


def number_fig(value) -> Figure:
    """A count or size, grouped: "1,000" / "1.000"."""
    return Figure("number", value)


def state_fig(status, neutral: str | None = None) -> Figure:
    """A status (enum or its value) in the reader's words; English keeps the old lower-case label."""
    if neutral is None:
        label = getattr(status, "label", None) or str(getattr(status, "value", status)).replace("_", " ")
        neutral = str(label).lower()
    return Figure("state", status, neutral=neutral)


def _neutral_money(amount, currency: str | None) -> str:
    from babel.numbers import format_decimal

    from portal.money import minor_unit, quantize

    currency = currency or "EUR"
    places = minor_unit(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return f"{format_decimal(quantize(Decimal(amount), currency), format=pattern, locale='en_GB')} {currency}"


def _neutral(value) -> str:
    if isinstance(value, Said):
        return value.english
    return str(value)


def _local(value, locale: str) -> str:
    if isinstance(value, Said):
        return value.text(locale)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        from babel.numbers import format_decimal

        return format_decimal(value, locale=locale, decimal_quantization=False)
    if isinstance(value, datetime):
        from portal.web import format_moment

        return format_moment(value, locale, "UTC")
    if isinstance(value, date):
        from babel.dates import format_date

        return format_date(value, "medium", locale=locale)
    return str(value)  # text, ids and lazy phrases (_l) as they are


# ------------------------------------------------------------------------------------------------- sentences

def msgid_of(text) -> str:
    """The English message id of ``_l("...")`` (or the string itself)."""
    args = getattr(text, "_args", None)
    if args and getattr(text, "_func", None) is not None:
        return str(args[0])
    return str(text)


def _marked(text) -> bool:
    return getattr(text, "_func", None) is not None and bool(getattr(text, "_args", None))


class Said:
    """A sentence kept as its message id and figures, worded on demand."""

    __slots__ = ("raw", "figures")

    def __init__(self, raw, figures: dict | None = None):
        self.raw = raw
        self.figures = dict(figures or {})

    @property
    def msgid(self) -> str:
        return msgid_of(self.raw)

    @property
    def english(self) -> str:
        values = {k: (v.neutral() if isinstance(v, Figure) else _neutral(v)) for k, v in self.figures.items()}
        return _fill(self.msgid, values)

    def text(self, locale: str | None) -> str:
        """The sentence in the current gettext language; figures in ``locale`` (None: the neutral format)."""
        translated = _translate(self.msgid) if _marked(self.raw) else str(self.raw)
        if locale is None:
            values = {k: (v.neutral() if isinstance(v, Figure) else _neutral(v)) for k, v in self.figures.items()}
        else:
            values = {k: (v.local(locale, quoted=_quoted(translated, k)) if isinstance(v, Figure)
                          else _local(v, locale)) for k, v in self.figures.items()}
        if not _marked(self.raw):
            return _fill(str(self.raw), values)
        try:
            return _fill(translated, values)
        except (KeyError, ValueError, TypeError):  # a translation that lost a figure: English is safe
            return _fill(self.msgid, values)

    def __str__(self) -> str:
        return self.text(reader_format())

    def __repr__(self) -> str:  # pragma: no cover
        return f"Said({self.msgid!r}, {self.figures!r})"


def say(text, **figures) -> Said:
    """A phrase with figures for ``errors={...}`` (the exception's own sentence takes the figures directly)."""
    return Said(text, figures)


def _quoted(text: str, name: str) -> bool:
    """Whether the sentence puts the figure ``name`` in quotation marks („%(state)s“, "%(state)s", “%(state)s”)."""
    at = text.find(f"%({name})s")
    return at > 0 and text[at - 1] in "„\"“‘'«»"


def _fill(text: str, values: dict) -> str:
    return text % values if values else text


def _translate(msgid: str) -> str:
    try:
        from flask_babel import get_translations

        return get_translations().ugettext(msgid)
    except Exception:  # noqa: BLE001 - no app context: English
        return msgid


def reader_format() -> str | None:
    """The number/date format to word a sentence in now: the person's on a web page, the language's for an API
    request that asked for another language, None (the neutral English format) elsewhere."""
    from flask import has_request_context, request

    from portal.i18n import format_for_language, page_language

    language = page_language()
    if not has_request_context() or request.path.startswith("/api/"):
        # jobs, CLI, tests and the API: English in the neutral format, unless a language was asked for
        # (Accept-Language on an API request, force_locale in a job writing a German mail)
        return None if language == "en" else format_for_language(language)
    try:
        from flask_login import current_user

        if current_user and current_user.is_authenticated and getattr(current_user, "locale", None):
            return current_user.locale
    except Exception:  # noqa: BLE001 - no user loader in this context
        pass
    return format_for_language(language)


def word(value) -> str:
    """Any message value (plain string, ``_l(...)``, ``say(...)``) as text for the reader now."""
    if isinstance(value, Said):
        return str(value)
    if _marked(value):
        return str(Said(value))
    return str(value) if value is not None else ""


# ------------------------------------------------------------------------------------------------- errors

class _Errors(dict):
    """``errors`` of an exception: stored as given, read as text for the reader now."""

    def __getitem__(self, key):
        return word(super().__getitem__(key))

    def get(self, key, default=None):
        return self[key] if key in self else default

    def values(self):
        return [self[k] for k in self.keys()]

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def __iter__(self):
        return iter(list(self.keys()))

    def copy(self):
        return dict(self.items())

    def __eq__(self, other) -> bool:
        return dict(self.items()) == (dict(other.items()) if isinstance(other, _Errors) else other)

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self.copy())

    def english(self) -> dict:
        return {k: (v.english if isinstance(v, Said) else msgid_of(v) if _marked(v) else str(v))
                for k, v in dict.items(self)}


class DomainError(Exception):
    status = 400
    title = "Request refused"

    def __init__(self, message, *, errors: dict | None = None, **figures):
        self.said = message if isinstance(message, Said) and not figures else Said(message, figures)
        super().__init__(self.said.english)
        self.errors = errors or {}

    @property
    def errors(self) -> dict:
        return self._errors

    @errors.setter
    def errors(self, value) -> None:
        self._errors = _Errors(value or {})

    @property
    def message(self) -> str:
        """The sentence for the reader now (see the module's doc)."""
        return str(self.said)

    @message.setter
    def message(self, value) -> None:
        self.said = value if isinstance(value, Said) else Said(value)

    @property
    def english(self) -> str:
        """The English sentence with neutral figures, whoever reads."""
        return self.said.english

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed"


class InvalidTransition(DomainError):
    status = 409
    title = "Not possible in this state"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"


def check_version(expected, current: int, message: str) -> None:
    """Refuse a stale form (``None``/empty skips). Kept for older callers: the rule lives in portal.locking, whose
    ``lock_checked`` / ``check_fresh`` compare on a row locked and re-read in this transaction — use those."""
    from portal.locking import check_version as compare

    compare(expected, current, message, required=False)
