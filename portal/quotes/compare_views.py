"""The buyer's comparison page, its CSV and PDF exports, and the award form.

Only the buyer company sees any of this: the RFQ is loaded through the tenancy helper, and an invited
supplier (who may load the RFQ itself) gets 404 here too; within the buyer, only procurement (403 otherwise).
Prices appear only when ``rfq.prices_visible_to_buyer`` (sealed bids open when the RFQ closes).
"""

from __future__ import annotations

from flask_babel import gettext as _, ngettext

import csv
import io
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import format_currency
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from portal.accounts.models import Company, Role, User
from portal.csvutil import safe_cell
from portal.db import db
from portal.documents.render import format_unit_price
from portal.errors import DomainError
from portal.money import format_money, format_quantity, minor_unit
from portal.quotes import award as award_service
from portal.quotes import comparison
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from portal.tenancy import get_for_user
from portal.web import _locale, _tz

bp = Blueprint("compare", __name__)


@bp.app_template_filter("unit_money")
def unit_money_filter(amount, currency="EUR"):
    if amount is None:
        return "—"
    return format_unit_price(amount, currency, _locale())


class Formatter:
    """Locale-aware money and quantity formatting, fast enough for 10,000 cells.

    Babel's formatters re-read the locale data on every call (about 70 µs per amount). This reads the
    locale's symbols once (from Babel itself, by formatting a sample) and then formats with Python's own
    grouping; whatever it does not recognise (other grouping sizes, negative amounts) goes to Babel.
    Results are identical to the ``money`` / ``unit_money`` / ``qty`` filters (tested).
    """

    SAMPLE = Decimal("1234567.125")

    def __init__(self, currency: str, locale: str):
        from babel.numbers import format_decimal

        self.currency, self.locale = currency, locale
        self.minor = minor_unit(currency)
        self.money_parts = self._parts(
            format_currency(self.SAMPLE, currency, locale=locale, decimal_quantization=False)
        )
        self.number_parts = self._parts(
            format_decimal(self.SAMPLE, locale=locale, decimal_quantization=False)
        )

    @staticmethod
    def _parts(sample: str):
        digits = [i for i, ch in enumerate(sample) if ch.isdigit()]
        if not digits:
            return None
        prefix, body, suffix = (
            sample[: digits[0]],
            sample[digits[0] : digits[-1] + 1],
            sample[digits[-1] + 1 :],
        )
        if len(body) != 13:
            return None
        group, dec = body[1], body[9]
        if body != f"1{group}234{group}567{dec}125":
            return None
        return prefix, suffix, str.maketrans({",": group, ".": dec})

    def _fast(self, d: Decimal, places: int, parts) -> str:
        text = f"{d:,.{places}f}".translate(parts[2])
        return f"{parts[0]}{text}{parts[1]}"

    def money(self, amount) -> str:
        if amount is None:
            return "—"
        d = Decimal(amount)
        exp = Decimal(1).scaleb(-self.minor)
        if self.money_parts is None or d < 0 or d.quantize(exp) != d:
            return format_money(d, self.currency, self.locale)
        return self._fast(d, self.minor, self.money_parts)

    def unit(self, amount) -> str:
        if amount is None:
            return "—"
        d = Decimal(amount)
        if self.money_parts is None or d < 0:
            return format_unit_price(d, self.currency, self.locale)
        exponent = d.normalize().as_tuple().exponent
        places = max(self.minor, min(-exponent if exponent < 0 else 0, 4))
        if d.quantize(Decimal(1).scaleb(-places)) != d:
            return format_unit_price(d, self.currency, self.locale)
        return self._fast(d, places, self.money_parts)

    def qty(self, q) -> str:
        if q is None:
            return "—"
        d = Decimal(q).normalize()
        if self.number_parts is None or d < 0:
            return format_quantity(d, self.locale)
        exponent = d.as_tuple().exponent
        places = -exponent if exponent < 0 else 0
        return self._fast(d, places, self.number_parts)


