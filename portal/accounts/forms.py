from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField,
                     StringField, SubmitField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import ROLE_LABELS, CompanyKind, Role
from portal.money import CURRENCIES

ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]
KIND_CHOICES = [(CompanyKind.buyer.value, "Buyer — we purchase"),
                (CompanyKind.supplier.value, "Supplier — we sell"),
                (CompanyKind.both.value, "Both")]
# The portal's text is English; the setting chooses how numbers, money and dates are written and read.
LOCALE_CHOICES = [("en_GB", "UK: 1,234.50 · 1 Dec 2026"), ("en_US", "US: 1,234.50 · Dec 1, 2026"),
                  ("de_DE", "German: 1.234,50 · 01.12.2026"), ("fr_FR", "French: 1 234,50 · 1 déc. 2026")]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def country_choices():
    from portal.accounts.services import country_names

    return [("", "Choose a country…")] + [(c, n) for c, n in country_names().items()]


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()
    submit = SubmitField("Sign in")


class CompanyFieldsMixin:
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=120)],
                               description="How other companies see you; defaults to the legal name.")
    country = SelectField("Country", validators=[DataRequired()])
    vat_number = StringField("VAT / tax number", validators=[Optional(), Length(max=40)],
                             description="Checked against the country's format (e.g. DE136695976).")
    address_line1 = StringField("Street and number", validators=[Optional(), Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    city = StringField("City", validators=[Optional(), Length(max=100)])


class SignUpForm(CompanyFieldsMixin, FlaskForm):
    kind = SelectField("Your company", choices=KIND_CHOICES, validators=[DataRequired()])
    currency = SelectField("Default currency", choices=[(c, c) for c in CURRENCIES], default="EUR")
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Your work email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters.")
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Create company account")

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = country_choices()


class CompanyProfileForm(CompanyFieldsMixin, FlaskForm):
    default_currency = SelectField("Default currency", choices=[(c, c) for c in CURRENCIES])
    categories = StringField("Categories you supply", validators=[Optional(), Length(max=500)],
                             description="Comma separated, e.g. fasteners, packaging. Buyers search by these.")
    website = StringField("Website", validators=[Optional(), Length(max=200)])
    iban = StringField("IBAN", validators=[Optional(), Length(max=42)])
    bic = StringField("BIC", validators=[Optional(), Length(max=11)])
    bank_name = StringField("Bank", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Save profile")

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = country_choices()


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])
    submit = SubmitField("Create invitation")


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters.")
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Join")


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])
    submit = SubmitField("Save roles")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Change password")


class PreferencesForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    locale = SelectField("Number and date format", choices=LOCALE_CHOICES,
                         description="How amounts and dates are shown, and how the numbers you type are read.")
    timezone = SelectField("Time zone")
    submit = SubmitField("Save preferences")

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        from zoneinfo import available_timezones

        self.timezone.choices = [(z, z.replace("_", " ")) for z in sorted(available_timezones())
                                 if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/"))] + [("UTC", "UTC")]


class EmptyForm(FlaskForm):
    """CSRF only: for POST buttons."""
