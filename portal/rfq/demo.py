"""Demo RFQs, created through the services so references, audit trails and notifications are real.

Hartmann Maschinenbau (Jonas Weber, procurement): a draft, an open unsealed fasteners RFQ, an open sealed
packaging RFQ (with an amendment and an attachment), and a closed hydraulic fittings RFQ ready to compare.
Van Dijk Food (Daan Bakker): one open RFQ. The quotes demo (portal/quotes/demo.py) finds these by title.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.rfq import services
from portal.rfq.models import Rfq

TITLES = {
    "draft": "Draft: spare parts for press line",
    "fasteners": "Fasteners for assembly line 4",
    "packaging": "Packaging materials Q1 2027",
    "hydraulics": "Hydraulic fittings framework 2027",
    "stainless": "Stainless fittings for bottling line",
}

FASTENERS = [
    ("Hex bolt M12x60 DIN 933 8.8 zinc plated", "5000", "pcs", "HM-100233", "0.21",
     "Cr(VI)-free passivation"),
    ("Hex nut M12 DIN 934 grade 8 zinc plated", "5000", "pcs", "HM-100240", "0.05", ""),
    ("Flat washer A13 DIN 125 zinc plated", "10000", "pcs", "HM-100251", "0.02", ""),
    ("Socket head cap screw M8x25 DIN 912 12.9 black oxide", "3000", "pcs", "HM-100307", "0.14", ""),
    ("Spring lock washer B8 DIN 127 zinc plated", "3000", "pcs", "HM-100312", "", ""),
    ("Threaded rod M10x1000 DIN 976 4.6 zinc plated", "200", "pcs", "HM-100420", "1.35", "Bundles of 10"),
]
PACKAGING = [
    ("Corrugated box 400x300x300 mm double wall BC flute, brown", "4000", "pcs", "PK-2001", "1.10",
     "Printed 1 colour, 2 sides"),
    ("Corrugated box 600x400x400 mm double wall BC flute, brown", "2500", "pcs", "PK-2002", "1.85", ""),
    ("Euro pallet EPAL 1200x800 mm, new, IPPC stamped", "600", "pcs", "PK-2010", "", "Heat treated (HT)"),
    ("Stretch film 23 µm x 500 mm x 1500 m machine roll", "240", "roll", "PK-2020", "18.50", ""),
    ("PP strapping 12 x 0.55 mm, 3000 m coil", "60", "coil", "PK-2021", "", ""),
    ("Edge protector 35x35x3 mm, length 1000 mm", "8000", "pcs", "PK-2030", "0.19", ""),
    ("VCI anti-corrosion bag 600x400 mm, 100 µm", "20000", "pcs", "PK-2040", "0.12",
     "For machined steel parts"),
    ("Packing tape PP 50 mm x 66 m, brown, low noise", "1500", "roll", "PK-2050", "", ""),
    ("Silica gel desiccant bag 33 g DIN 55473", "15000", "pcs", "PK-2060", "0.07", ""),
    ("Shrink hood LDPE 1250x850x1200 mm, 100 µm", "1200", "pcs", "PK-2070", "", ""),
    ("Pallet label 148x210 mm thermal transfer, 1000 per roll", "10", "roll", "PK-2080", "", ""),
    ("Air cushion film 200x100 mm, 400 m roll", "80", "roll", "PK-2090", "", ""),
]
HYDRAULICS = [
    ("Male stud coupling GE12LR 3/8\" DIN 2353 steel zinc-nickel", "800", "pcs", "HY-3001", "2.40", ""),
    ("Elbow union W12L DIN 2353 steel zinc-nickel", "600", "pcs", "HY-3002", "3.10", ""),
    ("Tee union T12L DIN 2353 steel zinc-nickel", "400", "pcs", "HY-3003", "4.25", ""),
    ("Bulkhead union SV15L DIN 2353 steel zinc-nickel", "300", "pcs", "HY-3004", "", ""),
    ("Hydraulic hose 2SN DN10 3/8\" EN 853", "500", "m", "HY-3010", "4.80", "Cut lengths per call-off"),
    ("Hose fitting DKOL 90° M22x1.5 for DN10", "1000", "pcs", "HY-3011", "1.95", ""),
    ("Ball valve 2-way M22x1.5 PN 500", "120", "pcs", "HY-3020", "", ""),
    ("Pressure gauge 0–250 bar, 63 mm, glycerine filled", "80", "pcs", "HY-3030", "11.00", ""),
]
SPARES = [
    ("Seal kit for main cylinder, Schuler press line 3 (drawing SK-4471)", "4", "set", "HM-900110", "", ""),
    ("Proportional valve 4WRPEH 10 C3B100L-2X", "2", "pcs", "HM-900121", "", "Rexroth or equivalent"),
    ("Central lubrication pump 24 V DC, 2 l reservoir", "1", "pcs", "HM-900130", "", ""),
    ("Inductive proximity sensor M18, PNP NO, 8 mm", "12", "pcs", "HM-900140", "18.00", ""),
]
STAINLESS = [
    ("Tri-Clamp ferrule 2\" DIN 32676 1.4404", "200", "pcs", "VD-5101", "", ""),
    ("Tri-Clamp clamp 2\" heavy duty 1.4301", "200", "pcs", "VD-5102", "", ""),
    ("Gasket EPDM 2\" Tri-Clamp, FDA compliant", "500", "pcs", "VD-5103", "0.90", ""),
    ("Ball valve 2-way DN50 1.4408, clamp ends", "20", "pcs", "VD-5110", "", "EHEDG certified preferred"),
    ("Sight glass DN50 DIN 11851 1.4404", "10", "pcs", "VD-5120", "", ""),
]


def _csv(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["description", "quantity", "unit", "part_number", "target_price", "notes"])
    w.writerows(rows)
    return buf.getvalue()


def _spec_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF spec sheet (text only), built by hand so the demo needs no renderer."""
    text = " ".join(f"({s.replace('(', '[').replace(')', ']')}) Tj T*" for s in [title, ""] + lines)
    stream = f"BT /F1 11 Tf 14 TL 56 780 Td {text} ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _exists(buyer_id: int, title: str) -> bool:
    found = db.session.scalar(sa.select(Rfq.id).where(Rfq.buyer_company_id == buyer_id, Rfq.title == title))
    return found is not None