def _load(rfq_id: int) -> Rfq:
    """The RFQ for its buyer's procurement people; 404 for every other company, 403 for other roles."""
    rfq = get_for_user(Rfq, rfq_id)
    if rfq.buyer_company_id != current_user.company_id:
        abort(404)
    if not current_user.has_role(Role.procurement):
        abort(403)
    return rfq


def _deadline_text(rfq: Rfq) -> str:
    from portal.web import format_moment

    return format_moment(rfq.deadline, _locale(), _tz(), zone=True)


def rfq_url(rfq: Rfq) -> str:
    try:
        return url_for("rfq.detail", rfq_id=rfq.id)
    except BuildError:
        return f"/rfqs/{rfq.id}"


def award_blocker(rfq: Rfq) -> str | None:
    """Why the award buttons are not offered (None when they are)."""
    if rfq.status == RfqStatus.open:
        return "Quotes are still coming in. Close the RFQ first, then award it."
    if rfq.status == RfqStatus.draft:
        return "This RFQ is a draft; publish it and collect quotes before awarding."
    if rfq.status == RfqStatus.cancelled:
        return "This RFQ was cancelled; it cannot be awarded."
    if rfq.status == RfqStatus.awarded:
        return None
    if not rfq.prices_visible_to_buyer:
        return "The sealed bids have not been opened yet."
    return None


