"""E-invoices out: the CII and UBL XML of an issued invoice (made from its frozen snapshot on request: pure,
fast, always the same bytes) and its Factur-X PDF (PDF/A-3 rendering is slow, so a tracked job on the documents
queue renders it once and stores it with its SHA-256). Company settings: default format, routing id (BT-10)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.audit.services import record as audit
from portal.db import db
from portal.einvoice import cii, ubl
from portal.einvoice.document import check_can_issue, from_snapshot
from portal.einvoice.models import FORMATS, MEDIA_TYPES, EInvoiceSettings, preferred_format
from portal.errors import Forbidden, InvalidTransition, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus

FACTURX_JOB = "portal.einvoice.jobs.facturx_job"


@dataclass
class Download:
    data: bytes | None  # None: the Factur-X PDF is being rendered (``job`` is the record to poll)
    filename: str
    media_type: str
    job: object | None = None


def parse_format(value, inv: Invoice | None = None) -> str:
    fmt = (value or "").strip().lower().replace("-", "").replace("_", "")
    if not fmt and inv is not None:
        return preferred_format(inv.buyer_company_id, inv.supplier_company_id)
    if fmt in ("zugferd", "pdf"):
        fmt = "facturx"
    if fmt not in FORMATS:
        raise ValidationFailed(_l("Choose the e-invoice format: facturx (Factur-X/ZUGFeRD PDF), cii (CII XML) or "
                                  "ubl (UBL XML, Peppol BIS 3.0)."), errors={"format": _l("facturx, cii or ubl.")})
    return fmt


def _document(inv: Invoice):
    if inv.status == InvoiceStatus.draft or not inv.snapshot:
        raise InvalidTransition(_l("A draft has no e-invoice; issue it first."))
    doc = from_snapshot(inv.snapshot)
    check_can_issue(doc)
    return doc


def xml_for(inv: Invoice, fmt: str) -> bytes:
    doc = _document(inv)
    return cii.to_xml(doc) if fmt == "cii" else ubl.to_xml(doc)


def filename(inv: Invoice, fmt: str) -> str:
    base = (inv.number or f"draft-{inv.id}").replace("/", "-")
    return {"facturx": f"{base}-facturx.pdf", "cii": f"{base}-cii.xml", "ubl": f"{base}-ubl.xml"}[fmt]


def download(inv: Invoice, fmt: str, actor: User | None) -> Download:
    """The e-invoice in ``fmt``. Factur-X: the stored PDF, or (first request) a rendering job is started and
    committed; the caller answers "being prepared" with the job."""
    fmt = parse_format(fmt, inv)
    if fmt != "facturx":
        return Download(xml_for(inv, fmt), filename(inv, fmt), MEDIA_TYPES[fmt])
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    _document(inv)  # refuse early (draft, missing VAT id, 3-decimal currency) with a sentence
    source = db.session.get(StoredFile, inv.source_file_id) if inv.source_file_id else None
    if source is not None and source.content_type == "application/pdf":  # an imported Factur-X: the original
        return Download(read_bytes(source), source.filename, MEDIA_TYPES[fmt])
    f = db.session.get(StoredFile, inv.facturx_file_id) if inv.facturx_file_id else None
    if f is not None:
        return Download(read_bytes(f), f.filename, MEDIA_TYPES[fmt])
    return Download(None, filename(inv, fmt), MEDIA_TYPES[fmt], job=start_facturx(inv, actor))


def start_facturx(inv: Invoice, actor: User | None):
    """One rendering job per invoice at a time (deterministic job id); commits."""
    from portal.jobs.models import JobRecord, JobStatus
    from portal.jobs.queue import start_tracked

    job_id = f"einvoice-facturx-{inv.id}"
    company_id = getattr(actor, "company_id", None) or inv.supplier_company_id
    rec = db.session.scalar(sa.select(JobRecord).where(
        JobRecord.rq_job_id == job_id, JobRecord.company_id == company_id,
        JobRecord.status.in_((JobStatus.queued, JobStatus.running))).order_by(JobRecord.id.desc()).limit(1))
    if rec is None:
        rec = start_tracked(FACTURX_JOB, inv.id, kind="einvoice-facturx", title=f"Factur-X PDF of {inv.number}",
                            company_id=company_id, user_id=getattr(actor, "id", None), queue="documents",
                            job_id=job_id)
        db.session.commit()
    return rec


def store_facturx(invoice_id: int) -> int:
    """Render and store the Factur-X PDF once (the job's work); returns the stored file id."""
    from portal.documents.store import save_bytes
    from portal.einvoice import facturx

    inv = db.session.get(Invoice, invoice_id)
    if inv.facturx_file_id:
        return inv.facturx_file_id
    data = facturx.build(inv.snapshot)
    f = save_bytes(data, filename=filename(inv, "facturx"), content_type="application/pdf",
                   owner_company_id=inv.supplier_company_id, party_company_id=inv.buyer_company_id)
    # A plain UPDATE like the PDF job: a stored rendering is no business change (no version bump) and only the
    # first one counts.
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id, Invoice.facturx_file_id.is_(None))
                       .values(facturx_file_id=f.id).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire(inv)
    return db.session.get(Invoice, invoice_id).facturx_file_id


# --------------------------------------------------------------------------------------------- settings

def settings_for(company_id: int) -> EInvoiceSettings:
    s = db.session.get(EInvoiceSettings, company_id)
    return s if s is not None else EInvoiceSettings(company_id=company_id, default_format="facturx", routing_id="")


def save_settings(actor: User, *, default_format: str, routing_id: str = "") -> EInvoiceSettings:
    if not (actor.has_role(Role.admin) or actor.has_role(Role.accounts)):
        raise Forbidden(_l("Only your company's administrators or accounts team can change e-invoice settings."))
    fmt = (default_format or "").strip().lower()
    if fmt not in FORMATS:
        raise ValidationFailed(_l("Choose Factur-X, CII or UBL."), errors={"default_format": _l("Choose a format.")})
    rid = (routing_id or "").strip()
    if len(rid) > 64 or any(ord(ch) < 32 for ch in rid):
        raise ValidationFailed(_l("The routing id (buyer reference, e.g. a Leitweg-ID) is at most 64 characters."),
                               errors={"routing_id": _l("At most 64 characters.")})
    try:
        s = db.session.get(EInvoiceSettings, actor.company_id)
        if s is None:
            s = EInvoiceSettings(company_id=actor.company_id)
            db.session.add(s)
        s.default_format, s.routing_id = fmt, rid
        audit("einvoice_settings", actor.company_id, "updated", actor=actor, company_id=actor.company_id,
              detail=f"format {fmt}" + (f", routing id {rid}" if rid else ""), visible_to_company_id=actor.company_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return s
