"""Payables forms: input shape only (the services check the rules)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional
from flask_babel import lazy_gettext as _l


class LockForm(FlaskForm):
    lock_version = HiddenField()


class TolerancesForm(FlaskForm):
    lock_version = HiddenField()
    price_tolerance_percent = StringField(_l("Price tolerance per line (%)"), validators=[Length(max=10)],
                                          description=_l("How much higher than the order's price an invoice line may be."))
    price_tolerance_amount = StringField(_l("…and at most this much per line (amount)"), validators=[Length(max=20)],
                                         description=_l("Both limits apply; 0 and 0 means exact prices."))
    quantity_tolerance_percent = StringField(_l("Quantity tolerance (%)"), validators=[Length(max=10)],
                                             description=_l("How much more than received and accepted may be invoiced."))
    total_tolerance_percent = StringField(_l("Total tolerance (%)"), validators=[Length(max=10)])
    total_tolerance_amount = StringField(_l("…and at most this much on the total (amount)"), validators=[Length(max=20)])
    auto_approve = BooleanField(_l("Approve invoices within tolerance for payment automatically"))
    submit = SubmitField(_l("Save tolerances"))


class DiscountForm(FlaskForm):
    supplier_id = SelectField(_l("Supplier"), choices=[], validate_choice=False)
    discount_percent = StringField(_l("Cash discount (%)"), validators=[Optional(), Length(max=10)],
                                   description=_l("Empty or 0 removes the terms."))
    discount_days = StringField(_l("If paid within (days of the invoice date)"), validators=[Optional(), Length(max=5)])
    submit = SubmitField(_l("Save cash discount"))


class DisputeForm(FlaskForm):
    lock_version = HiddenField()
    invoice_line_id = SelectField(_l("What is disputed"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason (the supplier reads it)"), validators=[Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField(_l("Dispute"))


class TextForm(FlaskForm):
    lock_version = HiddenField()
    text = TextAreaField(_l("Message"), validators=[Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField(_l("Send"))


class ResolveForm(FlaskForm):
    lock_version = HiddenField()
    credit_note_id = SelectField(_l("Credit note"), choices=[], validate_choice=False)
    text = StringField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Resolve with this credit note"))


class RunForm(FlaskForm):
    due_by = StringField(_l("Pay what is due by"), validators=[Length(max=10)], render_kw={"type": "date"},
                         description=_l("Approved, undisputed invoices due by this date, and those whose cash discount "
                                     "ends by it."))
    execution_date = StringField(_l("Execution date (requested of the bank)"), validators=[Optional(), Length(max=10)],
                                 render_kw={"type": "date"})
    submit = SubmitField(_l("Build payment run"))


class ExecutedForm(FlaskForm):
    lock_version = HiddenField()
    executed_on = StringField(_l("Executed by the bank on"), validators=[Length(max=10)], render_kw={"type": "date"})
    submit = SubmitField(_l("Confirm execution"))
