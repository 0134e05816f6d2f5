"""Invoicing forms (input shape only; the services check the rules). Line tables are parsed from
request.form by the views (one row per line: qty-<id>, discount-<id>, tax-<id>)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from portal.invoices.models import CreditReason
from flask_babel import lazy_gettext as _l


class LockForm(FlaskForm):
    lock_version = HiddenField()


class PaymentForm(FlaskForm):
    lock_version = HiddenField()
    amount = StringField(_l("Amount received"), validators=[Length(max=30)])
    paid_on = StringField(_l("Date received"), validators=[Length(max=10)], render_kw={"type": "date"})
    reference = StringField(_l("Bank reference"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Record payment"))


class CreditNoteForm(FlaskForm):
    lock_version = HiddenField()
    reason_kind = SelectField(
        _l("What is the credit for?"), choices=[("", _l("Choose…"))] + [(r.value, _l(r.label)) for r in CreditReason],
        description=_l("Returned or rejected goods are never invoiced again; after an invoicing mistake the credited "
                    "quantity can be invoiced again (correctly)."))
    mode = SelectField(_l("Credit by"), choices=[("lines", _l("By line quantity")), ("amount", _l("By amount"))])
    amount = StringField(_l("Net amount to credit"), validators=[Optional(), Length(max=30)])
    tax_rate = StringField(_l("VAT rate (%)"), validators=[Optional(), Length(max=10)])
    reason = StringField(_l("Reason (printed on the credit note)"), validators=[Length(max=300)])
    submit = SubmitField(_l("Issue credit note"))


class ApproveForm(FlaskForm):
    lock_version = HiddenField()
    despite = BooleanField(_l("Approve despite mismatches"))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Approve for payment"))


class SettingsForm(FlaskForm):
    mode = SelectField(_l("Invoice"), choices=[("per_shipment", _l("Per shipment")), ("per_order", _l("Per order"))])
    auto_issue = BooleanField(_l("Issue invoices automatically when a shipment is recorded"))
    default_tax_rate = StringField(_l("Default VAT rate (%)"), validators=[Length(max=10)])
    reminder_days = StringField(_l("Dunning levels: days after the due date"),
                                description=_l("Up to three, comma separated: payment reminder, first dunning, final "
                                            "notice, e.g. 3,14,30."), validators=[Length(max=50)])
    footer_note = TextAreaField(_l("Footer note on invoices"), validators=[Optional(), Length(max=1000)])
    logo = FileField(_l("Logo (PNG or JPEG, up to 2 MB)"))
    remove_logo = BooleanField(_l("Remove the current logo"))
    submit = SubmitField(_l("Save settings"))


class StatementForm(FlaskForm):
    class Meta:
        csrf = False

    company_id = SelectField(_l("Counterparty"), coerce=str)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
