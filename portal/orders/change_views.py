"""Order change pages: editing a draft, proposing a change order (with its preview: old → new and the new
total before it is sent), the change view where the other party decides per line (seeing the resulting total
first), the approvers' and the credit hold's decisions, short-close, and the revision PDFs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.db import db
from portal.documents.models import StoredFile
from portal.documents.store import send_stored
from portal.errors import DomainError, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l
from portal.orders import changes, drafts, revisions, shortclose
from portal.orders.core import BUYER_ROLES, require_buyer
from portal.orders.forms import LockForm
from portal.orders.models import ChangeKind, ChangeOrigin, ChangeStatus, LineDecision, PurchaseOrder
from portal.orders.states import OrderStatus
from portal.tenancy import get_for_user
from flask_babel import gettext as _

bp = Blueprint("order_changes", __name__, url_prefix="/orders")
S = OrderStatus


def _load(order_id) -> PurchaseOrder:
    return get_for_user(PurchaseOrder, order_id, options=(selectinload(PurchaseOrder.lines),))


def _detail(order):
    return redirect(url_for("orders.detail", order_id=order.id))


def _guard_buyer(order):
    try:
        require_buyer(order, current_user)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)


def _csrf():
    form = LockForm()
    if not form.validate_on_submit():
        abort(400)
    return form


def _unit_price(amount, currency):
    from portal.documents.render import format_unit_price

    return format_unit_price(amount, currency, current_user.locale or "en_GB")


# --------------------------------------------------------------------------------------------- drafts

def _draft_data(order) -> dict:
    f = request.form
    data = {k: f.get(k, "") for k in ("delivery_date", "delivery_address", "notes", "internal_notes")}
    data["lines"] = {ln.id: {"quantity": f.get(f"qty-{ln.id}", ""), "delivery_date": f.get(f"date-{ln.id}", ""),
                             "cost_reference": f.get(f"cost-{ln.id}", ""), "remove": f.get(f"remove-{ln.id}", "")}
                     for ln in order.lines}
    data["new_lines"] = [{"sku": f.get(f"new-sku-{i}", ""), "quantity": f.get(f"new-qty-{i}", ""),
                          "delivery_date": f.get(f"new-date-{i}", ""), "cost_reference": f.get(f"new-cost-{i}", "")}
                         for i in range(1, 6)]
    return data


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@login_required
def edit_draft(order_id):
    order = _load(order_id)
    _guard_buyer(order)
    errors, values = {}, {}
    if request.method == "POST":
        form = _csrf()
        values = _draft_data(order)
        try:
            order, notes = drafts.update_draft(order, current_user, form.lock_version.data, values)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = getattr(exc, "errors", None) or {}
            order = _load(order_id)
        else:
            for note in notes:
                flash(note, "info")
            flash(_("The draft is saved."), "success")
            return _detail(order)
    elif order.status != S.draft:
        flash(_('This order is %(label)s; only a draft can be edited.', label=_(order.status.label).lower()), "warning")
        return _detail(order)
    return render_template("orders/edit_draft.html", order=order, errors=errors, values=values,
                           unit_price=_unit_price), (422 if request.method == "POST" else 200)


# --------------------------------------------------------------------------------------------- change orders

def _change_input(order):
    f = request.form
    lines = {ln.id: {"quantity": f.get(f"qty-{ln.id}", ""), "date": f.get(f"date-{ln.id}", ""),
                     "unit_price": f.get(f"price-{ln.id}", ""), "cancel": f.get(f"cancel-{ln.id}", ""),
                     "reason": f.get(f"reason-{ln.id}", "")} for ln in order.lines}
    new_lines = [{"sku": f.get(f"new-sku-{i}", ""), "quantity": f.get(f"new-qty-{i}", ""),
                  "date": f.get(f"new-date-{i}", ""), "reason": f.get(f"new-reason-{i}", "")} for i in range(1, 4)]
    return lines, new_lines


@bp.route("/<int:order_id>/change", methods=["GET", "POST"])
@login_required
def propose_change(order_id):
    """GET: the change form. POST action=preview: old → new per line and the new total, nothing saved (the
    values go along hidden); POST action=send: the change is proposed."""
    order = _load(order_id)
    _guard_buyer(order)
    lines, new_lines, plan, errors = {}, [], None, {}
    status = 200
    if request.method == "POST":
        form = _csrf()
        lines, new_lines = _change_input(order)
        reason = request.form.get("reason", "")
        try:
            if request.form.get("action") == "send":
                change = changes.propose(order, current_user, form.lock_version.data, lines, new_lines, reason)
                flash({ChangeStatus.awaiting_approval: _("Change %(number)s needs approval first; your approvers "
                                                         "have been notified.", number=change.number),
                       ChangeStatus.credit_hold: _("Change %(number)s raises the total beyond the credit limit; "
                                                   "the supplier's accounts team decides first.", number=change.number),
                       }.get(change.status, _("Change %(number)s went to %(supplier)s.", number=change.number,
                                              supplier=order.supplier.display_name)),
                      "success" if change.status == ChangeStatus.proposed else "info")
                return redirect(url_for("order_changes.change_detail", order_id=order.id, change_id=change.id))
            plan = changes.preview(order, current_user, lines, new_lines)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = getattr(exc, "errors", None) or {}
            order = _load(order_id)
            plan = None
            status = 422
    elif order.status not in changes.CHANGEABLE:
        flash(_('An order can be changed once the supplier has acknowledged it; this order is %(label)s.', label=_(order.status.label).lower()), "warning")
        return _detail(order)
    return render_template("orders/change_form.html", order=order, lines=lines, new_lines=new_lines, plan=plan,
                           errors=errors, reason=request.form.get("reason", ""), unit_price=_unit_price,
                           line_text=changes.line_text, ChangeKind=ChangeKind), status


def _load_change(order, change_id):
    try:
        return changes.get_change(order, change_id)
    except NotFound:
        abort(404)


def _deciding_side(change, user) -> bool:
    order = change.order
    if change.origin == ChangeOrigin.buyer:
        return user.company_id == order.supplier_company_id and user.has_role(Role.sales, Role.admin)
    return user.company_id == order.buyer_company_id and user.has_role(*BUYER_ROLES)


@bp.route("/<int:order_id>/changes/<int:change_id>", methods=["GET", "POST"])
@login_required
def change_detail(order_id, change_id):
    """The change: old → new per line, the totals; the deciding party accepts or rejects per line (action
    preview shows the resulting total of those decisions first, action decide saves them)."""
    order = _load(order_id)
    change = _load_change(order, change_id)
    is_buyer = current_user.company_id == order.buyer_company_id
    if not is_buyer and not changes.sent_to_supplier(change):
        abort(404)  # the buyer's internal step: the supplier sees the change once it is sent
    decisions, result, errors, status = {}, None, {}, 200
    if request.method == "POST":
        form = _csrf()
        decisions = {cl.id: {"decision": request.form.get(f"decision-{cl.id}", ""),
                             "reason": request.form.get(f"reason-{cl.id}", "")} for cl in change.lines}
        try:
            if request.form.get("action") == "decide":
                changes.decide(order, change.id, current_user, form.lock_version.data, decisions)
                flash(_('Change %(number)s is decided.', number=change.number), "success")
                return _detail(order)
            accepted = [cid for cid, d in decisions.items() if d["decision"] == "accept"]
            result = changes.result_total(order, change, accepted)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = getattr(exc, "errors", None) or {}
            status = 409 if exc.__class__.__name__ == "Conflict" else 422
            db.session.rollback()
            order = _load(order_id)
            change = _load_change(order, change_id)
    return render_template(
        "orders/change_detail.html", order=order, change=change, decisions=decisions, result=result,
        errors=errors, can_decide=change.status == ChangeStatus.proposed and _deciding_side(change, current_user),
        can_approve=changes.can_approve(change, current_user) is None,
        can_hold=change.status == ChangeStatus.credit_hold and current_user.company_id == order.supplier_company_id
        and current_user.has_role(Role.accounts, Role.admin),
        can_withdraw=change.is_open and change.origin == ChangeOrigin.buyer and is_buyer
        and current_user.has_role(*BUYER_ROLES),
        is_buyer=is_buyer, line_text=changes.line_text, LineDecision=LineDecision, ChangeStatus=ChangeStatus,
        unit_price=_unit_price), status


def _change_action(order_id, change_id, fn, success):
    order = _load(order_id)
    change = _load_change(order, change_id)
    form = _csrf()
    try:
        fn(order, change, form)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(success, "success")
    return redirect(url_for("order_changes.change_detail", order_id=order_id, change_id=change_id))


@bp.post("/<int:order_id>/changes/<int:change_id>/approval")
@login_required
def approve_change(order_id, change_id):
    decision = {"approve": "approved", "reject": "rejected"}.get(request.form.get("decision", ""))
    if decision is None:
        abort(400)
    return _change_action(order_id, change_id, lambda o, c, f: changes.decide_approval(
        o, c.id, current_user, f.lock_version.data, decision, request.form.get("comment", "")),
        _("You approved the change.") if decision == "approved" else _("You rejected the change; it is withdrawn."))


@bp.post("/<int:order_id>/changes/<int:change_id>/hold")
@login_required
def change_hold(order_id, change_id):
    release = request.form.get("decision") == "release"
    return _change_action(order_id, change_id, lambda o, c, f: changes.decide_credit_hold(
        o, c.id, current_user, f.lock_version.data, release, request.form.get("comment", "")),
        _("The change is released to sales.") if release else _("The change is refused; the order stays as it is."))


@bp.post("/<int:order_id>/changes/<int:change_id>/withdraw")
@login_required
def withdraw_change(order_id, change_id):
    return _change_action(order_id, change_id, lambda o, c, f: changes.withdraw(
        o, c.id, current_user, f.lock_version.data), _("The change is withdrawn."))


# --------------------------------------------------------------------------------------------- short-close

@bp.route("/<int:order_id>/short-close", methods=["GET", "POST"])
@login_required
def short_close(order_id):
    order = _load(order_id)
    _guard_buyer(order)
    if request.method == "POST":
        form = _csrf()
        chosen = request.form.getlist("line")
        try:
            if not chosen:
                raise ValidationFailed(_l("Choose at least one line with an open quantity."))
            shortclose.short_close(order, current_user, form.lock_version.data, request.form.get("reason", ""),
                                   chosen)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            order = _load(order_id)
            return render_template("orders/short_close.html", order=order,
                                   open_lines=shortclose.closable_lines(order), chosen=chosen,
                                   reason=request.form.get("reason", "")), 422
        flash(_("The open quantities are closed; the supplier is told."), "success")
        return _detail(order)
    if order.status not in shortclose.CLOSABLE:
        flash(_('Open quantities can be closed once the order is acknowledged; this order is %(label)s.', label=_(order.status.label).lower()), "warning")
        return _detail(order)
    open_lines = shortclose.closable_lines(order)
    return render_template("orders/short_close.html", order=order, open_lines=open_lines,
                           chosen=[str(ln.id) for ln in open_lines], reason="")


# --------------------------------------------------------------------------------------------- revisions

@bp.get("/<int:order_id>/revisions/<int:number>.pdf")
@login_required
def revision_pdf(order_id, number):
    order = _load(order_id)  # tenancy first: the order decides who may have its revisions
    rev = revisions.get_revision(order, number)
    if rev is None:
        abort(404)
    if not rev.pdf_file_id:
        flash(_('The PDF of revision %(number)s is still being produced.', number=rev.number), "info")
        return _detail(order)
    f = db.session.get(StoredFile, rev.pdf_file_id)
    if f is None:
        abort(404)
    return send_stored(f)
