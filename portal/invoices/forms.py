"""Invoicing forms (input shape only; the services check the rules). Line tables are parsed from
request.form by the views (one row per line: qty-<id>, discount-<id>, tax-<id>)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from portal.invoices.models import CreditReason


class LockForm(FlaskForm):
    lock_version = HiddenField()


class PaymentForm(FlaskForm):
    lock_version = HiddenField()
    amount = StringField("Amount received", validators=[Length(max=30)])
    paid_on = StringField("Date received", validators=[Length(max=10)], render_kw={"type": "date"})
    reference = StringField("Bank reference", validators=[Optional(), Length(max=100)])
    submit = SubmitField("Record payment")


class CreditNoteForm(FlaskForm):
    lock_version = HiddenField()
    reason_kind = SelectField(
        "What is the credit for?", choices=[("", "Choose…")] + [(r.value, r.label) for r in CreditReason],
        description="Returned or rejected goods are never invoiced again; after an invoicing mistake the credited "
                    "quantity can be invoiced again (correctly).")
    mode = SelectField("Credit", choices=[("lines", "By line quantity"), ("amount", "By amount")])
    amount = StringField("Net amount to credit", validators=[Optional(), Length(max=30)])
    tax_rate = StringField("VAT rate (%)", validators=[Optional(), Length(max=10)])
    reason = StringField("Reason (printed on the credit note)", validators=[Length(max=300)])
    submit = SubmitField("Issue credit note")


class ApproveForm(FlaskForm):
    lock_version = HiddenField()
    despite = BooleanField("Approve despite mismatches")
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Approve for payment")


class SettingsForm(FlaskForm):
    mode = SelectField("Invoice", choices=[("per_shipment", "Per shipment"), ("per_order", "Per order")])
    auto_issue = BooleanField("Issue invoices automatically when a shipment is recorded")
    default_tax_rate = StringField("Default VAT rate (%)", validators=[Length(max=10)])
    reminder_days = StringField("Dunning levels: days after the due date",
                                description="Up to three, comma separated: payment reminder, first dunning, final "
                                            "notice, e.g. 3,14,30.", validators=[Length(max=50)])
    footer_note = TextAreaField("Footer note on invoices", validators=[Optional(), Length(max=1000)])
    logo = FileField("Logo (PNG or JPEG, up to 2 MB)")
    remove_logo = BooleanField("Remove the current logo")
    submit = SubmitField("Save settings")


class StatementForm(FlaskForm):
    class Meta:
        csrf = False

    company_id = SelectField("Counterparty", coerce=str)
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
