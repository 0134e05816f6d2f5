"""Framework agreements in the browser: the list and the agreement (both sides; the supplier reads only), the
call-off form (the buyer's procurement), and making agreements from an award (the comparison page's form)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.accounts.models import Role
from portal.audit.services import trail
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.frameworks import services
from portal.frameworks.models import AgreementStatus, FrameworkAgreement
from portal.quotes.models import Award
from portal.tenancy import get_for_user

bp = Blueprint("frameworks", __name__, url_prefix="/frameworks")


@bp.app_template_global("framework_defaults")
def framework_defaults() -> dict:
    today = utcnow().date()
    return {"valid_from": today.isoformat(), "valid_until": (today + timedelta(days=365)).isoformat()}


@bp.app_template_global("agreements_of_award")
def agreements_of_award(award_id: int):
    import sqlalchemy as sa

    return list(db.session.scalars(sa.select(FrameworkAgreement).where(
        FrameworkAgreement.award_id == award_id, FrameworkAgreement.visible_to(current_user.company_id))
        .order_by(FrameworkAgreement.id)))


@bp.get("/")
@login_required
def index():
    status = request.args.get("status") or None
    if status not in (None, *(s.value for s in AgreementStatus)):
        status = None
    agreements = services.list_for(current_user.company_id, status=status)
    use = services.usages(agreements, viewer_company_id=current_user.company_id)
    rows = [(a, use[a.id]) for a in agreements]
    return render_template("frameworks/index.html", rows=rows, status=status, statuses=list(AgreementStatus))


def _render_detail(agreement, *, status=200, error=None, form=None):
    use = services.usage(agreement, viewer_company_id=current_user.company_id)
    is_buyer = current_user.company_id == agreement.buyer_company_id
    can_call_off = (is_buyer and current_user.has_role(Role.procurement)
                    and services.is_valid_on(agreement, utcnow().date()))
    events = trail("framework_agreement", agreement.id, current_user.company_id)
    return render_template("frameworks/detail.html", a=agreement, use=use, is_buyer=is_buyer,
                           can_call_off=can_call_off, error=error, form=form or {}, events=events), status


@bp.get("/<int:agreement_id>")
@login_required
def detail(agreement_id):
    return _render_detail(get_for_user(FrameworkAgreement, agreement_id))


@bp.post("/<int:agreement_id>/call-offs")
@login_required
def call_off(agreement_id):
    agreement = get_for_user(FrameworkAgreement, agreement_id)
    form = request.form
    quantities = {key[len("qty-"):]: value for key, value in form.items() if key.startswith("qty-")}
    try:
        result = services.call_off(agreement, current_user, quantities, delivery_date=form.get("delivery_date"),
                                   notes=form.get("notes", ""))
    except DomainError as exc:
        db.session.rollback()
        agreement = get_for_user(FrameworkAgreement, agreement_id)
        return _render_detail(agreement, status=exc.status, error=exc.message, form=form)
    flash(_("Call-off %(po)s created as a draft purchase order at the agreed prices; check it and submit it.",
            po=result.order.po_number), "success")
    for w in result.warnings:
        flash(_("Framework agreement: %(warning)s.", warning=w), "warning")
    return redirect(url_for("orders.detail", order_id=result.order.id))


@bp.post("/from-award/<int:award_id>")
@login_required
def from_award(award_id):
    award = db.session.get(Award, award_id) if 0 < award_id <= 2**31 - 1 else None
    if award is None or award.buyer_company_id != current_user.company_id:
        abort(404)
    if not current_user.has_role(Role.procurement):
        abort(403)
    form = request.form
    try:
        agreements = services.create_from_award(
            award.id, current_user, valid_from=form.get("valid_from"), valid_until=form.get("valid_until"),
            max_value=form.get("max_value"), allow_exceed=form.get("allow_exceed"),
            cap_quantities=bool(form.get("cap_quantities")))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("compare.comparison", rfq_id=award.rfq_id) + "#framework")
    flash(_("Framework agreement %(refs)s made from the award; call off orders from it during its validity.",
            refs=", ".join(a.reference for a in agreements)), "success")
    return redirect(url_for("frameworks.detail", agreement_id=agreements[0].id))
