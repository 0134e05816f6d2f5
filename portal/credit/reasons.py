"""Credit-check reasons in the reader's language and number format.

A credit check stores its factors with their figures (``CreditCheck.factors``: amounts as plain strings) and,
for old code paths and the API, one English sentence in a neutral format (``CreditCheck.reason``, see
``providers.factor_sentence``). Pages say the factors here, at display time: German words and "6.812,51 €" for
a German reader, "€6,812.51" for an English one. A check without factors (older rows, an external provider's
own words) shows its stored sentence unchanged.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.i18n import _l
from portal.money import format_money

# The factors the portal words itself; anything else is an external provider's text, shown as stored.
OWN_FACTORS = {"overdue_invoices", "over_limit", "within_limit", "no_limit", "currency_mismatch"}


def percent(share, locale: str) -> str:
    """0.953 -> "95 %" (grouped in the reader's format); an infinite share (no limit) in words."""
    try:
        share = Decimal(str(share))
    except (InvalidOperation, ValueError):
        return str(share)
    if share.is_infinite():
        return _("more than %(percent)s", percent="100 %")
    return f"{format_decimal((share * 100).quantize(Decimal('1')), locale=locale)} %"


def utilisation_words(share) -> str:
    from portal.credit.providers import utilisation

    key = utilisation(Decimal(str(share)))
    return {"ok": _("within the limit"), "near": _("near the limit"), "over": _("over the limit")}.get(key, "")


def factor_text(factor: dict, locale: str = "en_GB") -> str:
    """One factor of a credit decision in words, with its figures formatted for the reader."""
    kind, f = factor.get("factor"), factor.get("figures") or {}
    cur = f.get("currency", "")

    def money(key):
        return format_money(Decimal(str(f[key])), cur, locale)

    if kind == "overdue_invoices":
        return ngettext("The buyer has %(num)s overdue invoice at this supplier, and overdue invoices block new "
                        "orders.",
                        "The buyer has %(num)s overdue invoices at this supplier, and overdue invoices block new "
                        "orders.", int(f.get("count", 0)))
    if kind == "over_limit":
        return _("Exposure %(exposure)s would exceed the limit of %(limit)s by %(over)s (%(percent)s used, over "
                 "the limit).", exposure=money("exposure"), limit=money("limit"), over=money("over"),
                 percent=percent(f["share"], locale))
    if kind == "within_limit":
        return _("Exposure %(exposure)s is within the limit of %(limit)s (%(available)s still available; "
                 "%(percent)s used, %(words)s).", exposure=money("exposure"), limit=money("limit"),
                 available=money("available"), percent=percent(f["share"], locale),
                 words=utilisation_words(f["share"]))
    if kind == "no_limit":
        return _("%(supplier)s has set no credit limit for %(buyer)s and no default.",
                 supplier=f.get("supplier") or _("The supplier"), buyer=f.get("buyer") or _("the buyer"))
    if kind == "currency_mismatch":
        return _("The order is in %(order_currency)s but the credit limit is kept in %(limit_currency)s; amounts "
                 "are not converted.", order_currency=f.get("order_currency", ""),
                 limit_currency=f.get("limit_currency", ""))
    return str(f.get("reason") or kind or "")


def sentences(check, locale: str = "en_GB") -> list[str]:
    """The check's factors in words, one sentence each (a check without factors: its stored reason)."""
    factors = check.factors or []
    if not factors:
        return [check.reason] if check.reason else []
    return [factor_text(f, locale) for f in factors]


def reason(check, locale: str = "en_GB") -> str:
    """The whole reason of a check as one paragraph, as ``CreditCheck.reason`` says it, in the reader's words."""
    factors = check.factors or []
    if not factors or any(f.get("factor") not in OWN_FACTORS for f in factors):
        return check.reason or ""
    text = " ".join(sentences(check, locale))
    if check.outcome == "hold":
        text = f"{text} {_('The order is on hold for a manual decision.')}"
    return text


# ------------------------------------------------------------------------------- the reason in the order's history

def _percent_figure(share):
    """The used share as a figure of a stored message: "95 %" (grouped for the reader), or "more than 100 %"."""
    from portal.notifications.messages import joined, msg, number

    share = Decimal(str(share))
    if share.is_infinite():
        return msg(_l("more than %(percent)s"), percent="100 %")
    return joined([number((share * 100).quantize(Decimal(1))), "%"], " ")


def factor_message(factor: dict):
    """One factor as a stored message (message id + figures), worded when the history is read; None for a factor
    the portal does not word itself."""
    from portal.notifications.messages import money, msg

    kind, f = factor.get("factor"), factor.get("figures") or {}
    cur = f.get("currency", "")
    if kind == "overdue_invoices":
        n = int(f.get("count", 0))
        if n == 1:
            return msg(_l("The buyer has 1 overdue invoice at this supplier, and overdue invoices block new orders."))
        return msg(_l("The buyer has %(num)s overdue invoices at this supplier, and overdue invoices block new "
                      "orders."), num=n)
    if kind == "over_limit":
        return msg(_l("Exposure %(exposure)s would exceed the limit of %(limit)s by %(over)s (%(percent)s used, over "
                      "the limit)."), exposure=money(f["exposure"], cur), limit=money(f["limit"], cur),
                   over=money(f["over"], cur), percent=_percent_figure(f["share"]))
    if kind == "within_limit":
        from portal.credit.providers import utilisation

        words = {"ok": _l("within the limit"), "near": _l("near the limit"), "over": _l("over the limit")}
        return msg(_l("Exposure %(exposure)s is within the limit of %(limit)s (%(available)s still available; "
                      "%(percent)s used, %(words)s)."), exposure=money(f["exposure"], cur),
                   limit=money(f["limit"], cur), available=money(f["available"], cur),
                   percent=_percent_figure(f["share"]),
                   words=msg(words[utilisation(Decimal(str(f["share"])))]))
    if kind == "no_limit":
        return msg(_l("%(supplier)s has set no credit limit for %(buyer)s and no default."),
                   supplier=f.get("supplier") or msg(_l("The supplier")), buyer=f.get("buyer") or msg(_l("the buyer")))
    if kind == "currency_mismatch":
        return msg(_l("The order is in %(order_currency)s but the credit limit is kept in %(limit_currency)s; amounts "
                      "are not converted."), order_currency=f.get("order_currency", ""),
                   limit_currency=f.get("limit_currency", ""))
    if kind == "external":  # an external provider's own words, as it gave them
        return str(f.get("reason") or "")
    return None


def history_detail(decision, asked_by=None):
    """The audit detail of a credit decision: its factors as stored messages (the order's history words them in
    the reader's language and format; the English text is the decision's reason, as before). A decision whose
    factors the portal does not word (or has none) keeps its English sentence."""
    from portal.notifications.messages import joined, msg

    again = f"Checked again at the request of {asked_by.name}: " if asked_by else ""
    parts = [factor_message(f) for f in decision.factors or ()]
    if not parts or any(p is None for p in parts):
        return again + decision.reason
    if not decision.approved and all(f.get("factor") in OWN_FACTORS for f in decision.factors):
        parts.append(msg(_l("The order is on hold for a manual decision.")))
    reason = joined(parts, " ")
    if asked_by is None:
        return msg("%(reason)s", reason=reason)
    return msg(_l("Checked again at the request of %(name)s: %(reason)s"), name=asked_by.name, reason=reason)