def _make(actor, *, title, rows, suppliers, days, sealed=True, incoterm=None, payment_terms=None,
          description="", delivery_weeks=6, publish=True) -> Rfq:
    now = utcnow()
    deadline = (now + timedelta(days=days)).replace(hour=15, minute=0, second=0, microsecond=0)
    rfq = services.create_rfq(actor, title=title, description=description, deadline=deadline, sealed=sealed,
                              incoterm=incoterm, payment_terms=payment_terms,
                              delivery_date=(now + timedelta(weeks=delivery_weeks)).date())
    services.import_lines(actor, rfq.id, text=_csv(rows))
    if suppliers:
        services.invite_suppliers(actor, rfq.id, [c.id for c in suppliers])
    if publish:
        services.publish(actor, rfq.id)
    return rfq


def seed(companies: dict, users: dict) -> None:
    hartmann, vandijk = companies["hartmann"], companies["vandijk"]
    nordstahl, polmet = companies["nordstahl"], companies["polmet"]
    lefevre, alpenwerk = companies["lefevre"], companies["alpenwerk"]
    jonas = users["jonas.weber@hartmann.example"]
    daan = users["daan.bakker@vandijk.example"]
    piotr = users["piotr.zielinski@polmet.example"]

    if not _exists(hartmann.id, TITLES["hydraulics"]):
        # Closed yesterday: published a week ago, the deadline passed, the sweep closed it, opened the quotes.
        rfq = _make(jonas, title=TITLES["hydraulics"], rows=HYDRAULICS,
                    suppliers=[nordstahl, polmet, alpenwerk], days=2, sealed=True, incoterm="FCA",
                    payment_terms="30 days net",
                    description="Framework agreement for DIN 2353 fittings and hoses for 2027; call-offs "
                                "monthly. Quote unit prices valid for 12 months.")
        rfq = db.session.get(Rfq, rfq.id)
        rfq.deadline = utcnow() - timedelta(days=1)
        rfq.published_at = utcnow() - timedelta(days=8)
        db.session.commit()
        services.close_due_rfqs()
        rfq = db.session.get(Rfq, rfq.id)
        rfq.closed_at = rfq.opened_at = rfq.deadline + timedelta(seconds=20)
        db.session.commit()

    if not _exists(hartmann.id, TITLES["fasteners"]):
        rfq = _make(jonas, title=TITLES["fasteners"], rows=FASTENERS, suppliers=[nordstahl, polmet], days=5,
                    sealed=False, incoterm="DAP", payment_terms="30 days net",
                    description="Fasteners for the new assembly line 4 (start of production March 2027). "
                                "Delivery in boxes of max. 15 kg, labelled with our part number.")
        c = services.ask_question(piotr, rfq.id,
                                  question="Is ISO 4017 acceptable instead of DIN 933 for line 1?")
        services.answer_question(jonas, rfq.id, c.id,
                                 answer="Yes, ISO 4017 8.8 is acceptable; please state the standard on your "
                                        "quote.")

    if not _exists(hartmann.id, TITLES["packaging"]):
        rfq = _make(jonas, title=TITLES["packaging"], rows=PACKAGING, suppliers=[lefevre, polmet, alpenwerk],
                    days=3, sealed=True, incoterm="DDP", payment_terms="60 days net",
                    description="Packaging for Q1 2027 shipments from Stuttgart. Sealed bidding: prices are "
                                "opened at the deadline.")
        services.add_attachment(jonas, rfq.id, filename="packaging-specification-2027.pdf",
                                data=_spec_pdf("Hartmann Maschinenbau - packaging specification 2027",
                                               [f"{i}. {r[0]}" for i, r in enumerate(PACKAGING, 1)]))
        pallets = services.lines_of(db.session.get(Rfq, rfq.id))[2]
        services.update_line(jonas, rfq.id, pallets.id, description=pallets.description,
                             part_number=pallets.part_number, quantity="650", unit=pallets.unit,
                             target_price=pallets.target_price, notes=pallets.notes)

    if not _exists(hartmann.id, TITLES["draft"]):
        _make(jonas, title=TITLES["draft"], rows=SPARES, suppliers=[alpenwerk], days=14, sealed=True,
              incoterm="EXW", description="Spare parts for the yearly maintenance of press line 3.",
              publish=False)

    if not _exists(vandijk.id, TITLES["stainless"]):
        _make(daan, title=TITLES["stainless"], rows=STAINLESS, suppliers=[alpenwerk, polmet, nordstahl],
              days=6, sealed=True, incoterm="DAP", payment_terms="45 days net",
              description="Hygienic stainless fittings for the new bottling line in Rotterdam.")
