from __future__ import annotations

from flask_babel import lazy_gettext as _l

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


def type_choices():
    from portal.events.services import EVENT_TYPES

    return [("*", "Every event (also types added later)")] + [(k, f"{k} — {v}") for k, v in EVENT_TYPES.items()]


class EndpointForm(FlaskForm):
    url = StringField(_l("Receiver URL"), validators=[DataRequired(), Length(max=500)],
                      description=_l("An https:// address of your system, e.g. https://erp.example.com/hooks/portal."))
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    event_types = SelectMultipleField(_l("Events to send"), choices=[], validate_choice=False,
                                      option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    lock_version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.event_types.choices = type_choices()


class RotateForm(FlaskForm):
    revoke_previous = BooleanField(_l("Stop signing with the current secret at once (otherwise: 24 hours)"))
