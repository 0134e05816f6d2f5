"""E-invoice pages: downloads per format (both sides), the import with its preview (suppliers and buyers), the
original file of an imported invoice, and the company's e-invoice settings."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.accounts.models import Role
from portal.db import db
from portal.einvoice import importing, services
from portal.einvoice.models import FORMAT_LABELS, FORMATS
from portal.errors import DomainError
from portal.invoices.models import Invoice
from portal.tenancy import get_for_user, roles_required
from flask_babel import gettext as _

bp = Blueprint("einvoice", __name__)
accounts_only = roles_required(Role.accounts)
MAX_FILES = 20
PENDING_MAX_AGE = 3600


@bp.get("/invoices/<int:inv_id>/einvoice")
@accounts_only
def download(inv_id):
    inv = get_for_user(Invoice, inv_id)
    try:
        d = services.download(inv, request.args.get("format"), current_user)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("invoices.detail", inv_id=inv_id))
    if d.data is None:
        flash(_("The Factur-X PDF is being prepared; it downloads from this page when ready."), "info")
        return redirect(url_for("jobs.detail", job_id=d.job.id))
    return Response(d.data, mimetype=d.media_type, headers={
        "Content-Disposition": f'attachment; filename="{d.filename}"',
        "X-Content-SHA256": hashlib.sha256(d.data).hexdigest()})


@bp.get("/invoices/<int:inv_id>/einvoice/original")
@accounts_only
def original(inv_id):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    inv = get_for_user(Invoice, inv_id)
    f = db.session.get(StoredFile, inv.source_file_id) if inv.source_file_id else None
    if f is None:
        flash(_("This invoice was made in the portal; it has no imported original."), "warning")
        return redirect(url_for("invoices.detail", inv_id=inv_id))
    data = read_bytes(f)  # checks the SHA-256: exactly the bytes uploaded
    return Response(data, mimetype=f.content_type, headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "X-Content-SHA256": f.sha256})


# --------------------------------------------------------------------------------------------- import

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="einvoice-import")


def _pending_dir() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "pending-einvoices"


def _hold(data: bytes, filename: str) -> str:
    """Keep the uploaded bytes (not in the database) until the person confirms; a signed token names them."""
    import time

    digest = hashlib.sha256(data).hexdigest()
    d = _pending_dir()
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():  # previews older than a token's life are gone for good
        try:
            if old.stat().st_mtime < time.time() - PENDING_MAX_AGE:
                old.unlink()
        except OSError:
            pass
    path = d / digest
    if not path.exists():
        path.write_bytes(data)
    return _serializer().dumps({"sha": digest, "name": filename[:200], "c": current_user.company_id,
                                "u": current_user.id})


def _release(token: str) -> tuple[bytes, str] | None:
    try:
        info = _serializer().loads(token or "", max_age=PENDING_MAX_AGE)
    except BadSignature:
        return None
    if info.get("c") != current_user.company_id or info.get("u") != current_user.id:
        return None
    path = _pending_dir() / str(info.get("sha", ""))
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != info["sha"]:
        return None
    return data, info.get("name") or ""


@bp.route("/einvoices/import", methods=["GET", "POST"])
@accounts_only
def import_page():
    if request.method == "GET":
        return render_template("einvoice/import.html", previews=[])
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash(_("Choose one or more e-invoice files (Factur-X PDF, CII or UBL XML)."), "danger")
        return render_template("einvoice/import.html", previews=[]), 422
    if len(files) > MAX_FILES:
        flash(_('Upload at most %(count)s files at a time.', count=MAX_FILES), "danger")
        return render_template("einvoice/import.html", previews=[]), 422
    previews = []
    for f in files:
        data = f.read(importing_limit() + 1)
        name = Path(f.filename).name
        p = importing.preview(current_user, data, name)
        token = _hold(data, name) if p.ok else None
        previews.append((p, token))
    return render_template("einvoice/import.html", previews=previews)


def importing_limit() -> int:
    from portal.einvoice.parse import MAX_BYTES

    return MAX_BYTES


@bp.post("/einvoices/import/confirm")
@accounts_only
def import_confirm():
    held = _release(request.form.get("token", ""))
    if held is None:
        flash(_("The preview has expired or belongs to someone else; upload the file again."), "danger")
        return redirect(url_for("einvoice.import_page"))
    data, name = held
    try:
        inv = importing.import_file(current_user, data, name)
    except DomainError as exc:
        p = importing.preview(current_user, data, name)
        flash(exc.message, "danger")
        return render_template("einvoice/import.html", previews=[(p, None)]), 422
    (_pending_dir() / hashlib.sha256(data).hexdigest()).unlink(missing_ok=True)
    flash(_('Invoice %(number)s imported and matched to order %(buyer_reference)s.', number=inv.number, buyer_reference=inv.buyer_reference), "success")
    return redirect(url_for("invoices.detail", inv_id=inv.id))


# --------------------------------------------------------------------------------------------- settings

@bp.route("/einvoices/settings", methods=["GET", "POST"])
@roles_required(Role.admin, Role.accounts)
def settings():
    s = services.settings_for(current_user.company_id)
    errors = {}
    if request.method == "POST":
        try:
            services.save_settings(current_user, default_format=request.form.get("default_format", ""),
                                   routing_id=request.form.get("routing_id", ""))
            flash(_("E-invoice settings saved."), "success")
            return redirect(url_for("einvoice.settings"))
        except DomainError as exc:
            flash(exc.message, "danger")
            errors = exc.errors or {}
            return render_template("einvoice/settings.html", s=s, formats=FORMATS, labels=FORMAT_LABELS,
                                   errors=errors, values=request.form), 422
    return render_template("einvoice/settings.html", s=s, formats=FORMATS, labels=FORMAT_LABELS, errors=errors,
                           values={})


@bp.post("/einvoices/settings/document-language")
@roles_required(Role.admin, Role.accounts)
def document_language():
    """The language of the documents addressed to this company (see portal/documents/language.py)."""
    from portal.documents.services import save_document_language

    try:
        save_document_language(current_user, language=request.form.get("language", ""),
                               bilingual=request.form.get("bilingual") == "y")
        flash(_("Document language saved."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("einvoice.settings"))
