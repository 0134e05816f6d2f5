from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField,
                     StringField, SubmitField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import ROLE_LABELS, CompanyKind, Role
from portal.i18n import language_choices
from portal.money import CURRENCIES

ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]
KIND_CHOICES = [(CompanyKind.buyer.value, _l("Buyer — we purchase")),
                (CompanyKind.supplier.value, _l("Supplier — we sell")),
                (CompanyKind.both.value, _l("Both"))]
# The portal's text is English; the setting chooses how numbers, money and dates are written and read.
LOCALE_CHOICES = [("en_GB", "UK: 1,234.50 · 1 Dec 2026"), ("en_US", "US: 1,234.50 · Dec 1, 2026"),
                  ("de_DE", "German: 1.234,50 · 01.12.2026"), ("fr_FR", "French: 1 234,50 · 1 déc. 2026")]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def country_choices():
    from flask_babel import gettext

    from portal.accounts.services import country_names
    from portal.i18n import page_language

    # country names in the page's language (Babel's territory names), sorted as the reader reads them
    return [("", gettext("Choose a country…"))] + [(c, n) for c, n in country_names(page_language()).items()]


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class CompanyFieldsMixin:
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)],
                               description=_l("How other companies see you; defaults to the legal name."))
    country = SelectField(_l("Country"), validators=[DataRequired()])
    vat_number = StringField(_l("VAT / tax number"), validators=[Optional(), Length(max=40)],
                             description=_l("Checked against the country's format (e.g. DE136695976)."))
    address_line1 = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    address_line2 = StringField(_l("Address line 2"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])


class SignUpForm(CompanyFieldsMixin, FlaskForm):
    kind = SelectField(_l("Your company"), choices=KIND_CHOICES, validators=[DataRequired()])
    currency = SelectField(_l("Default currency"), choices=[(c, c) for c in CURRENCIES], default="EUR")
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Your work email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Repeat password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Create company account"))

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = country_choices()


class CompanyProfileForm(CompanyFieldsMixin, FlaskForm):
    default_currency = SelectField(_l("Default currency"), choices=[(c, c) for c in CURRENCIES])
    categories = StringField(_l("Categories you supply"), validators=[Optional(), Length(max=500)],
                             description=_l("Comma separated, e.g. fasteners, packaging. Buyers search by these."))
    website = StringField(_l("Website"), validators=[Optional(), Length(max=200)])
    iban = StringField(_l("IBAN"), validators=[Optional(), Length(max=42)])
    bic = StringField(_l("BIC"), validators=[Optional(), Length(max=11)])
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=120)])
    submit = SubmitField(_l("Save profile"))

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = country_choices()


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Choose at least one role."))])
    submit = SubmitField(_l("Create invitation"))


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    password = PasswordField(_l("Choose a password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Repeat password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Join"))


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Choose at least one role."))])
    submit = SubmitField(_l("Save roles"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat new password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Change password"))


class PreferencesForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    language = SelectField(_l("Language"), choices=[("", _l("As my browser says"))] + language_choices(),
                           description=_l("The language of pages, notifications and e-mails."),
                           validate_choice=False)  # absent from an older form: the language stays as it is
    locale = SelectField(_l("Number and date format"),
                         choices=[("", _l("As the language (German: 1.234,50 · 01.12.2026)"))] + LOCALE_CHOICES,
                         description=_l("How amounts and dates are shown, and how the numbers you type are read."))
    timezone = SelectField(_l("Time zone"))
    submit = SubmitField(_l("Save preferences"))

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        from zoneinfo import available_timezones

        self.timezone.choices = [(z, z.replace("_", " ")) for z in sorted(available_timezones())
                                 if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/"))] + [("UTC", "UTC")]


class EmptyForm(FlaskForm):
    """CSRF only: for POST buttons."""