def _positions(numbers: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> "1–3, 7, 9–10"."""
    out, run = [], []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def _award_view(award, cmp) -> dict | None:
    if award is None:
        return None
    position = {row.id: row.position for row in cmp.lines}
    lines = list(award.lines)
    supplier_ids = {al.supplier_company_id for al in lines}
    names = (
        dict(
            db.session.execute(
                sa.select(Company.id, Company.display_name).where(Company.id.in_(supplier_ids))
            ).all()
        )
        if lines
        else {}
    )
    by_user = db.session.get(User, award.awarded_by_id)
    rows = []
    for item in award_service.award_totals(award):
        col = cmp.quote(item["quote_id"])
        shipping = col.shipping if col else None
        rows.append(
            {
                "supplier": names.get(item["supplier_id"], f"Supplier {item['supplier_id']}"),
                "count": len(item["lines"]),
                "positions": _positions([position.get(al.rfq_line_id, 0) for al in item["lines"]]),
                "lines_total": item["lines_total"],
                "shipping": shipping,
                "total": item["lines_total"] + (shipping or 0),
            }
        )
    rows.sort(key=lambda r: r["supplier"])
    return {
        "award": award,
        "by": by_user.name if by_user else "",
        "rows": rows,
        "awarded_cells": {(al.rfq_line_id, al.quote_id) for al in lines},
        "line_count": len(lines),
        "grand_total": sum((r["total"] for r in rows), 0),
    }


def _render(
    rfq: Rfq,
    *,
    status: int = 200,
    award_error: str | None = None,
    selected: dict | None = None,
    note: str = "",
):
    ctx = {"rfq": rfq, "rfq_url": rfq_url(rfq), "deadline_text": _deadline_text(rfq)}
    if not rfq.prices_visible_to_buyer:
        ctx.update(
            sealed=True,
            sealed_sentence=comparison.sealed_sentence(ctx["deadline_text"]),
            received=comparison.submitted_count(rfq.id),
        )
        return render_template("quotes/compare.html", **ctx), status
    cmp = comparison.build(rfq)
    award = award_service.award_for(rfq.id, rfq.buyer_company_id)
    if selected is None:
        selected = {} if cmp.split is None else dict(cmp.split.choices)
    blocker = award_blocker(rfq)
    ctx.update(
        sealed=False,
        cmp=cmp,
        fmt=Formatter(cmp.currency, _locale()),
        award=_award_view(award, cmp),
        blocker=blocker,
        can_award=award is None and blocker is None and rfq.status == RfqStatus.closed,
        award_error=award_error,
        selected=selected,
        note=note,
    )
    return render_template("quotes/compare.html", **ctx), status


@bp.get("/rfqs/<int:rfq_id>/comparison", endpoint="comparison")
@login_required
def comparison_page(rfq_id):
    return _render(_load(rfq_id))


@bp.post("/rfqs/<int:rfq_id>/comparison/award")
@login_required
def award(rfq_id):
    rfq = _load(rfq_id)
    form = request.form
    mode = form.get("mode", "")
    note = form.get("note", "")
    version = form.get("version")
    if version in (None, ""):
        return _render(
            rfq, status=400, award_error="The form is missing the RFQ version; reload the page.", note=note
        )
    choices = {
        key[len("line-") :]: value
        for key, value in form.items()
        if key.startswith("line-") and value not in ("", "none")
    }
    try:
        if mode == "whole":
            award_obj = award_service.award_whole(
                rfq, current_user, form.get("quote_id"), note, expected_version=version
            )
        elif mode == "split":
            award_obj = award_service.award_split(rfq, current_user, choices, note, expected_version=version)
        else:
            return _render(
                rfq,
                status=400,
                award_error="Choose how to award: all lines to one supplier, or the selected lines.",
                note=note,
            )
    except DomainError as exc:
        db.session.rollback()
        rfq = _load(rfq_id)
        selected = None
        if mode == "split":
            selected = {}
            for k, v in choices.items():
                try:
                    selected[int(k)] = int(v)
                except ValueError:
                    continue
        return _render(rfq, status=exc.status, award_error=exc.message, selected=selected, note=note)
    flash(ngettext("%(reference)s is awarded (%(num)d line). The suppliers have been notified.",
                   "%(reference)s is awarded (%(num)d lines). The suppliers have been notified.",
                   len(award_obj.lines), reference=rfq.reference), "success")
    return redirect(url_for("compare.comparison", rfq_id=rfq.id))


def _plain(value, min_places: int = 0) -> str:
    """A Decimal as plain text for spreadsheets: no exponent, no trailing zeros beyond ``min_places``."""
    d = value.normalize()
    if -d.as_tuple().exponent < min_places:
        d = d.quantize(Decimal(1).scaleb(-min_places))
    return format(d, "f")


@bp.get("/rfqs/<int:rfq_id>/comparison.csv")
@login_required
def comparison_csv(rfq_id):
    rfq = _load(rfq_id)
    if not rfq.prices_visible_to_buyer:
        flash(comparison.sealed_sentence(_deadline_text(rfq)), "info")
        return redirect(url_for("compare.comparison", rfq_id=rfq.id))
    cmp = comparison.build(rfq)
    names = {q.quote_id: q.supplier_name for q in cmp.quotes}
    qty = _plain
    expired = {q.quote_id: q.expired for q in cmp.quotes}
    buf = io.StringIO()
    w = csv.writer(buf)
    header = [
        "line",
        "part_number",
        "description",
        "requested_qty",
        "unit",
        "supplier",
        "state",
        "ordered_qty",
        "unit_price",
        "line_total",
        "currency",
        "lead_time_days",
        "best",
        "quote_expired",
        "note",
        "decline_reason",
    ]
    w.writerow([safe_cell(h) for h in header])
    for row in cmp.lines:
        for c in row.cells:
            w.writerow(
                [
                    safe_cell(v)
                    for v in (
                        row.position,
                        row.part_number or "",
                        row.description,
                        qty(row.quantity),
                        row.unit,
                        names[c.quote_id],
                        c.state,
                        qty(c.ordered_qty) if c.quoted else "",
                        _plain(c.unit_price, 2) if c.quoted else "",
                        c.line_total if c.quoted else "",
                        cmp.currency,
                        c.lead_time_days if c.quoted and c.lead_time_days is not None else "",
                        "yes" if c.best else "",
                        "yes" if expired[c.quote_id] else "",
                        c.note or "",
                        c.decline_reason or "",
                    )
                ]
            )
    filename = f"{rfq.reference}-comparison.csv"
    return Response(
        buf.getvalue().encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/rfqs/<int:rfq_id>/comparison/pdf")
@login_required
def comparison_pdf(rfq_id):
    rfq = _load(rfq_id)
    try:
        rec = comparison.start_pdf(rfq, current_user, deadline_text=_deadline_text(rfq))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("compare.comparison", rfq_id=rfq_id))
    flash(_("The comparison PDF is being prepared; the download appears here when it is ready."), "info")
    return redirect(url_for("jobs.detail", job_id=rec.id))
