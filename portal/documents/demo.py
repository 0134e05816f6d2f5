"""Demo document languages: every demo company reads its documents in the language of its country (Hartmann,
Nordstahl and Alpenwerk in German, the others in English); Van Dijk asks for bilingual documents, so what is
addressed to it from now on carries German and English labels. Set through the service, as a person would."""
from __future__ import annotations

from portal.accounts.models import Role


def seed(companies, users) -> None:
    from portal.documents.services import save_document_language

    vandijk = companies.get("vandijk")
    if vandijk is None:
        return
    actor = next((u for u in users.values() if u.company_id == vandijk.id
                  and (u.has_role(Role.admin) or u.has_role(Role.accounts))), None)
    if actor is not None and not vandijk.bilingual_documents:
        save_document_language(actor, language="en", bilingual=True)
