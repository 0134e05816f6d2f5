"""The person's API tokens on their account page: create (shown once), list, revoke."""
from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.api import auth
from portal.errors import DomainError
from portal.viewutil import form_error

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="What will use it, e.g. 'SAP connector'.")
    expires_on = DateField("Expires on (optional)", validators=[Optional()])


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        expires_at = None
        if form.expires_on.data:
            tz = ZoneInfo(current_user.timezone or "UTC")
            expires_at = datetime.combine(form.expires_on.data, time(23, 59), tz).astimezone(timezone.utc)
        try:
            _, new_token = auth.create_token(current_user, form.name.data, expires_at)
            flash("Token created. Copy it now: it is shown only once.", "success")
            form = TokenForm(formdata=None)
        except DomainError as exc:
            form_error(form, exc)
    return render_template("api/tokens.html", form=form, tokens=auth.tokens_of(current_user),
                           new_token=new_token)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id):
    from flask import abort

    from portal.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        auth.revoke_token(current_user, token_id)
    except DomainError:
        abort(404)
    flash("Token revoked; it stops working immediately.", "success")
    return redirect(url_for("tokens.index"))
