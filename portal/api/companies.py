"""GET /api/v1/companies — the directory used to invite suppliers."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from portal.accounts.models import Company, CompanyKind
from portal.api.common import CursorArgs, ListPlan, actor, list_documents, make_blueprint, paged_schema
from portal.api.schemas import ts

bp = make_blueprint("api_companies", "The company directory.")


class CompanySchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    legal_name = fields.String()
    country = fields.String()
    vat_number = fields.String(allow_none=True)
    kind = fields.String(validate=validate.OneOf([k.value for k in CompanyKind]))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    categories = fields.List(fields.String())
    city = fields.String()


class CompanyQuery(CursorArgs):
    role = fields.String(load_default=None, validate=validate.OneOf(["supplier", "buyer"]))
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    country = fields.String(load_default=None, validate=validate.Length(equal=2))


def company_dict(c: Company) -> dict:
    return {"id": c.id, "display_name": c.display_name, "legal_name": c.legal_name, "country": c.country,
            "vat_number": c.vat_number, "kind": c.kind.value, "categories": c.category_list, "city": c.city,
            "created_at": ts(c.created_at), "updated_at": ts(c.updated_at)}


@bp.route("/companies")
@bp.arguments(CompanyQuery, location="query")
@bp.response(200, paged_schema(CompanySchema, "CompanyPage"))
def list_companies(args):
    """List companies (filter by role, name/category search, country, `updated_since`; cursor paging)."""
    role, q, country = args.get("role"), args.get("q"), args.get("country")
    stmt = sa.select(Company)
    if role == "supplier":
        stmt = stmt.where(Company.kind.in_([CompanyKind.supplier, CompanyKind.both]))
    elif role == "buyer":
        stmt = stmt.where(Company.kind.in_([CompanyKind.buyer, CompanyKind.both]))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(Company.display_name).like(like),
                                 sa.func.lower(Company.legal_name).like(like),
                                 sa.func.lower(Company.categories).like(like)))
    if country:
        stmt = stmt.where(Company.country == country.upper())
    return list_documents(stmt, ListPlan(Company), args, actor().company_id, "api_companies.list_companies",
                          company_dict)
