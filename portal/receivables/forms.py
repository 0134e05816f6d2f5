"""Receivables forms: input shape only (the rules are in portal.receivables.dunning)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Length
from flask_babel import lazy_gettext as _l


class DunningSettingsForm(FlaskForm):
    level1 = StringField(_l("Payment reminder (level 1): days after the due date"), validators=[Length(max=10)])
    level2 = StringField(_l("First dunning notice (level 2): days after the due date"), validators=[Length(max=10)])
    level3 = StringField(_l("Final notice (level 3): days after the due date"), validators=[Length(max=10)])
    charge_interest = BooleanField(_l("Charge late-payment interest (reference rate + 8 points, Directive 2011/7/EU)"))
    reference_rate = StringField(_l("Reference rate (%)"), validators=[Length(max=12)],
                                 description=_l("The ECB main refinancing rate in force, e.g. 2.15."))
    reference_rate_date = StringField(_l("Reference rate applies from"), validators=[Length(max=10)],
                                      description=_l("The date it took effect, e.g. 2026-07-01."))
    submit = SubmitField(_l("Save dunning settings"))
