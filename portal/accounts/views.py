from __future__ import annotations

from flask_babel import gettext as _, refresh

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts import services, throttle
from portal.accounts.forms import (AcceptInvitationForm, CompanyProfileForm, EmptyForm, InviteForm,
                                   PasswordChangeForm, PreferencesForm, RolesForm, SignInForm, SignUpForm)
from portal.accounts.forms import ROLE_CHOICES
from portal.accounts.models import Role
from portal.documents.models import StoredFile
from portal.documents.store import send_stored
from portal.errors import DomainError
from portal.tenancy import get_for_user, roles_required
from portal.viewutil import form_error, safe_next

bp = Blueprint("auth", __name__)
company_bp = Blueprint("company", __name__, url_prefix="/company")
files_bp = Blueprint("files", __name__, url_prefix="/files")


# --------------------------------------------------------------------------------------------- sign-in

@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        refusal = throttle.check(form.email.data)
        if refusal is not None:
            resp = make_response(render_template("errors/429.html", message=refusal.message), 429)
            resp.headers["Retry-After"] = str(refusal.retry_after)
            return resp
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            throttle.failed(form.email.data)
            form_error(form, exc)
        else:
            throttle.succeeded(form.email.data)
            login_user(user, remember=form.remember.data)
            flash(_("Welcome back, %(name)s.", name=user.name), "success")
            resp = redirect(safe_next(form.next.data, url_for("dashboard.index")))
            return throttle.remember_browser(resp, user.email)
    return render_template("accounts/signin.html", form=form)


@bp.post("/signout")
@login_required
def signout():
    """Ends the session for good: the session version moves on, so neither a copy of the old session cookie
    nor the remember-me cookie opens the portal again (on any device: a cookie-held session cannot be ended
    alone)."""
    services.sign_out_everywhere(current_user)
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.signin"))


