"""/api/v1/company — your own company's master data: profile, bank details (IBAN/BIC validated), invoice settings
and the invoice logo. Everyone in the company may read it; administrators and the accounts team may change it."""
from __future__ import annotations

from decimal import Decimal

from flask import request
from marshmallow import Schema, fields, validate

from portal.accounts import services as account_services
from portal.accounts.models import Company
from portal.api.common import UnsupportedMediaType, actor, make_blueprint, problems
from portal.api.schemas import DecimalString, ts
from portal.db import db
from portal.errors import ValidationFailed
from portal.i18n import _l

bp = make_blueprint("api_company", "Your company's master data: profile, bank details, invoice settings, logo.",
                    tag="Company")

PROFILE_FIELDS = ("legal_name", "display_name", "country", "vat_number", "address_line1", "address_line2",
                  "postcode", "city", "default_currency", "categories", "website", "iban", "bic", "bank_name")


class InvoiceSettingsOut(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["per_shipment", "per_order"]))
    auto_issue = fields.Boolean(required=True)
    default_tax_rate = DecimalString(places=2, required=True, metadata={"example": "19.00"})
    reminder_days = fields.List(fields.Integer(), required=True, metadata={"example": [3, 14, 30]})
    footer_note = fields.String(required=True)
    has_logo = fields.Boolean(required=True)


class CompanyOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["buyer", "supplier", "both"]))
    legal_name = fields.String(required=True)
    display_name = fields.String(required=True)
    country = fields.String(required=True, metadata={"example": "DE"})
    vat_number = fields.String(required=True, allow_none=True, metadata={"example": "DE136695976"})
    address_line1 = fields.String(required=True)
    address_line2 = fields.String(required=True)
    postcode = fields.String(required=True)
    city = fields.String(required=True)
    default_currency = fields.String(required=True, metadata={"example": "EUR"})
    categories = fields.String(required=True)
    website = fields.String(required=True, allow_none=True)
    iban = fields.String(required=True, allow_none=True, metadata={"example": "DE89370400440532013000"})
    bic = fields.String(required=True, allow_none=True, metadata={"example": "COBADEFFXXX"})
    bank_name = fields.String(required=True, allow_none=True)
    default_payment_terms_days = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Suppliers: the payment terms of your default credit account (set it with "
                       "PUT /credit-accounts/default)."})
    invoice_settings = fields.Nested(InvoiceSettingsOut, required=True, allow_none=True,
                                     metadata={"description": "Suppliers only; null for a buyer."})
    updated_at = fields.DateTime(required=True)


class InvoiceSettingsIn(Schema):
    mode = fields.String(validate=validate.OneOf(["per_shipment", "per_order"]))
    auto_issue = fields.Boolean()
    default_tax_rate = DecimalString(places=2, metadata={"description": "Percent, 0 to 100."})
    reminder_days = fields.List(fields.Integer(strict=True, validate=validate.Range(min=0, max=365)),
                                validate=validate.Length(max=3), metadata={
                                    "description": "Days after the due date of the dunning levels: reminder, "
                                                   "first dunning, final notice."})
    footer_note = fields.String(validate=validate.Length(max=1000))


class CompanyPatch(Schema):
    legal_name = fields.String(validate=validate.Length(min=1, max=200))
    display_name = fields.String(validate=validate.Length(max=120))
    country = fields.String(validate=validate.Length(equal=2))
    vat_number = fields.String(allow_none=True, validate=validate.Length(max=40))
    address_line1 = fields.String(validate=validate.Length(max=200))
    address_line2 = fields.String(validate=validate.Length(max=200))
    postcode = fields.String(validate=validate.Length(max=20))
    city = fields.String(validate=validate.Length(max=100))
    default_currency = fields.String(validate=validate.Length(equal=3))
    categories = fields.String(validate=validate.Length(max=500))
    website = fields.String(allow_none=True, validate=validate.Length(max=200))
    iban = fields.String(allow_none=True, validate=validate.Length(max=42))
    bic = fields.String(allow_none=True, validate=validate.Length(max=11))
    bank_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    invoice_settings = fields.Nested(InvoiceSettingsIn)



def _settings(company: Company):
    from portal.invoices.services import settings_for

    if not company.is_supplier:
        return None
    s = settings_for(company.id)
    return {"mode": s.mode.value, "auto_issue": bool(s.auto_issue),
            "default_tax_rate": format(s.default_tax_rate, ".2f"),
            "reminder_days": [int(x) for x in (s.reminder_days or "").split(",") if x.strip()],
            "footer_note": s.footer_note or "", "has_logo": s.logo_file_id is not None}


def company_dict(c: Company) -> dict:
    from portal.credit.ledger import default_account

    default = default_account(c.id) if c.is_supplier else None
    out = {k: getattr(c, k) for k in PROFILE_FIELDS}
    for k in ("address_line1", "address_line2", "postcode", "city", "categories"):
        out[k] = out[k] or ""
    out.update(id=c.id, kind=c.kind.value, updated_at=ts(c.updated_at), invoice_settings=_settings(c),
               default_payment_terms_days=default.payment_terms_days if default else None)
    return out


