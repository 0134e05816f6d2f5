"""Order forms: input shape only. Per-line tables (acknowledgement, shipment, receipt) are parsed from
request.form by the views (fields named like ``qty-<line id>``); every form carries lock_version."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.money import CURRENCIES


class LockForm(FlaskForm):
    """A bare action (submit, accept changes, close, ...): CSRF and the version the page showed."""
    lock_version = HiddenField()
    submit = SubmitField("Go")


class ReasonForm(LockForm):
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])


class DecisionForm(LockForm):
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=2000)],
                            description="Required when you reject; the buyer sees it.")
    decision = HiddenField()


class ShipmentForm(LockForm):
    carrier = StringField("Carrier", validators=[Optional(), Length(max=100)])
    tracking = StringField("Tracking reference", validators=[Optional(), Length(max=100)])
    submit = SubmitField("Record shipment")


class ApprovalRuleForm(FlaskForm):
    threshold = StringField("Orders above", validators=[DataRequired(), Length(max=20)],
                            description="Net order total in the company currency.")
    approvals_required = IntegerField("Approvals required", default=1,
                                      validators=[DataRequired(), NumberRange(1, 5, "From 1 to 5.")])
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES])
    submit = SubmitField("Save rule")
