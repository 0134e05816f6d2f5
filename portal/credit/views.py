"""Credit pages: the supplier's accounts team sets limits and terms and decides holds; buyers read their terms."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Role
from portal.credit import reasons as credit_reasons
from portal.credit import services
from portal.credit.forms import AccountForm, HoldDecisionForm
from portal.errors import DomainError, NotFound
from portal.money import input_number, quantize
from portal.tenancy import company_kind_required, roles_required
from portal.viewutil import form_error
from flask_babel import gettext as _

bp = Blueprint("credit", __name__, url_prefix="/credit")


def _reader_locale() -> str:
    return getattr(current_user, "locale", None) or "en_GB"


@bp.app_template_global("credit_reason")
def credit_reason(check) -> str:
    """A credit check's reason in the reader's language and number format (templates/credit/_order_credit.html)."""
    return credit_reasons.reason(check, _reader_locale())


def supplier_accounts(view):
    """The supplier's accounts team only: a buyer, or a sales user, gets 403."""

    @functools.wraps(view)
    @company_kind_required("supplier")
    @roles_required(Role.accounts)
    def wrapped(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapped


@bp.get("/accounts")
@supplier_accounts
def accounts():
    default, rows = services.accounts_overview(current_user.company_id)
    return render_template("credit/accounts.html", default=default, rows=rows,
                           holds_count=services.holds_count(current_user.company_id),
                           new_buyers=services.directory_buyers_without_account(current_user.company_id))


@bp.get("/accounts/new")
@supplier_accounts
def new_account():
    """Terms for a buyer of the directory before its first order: pick one, then the usual form."""
    return redirect(url_for("credit.buyer_account", buyer_id=request.args.get("buyer_id", type=int) or 0))


def _account_form(buyer, account):
    form = AccountForm()
    if request.method == "GET":
        source = account
        if source is None:
            source = services.default_account(current_user.company_id)
        if source is not None:
            form.limit_amount.data = input_number(quantize(source.limit_amount, source.currency),
                                                  current_user.locale)
            form.currency.data = source.currency
            form.payment_terms_days.data = str(source.payment_terms_days)
            form.block_on_overdue.data = source.block_on_overdue
        else:
            form.currency.data = current_user.company.default_currency
    form.set_currency_choices(form.currency.data)
    if form.validate_on_submit():
        try:
            services.save_account(current_user, buyer.id if buyer else None,
                                  limit_amount=form.limit_amount.data, currency=form.currency.data,
                                  payment_terms_days=form.payment_terms_days.data,
                                  block_on_overdue=form.block_on_overdue.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            who = buyer.display_name if buyer else _("buyers without their own account")
            flash(_('Credit terms for %(who)s saved.', who=who), "success")
            return redirect(url_for("credit.accounts"))
    status = 422 if request.method == "POST" else 200
    return render_template("credit/account_form.html", form=form, buyer=buyer, account=account), status


@bp.route("/accounts/default", methods=["GET", "POST"])
@supplier_accounts
def default_account():
    return _account_form(None, services.default_account(current_user.company_id))


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
@supplier_accounts
def edit_account(account_id):
    try:
        acc = services.account_for_supplier(current_user, account_id)
    except NotFound:
        abort(404)
    return _account_form(acc.buyer, acc if acc.buyer_company_id else services.default_account(
        current_user.company_id))


@bp.route("/buyers/<int:buyer_id>/account", methods=["GET", "POST"])
@supplier_accounts
def buyer_account(buyer_id):
    try:
        buyer = services.buyer_for_supplier(current_user, buyer_id)
    except NotFound:
        abort(404)
    return _account_form(buyer, services.pair_account(current_user.company_id, buyer.id))


def _holds_page(errors=None, comments=None, status=200):
    from portal.credit import recheck

    items = services.holds(current_user.company_id)
    return render_template("credit/holds.html", items=items, form=HoldDecisionForm(), errors=errors or {},
                           comments=comments or {}, today=recheck.today_figures_for([o for o, _ in items]),
                           reasons={o.id: credit_reasons.sentences(c, _reader_locale()) for o, c in items
                                    if c is not None}), status


@bp.get("/holds")
@supplier_accounts
def holds():
    return _holds_page()


def _decide(order_id, action):
    try:
        order = services.hold_for_supplier(current_user, order_id)
    except NotFound:
        abort(404)
    form = HoldDecisionForm()
    comment = form.comment.data or ""
    try:
        fn = services.release_hold if action == "release" else services.reject_hold
        fn(order, current_user, comment, expected_lock_version=form.lock_version.data)
    except DomainError as exc:
        flash(exc.message, "danger")
        return _holds_page(errors={order.id: exc.message}, comments={order.id: comment}, status=exc.status)
    if action == "release":
        flash(_('Order %(po_number)s released from credit hold and placed.', po_number=order.po_number), "success")
    else:
        flash(_('Order %(po_number)s rejected; the buyer has been told why.', po_number=order.po_number), "success")
    return redirect(url_for("credit.holds"))


@bp.post("/holds/<int:order_id>/release")
@supplier_accounts
def release(order_id):
    return _decide(order_id, "release")


@bp.post("/holds/<int:order_id>/recheck")
@supplier_accounts
def recheck(order_id):
    from portal.credit import recheck as recheck_service

    try:
        order = services.hold_for_supplier(current_user, order_id)
    except NotFound:
        abort(404)
    form = HoldDecisionForm()  # CSRF is checked for every POST by CSRFProtect
    try:
        recheck_service.request_recheck(order, current_user, expected_lock_version=form.lock_version.data)
    except DomainError as exc:
        flash(exc.message, "danger")
        return _holds_page(errors={order.id: exc.message}, status=exc.status)
    flash(_("The credit check of order %(po_number)s runs again with today's figures: if it passes now the order is placed, otherwise it stays here with the new reasons.", po_number=order.po_number), "info")
    return redirect(url_for("credit.holds") + f"#hold-{order.id}")


@bp.post("/holds/<int:order_id>/reject")
@supplier_accounts
def reject(order_id):
    return _decide(order_id, "reject")


@bp.get("/terms")
@company_kind_required("buyer")
@roles_required(Role.accounts)
def terms():
    return render_template("credit/terms.html", rows=services.terms_for_buyer(current_user.company_id))
