"""Order pages for both sides: list, detail with the actions the person's role and the order's state allow,
approvals, acknowledgement, shipments, goods receipt, documents, approval rules, orders from awards."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.db import db
from portal.documents.models import StoredFile
from portal.documents.store import send_stored
from portal.errors import DomainError, Forbidden, NotFound
from portal.orders import approvals, changes, drafts, revisions, services, shipping
from portal.orders.forms import ApprovalRuleForm, DecisionForm, LockForm, ReasonForm, ShipmentForm
from portal.orders.models import LineAck, OrderApproval, PurchaseOrder, Shipment
from portal.orders.states import OrderStatus
from portal.tenancy import get_for_user
from flask_babel import gettext as _, ngettext

bp = Blueprint("orders", __name__, url_prefix="/orders")
S = OrderStatus


def _load(order_id, *options) -> PurchaseOrder:
    return get_for_user(PurchaseOrder, order_id, options=options)


def _detail(order):
    return redirect(url_for("orders.detail", order_id=order.id))


def _run(order, fn, success: str):
    """Call a service; Forbidden/NotFound become 403/404, other DomainErrors a message. Redirects to the order."""
    try:
        fn()
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(success, "success")
    return _detail(order)


def _post_form(form_cls):
    form = form_cls()
    if not form.validate_on_submit():
        abort(400)
    return form


# --------------------------------------------------------------------------------------------- reading

def actions_for(order: PurchaseOrder, user) -> set[str]:
    """What this person may do on this order now (the services check again)."""
    acts: set[str] = set()
    is_buyer = user.company_id == order.buyer_company_id
    is_supplier = user.company_id == order.supplier_company_id
    st = order.status
    if is_buyer and user.has_role(*services.BUYER_ROLES):
        if st == S.draft:
            acts |= {"submit", "edit_draft"}
        if st in (S.acknowledged, S.partially_shipped):
            acts |= {"propose_change", "short_close"}
        if st == S.change_proposed:
            acts |= {"accept_changes", "reject_changes"}
        if st in (S.draft, S.awaiting_approval, S.submitted, S.credit_hold, S.placed, S.change_proposed,
                  S.acknowledged):
            acts.add("cancel")
        if st in (S.partially_shipped, S.shipped) and any(s.received_at is None for s in order.shipments):
            acts.add("receive")
    if is_buyer and st == S.received and user.has_role(Role.procurement, Role.admin, Role.accounts):
        acts.add("close")
    if is_buyer and st == S.awaiting_approval and approvals.can_decide(order, user) is None:
        acts.add("decide")
    if is_supplier and user.has_role(*services.SUPPLIER_ROLES):
        if st == S.placed:
            acts |= {"acknowledge", "reject"}
        if st in shipping.SHIPPABLE:
            acts.add("ship")
    return acts


def _shipments_to_invoice(order: PurchaseOrder, user) -> set[int]:
    """For the supplier's accounts team: the order's shipments with something left to invoice."""
    if not (order.shipments and user.company_id == order.supplier_company_id and user.has_role(Role.accounts)):
        return set()
    try:
        from portal.invoices.services import uninvoiced_shipment_ids
    except ImportError:  # pragma: no cover - invoicing not installed
        return set()
    return uninvoiced_shipment_ids(order)


@bp.get("/")
@login_required
def index():
    status = request.args.get("status") or None
    q = (request.args.get("q") or "").strip()
    from portal.viewutil import page_number

    from portal.paging import cursors, page_edges

    after, before = cursors(request.args)
    if after or before is not None:  # Older/Newer/Oldest: a keyset page, no count (same cost at any depth)
        kp = services.list_orders_keyset(current_user.company, status=status, q=q, after=after, before=before)
        orders, total, page, pages = kp.rows, None, None, None
    else:
        page = page_number(request.args.get("page"))
        orders, total, page, pages = services.list_orders(current_user.company, status=status, q=q, page=page)
        kp = page_edges(orders, page, pages)
    return render_template("orders/index.html", orders=orders, total=total, page=page, pages=pages, keyset=kp,
                           status=status, q=q, statuses=list(OrderStatus))


@bp.get("/<int:order_id>")
@login_required
def detail(order_id):
    order = _load(order_id, selectinload(PurchaseOrder.lines),
                  selectinload(PurchaseOrder.approvals).joinedload(OrderApproval.approver),
                  selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines))
    from portal.jobs.models import JobRecord
    from portal.orders.history import order_trail

    checks = []
    try:
        from portal.credit.models import CreditCheck

        checks = list(db.session.scalars(sa.select(CreditCheck).where(CreditCheck.order_id == order.id)
                                         .order_by(CreditCheck.id)))
    except ImportError:  # pragma: no cover
        pass
    note_jobs = {}
    if current_user.company_id == order.supplier_company_id and order.shipments:
        ids = [f"delivery-note-{s.id}" for s in order.shipments]
        for rec in db.session.scalars(sa.select(JobRecord).where(JobRecord.company_id == current_user.company_id,
                                                                 JobRecord.rq_job_id.in_(ids))):
            note_jobs[rec.rq_job_id] = rec
    lines_by_id = {ln.id: ln for ln in order.lines}
    actions = actions_for(order, current_user)
    to_invoice = _shipments_to_invoice(order, current_user)
    if to_invoice:
        actions.add("invoice")
    return render_template(
        "orders/detail.html", order=order, actions=actions, checks=checks, to_invoice=to_invoice,
        events=order_trail(order, current_user.company_id), note_jobs=note_jobs, lines_by_id=lines_by_id,
        lock_form=LockForm(), reason_form=ReasonForm(), decision_form=DecisionForm(),
        approval_round=approvals.current_round(order), required=approvals.required_approvals(order)
        if order.status in (S.draft, S.awaiting_approval) else None,
        decide_block=approvals.can_decide(order, current_user) if order.status == S.awaiting_approval else None,
        is_buyer=current_user.company_id == order.buyer_company_id, LineAck=LineAck, S=S,
        unit_price=_unit_price, revisions=revisions.revisions_for(order.id),
        reorder_prices=drafts.reorder_price_changes(order) if current_user.company_id == order.buyer_company_id
        else [],
        order_changes=changes.visible_changes(order, current_user.company_id))


def _unit_price(amount, currency):
    """Unit prices keep their own precision (0.3348 stays 0.3348; the money filter would show 0.33)."""
    from portal.documents.render import format_unit_price

    return format_unit_price(amount, currency, current_user.locale or "en_GB")


# --------------------------------------------------------------------------------------------- buyer actions

@bp.post("/<int:order_id>/submit")
@login_required
def submit(order_id):
    order = _load(order_id)
    form = _post_form(LockForm)

    try:
        order = services.submit(order, current_user, form.lock_version.data)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        if getattr(order, "budget_held", None):
            flash(_("The order would exceed a budget: it waits for the cost-centre owner's approval over budget "
                    "(the owner has been notified)."), "warning")
        elif order.status == S.awaiting_approval:
            flash(_("The order needs approval first; the approvers have been notified."), "info")
        else:
            flash(_("The order is submitted; the supplier's credit check runs now."), "success")
    return _detail(order)


@bp.post("/<int:order_id>/cancel")
@login_required
def cancel(order_id):
    order = _load(order_id)
    form = _post_form(ReasonForm)
    return _run(order, lambda: services.cancel(order, current_user, form.lock_version.data, form.reason.data),
                _("The order is cancelled."))


@bp.post("/<int:order_id>/accept-changes")
@login_required
def accept_changes(order_id):
    order = _load(order_id)
    form = _post_form(LockForm)
    return _run(order, lambda: services.accept_changes(order, current_user, form.lock_version.data),
                _("You accepted the supplier's changes; the order is acknowledged."))


@bp.post("/<int:order_id>/reject-changes")
@login_required
def reject_changes(order_id):
    order = _load(order_id)
    form = _post_form(LockForm)
    return _run(order, lambda: services.reject_changes(order, current_user, form.lock_version.data),
                _("You rejected the supplier's changes; the lines stay as ordered and the order is acknowledged."))


@bp.post("/<int:order_id>/close")
@login_required
def close(order_id):
    order = _load(order_id)
    form = _post_form(LockForm)
    return _run(order, lambda: shipping.close(order, current_user, form.lock_version.data), _("The order is closed."))


@bp.post("/<int:order_id>/decide")
@login_required
def decide(order_id):
    order = _load(order_id)
    form = _post_form(DecisionForm)
    decision = "approved" if form.decision.data == "approve" else "rejected" if form.decision.data == "reject" else ""
    if not decision:
        abort(400)
    msg = (_("You approved the order.") if decision == "approved"
           else _("You rejected the order; it is back in draft."))
    over_budget = request.form.get("over_budget") in ("1", "on", "y")

    def act():
        done = approvals.decide(order, current_user, form.lock_version.data, decision, form.comment.data,
                                over_budget=over_budget)
        if getattr(done, "budget_held", None):
            flash(_("The order would exceed a budget: it waits for the cost-centre owner's approval over budget "
                    "(the owner has been notified)."), "warning")

    return _run(order, act, msg)


# --------------------------------------------------------------------------------------------- supplier actions

@bp.post("/<int:order_id>/reject")
@login_required
def reject(order_id):
    order = _load(order_id)
    form = _post_form(ReasonForm)
    return _run(order, lambda: services.reject(order, current_user, form.lock_version.data, form.reason.data),
                _("You rejected the order."))


def _guard(fn, order, user):
    try:
        fn(order, user)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)


@bp.route("/<int:order_id>/acknowledge", methods=["GET", "POST"])
@login_required
def acknowledge(order_id):
    order = _load(order_id, selectinload(PurchaseOrder.lines))
    _guard(services.require_supplier, order, current_user)
    form = LockForm()
    errors, values = {}, {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        decisions = {}
        for line in order.lines:
            decisions[line.id] = {k: request.form.get(f"{k}-{line.id}", "") for k in ("action", "quantity", "date", "price", "note")}
        values = decisions
        try:
            services.acknowledge(order, current_user, form.lock_version.data, decisions)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = exc.errors
            order = _load(order_id, selectinload(PurchaseOrder.lines))
        else:
            order = db.session.get(PurchaseOrder, order.id)
            flash({S.acknowledged: _("The order is acknowledged."),
                   S.change_proposed: _("Your proposed changes went to the buyer."),
                   S.rejected: _("You rejected every line, so the order is rejected.")}.get(order.status, _("Saved.")),
                  "success")
            return _detail(order)
    elif order.status != S.placed:
        flash(_('This order is %(label)s; there is nothing to acknowledge.', label=_(order.status.label).lower()), "warning")
        return _detail(order)
    form.lock_version.data = order.lock_version
    return render_template("orders/acknowledge.html", order=order, form=form, errors=errors, values=values,
                           unit_price=_unit_price), \
        (422 if errors or request.method == "POST" else 200)


@bp.route("/<int:order_id>/ship", methods=["GET", "POST"])
@login_required
def ship(order_id):
    order = _load(order_id, selectinload(PurchaseOrder.lines))
    _guard(services.require_supplier, order, current_user)
    form = ShipmentForm()
    errors, values = {}, {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = {line.id: request.form.get(f"qty-{line.id}", "") for line in order.lines}
        try:
            shipment = shipping.record_shipment(order, current_user, form.lock_version.data, values,
                                                form.carrier.data, form.tracking.data)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = exc.errors
            order = _load(order_id, selectinload(PurchaseOrder.lines))
        else:
            flash(_('Shipment %(number)s recorded; the delivery note is being produced.', number=shipment.number), "success")
            return _detail(order)
    elif order.status not in shipping.SHIPPABLE:
        flash(_('This order is %(label)s; goods can be shipped once it is acknowledged.', label=_(order.status.label).lower()),
              "warning")
        return _detail(order)
    elif request.args.get("fill") == "open":  # "ship everything still open": prefill, the person still submits
        from portal.money import input_number

        values = {ln.id: input_number(services.open_quantity(ln), current_user.locale) for ln in order.lines
                  if services.open_quantity(ln) > 0}
    form.lock_version.data = order.lock_version
    return render_template("orders/ship.html", order=order, form=form, errors=errors, values=values,
                           open_quantity=services.open_quantity), (422 if request.method == "POST" else 200)


# --------------------------------------------------------------------------------------------- goods receipt

@bp.route("/<int:order_id>/shipments/<int:shipment_id>/receive", methods=["GET", "POST"])
@login_required
def receive(order_id, shipment_id):
    order = _load(order_id, selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines))
    _guard(services.require_buyer, order, current_user)
    try:
        shipment = shipping.load_shipment(order, shipment_id)
    except NotFound:
        abort(404)
    form = LockForm()
    errors, values = {}, {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = {sl.id: {k: request.form.get(f"{k}-{sl.id}", "") for k in ("accepted", "rejected", "reason")}
                  for sl in shipment.lines}
        try:
            shipping.receive(order, shipment.id, current_user, form.lock_version.data, values)
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = exc.errors
            order = _load(order_id, selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines))
            shipment = shipping.load_shipment(order, shipment_id)
        else:
            flash(_('Goods receipt for %(number)s recorded.', number=shipment.number), "success")
            return _detail(order)
    elif shipment.received_at is not None:
        flash(_('Shipment %(number)s was already received.', number=shipment.number), "info")
        return _detail(order)
    form.lock_version.data = order.lock_version
    return render_template("orders/receive.html", order=order, shipment=shipment, form=form, errors=errors,
                           values=values), (422 if request.method == "POST" else 200)


# --------------------------------------------------------------------------------------------- documents

def _send(file_id):
    f = db.session.get(StoredFile, file_id)
    if f is None:
        abort(404)
    return send_stored(f)


@bp.get("/<int:order_id>/purchase-order.pdf")
@login_required
def purchase_order_pdf(order_id):
    order = _load(order_id)  # tenancy first: the order decides who may have its PDF
    if not order.po_pdf_file_id:
        flash(_("The purchase order PDF is produced once the order is placed; it is not there yet."), "info")
        return _detail(order)
    return _send(order.po_pdf_file_id)


@bp.get("/<int:order_id>/shipments/<int:shipment_id>/delivery-note.pdf")
@login_required
def delivery_note_pdf(order_id, shipment_id):
    order = _load(order_id)
    if current_user.company_id not in (order.buyer_company_id, order.supplier_company_id):
        abort(404)
    try:
        shipment = shipping.load_shipment(order, shipment_id)
    except NotFound:
        abort(404)
    if not shipment.delivery_note_file_id:
        flash(_("The delivery note is still being produced."), "info")
        return _detail(order)
    return _send(shipment.delivery_note_file_id)


# --------------------------------------------------------------------------------------------- approvals

@bp.get("/approvals")
@login_required
def approval_queue():
    if not approvals.may_see_queue(current_user):
        abort(403)
    orders = approvals.queue_for(current_user)
    rules = approvals.rules_for(current_user.company_id)  # once for the page, not per order
    progress = {o.id: (approvals.approvals_given(o), approvals.required_approvals(o, rules)) for o in orders}
    approvers = approvals.active_approvers(current_user.company_id)
    escalated = approvals.escalated_ids(orders)
    info = {o.id: {"can_decide": approvals.can_decide(o, current_user) is None,
                   "stuck": approvals.is_stuck(o, approvers, rules), "due": approvals.escalation_due(o),
                   "escalated": o.id in escalated} for o in orders}
    is_admin = current_user.has_role(Role.admin)
    pending_changes = changes.changes_awaiting_approval(current_user)
    return render_template("orders/approvals.html", orders=orders, progress=progress, info=info, is_admin=is_admin,
                           dead_ends=approvals.dead_ends(current_user.company_id) if is_admin else None,
                           form=DecisionForm(), pending_changes=pending_changes,
                           change_ok={c.id: changes.can_approve(c, current_user) is None for c in pending_changes})


@bp.route("/approval-rules", methods=["GET", "POST"])
@login_required
def approval_rules():
    if not (current_user.company.is_buyer and current_user.has_role(Role.admin)):
        abort(403)
    form = ApprovalRuleForm()
    if request.method == "GET":
        form.currency.data = current_user.company.default_currency
    status = 200
    escalation_error = None
    if request.method == "POST" and "escalation_days" in request.form:
        if not LockForm().validate_on_submit():
            abort(400)
        try:
            days = approvals.save_escalation_days(current_user, request.form.get("escalation_days"))
        except DomainError as exc:
            escalation_error, status = exc.message, 422
        else:
            flash(ngettext('Orders waiting longer than %(num)s working day are escalated to the administrators.', 'Orders waiting longer than %(num)s working days are escalated to the administrators.', days), "success")
            return redirect(url_for("orders.approval_rules"))
    elif request.method == "POST":
        if form.validate_on_submit():
            try:
                approvals.save_rule(current_user, form.threshold.data, form.approvals_required.data,
                                    form.currency.data)
            except DomainError as exc:
                from portal.viewutil import form_error

                form_error(form, exc)
                status = 422
            else:
                flash(_("The approval rule is saved."), "success")
                return redirect(url_for("orders.approval_rules"))
        else:
            flash(_("Check the highlighted fields."), "danger")
            status = 422
    return render_template("orders/rules.html", rules=approvals.rules_for(current_user.company_id), form=form,
                           delete_form=LockForm(), escalation_error=escalation_error,
                           escalation_days=request.form.get("escalation_days")
                           or current_user.company.approval_escalation_days,
                           approvers=approvals.active_approvers(current_user.company_id),
                           dead_ends=approvals.dead_ends(current_user.company_id)), status


@bp.post("/approval-rules/<int:rule_id>/delete")
@login_required
def delete_rule(rule_id):
    _post_form(LockForm)
    try:
        approvals.delete_rule(current_user, rule_id)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    flash(_("The rule is deleted."), "success")
    return redirect(url_for("orders.approval_rules"))


# --------------------------------------------------------------------------------------------- awards

@bp.get("/awards")
@login_required
def awards():
    if not (current_user.company.is_buyer and current_user.has_role(*services.BUYER_ROLES)):
        abort(403)
    return render_template("orders/awards.html", awards=services.awards_without_orders(current_user.company_id),
                           form=LockForm())


@bp.post("/from-award/<int:award_id>")
@login_required
def from_award(award_id):
    _post_form(LockForm)
    try:
        orders = services.create_orders_from_award(award_id, current_user)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("orders.awards"))
    if len(orders) == 1:
        flash(_('Purchase order %(po_number)s is ready as a draft; check and submit it.', po_number=orders[0].po_number), "success")
        return redirect(url_for("orders.detail", order_id=orders[0].id))
    flash(_('%(count)s purchase orders are ready as drafts: %(numbers)s.', count=len(orders), numbers=', '.join(o.po_number for o in orders)), "success")
    return redirect(url_for("orders.index", status="draft"))

