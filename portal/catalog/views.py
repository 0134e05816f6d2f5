"""Catalog pages: the supplier's own catalog (list, edit, buyer prices, CSV in/out) and the buyer's side
(browse supplier catalogs, quick order, CSV order, reorder)."""
from __future__ import annotations

from flask_babel import gettext as _

import functools

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from portal.catalog import csvio, services
from portal.catalog.forms import (BuyerPriceForm, ConfirmImportForm, EmptyForm, ImportForm, ItemForm,
                                  OrderCsvForm, QuickOrderForm)
from portal.errors import DomainError, NotFound
from portal.viewutil import form_error

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

EMPTY_ROWS = 20


@bp.app_template_filter("unit_price")
def unit_price_filter(amount, currency="EUR"):
    """A unit price with the currency's decimals, or up to 4 when the price has them (€0.2150 -> €0.215)."""
    from decimal import Decimal

    from babel.numbers import format_currency

    if amount is None:
        return "—"
    locale = getattr(current_user, "locale", None) or "en_GB"
    return format_currency(Decimal(amount).normalize(), currency, locale=locale, decimal_quantization=False)


def editor_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not services.can_edit(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def buyer_required(view):
    """Browsing and ordering from supplier catalogs: a buyer company's procurement people."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not services.can_order(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _own_item_or_404(item_id):
    try:
        return services.own_item(current_user, item_id)
    except NotFound:
        abort(404)


# --------------------------------------------------------------------------------------------- supplier side

@bp.get("/")
@login_required
def index():
    if services.can_edit(current_user):
        return items()
    if services.can_order(current_user):
        return redirect(url_for("catalog.suppliers"))
    abort(403)


@bp.get("/items")
@editor_required
def items():
    q = request.args.get("q", "")
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    page = services.list_items(current_user.company_id, q=q, status=status if status in ("active", "inactive")
                               else None, category=category or None, page=request.args.get("page"))
    return render_template("catalog/items.html", page=page, q=q, status=status, category=category,
                           categories=services.categories(current_user.company_id),
                           counts=services.counts(current_user.company_id), empty_form=EmptyForm())


@bp.route("/items/new", methods=["GET", "POST"])
@editor_required
def new_item():
    form = ItemForm(currency=current_user.company.default_currency)
    if form.validate_on_submit():
        try:
            item = services.create_item(current_user, form.values())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(_("Item %(sku)s added to your catalog.", sku=item.sku), "success")
            return redirect(url_for("catalog.items"))
    return render_template("catalog/item_form.html", form=form, item=None)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@editor_required
def edit_item(item_id):
    item = _own_item_or_404(item_id)
    form = ItemForm(obj=None if request.method == "POST" else item)
    if request.method == "GET":
        for key in ("pack_size", "moq", "unit_price"):
            getattr(form, key).data = csvio.fmt_decimal(getattr(item, key))
        form.price_breaks.data = csvio.format_breaks(item.price_breaks)
    if form.validate_on_submit():
        try:
            services.update_item(current_user, item.id, form.values())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(_("Item %(sku)s saved.", sku=item.sku), "success")
            return redirect(url_for("catalog.items"))
    return render_template("catalog/item_form.html", form=form, item=item)


@bp.post("/items/<int:item_id>/activate")
@editor_required
def activate(item_id):
    return _set_active(item_id, True)


@bp.post("/items/<int:item_id>/deactivate")
@editor_required
def deactivate(item_id):
    return _set_active(item_id, False)


def _set_active(item_id, active):
    _own_item_or_404(item_id)
    try:
        item = services.set_active(current_user, item_id, active)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("%(sku)s is now active.", sku=item.sku) if active
              else _("%(sku)s is now inactive — buyers no longer see it.", sku=item.sku), "success")
    nxt = request.form.get("next") or ""
    return redirect(nxt if nxt.startswith("/catalog/") and not nxt.startswith("//") else url_for("catalog.items"))


@bp.route("/items/<int:item_id>/prices", methods=["GET", "POST"])
@editor_required
def prices(item_id):
    item = _own_item_or_404(item_id)
    form = BuyerPriceForm()
    buyers = services.buyer_directory(exclude_company_id=current_user.company_id)
    form.buyer_company_id.choices = [("", "Choose a buyer company…")] + [(str(b.id), b.display_name)
                                                                          for b in buyers]
    if form.validate_on_submit():
        try:
            bp_ = services.set_buyer_price(current_user, item.id, form.buyer_company_id.data,
                                           form.unit_price.data, form.price_breaks.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(_("Special price for %(display_name)s saved.", display_name=bp_.buyer.display_name), "success")
            return redirect(url_for("catalog.prices", item_id=item.id))
    return render_template("catalog/prices.html", item=item, form=form,
                           prices=services.item_buyer_prices(current_user, item), empty_form=EmptyForm())


@bp.post("/items/<int:item_id>/prices/<int:price_id>/delete")
@editor_required
def delete_price(item_id, price_id):
    _own_item_or_404(item_id)
    try:
        services.delete_buyer_price(current_user, item_id, price_id)
    except NotFound:
        abort(404)
    flash(_("Special price removed; this buyer pays the list price again."), "success")
    return redirect(url_for("catalog.prices", item_id=item_id))


@bp.route("/import", methods=["GET", "POST"])
@editor_required
def import_csv():
    form = ImportForm()
    preview = None
    token = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = ["Choose a CSV file to upload."]
        else:
            data = upload.read(csvio.MAX_BYTES + 1)
            try:
                preview = services.preview_import(current_user, data)
            except DomainError as exc:
                form_error(form, exc)
            else:
                if preview.ok:
                    token = services.stage_upload(current_user.company_id, data)
    return render_template("catalog/import.html", form=form, preview=preview,
                           confirm=ConfirmImportForm(token=token) if token else None)


@bp.post("/import/apply")
@editor_required
def apply_import():
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = services.load_staged(current_user.company_id, form.token.data)
        result = services.apply_import(current_user, data)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("catalog.import_csv"))
    services.drop_staged(current_user.company_id, form.token.data)
    flash(_("Catalog imported: %(creates)s item(s) created, %(updates)s updated.", creates=result.creates, updates=result.updates), "success")
    return redirect(url_for("catalog.items"))


def _csv_response(text: str, filename: str) -> Response:
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/export.csv")
@editor_required
def export_csv():
    return _csv_response(services.export_csv(current_user), "catalog.csv")


@bp.get("/template.csv")
@login_required
def template_csv():
    return _csv_response(csvio.template_csv(), "catalog-template.csv")


# --------------------------------------------------------------------------------------------- buyer side

@bp.get("/suppliers")
@buyer_required
def suppliers():
    return render_template("catalog/suppliers.html",
                           suppliers=services.suppliers_with_catalogs(current_user.company_id))


def _supplier_or_404(supplier_id):
    try:
        return services.catalog_supplier(supplier_id, current_user.company_id)
    except NotFound:
        abort(404)


@bp.get("/suppliers/<int:supplier_id>")
@buyer_required
def supplier(supplier_id):
    company = _supplier_or_404(supplier_id)
    q = request.args.get("q", "")
    category = request.args.get("category", "")
    page = services.buyer_catalog(current_user.company_id, company.id, q=q, category=category or None,
                                  page=request.args.get("page"))
    return render_template("catalog/supplier.html", supplier=company, page=page, q=q, category=category,
                           categories=services.categories(company.id, active_only=True))


def _grid_rows():
    skus = request.form.getlist("sku")
    qtys = request.form.getlist("qty")
    rows = []
    for i in range(max(len(skus), len(qtys))):
        s = skus[i].strip() if i < len(skus) else ""
        q = qtys[i].strip() if i < len(qtys) else ""
        if s or q:
            rows.append((s, q))
    return rows


def _order_redirect(order, company):
    try:
        return redirect(url_for("orders.detail", order_id=order.id))
    except BuildError:
        flash(_("Draft order %(po_number)s created; open it from your orders.", po_number=order.po_number), "info")
        return redirect(url_for("catalog.supplier", supplier_id=company.id))


def _render_quick(company, form, rows, errors=None, csv_form=None, csv_errors=None, status=200, notes=None):
    errors = errors or {}
    shown = list(rows) + [("", "")] * max(5, EMPTY_ROWS - len(rows))
    return render_template("catalog/quick_order.html", supplier=company, form=form, rows=shown, errors=errors,
                           csv_form=csv_form or OrderCsvForm(), csv_errors=csv_errors or [],
                           max_rows=services.MAX_QUICK_ROWS, notes=notes or []), status


def _flash_notes(notes):
    for note in notes:
        flash(note, "info")


@bp.route("/suppliers/<int:supplier_id>/quick-order", methods=["GET", "POST"])
@buyer_required
def quick_order(supplier_id):
    company = _supplier_or_404(supplier_id)
    form = QuickOrderForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _render_quick(company, form, [], status=200 if request.method == "GET" else 400)
    rows = _grid_rows() + [(s, q) for s, q, _ in csvio.parse_paste(form.paste.data or "")]
    form.paste.data = ""
    if len(rows) > services.MAX_QUICK_ROWS:
        flash(_("A quick order takes up to %(max)s lines; you have %(n)s. Upload them as a CSV file instead "
                "(below).", max=services.MAX_QUICK_ROWS, n=len(rows)), "danger")
        return _render_quick(company, form, rows[:services.MAX_QUICK_ROWS], status=422)
    numbered = [(s, q, n) for n, (s, q) in enumerate(rows, 1)]
    if form.add_rows.data:
        flash(_("%(len)s line(s) in the order form. Check them and create the draft order.", len=len(rows)), "info")
        return _render_quick(company, form, rows,
                             notes=services.merge_notes(current_user, company.id, numbered))
    try:
        order, notes = services.order_from_rows(current_user, company.id, numbered, source="catalog")
    except DomainError as exc:
        flash(exc.message, "danger")
        return _render_quick(company, form, rows, errors=exc.errors, status=422)
    flash(_("Draft order %(po_number)s created with %(len)s line(s).", po_number=order.po_number, len=len(order.lines)), "success")
    _flash_notes(notes)
    return _order_redirect(order, company)


@bp.post("/suppliers/<int:supplier_id>/order-csv")
@buyer_required
def order_csv(supplier_id):
    company = _supplier_or_404(supplier_id)
    csv_form = OrderCsvForm()
    if not csv_form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        csv_form.file.errors = ["Choose a CSV file with the columns sku,quantity."]
        return _render_quick(company, QuickOrderForm(formdata=None), [], csv_form=csv_form, status=422)
    try:
        rows = csvio.parse_order_csv(upload.read(csvio.MAX_BYTES + 1))
        order, notes = services.order_from_rows(current_user, company.id, rows, source="catalog")
    except DomainError as exc:
        csv_form.file.errors = [exc.message]
        flash(exc.message, "danger")
        csv_errors = [msg for n, msg in sorted((n, m) for n, m in (exc.errors or {}).items()
                                               if isinstance(n, int))]
        return _render_quick(company, QuickOrderForm(formdata=None), [], csv_form=csv_form,
                             csv_errors=csv_errors, status=422)
    flash(_("Draft order %(po_number)s created with %(len)s line(s) from the CSV file.", po_number=order.po_number, len=len(order.lines)), "success")
    _flash_notes(notes)
    return _order_redirect(order, company)


@bp.get("/reorder")
@buyer_required
def reorder_list():
    return render_template("catalog/reorder.html", orders=services.reorderable_orders(current_user),
                           empty_form=EmptyForm())


@bp.post("/orders/<int:order_id>/reorder")
@buyer_required
def reorder(order_id):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        order, skipped, notes = services.reorder(current_user, order_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("catalog.reorder_list"))
    flash(_("Draft order %(po_number)s created at today's prices with %(len)s line(s).", po_number=order.po_number, len=len(order.lines)), "success")
    for s in skipped:
        flash(_("Not reordered — %(s)s", s=s), "warning")
    _flash_notes(notes)
    return _order_redirect(order, order.supplier)
