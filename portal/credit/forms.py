"""Credit forms: input shape only (the service validates amounts, currencies and terms)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from portal.money import CURRENCIES
from flask_babel import lazy_gettext as _l


class AccountForm(FlaskForm):
    limit_amount = StringField(_l("Credit limit"), validators=[Length(max=30)],
                               description=_l("Unpaid invoices plus open orders may not exceed this. 0 = no credit."))
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES], default="EUR", validate_choice=False)
    payment_terms_days = StringField(_l("Payment terms (days)"), validators=[Length(max=6)], default="30",
                                     description=_l("Net days, e.g. 30 for net 30 (0 to 365)."))
    block_on_overdue = BooleanField(_l("Overdue invoices block new orders"), default=True)
    submit = SubmitField(_l("Save"))

    def set_currency_choices(self, current: str | None) -> None:
        codes = list(CURRENCIES)
        if current and current not in codes:
            codes.append(current)
        self.currency.choices = [(c, c) for c in codes]


class HoldDecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)],
                            description=_l("Required: the buyer sees why you decided this way."))
    lock_version = HiddenField()
    submit = SubmitField(_l("Decide"))
