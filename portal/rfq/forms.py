"""RFQ forms: input shape only. The rules (required fields, lengths, numbers, dates in the future) live in the
services, which answer with sentences the views place beside the fields; ``maxlength`` only helps browsers."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import Optional

from portal.money import CURRENCIES
from portal.rfq.services import INCOTERMS

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class VersionForm(FlaskForm):
    """Buttons that change the RFQ (publish, close, delete a line) carry the version the page showed."""
    version = HiddenField()


class RfqForm(VersionForm):
    title = StringField(_l("Title"),
                        render_kw={"placeholder": _l("e.g. Fasteners for assembly line 4"), "maxlength": 200})
    description = TextAreaField(_l("Description"), render_kw={"rows": 4, "maxlength": 10_000},
                                description=_l("What the suppliers need to know: application, quality, packing."))
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES], validate_choice=False)
    delivery_address = TextAreaField(_l("Delivery address"), render_kw={"rows": 4, "maxlength": 1000})
    delivery_date = DateField(_l("Requested delivery date"), validators=[Optional()])
    incoterm = SelectField(_l("Incoterm (optional)"),
                           choices=[("", _l("— none —"))] + [(k, f"{k} — {v}") for k, v in INCOTERMS.items()],
                           validate_choice=False)
    payment_terms = StringField(_l("Requested payment terms"),
                                render_kw={"placeholder": _l("e.g. 30 days net"), "maxlength": 100})
    deadline = DateTimeLocalField(_l("Response deadline"), format=DATETIME_FORMATS, validators=[Optional()])
    sealed = BooleanField(_l("Sealed bidding — prices stay hidden from you until the deadline"), default=True)
    submit = SubmitField(_l("Save draft"))


class LineForm(VersionForm):
    description = StringField(_l("Description"), render_kw={"maxlength": 500})
    part_number = StringField(_l("Your part number"), render_kw={"maxlength": 64})
    quantity = StringField(_l("Quantity"), render_kw={"inputmode": "decimal"})
    unit = StringField(_l("Unit"), default="pcs", render_kw={"maxlength": 16})
    target_price = StringField(_l("Target unit price"), render_kw={"inputmode": "decimal"})
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 2, "maxlength": 2000})
    submit = SubmitField(_l("Add line"))


class ImportForm(VersionForm):
    file = FileField(_l("CSV file"))
    text = TextAreaField(_l("…or paste rows (with the header row)"), render_kw={"rows": 8, "spellcheck": "false"})
    preview = SubmitField(_l("Preview"))
    confirm = SubmitField(_l("Append the lines"))


class AttachmentForm(FlaskForm):
    file = FileField(_l("Spec sheet or drawing (PDF, PNG, JPEG or CSV, at most 5 MB)"))
    submit = SubmitField(_l("Attach"))


class ExtendForm(VersionForm):
    deadline = DateTimeLocalField(_l("New response deadline"), format=DATETIME_FORMATS, validators=[Optional()])
    submit = SubmitField(_l("Extend deadline"))


class CancelForm(VersionForm):
    reason = TextAreaField(_l("Reason (the invited suppliers will see it)"),
                           render_kw={"rows": 3, "maxlength": 4000})
    submit = SubmitField(_l("Cancel the RFQ"))


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Your question"), render_kw={"rows": 3, "maxlength": 4000},
                             description=_l("The buyer's answer is shared with every invited supplier; your "
                                                        "company name is not."))
    submit = SubmitField(_l("Send question"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), render_kw={"rows": 2, "maxlength": 4000})
    submit = SubmitField(_l("Answer for all suppliers"))