def _own() -> Company:
    db.session.expire_all()
    return db.session.get(Company, actor().company_id)


@bp.route("/company", methods=["GET"])
@bp.response(200, CompanyOut)
def get_company():
    """Your company's profile, bank details and (suppliers) invoice settings."""
    return company_dict(_own())


def _save_settings(user, company: Company, changes: dict, logo: bytes | None = None, remove_logo=False):
    from portal.invoices import services as invoice_services

    current = _settings(company)
    if current is None:
        raise ValidationFailed(_l("Invoice settings are for suppliers."))
    merged = {**current, **changes}
    invoice_services.save_settings(
        user, mode=merged["mode"], auto_issue=merged["auto_issue"], default_tax_rate=str(merged["default_tax_rate"]),
        reminder_days=",".join(str(d) for d in merged["reminder_days"]), footer_note=merged["footer_note"],
        logo=logo, remove_logo=remove_logo)


@bp.route("/company", methods=["PATCH"])
@bp.arguments(CompanyPatch)
@bp.response(200, CompanyOut)
def patch_company(data):
    """Change your company's profile (administrators and accounts team): addresses, VAT id, IBAN/BIC (validated),
    currency, website; suppliers also `invoice_settings` (the accounts team). Send only what changes."""
    user = actor()
    settings = data.pop("invoice_settings", None)
    company = _own()
    # bank details are checked before anything is saved (the profile and the settings are two units of work);
    # the checksum is a rule of the portal (a 422 problem of its own type), not of the schema
    if settings and settings.get("default_tax_rate") is not None and \
            not (0 <= Decimal(settings["default_tax_rate"]) <= 100):
        raise ValidationFailed(_l("The default tax rate must be between 0 and 100 %."),
                               errors={"invoice_settings": _l("default_tax_rate: 0 to 100.")})
    if data.get("iban"):
        account_services.normalise_iban(data["iban"])
    if data.get("bic"):
        account_services.normalise_bic(data["bic"])
    if settings is not None and not company.is_supplier:
        raise ValidationFailed(_l("Invoice settings are for suppliers."),
                               errors={"invoice_settings": _l("Your company does not invoice.")})
    if settings and not user.has_role("accounts"):  # checked before the profile is saved: nothing half-done
        from portal.errors import Forbidden

        raise Forbidden(_l("Only your accounts team changes the invoice settings."))
    if data:
        account_services.update_company(company, user, **{k: ("" if v is None else v) for k, v in data.items()})
    if settings:
        _save_settings(user, _own(), settings)
    return company_dict(_own())


class LogoIn(Schema):
    logo = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "A PNG or JPEG, at most 2 MB."})


@bp.route("/company/logo", methods=["PUT"])
@bp.arguments(LogoIn, location="files")
@bp.response(200, CompanyOut)
@problems(415)
def put_logo(files):
    """Upload the logo printed on your invoices (suppliers' accounts team; PNG or JPEG, scaled to 600×200)."""
    user = actor()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(_l("Send the image as multipart/form-data with the field 'logo'."))
    upload = files.get("logo") or request.files.get("logo")
    data = upload.read() if upload else b""
    if not data:
        raise ValidationFailed(_l("Send the image as the multipart field 'logo'."), errors={"logo": _l("Required.")})
    _save_settings(user, _own(), {}, logo=data)
    return company_dict(_own())


@bp.route("/company/logo", methods=["DELETE"])
@bp.response(200, CompanyOut)
def delete_logo():
    """Remove the logo from your invoices."""
    _save_settings(actor(), _own(), {}, remove_logo=True)
    return company_dict(_own())


# --------------------------------------------------------------------------------------------- default credit terms

def _credit_schemas():
    from portal.api.ordering import CreditAccountIn, CreditAccountOut

    return CreditAccountIn, CreditAccountOut


_CreditIn, _CreditOut = _credit_schemas()


@bp.route("/credit-accounts/default", methods=["GET"])
@bp.response(200, _CreditOut)
@problems(404)
def get_default_credit_account():
    """Supplier accounts team: the default limit and payment terms for buyers without an account of their own
    (new customers). 404 while none is set."""
    from portal.api.ordering import _account_row, _require_supplier_accounts
    from portal.credit.ledger import default_account
    from portal.errors import NotFound

    user = actor()
    _require_supplier_accounts(user)
    acc = default_account(user.company_id)
    if acc is None:
        raise NotFound(_l("No default credit account is set yet; PUT one."))
    return _account_row(acc)


@bp.route("/credit-accounts/default", methods=["PUT"])
@bp.arguments(_CreditIn)
@bp.response(200, _CreditOut)
def put_default_credit_account(data):
    """Supplier accounts team: set the default limit and payment terms for new customers."""
    from portal.api.ordering import _account_row, _require_supplier_accounts
    from portal.credit import services as credit_services

    user = actor()
    _require_supplier_accounts(user)
    acc = credit_services.save_account(
        user, None, limit_amount=str(data["limit"]["amount"]), currency=data["limit"]["currency"],
        payment_terms_days=data["payment_terms_days"], block_on_overdue=data.get("block_on_overdue", True))
    return _account_row(acc)
