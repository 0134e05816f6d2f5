"""Order forms: input shape only. Per-line tables (acknowledgement, shipment, receipt) are parsed from
request.form by the views (fields named like ``qty-<line id>``); every form carries lock_version."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.money import CURRENCIES
from flask_babel import lazy_gettext as _l


class LockForm(FlaskForm):
    """A bare action (submit, accept changes, close, ...): CSRF and the version the page showed."""
    lock_version = HiddenField()
    submit = SubmitField(_l("Go"))


class ReasonForm(LockForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class DecisionForm(LockForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)],
                            description=_l("Required when you reject; the buyer sees it."))
    decision = HiddenField()


class ShipmentForm(LockForm):
    carrier = StringField(_l("Carrier"), validators=[Optional(), Length(max=100)])
    tracking = StringField(_l("Tracking reference"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Record shipment"))


class ApprovalRuleForm(FlaskForm):
    threshold = StringField(_l("Orders above"), validators=[DataRequired(), Length(max=20)],
                            description=_l("Net order total in the company currency."))
    approvals_required = IntegerField(_l("Approvals required"), default=1,
                                      validators=[DataRequired(), NumberRange(1, 5, "From 1 to 5.")])
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES])
    submit = SubmitField(_l("Save rule"))
