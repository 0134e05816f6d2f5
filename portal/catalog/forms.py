"""Catalog forms: input shape only. Numbers are kept as text here and parsed by the services (one set of rules
for the form and the CSV import)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from portal.money import CURRENCIES


class ItemForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[Length(max=64)],
                      description=_l("Your article number, unique in your catalog, e.g. NS-HB-M12-60-88Z."))
    name = StringField(_l("Name"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
    unit = StringField(_l("Unit"), default="pcs", validators=[Optional(), Length(max=16)])
    pack_size = StringField(_l("Pack size"), validators=[Optional(), Length(max=30)],
                            description=_l("Sold only in multiples of this; leave empty for any quantity."))
    moq = StringField(_l("Minimum order quantity (MOQ)"), validators=[Optional(), Length(max=30)],
                      description=_l("Leave empty for no minimum."))
    unit_price = StringField(_l("List unit price"), validators=[Length(max=30)],
                             description=_l("Up to 4 decimals, e.g. 0.2150."))
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES], default="EUR")
    price_breaks = StringField(_l("Price breaks"), validators=[Optional(), Length(max=500)],
                               description=_l("Quantity:price pairs separated by semicolons, e.g. 500:0.95;1000:0.90."))
    active = BooleanField(_l("Active (buyers can see and order it)"), default=True)
    submit = SubmitField(_l("Save item"))

    FIELDS = ("sku", "name", "description", "category", "unit", "pack_size", "moq", "unit_price", "currency",
              "price_breaks", "active")

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in self.FIELDS}


class BuyerPriceForm(FlaskForm):
    buyer_company_id = SelectField(_l("Buyer company"), coerce=str, validate_choice=False)
    unit_price = StringField(_l("Unit price"), validators=[Length(max=30)])
    price_breaks = StringField(_l("Price breaks"), validators=[Optional(), Length(max=500)],
                               description=_l("e.g. 500:0.95;1000:0.90 — replaces the list breaks for this buyer."))
    submit = SubmitField(_l("Save buyer price"))


class ImportForm(FlaskForm):
    file = FileField(_l("Catalog CSV file"))
    submit = SubmitField(_l("Check file"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    submit = SubmitField(_l("Import now"))


class QuickOrderForm(FlaskForm):
    """The SKU/quantity grid is read from the repeated ``sku``/``qty`` fields; this form carries the paste."""

    paste = TextAreaField(_l("Paste lines"), validators=[Optional(), Length(max=200_000)],
                          description=_l("One line per item: SKU, quantity (comma, semicolon or tab separated)."))
    add_rows = SubmitField(_l("Add pasted lines as rows"))
    submit = SubmitField(_l("Create draft order"))


class OrderCsvForm(FlaskForm):
    file = FileField(_l("Order CSV (columns sku,quantity)"))
    submit = SubmitField(_l("Upload and create draft order"))


class EmptyForm(FlaskForm):
    submit = SubmitField(_l("OK"))
