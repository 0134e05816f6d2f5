"""E-invoices over the API: an issued invoice as Factur-X (PDF/A-3 with CII), CII XML or UBL XML (Peppol BIS 3.0),
and the import of a supplier's e-invoice (raw body; ``?preview=true`` checks without saving). Accounts people only,
like the pages; another company's invoice is 404."""
from __future__ import annotations

import hashlib

from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from portal.accounts.models import Role
from portal.api.auth import idempotent
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.api.common import UnsupportedMediaType, actor, created, make_blueprint, problems
from portal.api.schemas import DecimalString, JobSchema, job_dict, plain
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import Invoice
from portal.tenancy import get_for_company

bp = make_blueprint("api_einvoice", "EN 16931 e-invoices: Factur-X, CII and UBL out; import in.", tag="E-invoices")

BINARY = {"schema": {"type": "string", "format": "binary"}}
IMPORT_TYPES = ("application/xml", "text/xml", "application/pdf", "application/octet-stream")


class FormatArgs(Schema):
    format = fields.String(load_default=None, validate=validate.OneOf(["facturx", "cii", "ubl"]),
                           metadata={"description": "facturx (PDF/A-3 with factur-x.xml), cii (UN/CEFACT CII D16B) "
                                                    "or ubl (UBL 2.1, Peppol BIS Billing 3.0). Default: the buyer's "
                                                    "preferred format, else the supplier's, else facturx."})


class ImportArgs(Schema):
    preview = fields.Boolean(load_default=False, metadata={"description": "true: check and match only, save "
                                                                          "nothing"})


class ProblemOut(Schema):
    field = fields.String()
    rule = fields.String(metadata={"description": "EN 16931 rule (BR-…), business term (BT-…), XSD or FILE"})
    message = fields.String()
    line = fields.String(allow_none=True)


class ImportLineOut(Schema):
    line = fields.String()
    item_id = fields.String()
    quantity = DecimalString()
    net = DecimalString()
    order_line_id = fields.Integer(allow_none=True)
    shipment_line_id = fields.Integer(allow_none=True)
    shipping = fields.Boolean()


class ImportOut(Schema):
    ok = fields.Boolean()
    format = fields.String(allow_none=True)
    number = fields.String(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    supplier_company_id = fields.Integer(allow_none=True)
    buyer_company_id = fields.Integer(allow_none=True)
    totals = fields.Dict(keys=fields.String(), values=fields.String())
    lines = fields.List(fields.Nested(ImportLineOut))
    problems = fields.List(fields.Nested(ProblemOut))
    warnings = fields.List(fields.String())
    invoice_id = fields.Integer(allow_none=True, metadata={"description": "The imported invoice (null on a preview)."})
    invoice_id = fields.Integer(allow_none=True)


def _accounts():
    user = actor()
    if not user.has_role(Role.accounts):
        raise Forbidden(_l("Only accounts people work with invoices."))
    return user


@bp.route("/invoices/<int(max=2147483647):inv_id>/einvoice", methods=["GET"])
@bp.arguments(FormatArgs, location="query", as_kwargs=True)
@bp.doc(responses={"200": {"description": "The e-invoice: for facturx the PDF/A-3 with the CII XML embedded as "
                                          "factur-x.xml; for cii and ubl the XML.",
                           "content": {"application/pdf": BINARY, "application/xml": BINARY},
                           "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}}})
@bp.alt_response(202, schema=JobSchema, description="Factur-X being rendered: the job to poll (Retry-After).")
def get_einvoice(inv_id, format=None):
    """An issued invoice or credit note as EN 16931 e-invoice, made from the snapshot frozen at issue (the same
    numbers as its PDF). Passes the official CEN rules (tested). A draft is 409."""
    from portal.einvoice import services

    user = _accounts()
    inv = get_for_company(Invoice, inv_id, user.company_id)
    d = services.download(inv, format, user)
    if d.data is None:
        resp = jsonify(JobSchema().dump(job_dict(d.job)))
        resp.status_code = 202
        resp.headers["Retry-After"] = "2"
        return resp
    return Response(d.data, mimetype=d.media_type, headers={
        "Content-Disposition": f'attachment; filename="{d.filename}"',
        "X-Content-SHA256": hashlib.sha256(d.data).hexdigest()})


def _preview_dict(p, invoice_id=None) -> dict:
    doc = p.doc
    return {"ok": p.ok, "format": p.parsed.format if p.parsed else None, "number": doc.number if doc else None,
            "order_id": p.order.id if p.order else None,
            "supplier_company_id": p.supplier.id if p.supplier else None,
            "buyer_company_id": p.buyer.id if p.buyer else None,
            "totals": {k: str(v) for k, v in p.totals.items()},
            "lines": [{"line": m.file_line.id, "item_id": m.file_line.item_id, "quantity": plain(m.file_line.quantity),
                       "net": plain(m.file_line.net), "order_line_id": m.order_line.id if m.order_line else None,
                       "shipment_line_id": m.shipment_line_id, "shipping": m.shipping} for m in p.lines],
            "problems": p.problems, "warnings": p.warnings, "invoice_id": invoice_id}


@bp.route("/invoices/import", methods=["POST"])
@idempotent
@bp.arguments(ImportArgs, location="query", as_kwargs=True)
@bp.doc(requestBody={"required": True, "description": "The e-invoice file itself as the body (at most 10 MB): a "
                                                      "Factur-X/ZUGFeRD PDF, a CII XML or a UBL Invoice XML, sent as "
                                                      "application/octet-stream, application/xml or application/pdf "
                                                      "(the portal reads the bytes, not the label).",
                     "content": {"application/octet-stream": BINARY}})
@bp.response(201, ImportOut, description="Imported: an issued invoice with the supplier's own number.")
@created("api_invoicing.get_invoice", inv_id="invoice_id")
@problems(415)
@bp.alt_response(200, schema=ImportOut, description="preview=true: the checks and the match; nothing saved.")
def import_einvoice(preview=False):
    """Import a supplier's e-invoice (as the supplier, or as the buyer for one received outside the portal): XSD
    and EN 16931 checks, supplier by VAT id, order by PO number (BT-13), lines by item id. Any problem is 422
    with every problem (rule id, field, line) and nothing saved."""
    from portal.einvoice import importing

    user = _accounts()
    if request.mimetype not in IMPORT_TYPES:
        raise UnsupportedMediaType(_l("Send the e-invoice file itself as the body, with Content-Type "
                                      "application/xml (CII or UBL) or application/pdf (Factur-X)."))
    data = request.get_data(cache=False)
    name = "api-upload" + (".pdf" if data[:5] == b"%PDF-" else ".xml")
    if preview:
        p = importing.preview(user, data, name)
        return ImportOut().dump(_preview_dict(p)), 200
    p = importing.preview(user, data, name)
    if not p.ok:
        exc = ValidationFailed(p.summary(), errors={(f"line {pr['line']}: " if pr.get("line") else "")
                                                    + pr["field"]: pr["message"] for pr in p.problems})
        raise exc
    inv = importing.import_file(user, data, name)
    return ImportOut().dump(_preview_dict(p, inv.id)), 201
