"""Keeping the person's input when a form is refused for an expired or missing CSRF token (issue 19).

The refusal page explains what happened in a sentence and carries what the person typed in hidden fields of a
fresh form (a new token) that posts to the same address again: one click submits it once more. Passwords and
uploaded files are not carried over (the person types or picks them again)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

NOT_KEPT = ("csrf_token",)


def kept_fields() -> list[tuple[str, str]]:
    """The submitted form's fields, in order, without the token and without passwords."""
    return [(name, value) for name, values in request.form.lists() for value in values
            if name not in NOT_KEPT and "password" not in name.lower()]


def csrf_refusal_page():
    action = request.full_path.rstrip("?") if request.query_string else request.path
    signed_in = bool(current_user and current_user.is_authenticated)
    message = _("Your session ended; sign in again and submit once more.") if not signed_in else \
        _("Your form was open too long or came from elsewhere (missing or wrong security token). "
          "Your input is kept below: submit once more.")
    return render_template("errors/csrf.html", message=message, kept=kept_fields(), action=action,
                           signed_in=signed_in, files_dropped=bool(request.files)), 400
