"""Demo supplier onboarding, through the services: Hartmann keeps statuses for its suppliers (approved and new),
Van Dijk has blocked one, certificates (one expiring within the reminder window), Hartmann's questionnaire with
answers (one accepted, one waiting for review) and a pending e-mail invitation to the open fasteners RFQ."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.suppliers import services
from portal.suppliers.models import SupplierRelation

INVITEE = "vertrieb@kessler-drehteile.example"


def _pdf(title: str) -> bytes:
    """A tiny one-page PDF standing in for a scanned certificate."""
    text = title.replace("(", "[").replace(")", "]")
    stream = f"BT /F1 18 Tf 60 760 Td ({text}) Tj ET".encode("latin-1", "replace")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
             b"/Resources << /Font << /F1 5 0 R >> >> >>"),
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def seed(companies: dict, users: dict) -> None:
    hartmann = companies["hartmann"]
    if db.session.scalar(sa.select(SupplierRelation.id).where(SupplierRelation.buyer_company_id == hartmann.id)
                         .limit(1)):
        return
    jonas, anna = users["jonas.weber@hartmann.example"], users["anna.keller@hartmann.example"]
    daan = users["daan.bakker@vandijk.example"]
    nordstahl, lefevre = companies["nordstahl"], companies["lefevre"]
    polmet, alpenwerk = companies["polmet"], companies["alpenwerk"]

    services.set_status(jonas, nordstahl.id, "approved", reason="Quality audit 2026 passed (score 92/100).")
    services.set_status(jonas, lefevre.id, "approved", reason="Packaging samples approved by quality.")
    services.set_status(anna, alpenwerk.id, "approved", reason="Framework supplier for hydraulics since 2024.")
    services.add_supplier(jonas, polmet.id)  # new: questionnaire and certificates still to check
    services.set_status(daan, nordstahl.id, "approved", reason="Approved for non-food-contact parts.")
    services.set_status(daan, lefevre.id, "blocked",
                        reason="Cartons failed the food-contact migration test (October 2026); blocked until a "
                               "new test report arrives.")

    today = utcnow().date()
    klaus, camille = users["klaus.richter@nordstahl.example"], users["camille.lefevre@lefevre.example"]
    piotr, stefan = users["piotr.zielinski@polmet.example"], users["stefan.gruber@alpenwerk.example"]
    services.add_document(klaus, cert_type="iso9001", number="DE-Q-0815-2025", issuer="TÜV Rheinland",
                          valid_until=today + timedelta(days=540), filename="nordstahl-iso9001.pdf",
                          data=_pdf("ISO 9001 certificate - Nordstahl Befestigungstechnik GmbH"))
    services.add_document(klaus, cert_type="iso14001", number="DE-U-2231-2023", issuer="TÜV Rheinland",
                          valid_until=today + timedelta(days=12))  # expiring soon: both sides are reminded
    services.add_document(camille, cert_type="iso9001", number="FR-AFAQ-77102", issuer="AFNOR Certification",
                          valid_until=today + timedelta(days=300))
    services.add_document(piotr, cert_type="iso9001", number="PL-9001-4410", issuer="DEKRA Certification",
                          valid_until=today + timedelta(days=210))
    services.add_document(stefan, cert_type="iatf16949", number="AT-IATF-0042", issuer="Quality Austria",
                          valid_until=today + timedelta(days=700))

    questions = [services.add_question(jonas, text) for text in (
        "Do you hold a valid REACH/RoHS declaration for all products you supply?",
        "Which share of your deliveries in 2026 was on time (in %)?",
        "Name a contact for quality complaints (name, e-mail, phone).")]
    mia = users["mia.schulz@nordstahl.example"]
    a1 = services.answer_question(mia, questions[0].id, "Yes, for all catalogue items; declarations on request.")
    services.review_answer(jonas, a1.id, "accepted")
    services.answer_question(mia, questions[1].id, "96.4 % on time (ISO week basis).")

    from portal.rfq.demo import TITLES
    from portal.rfq.models import Rfq

    fasteners = db.session.scalar(sa.select(Rfq.id).where(Rfq.buyer_company_id == hartmann.id,
                                                          Rfq.title == TITLES["fasteners"]))
    services.invite_new_supplier(jonas, email=INVITEE, company_name="Kessler Drehteile GmbH",
                                 contact_name="Sabine Kessler", rfq_id=fasteners,
                                 message="We are looking for a second source for turned parts and fasteners.")
