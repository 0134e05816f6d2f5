"""Requisition pages: my requisitions, raise/edit, detail (approve with the budget impact), procurement's queue."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.accounts.models import Company, CompanyKind, Role
from portal.budgets import services as budgets
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.requisitions import services
from portal.requisitions.models import Requisition, RequisitionAttachment
from portal.requisitions.states import RequisitionStatus
from portal.tenancy import (
    company_kind_required,
    get_child,
    get_for_user,
    roles_required,
)

bp = Blueprint("requisitions", __name__, url_prefix="/requisitions")
S = RequisitionStatus
BLANK_LINES = 5
LINE_FIELDS = ("sku", "description", "quantity", "unit", "estimated_price", "needed_by", "cost_centre_id",
               "gl_account_id")


def _suppliers() -> list[Company]:
    return list(db.session.scalars(sa.select(Company).where(Company.kind.in_((CompanyKind.supplier, CompanyKind.both)),
                                                            Company.id != current_user.company_id)
                                   .order_by(Company.display_name)))


def _lines_from_form() -> list[dict]:
    try:
        count = max(0, min(int(request.form.get("line_count") or 0), services.MAX_LINES))
    except (TypeError, ValueError):
        count = 0
    return [{k: request.form.get(f"lines-{i}-{k}", "") for k in LINE_FIELDS} for i in range(count)]


def _form_page(req=None, lines=None, status=200):
    values = request.form if request.method == "POST" else {}
    if lines is None:
        if req is not None:
            lines = [{"sku": ln.catalog_item.sku if ln.catalog_item_id else "", "description": ln.description,
                      "quantity": f"{ln.quantity.normalize():f}", "unit": ln.unit,
                      "estimated_price": f"{ln.estimated_price.normalize():f}",
                      "needed_by": ln.needed_by.isoformat() if ln.needed_by else "",
                      "cost_centre_id": str(ln.cost_centre_id or ""), "gl_account_id": str(ln.gl_account_id or "")}
                     for ln in req.lines]
        else:
            lines = []
    cc_default, gl_default = budgets.default_for(current_user.company_id, user_id=current_user.id)
    target = max(BLANK_LINES, len(lines) + 2) if lines else BLANK_LINES
    while len(lines) < min(target, services.MAX_LINES):
        lines.append({"sku": "", "description": "", "quantity": "", "unit": "pcs", "estimated_price": "",
                      "needed_by": "", "cost_centre_id": str(cc_default or ""), "gl_account_id": str(gl_default or "")})
    return render_template("requisitions/form.html", req=req, lines=lines, values=values,
                           cost_centres=budgets.cost_centres(current_user.company_id, active_only=True),
                           gl_accounts=budgets.gl_accounts(current_user.company_id, active_only=True),
                           suppliers=_suppliers(),
                           required=budgets.settings_for(current_user.company_id).cost_centre_required), status


def _save(req_id=None):
    f = request.form
    try:
        req = services.save(current_user, req_id=req_id, version=f.get("lock_version"), title=f.get("title"),
                            justification=f.get("justification"), lines=_lines_from_form(),
                            suggested_supplier_id=f.get("suggested_supplier_id"),
                            suggested_supplier_text=f.get("suggested_supplier_text"),
                            submit=f.get("action") == "submit")
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
        req = get_for_user(Requisition, req_id) if req_id else None
        return _form_page(req, lines=_lines_from_form(), status=422)
    flash(_("Requisition %(number)s submitted for approval.", number=req.number) if req.status != S.draft
          else _("Requisition %(number)s saved as a draft.", number=req.number), "success")
    return redirect(url_for("requisitions.detail", req_id=req.id))


@bp.get("/")
@login_required
@company_kind_required("buyer")
def index():
    status = request.args.get("status") or None
    mine = services.list_for(current_user, mine=True, status=status)
    return render_template("requisitions/index.html", rows=mine, status=status, statuses=list(S),
                           to_approve=services.approval_queue(current_user),
                           is_procurement=current_user.has_role(*services.PROCUREMENT))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@company_kind_required("buyer")
def new():
    if request.method == "POST":
        return _save()
    return _form_page()


@bp.route("/<int(max=2147483647):req_id>/edit", methods=["GET", "POST"])
@login_required
@company_kind_required("buyer")
def edit(req_id):
    req = get_for_user(Requisition, req_id)
    if request.method == "POST":
        return _save(req.id)
    if req.status != S.draft or req.requester_id != current_user.id:
        flash(_("Only the requester edits a draft."), "warning")
        return redirect(url_for("requisitions.detail", req_id=req.id))
    return _form_page(req)


@bp.get("/<int(max=2147483647):req_id>")
@login_required
@company_kind_required("buyer")
def detail(req_id):
    req = get_for_user(Requisition, req_id)
    kind, why_not = services.can_decide(req, current_user)
    show_impact = req.status in (S.draft, S.submitted)
    orders = {}
    for ln in req.lines:
        if ln.order_line is not None:
            orders[ln.order_line.order.id] = ln.order_line.order
    rfqs = {}
    if any(ln.rfq_line_id for ln in req.lines):
        from portal.rfq.models import Rfq, RfqLine

        rfqs = {r.id: r for r in db.session.scalars(
            sa.select(Rfq).join(RfqLine, RfqLine.rfq_id == Rfq.id)
            .where(RfqLine.id.in_([ln.rfq_line_id for ln in req.lines if ln.rfq_line_id])))}
    return render_template("requisitions/detail.html", req=req, decide_kind=kind, why_not=why_not,
                           impact=services.budget_impact(req) if show_impact else None,
                           pending=services.pending(req) if req.status == S.submitted else None,
                           mode=budgets.settings_for(req.company_id).budget_mode.value,
                           orders=list(orders.values()), rfqs=list(rfqs.values()), S=S,
                           is_procurement=current_user.has_role(*services.PROCUREMENT))


def _act(req_id, fn, ok_message, **kwargs):
    req = get_for_user(Requisition, req_id)
    try:
        fn(current_user, req.id, request.form.get("lock_version"), **kwargs)
        flash(ok_message, "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("requisitions.detail", req_id=req.id))


@bp.post("/<int(max=2147483647):req_id>/submit")
@login_required
@company_kind_required("buyer")
def submit(req_id):
    return _act(req_id, services.submit, _("Submitted for approval."))


@bp.post("/<int(max=2147483647):req_id>/decide")
@login_required
@company_kind_required("buyer")
def decide(req_id):
    decision = "approved" if request.form.get("decision") == "approve" else "rejected"
    return _act(req_id, services.decide, _("Approved.") if decision == "approved" else _("Rejected."),
                decision=decision, comment=request.form.get("comment", ""),
                over_budget=request.form.get("over_budget") in ("1", "on", "y"))


@bp.post("/<int(max=2147483647):req_id>/cancel")
@login_required
@company_kind_required("buyer")
def cancel(req_id):
    return _act(req_id, services.cancel, _("Cancelled."), reason=request.form.get("reason", ""))


@bp.post("/<int(max=2147483647):req_id>/reopen")
@login_required
@company_kind_required("buyer")
def reopen(req_id):
    return _act(req_id, services.reopen, _("Reopened as a draft."))


@bp.post("/<int(max=2147483647):req_id>/attachments")
@login_required
@company_kind_required("buyer")
def attach(req_id):
    req = get_for_user(Requisition, req_id)
    upload = request.files.get("file")
    try:
        services.add_attachment(current_user, req.id, filename=upload.filename if upload else "",
                                data=upload.read() if upload else b"")
        flash(_("Attached."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("requisitions.detail", req_id=req.id))


@bp.get("/<int(max=2147483647):req_id>/attachments/<int(max=2147483647):att_id>")
@login_required
@company_kind_required("buyer")
def attachment(req_id, att_id):
    from portal.documents.store import send_stored
    from portal.errors import NotFound

    req = get_for_user(Requisition, req_id)
    try:
        att = get_child(RequisitionAttachment, att_id, "attachment", RequisitionAttachment.requisition_id == req.id)
    except NotFound:
        abort(404)
    return send_stored(att.file)


@bp.get("/queue")
@roles_required(Role.procurement, Role.admin)
@company_kind_required("buyer")
def queue():
    return render_template("requisitions/queue.html", rows=services.procurement_queue(current_user), S=S)


@bp.post("/source")
@roles_required(Role.procurement, Role.admin)
@company_kind_required("buyer")
def source():
    ids = request.form.getlist("requisition_id")
    try:
        if request.form.get("action") == "orders":
            orders = services.to_orders(current_user, ids)
            flash(_("%(n)s draft order(s) made: check and submit them.", n=len(orders)), "success")
            return redirect(url_for("orders.detail", order_id=orders[0].id) if len(orders) == 1
                            else url_for("orders.index"))
        rfq = services.to_rfq(current_user, ids, title=request.form.get("title"))
        flash(_("RFQ %(ref)s made from the requisitions: invite suppliers and publish it.", ref=rfq.reference),
              "success")
        return redirect(url_for("rfq.detail", rfq_id=rfq.id))
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
        return redirect(url_for("requisitions.queue"))


@bp.app_template_global()
def requisition_status_badge(status) -> str:
    return {"draft": "draft", "submitted": "pending", "approved": "accepted", "rejected": "declined",
            "sourcing": "open", "ordered": "submitted", "received": "succeeded", "cancelled": "cancelled"}[status.value]


@bp.app_template_global()
def today_iso() -> str:
    return utcnow().date().isoformat()
