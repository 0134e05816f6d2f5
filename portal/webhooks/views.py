"""Company settings → Webhooks (administrators): endpoints, the secret shown once, the delivery log, redelivery."""
from __future__ import annotations

from flask_babel import gettext as _

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Role
from portal.errors import DomainError, NotFound
from portal.locking import CURRENT
from portal.tenancy import roles_required
from portal.viewutil import form_error
from portal.webhooks import services as hooks
from portal.webhooks.forms import EndpointForm, RotateForm

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")


def _secret_page(ep, secret: str, rotated: bool = False):
    """The one page that shows a secret: never stored by a browser or proxy cache."""
    from flask import make_response

    resp = make_response(render_template("webhooks/secret.html", endpoint=ep, secret=secret, rotated=rotated))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _endpoint(endpoint_id):
    try:
        return hooks.load_endpoint(current_user, endpoint_id)
    except NotFound:
        abort(404)


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.admin)
def index():
    form = EndpointForm()
    if request.method == "GET":
        form.event_types.data = ["*"]
    if form.validate_on_submit():
        try:
            ep, secret = hooks.create_endpoint(current_user, url=form.url.data, event_types=form.event_types.data,
                                               description=form.description.data or "")
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(_("Endpoint added. Copy its signing secret now: it is shown only once."), "success")
            return _secret_page(ep, secret)
    return render_template("webhooks/index.html", form=form, endpoints=hooks.endpoints_of(current_user.company_id))


@bp.route("/<int:endpoint_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def detail(endpoint_id):
    ep = _endpoint(endpoint_id)
    form = EndpointForm(obj=ep if request.method == "GET" else None)
    if request.method == "GET":
        form.event_types.data = list(ep.event_types)
        form.lock_version.data = ep.lock_version
    if form.validate_on_submit():
        try:
            hooks.update_endpoint(current_user, ep.id, form.lock_version.data or None, url=form.url.data,
                                  event_types=form.event_types.data, description=form.description.data or "")
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(_("Endpoint saved."), "success")
            return redirect(url_for("webhooks.detail", endpoint_id=ep.id))
    status = request.args.get("status") or None
    if status not in (None, "pending", "succeeded", "failed"):
        status = None
    deliveries = hooks.deliveries_of(ep, status=status, limit=50)
    return render_template("webhooks/detail.html", endpoint=ep, form=form, rotate=RotateForm(),
                           deliveries=deliveries, status=status, schedule=hooks.SCHEDULE)


@bp.get("/<int:endpoint_id>/deliveries/<int:delivery_id>")
@roles_required(Role.admin)
def delivery(endpoint_id, delivery_id):
    ep = _endpoint(endpoint_id)
    try:
        d = hooks.load_delivery(ep, delivery_id)
    except NotFound:
        abort(404)
    import json

    body = json.dumps(json.loads(hooks.payload(d.event)), indent=2, ensure_ascii=False)
    return render_template("webhooks/delivery.html", endpoint=ep, delivery=d, attempts=hooks.attempts_of(d),
                           body=body)


def _act(fn, ok_message, endpoint_id):
    from portal.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        fn()
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(ok_message, "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/enable")
@roles_required(Role.admin)
def enable(endpoint_id):
    return _act(lambda: hooks.update_endpoint(current_user, endpoint_id, request.form.get("lock_version") or CURRENT,
                                              enabled=True),
                _("Endpoint enabled. Redeliver what it missed from the log below."), endpoint_id)


@bp.post("/<int:endpoint_id>/disable")
@roles_required(Role.admin)
def disable(endpoint_id):
    return _act(lambda: hooks.update_endpoint(current_user, endpoint_id, request.form.get("lock_version") or CURRENT,
                                              enabled=False),
                _("Endpoint disabled: nothing is sent to it until you enable it again."), endpoint_id)


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@roles_required(Role.admin)
def redeliver(endpoint_id, delivery_id):
    return _act(lambda: hooks.redeliver(current_user, endpoint_id, delivery_id),
                _("Sending it again now."), endpoint_id)


@bp.post("/<int:endpoint_id>/rotate")
@roles_required(Role.admin)
def rotate(endpoint_id):
    ep = _endpoint(endpoint_id)
    form = RotateForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ep, secret = hooks.rotate_secret(current_user, ep.id, keep_previous=not form.revoke_previous.data)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
    flash(_("New signing secret created. Copy it now: it is shown only once."), "success")
    return _secret_page(ep, secret, rotated=True)


@bp.post("/<int:endpoint_id>/delete")
@roles_required(Role.admin)
def delete(endpoint_id):
    from portal.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        hooks.delete_endpoint(current_user, endpoint_id)
    except NotFound:
        abort(404)
    flash(_("Endpoint removed."), "success")
    return redirect(url_for("webhooks.index"))
