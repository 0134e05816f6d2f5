"""The company's document language (portal/documents/language.py): one service call, one commit."""
from __future__ import annotations

from portal.accounts.models import Company, Role, User
from portal.audit.services import record as audit
from portal.db import db
from portal.documents.language import DOCUMENT_LANGUAGES
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import _l


def save_document_language(actor: User, *, language: str, bilingual: bool = False) -> Company:
    """The language of the documents addressed to the actor's company (purchase orders it receives as a
    supplier, invoices, credit notes and dunning letters it receives as a buyer), and whether they also carry
    the English (or German) labels. Documents already issued keep the language they were frozen with."""
    if not (actor.has_role(Role.admin) or actor.has_role(Role.accounts)):
        raise Forbidden(_l("Only your company's administrators or accounts team can change the document language."))
    lang = (language or "").strip().lower()
    if lang not in DOCUMENT_LANGUAGES:
        raise ValidationFailed(_l("Choose English or German for your documents."),
                               errors={"language": _l("Choose a language.")})
    try:
        company = db.session.get(Company, actor.company_id)
        company.language, company.bilingual_documents = lang, bool(bilingual)
        audit("company", company.id, "document_language", actor=actor, company_id=company.id,
              detail=f"documents in {lang}" + (", bilingual" if bilingual else ""),
              visible_to_company_id=company.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return company