@bp.post("/account/signout-everywhere")
@login_required
def signout_everywhere():
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.sign_out_everywhere(current_user)
    logout_user()
    flash(_("You are signed out on every device and browser, including remembered ones."), "info")
    return redirect(url_for("auth.signin"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignUpForm()
    if form.validate_on_submit():
        company_fields = {k: getattr(form, k).data for k in (
            "legal_name", "display_name", "country", "vat_number", "address_line1", "address_line2",
            "postcode", "city", "kind", "currency")}
        try:
            user = services.sign_up(company_fields=company_fields, name=form.name.data,
                                    email=form.email.data, password=form.password.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            login_user(user)
            flash(_("%(display_name)s is registered. Invite your colleagues next.", display_name=user.company.display_name), "success")
            return redirect(url_for("company.members"))
    return render_template("accounts/signup.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    try:
        inv = services.find_invitation(token)
    except DomainError as exc:
        return render_template("accounts/invitation_invalid.html", message=exc.message), (
            404 if exc.status == 404 else 410)
    if current_user.is_authenticated:
        logout_user()
    form = AcceptInvitationForm(name=inv.name)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, name=form.name.data, password=form.password.data)
        except DomainError as exc:
            if exc.status in (404, 409):
                return render_template("accounts/invitation_invalid.html", message=exc.message), 410
            form_error(form, exc)
        else:
            login_user(user)
            flash(_("Welcome to %(display_name)s.", display_name=user.company.display_name), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("accounts/accept_invitation.html", form=form, invitation=inv)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    prefs = PreferencesForm(prefix="prefs", obj=current_user)
    if not prefs.is_submitted():  # the stored choices: empty means "follow the language / the browser"
        prefs.locale.data = current_user.format_choice or ""
        prefs.language.data = current_user.language or ""
    pw = PasswordChangeForm(prefix="pw")
    if prefs.submit.data and prefs.validate_on_submit():
        try:
            services.update_preferences(current_user, timezone=prefs.timezone.data, locale=prefs.locale.data,
                                        name=prefs.name.data,
                                        language=prefs.language.data if "prefs-language" in request.form else ...)
            refresh()  # the language may have just changed: say it in the new one
            flash(_("Preferences saved."), "success")
            return redirect(url_for("auth.account"))
        except DomainError as exc:
            form_error(prefs, exc)
    if pw.submit.data and pw.validate_on_submit():
        try:
            services.change_password(current_user, pw.current_password.data, pw.password.data)
        except DomainError as exc:
            form_error(pw, exc)
        else:
            login_user(current_user._get_current_object())  # new session version for this browser
            flash(_("Password changed. Other devices have been signed out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("accounts/account.html", prefs=prefs, pw=pw)


# --------------------------------------------------------------------------------------------- company

@company_bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    company = current_user.company
    is_admin = current_user.has_role(Role.admin)
    form = CompanyProfileForm(obj=company)
    if request.method == "POST":
        if not is_admin:
            abort(403)
        if form.validate_on_submit():
            fields = {k: getattr(form, k).data for k in (
                "legal_name", "display_name", "country", "vat_number", "address_line1", "address_line2",
                "postcode", "city", "default_currency", "categories", "website", "iban", "bic", "bank_name")}
            if not company.is_supplier:  # a buyer-only company is not asked what it supplies
                fields.pop("categories")
            try:
                services.update_company(company, current_user, **fields)
                flash(_("Company profile saved."), "success")
                return redirect(url_for("company.profile"))
            except DomainError as exc:
                form_error(form, exc)
    return render_template("accounts/company.html", form=form, company=company, is_admin=is_admin)


@company_bp.route("/members", methods=["GET", "POST"])
@roles_required(Role.admin)
def members():
    form = InviteForm()
    new_link = None
    if form.validate_on_submit():
        try:
            inv, token = services.invite(current_user, email=form.email.data, name=form.name.data,
                                         roles=form.roles.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            new_link = url_for("auth.accept_invitation", token=token, _external=True)
            flash(_("Invitation for %(email)s created. Share the link below; it works once and expires in %(hours)s "
                    "hours.", email=inv.email, hours=current_app.config['INVITATION_TTL_HOURS']), "success")
            form = InviteForm(formdata=None)
    return render_template("accounts/members.html", form=form, new_link=new_link,
                           members=services.members(current_user.company_id),
                           invitations=services.pending_invitations(current_user.company_id),
                           role_choices=ROLE_CHOICES)


@company_bp.post("/members/<int:user_id>/roles")
@roles_required(Role.admin)
def member_roles(user_id):
    form = RolesForm()
    if not form.validate_on_submit():
        flash(_("Choose at least one role."), "warning")
    else:
        try:
            u = services.set_member_roles(current_user, user_id, form.roles.data)
            flash(_("Roles of %(name)s saved.", name=u.name), "success")
            if getattr(u, "approval_warning", None):
                flash(u.approval_warning, "warning")
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash(exc.message, "danger")
    return redirect(url_for("company.members"))


@company_bp.post("/members/<int:user_id>/<any(activate,deactivate):action>")
@roles_required(Role.admin)
def member_active(user_id, action):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        u = services.set_member_active(current_user, user_id, action == "activate")
        flash(_("%(name)s is active again.", name=u.name) if u.active
              else _("%(name)s is deactivated; their history stays.", name=u.name), "success")
        if getattr(u, "approval_warning", None):
            flash(u.approval_warning, "warning")
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
    return redirect(url_for("company.members"))


@company_bp.post("/invitations/<int:invitation_id>/revoke")
@roles_required(Role.admin)
def revoke_invitation(invitation_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_invitation(current_user, invitation_id)
        flash(_("Invitation withdrawn."), "success")
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
    return redirect(url_for("company.members"))


@company_bp.post("/members/export")
@roles_required(Role.admin)
def export_members():
    if not EmptyForm().validate_on_submit():
        abort(400)
    rec = services.start_member_export(current_user)
    flash(_("The member list is being exported in the background."), "info")
    return redirect(url_for("jobs.detail", job_id=rec.id))


# --------------------------------------------------------------------------------------------- files

@files_bp.get("/<int:file_id>")
@login_required
def download(file_id):
    f = get_for_user(StoredFile, file_id)
    _check_job_result_access(f)
    return send_stored(f)


def _check_job_result_access(f: StoredFile) -> None:
    """A file produced by someone's background job (e.g. the member export) is theirs (and admins')."""
    import sqlalchemy as sa

    from portal.db import db
    from portal.jobs.models import JobRecord
    from portal.jobs.services import may_see

    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.result_file_id == f.id).limit(1))
    if rec is not None and not may_see(rec, current_user):
        abort(404)
