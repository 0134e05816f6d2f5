"""Payables forms: input shape only (the services check the rules)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional


class LockForm(FlaskForm):
    lock_version = HiddenField()


class TolerancesForm(FlaskForm):
    lock_version = HiddenField()
    price_tolerance_percent = StringField("Price tolerance per line (%)", validators=[Length(max=10)],
                                          description="How much higher than the order's price an invoice line may be.")
    price_tolerance_amount = StringField("…and at most this much per line (amount)", validators=[Length(max=20)],
                                         description="Both limits apply; 0 and 0 means exact prices.")
    quantity_tolerance_percent = StringField("Quantity tolerance (%)", validators=[Length(max=10)],
                                             description="How much more than received and accepted may be invoiced.")
    total_tolerance_percent = StringField("Total tolerance (%)", validators=[Length(max=10)])
    total_tolerance_amount = StringField("…and at most this much on the total (amount)", validators=[Length(max=20)])
    auto_approve = BooleanField("Approve invoices within tolerance for payment automatically")
    submit = SubmitField("Save tolerances")


class DiscountForm(FlaskForm):
    supplier_id = SelectField("Supplier", choices=[], validate_choice=False)
    discount_percent = StringField("Cash discount (%)", validators=[Optional(), Length(max=10)],
                                   description="Empty or 0 removes the terms.")
    discount_days = StringField("If paid within (days of the invoice date)", validators=[Optional(), Length(max=5)])
    submit = SubmitField("Save cash discount")


class DisputeForm(FlaskForm):
    lock_version = HiddenField()
    invoice_line_id = SelectField("What is disputed", choices=[], validate_choice=False)
    reason = TextAreaField("Reason (the supplier reads it)", validators=[Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField("Dispute")


class TextForm(FlaskForm):
    lock_version = HiddenField()
    text = TextAreaField("Message", validators=[Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField("Send")


class ResolveForm(FlaskForm):
    lock_version = HiddenField()
    credit_note_id = SelectField("Credit note", choices=[], validate_choice=False)
    text = StringField("Comment", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Resolve with this credit note")


class RunForm(FlaskForm):
    due_by = StringField("Pay what is due by", validators=[Length(max=10)], render_kw={"type": "date"},
                         description="Approved, undisputed invoices due by this date, and those whose cash discount "
                                     "ends by it.")
    execution_date = StringField("Execution date (requested of the bank)", validators=[Optional(), Length(max=10)],
                                 render_kw={"type": "date"})
    submit = SubmitField("Build payment run")


class ExecutedForm(FlaskForm):
    lock_version = HiddenField()
    executed_on = StringField("Executed by the bank on", validators=[Length(max=10)], render_kw={"type": "date"})
    submit = SubmitField("Confirm execution")
