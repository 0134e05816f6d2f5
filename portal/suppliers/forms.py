"""Forms of supplier onboarding: input shape only (the rules are in services.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.accounts.forms import CompanyFieldsMixin, country_choices
from portal.money import CURRENCIES
from portal.suppliers.states import CERTIFICATE_LABELS

CONTACT_SLOTS = 2


class InviteByEmailForm(FlaskForm):
    email = EmailField(_l("E-mail of the person to invite"), validators=[DataRequired(), Length(max=254)])
    company_name = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    contact_name = StringField(_l("Contact name"), validators=[Optional(), Length(max=120)])
    message = TextAreaField(_l("Message (optional)"), validators=[Optional(), Length(max=2000)])
    rfq_id = HiddenField()
    submit = SubmitField(_l("Send invitation"))


class RegisterSupplierForm(CompanyFieldsMixin, FlaskForm):
    currency = SelectField(_l("Default currency"), choices=[(c, c) for c in CURRENCIES], default="EUR")
    categories = StringField(_l("Categories you supply"), validators=[Optional(), Length(max=500)],
                             description=_l("Comma separated, e.g. fasteners, packaging."))
    iban = StringField(_l("IBAN"), validators=[Optional(), Length(max=42)])
    bic = StringField(_l("BIC"), validators=[Optional(), Length(max=11)])
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=120)])
    contact0_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    contact0_function = StringField(_l("Function"), validators=[Optional(), Length(max=80)])
    contact0_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    contact0_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    contact1_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    contact1_function = StringField(_l("Function"), validators=[Optional(), Length(max=80)])
    contact1_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    contact1_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    password = PasswordField(_l("Choose a password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Repeat password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Register and continue"))

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = country_choices()

    def company_fields(self) -> dict:
        return {k: getattr(self, k).data or "" for k in (
            "legal_name", "display_name", "country", "vat_number", "address_line1", "address_line2", "postcode",
            "city", "currency", "categories", "iban", "bic", "bank_name")}

    def contacts(self) -> list[dict]:
        return [{k: getattr(self, f"contact{i}_{k}").data or "" for k in ("name", "function", "email", "phone")}
                for i in range(CONTACT_SLOTS)]


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[("approved", _l("Approved")), ("blocked", _l("Blocked"))])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)],
                           description=_l("Required to block; the supplier sees it."))
    lock_version = HiddenField()
    submit = SubmitField(_l("Change status"))


class PolicyForm(FlaskForm):
    only_approved_awards = BooleanField(_l("Only approved suppliers can be awarded"))
    submit = SubmitField(_l("Save setting"))


class CertificateForm(FlaskForm):
    cert_type = SelectField(_l("Certificate"), choices=[(k.value, v) for k, v in CERTIFICATE_LABELS.items()])
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=100)])
    issuer = StringField(_l("Issued by"), validators=[DataRequired(), Length(max=200)])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired()])
    file = FileField(_l("Certificate file (PDF, PNG or JPEG)"))
    submit = SubmitField(_l("Add certificate"))


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Add question"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField(_l("Save answer"))


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("accepted", _l("Accept")), ("rejected", _l("Reject"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save review"))


class EmptyForm(FlaskForm):
    """CSRF only: for POST buttons."""


class RatingForm(FlaskForm):
    rating = StringField(_l("Your rating (1 to 5)"), validators=[Optional(), Length(max=20)],
                         description=_l("Used by the “supplier rating” criterion of weighted scoring."))
    submit = SubmitField(_l("Save rating"))
