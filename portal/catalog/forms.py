"""Catalog forms: input shape only. Numbers are kept as text here and parsed by the services (one set of rules
for the form and the CSV import)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from portal.money import CURRENCIES


class ItemForm(FlaskForm):
    sku = StringField("SKU", validators=[Length(max=64)],
                      description="Your article number, unique in your catalog, e.g. NS-HB-M12-60-88Z.")
    name = StringField("Name", validators=[Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    category = StringField("Category", validators=[Optional(), Length(max=100)])
    unit = StringField("Unit", default="pcs", validators=[Optional(), Length(max=16)])
    pack_size = StringField("Pack size", validators=[Optional(), Length(max=30)],
                            description="Sold only in multiples of this; leave empty for any quantity.")
    moq = StringField("Minimum order quantity (MOQ)", validators=[Optional(), Length(max=30)],
                      description="Leave empty for no minimum.")
    unit_price = StringField("List unit price", validators=[Length(max=30)],
                             description="Up to 4 decimals, e.g. 0.2150.")
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES], default="EUR")
    price_breaks = StringField("Price breaks", validators=[Optional(), Length(max=500)],
                               description="Quantity:price pairs separated by semicolons, e.g. 500:0.95;1000:0.90.")
    active = BooleanField("Active (buyers can see and order it)", default=True)
    submit = SubmitField("Save item")

    FIELDS = ("sku", "name", "description", "category", "unit", "pack_size", "moq", "unit_price", "currency",
              "price_breaks", "active")

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in self.FIELDS}


class BuyerPriceForm(FlaskForm):
    buyer_company_id = SelectField("Buyer company", coerce=str, validate_choice=False)
    unit_price = StringField("Unit price", validators=[Length(max=30)])
    price_breaks = StringField("Price breaks", validators=[Optional(), Length(max=500)],
                               description="e.g. 500:0.95;1000:0.90 — replaces the list breaks for this buyer.")
    submit = SubmitField("Save buyer price")


class ImportForm(FlaskForm):
    file = FileField("Catalog CSV file")
    submit = SubmitField("Check file")


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    submit = SubmitField("Import now")


class QuickOrderForm(FlaskForm):
    """The SKU/quantity grid is read from the repeated ``sku``/``qty`` fields; this form carries the paste."""

    paste = TextAreaField("Paste lines", validators=[Optional(), Length(max=200_000)],
                          description="One line per item: SKU, quantity (comma, semicolon or tab separated).")
    add_rows = SubmitField("Add pasted lines as rows")
    submit = SubmitField("Create draft order")


class OrderCsvForm(FlaskForm):
    file = FileField("Order CSV (columns sku,quantity)")
    submit = SubmitField("Upload and create draft order")


class EmptyForm(FlaskForm):
    submit = SubmitField("OK")
