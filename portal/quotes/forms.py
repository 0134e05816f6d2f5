"""Quote forms: input shape only. The services validate values; these carry them and show errors beside cells.

The lines of a quote are not a WTForms FieldList (slow and heavy for 500-line RFQs): ``QuoteLinesForm`` reads
``request.form`` directly, keeps every raw cell value so a refused form is shown exactly as typed, and places
each error the service reports (``lines.<rfq_line_id>.<field>``) beside its cell.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.widgets import DateInput

from portal.quotes.services import LINE_FIELDS, line_key

# Form input names per line field: "<prefix>-<rfq_line_id>".
INPUT_PREFIX = {"unit_price": "price", "price_breaks": "breaks", "moq": "moq", "pack_size": "pack",
                "lead_time_days": "lead", "declined": "decline", "decline_reason": "reason"}


class QuoteHeaderForm(FlaskForm):
    """The quote-level fields plus the optimistic lock. Values are validated by the service."""

    lock_version = HiddenField()
    # The RFQ amendment the form was shown for: a form opened before an amendment is refused after it.
    rfq_amendment_no = HiddenField()
    valid_until = StringField(_l("Valid until"), widget=DateInput(),
                              description=_l("Your prices hold until this date (inclusive)."))
    delivery_terms = StringField(_l("Delivery terms"), render_kw={
        "maxlength": 200, "placeholder": _l("e.g. DAP Stuttgart, 2 weeks after order")})
    shipping_cost = StringField(_l("Shipping cost"), render_kw={"inputmode": "decimal", "placeholder": "0.00"})
    notes = TextAreaField(_l("Notes to the buyer"), render_kw={"rows": 2, "maxlength": 5000})

    def header_data(self) -> dict:
        return {"valid_until": self.valid_until.data or "", "delivery_terms": self.delivery_terms.data or "",
                "shipping_cost": self.shipping_cost.data or "", "notes": self.notes.data or ""}


class LockForm(FlaskForm):
    """A button that acts on the quote as it was shown (revise, confirm, discard)."""

    lock_version = HiddenField()


class WithdrawForm(FlaskForm):
    lock_version = HiddenField()
    reason = TextAreaField(_l("Reason (shown to the buyer)"), render_kw={"rows": 3, "maxlength": 500})


class CsvUploadForm(FlaskForm):
    lock_version = HiddenField()
    rfq_amendment_no = HiddenField()
    file = FileField(_l("Quote lines CSV"))


class AttachmentForm(FlaskForm):
    file = FileField(_l("Attachment (PDF, image or CSV, up to 5 MB)"))


class QuoteLinesForm:
    """One row per RFQ line: raw values in, errors beside each cell out."""

    def __init__(self, rfq_lines, values: dict[int, dict] | None = None):
        self.rfq_lines = rfq_lines
        self.values = values or {}
        self.errors: dict[str, str] = {}

    @classmethod
    def from_formdata(cls, rfq_lines, formdata) -> "QuoteLinesForm":
        values = {}
        for rl in rfq_lines:
            row = {}
            for name, prefix in INPUT_PREFIX.items():
                key = f"{prefix}-{rl.id}"
                row[name] = formdata.get(key, "") if name != "declined" else key in formdata
            values[rl.id] = row
        return cls(rfq_lines, values)

    @classmethod
    def from_input(cls, rfq_lines, lines: list[dict]) -> "QuoteLinesForm":
        return cls(rfq_lines, {d["rfq_line_id"]: d for d in lines})

    def as_input(self) -> list[dict]:
        """What save_draft takes: one dict per RFQ line (blank lines are simply left open)."""
        return [{"rfq_line_id": rl.id, **{k: self.values.get(rl.id, {}).get(k, "") for k in LINE_FIELDS}}
                for rl in self.rfq_lines]

    def value(self, rfq_line_id: int, name: str):
        v = self.values.get(rfq_line_id, {}).get(name, "")
        return "" if v is None else v

    def error(self, rfq_line_id: int, name: str) -> str | None:
        return self.errors.get(line_key(rfq_line_id, name))

    def row_has_error(self, rfq_line_id: int) -> bool:
        prefix = f"lines.{rfq_line_id}."
        return any(k.startswith(prefix) for k in self.errors)

    def attach_errors(self, errors: dict) -> None:
        for k, v in (errors or {}).items():
            if k.startswith("lines."):
                self.errors[k] = v

    def grouped_errors(self, limit: int = 20) -> list[tuple[str, list, int]]:
        """[(message, first RFQ lines with it, how many more)] in line order, one per distinct sentence."""
        groups: dict[str, list] = {}
        for rl in self.rfq_lines:
            for name in LINE_FIELDS:
                msg = self.error(rl.id, name)
                if msg:
                    groups.setdefault(msg, []).append(rl)
        return [(msg, rls[:limit], max(0, len(rls) - limit)) for msg, rls in groups.items()]

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def input_name(self, rfq_line_id: int, name: str) -> str:
        return f"{INPUT_PREFIX[name]}-{rfq_line_id}"
