"""Demo catalogs: Nordstahl (fasteners, ~40 items), Lefèvre (packaging, ~20), Polmet (bearings and tools, ~25),
Alpenwerk (hydraulics, ~15), with special prices for Hartmann on a few Nordstahl items.

The same data writes the demo CSV files (deterministic, commit-ready):

    .venv/bin/python -c "from portal.catalog.demo import write_demo_files; write_demo_files()"

-> docs/demo/quick-order-300.csv (300 valid sku,quantity lines for Nordstahl's catalog, each satisfying MOQ and
pack size) and docs/demo/catalog-import-nordstahl.csv (a catalog import: Nordstahl's items with new prices plus
five new SKUs).
"""
from __future__ import annotations

import csv
import io
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

import sqlalchemy as sa

from portal.catalog import csvio

D = Decimal
ROOT = Path(__file__).resolve().parent.parent.parent


def _p(value) -> Decimal:
    return D(value).quantize(D("0.0001"), rounding=ROUND_HALF_UP)


def _breaks(price: Decimal, steps) -> list[dict]:
    return [{"min_quantity": str(q), "unit_price": csvio.fmt_decimal(_p(price * D(f)))} for q, f in steps]


def _item(sku, name, category, price, *, unit="pcs", pack=None, moq=None, steps=(), description="", active=True):
    price = _p(price)
    return {"sku": sku, "name": name, "description": description, "category": category, "unit": unit,
            "pack_size": D(pack) if pack else None, "moq": D(moq) if moq else None, "unit_price": price,
            "price_breaks": _breaks(price, steps), "currency": "EUR", "active": active}


def nordstahl_items() -> list[dict]:
    out = []
    bolt_steps = ((1000, "0.93"), (5000, "0.86"))
    for d, l in [(8, 30), (8, 40), (10, 40), (10, 50), (12, 40), (12, 60), (12, 80), (16, 60), (16, 80),
                 (20, 80)]:
        price = D("0.018") * d * (1 + D(l) / 60)
        out.append(_item(f"NS-HB-M{d}-{l}-88Z", f"Hex bolt M{d}x{l} DIN 933 8.8 zinc plated", "Bolts", price,
                         pack=100 if d < 16 else 50, moq=500 if d < 16 else 200, steps=bolt_steps,
                         description=f"Fully threaded hex head bolt, property class 8.8, zinc plated, M{d}x{l} mm.",
                         active=(d, l) != (20, 80)))
    for d in (8, 10, 12, 16, 20):
        out.append(_item(f"NS-HN-M{d}-8Z", f"Hex nut M{d} DIN 934 8 zinc plated", "Nuts", D("0.009") * d,
                         pack=200, moq=1000, steps=((5000, "0.9"), (20000, "0.82"))))
    for d in (8, 10, 12, 16, 20):
        out.append(_item(f"NS-WA-M{d}-Z", f"Washer M{d} DIN 125 A zinc plated", "Washers", D("0.004") * d,
                         pack=200, moq=1000, steps=((5000, "0.9"),)))
    for d, l in [(6, 20), (8, 25), (10, 30), (12, 40)]:
        out.append(_item(f"NS-SHCS-M{d}-{l}-129B", f"Socket head cap screw M{d}x{l} DIN 912 12.9 black",
                         "Screws", D("0.03") * d * (1 + D(l) / 50), pack=100, moq=200, steps=bolt_steps))
    for d, l in [(8, 30), (10, 40), (12, 50)]:
        out.append(_item(f"NS-HB-M{d}-{l}-A2", f"Hex bolt M{d}x{l} DIN 933 stainless A2-70", "Bolts",
                         D("0.06") * d * (1 + D(l) / 60), pack=100, moq=100, steps=((1000, "0.92"),)))
    for d in (8, 10, 12, 16):
        out.append(_item(f"NS-TR-M{d}-1000-46Z", f"Threaded rod M{d} x 1 m DIN 976 4.6 zinc plated",
                         "Threaded rod", D("0.11") * d, pack=10, moq=50, steps=((200, "0.9"),)))
    for d, l in [(10, 90), (12, 110)]:
        out.append(_item(f"NS-WDA-M{d}-{l}", f"Wedge anchor M{d}x{l} zinc plated, ETA approved", "Anchors",
                         D("0.09") * d, pack=50, moq=100, steps=((1000, "0.9"),)))
    for d in (8, 10, 12):
        out.append(_item(f"NS-NLN-M{d}-8Z", f"Nylon insert lock nut M{d} DIN 985 8 zinc plated", "Nuts",
                         D("0.016") * d, pack=200, moq=400, steps=((5000, "0.9"),)))
    for d in (10, 12):
        out.append(_item(f"NS-SW-M{d}-Z", f"Spring washer M{d} DIN 127 B zinc plated", "Washers",
                         D("0.005") * d, pack=200, moq=1000))
    for d, l in [(8, 60), (10, 80)]:
        out.append(_item(f"NS-CB-M{d}-{l}-46Z", f"Carriage bolt M{d}x{l} DIN 603 4.6 zinc plated", "Bolts",
                         D("0.025") * d * (1 + D(l) / 80), pack=100, moq=200, steps=bolt_steps))
    return out


def lefevre_items() -> list[dict]:
    out = []
    for (l, w, h), wall in [((300, 200, 150), "SW"), ((400, 300, 200), "SW"), ((400, 300, 300), "SW"),
                            ((600, 400, 300), "SW"), ((600, 400, 400), "DW"), ((800, 600, 400), "DW"),
                            ((1200, 800, 600), "DW")]:
        vol = D(l * w * h) / D(10 ** 9)
        out.append(_item(f"LF-CTN-{wall}-{l}x{w}x{h}",
                         f"{'Single' if wall == 'SW' else 'Double'} wall carton {l}x{w}x{h} mm, brown",
                         "Cartons", D("0.35") + vol * (D("6") if wall == "SW" else D("9")),
                         pack=25 if l < 800 else 10, moq=100 if l < 800 else 20,
                         steps=((500, "0.92"), (2000, "0.85"))))
    for mic, width in [(17, 500), (20, 500), (23, 500), (30, 450)]:
        out.append(_item(f"LF-SF-{mic}-{width}", f"Stretch film {mic} µm x {width} mm, 1,500 m roll, clear",
                         "Stretch film", D("0.55") * mic / 2, unit="roll", pack=6, moq=12,
                         steps=((60, "0.93"), (240, "0.88"))))
    out.append(_item("LF-PAL-EUR-NEW", "EUR pallet 1200x800 mm EPAL, new", "Pallets", "13.9", pack=None,
                     moq=20, steps=((100, "0.95"),)))
    out.append(_item("LF-PAL-EUR-USED", "EUR pallet 1200x800 mm EPAL, used class A", "Pallets", "8.4", moq=20))
    out.append(_item("LF-PAL-OW-1200", "One-way pallet 1200x1000 mm, heat treated ISPM 15", "Pallets", "6.75",
                     moq=20, steps=((100, "0.94"),)))
    out.append(_item("LF-TAPE-PP-50", "Packing tape PP 50 mm x 66 m, brown", "Tape", "0.89", unit="roll",
                     pack=36, moq=36, steps=((360, "0.9"),)))
    out.append(_item("LF-TAPE-PAP-50", "Paper tape 50 mm x 50 m, gummed, reinforced", "Tape", "2.35",
                     unit="roll", pack=24, moq=24))
    out.append(_item("LF-EDGE-50-1000", "Edge protector 50x50x5 mm, 1,000 mm, cardboard", "Edge protection",
                     "0.42", pack=100, moq=200))
    out.append(_item("LF-VF-PAPER-450", "Paper void fill, 450 m continuous roll", "Void fill", "18.5",
                     unit="roll", moq=2))
    out.append(_item("LF-STRAP-PP-12", "PP strapping 12 mm x 3,000 m, black", "Strapping", "21.9", unit="roll",
                     pack=2, moq=4, steps=((20, "0.92"),)))
    out.append(_item("LF-BAG-PE-300x400", "PE zip bag 300x400 mm, 50 µm", "Bags", "0.064", pack=500, moq=1000,
                     steps=((10000, "0.85"),)))
    return out


def polmet_items() -> list[dict]:
    out = []
    for i, code in enumerate(["6200", "6201", "6202", "6203", "6204", "6205", "6206", "6207", "6208", "6210"]):
        out.append(_item(f"PM-BRG-{code}-2RS", f"Deep groove ball bearing {code}-2RS, sealed", "Bearings",
                         D("1.2") + D(i) * D("0.45"), pack=10, moq=20, steps=((200, "0.9"), (1000, "0.82"))))
    for i, code in enumerate(["30204", "30205", "30206", "32208"]):
        out.append(_item(f"PM-BRG-{code}", f"Tapered roller bearing {code}", "Bearings",
                         D("4.8") + D(i) * D("1.6"), pack=5, moq=10, steps=((100, "0.9"),)))
    for i, code in enumerate(["UCP204", "UCP205", "UCF206"]):
        out.append(_item(f"PM-BRG-{code}", f"Mounted bearing unit {code}, cast iron housing", "Bearing units",
                         D("9.5") + D(i) * 3, pack=None, moq=4, steps=((50, "0.9"),)))
    for size in (6, 8, 10, 12):
        out.append(_item(f"PM-DRL-HSS-{size}", f"Twist drill HSS-G DIN 338 Ø{size} mm", "Tools",
                         D("0.9") + D(size) * D("0.35"), pack=10, moq=10, steps=((100, "0.9"),)))
    out.append(_item("PM-TAP-M10-SET", "Hand tap set M10 (3 pieces) HSS", "Tools", "11.4", unit="set", moq=5))
    out.append(_item("PM-WR-COMB-13", "Combination wrench 13 mm, chrome vanadium", "Tools", "4.2", pack=5, moq=5))
    out.append(_item("PM-WR-COMB-17", "Combination wrench 17 mm, chrome vanadium", "Tools", "5.1", pack=5, moq=5))
    out.append(_item("PM-GRS-LT2-400", "Lithium grease EP2, 400 g cartridge", "Lubricants", "3.75",
                     unit="cartridge", pack=12, moq=12, steps=((120, "0.9"),)))
    return out


def alpenwerk_items() -> list[dict]:
    out = []
    for dn, inch, price in [(6, "1/4", "3.10"), (10, "3/8", "4.80"), (12, "1/2", "5.90"), (16, "5/8", "7.40")]:
        out.append(_item(f"AW-HOSE-2SN-DN{dn:02d}", f"Hydraulic hose 2SN DN{dn} {inch}\" EN 853, per metre", "Hoses",
                         price, unit="m", moq=25, steps=((100, "0.94"), (500, "0.88"))))
    for size in (10, 12, 15):
        out.append(_item(f"AW-DKOL-{size}L", f"Hose fitting DKOL 90° for {size}L tube, crimp", "Hoses",
                         D("1.4") + D(size) * D("0.05"), pack=10, moq=20, steps=((200, "0.9"),)))
    for code, name, price in [("GE12LR", "Male stud coupling GE12LR 3/8\" DIN 2353, zinc-nickel", "2.35"),
                              ("W12L", "Elbow union W12L DIN 2353, zinc-nickel", "3.05"),
                              ("T12L", "Tee union T12L DIN 2353, zinc-nickel", "4.20"),
                              ("SV15L", "Bulkhead union SV15L DIN 2353, zinc-nickel", "6.80")]:
        out.append(_item(f"AW-{code}", name, "Fittings", price, pack=10, moq=20, steps=((200, "0.92"),)))
    for bore, rod, price in [(50, 30, "38.00"), (63, 40, "46.50"), (80, 50, "61.00")]:
        out.append(_item(f"AW-SK-{bore}-{rod}", f"Seal kit for cylinder Ø{bore}/{rod} mm, PU/NBR", "Seals", price,
                         unit="set", moq=2))
    out.append(_item("AW-ORK-NBR70", "O-ring assortment NBR 70, 382 pieces", "Seals", "24.90", unit="box", moq=1))
    out.append(_item("AW-BV-M22", "Ball valve 2-way M22x1.5 PN 500", "Valves", "36.50", moq=2,
                     steps=((20, "0.93"),)))
    out.append(_item("AW-PG-250-63", "Pressure gauge 0–250 bar, Ø63 mm, glycerine filled", "Valves", "10.60",
                     moq=5, pack=5))
    return out


HARTMANN_SPECIAL = {  # nordstahl SKU -> (factor on list price, breaks factors)
    "NS-HB-M12-60-88Z": ("0.88", ((2000, "0.84"), (10000, "0.78"))),
    "NS-HB-M10-40-88Z": ("0.9", ((2000, "0.85"),)),
    "NS-HN-M12-8Z": ("0.85", ()),
    "NS-WA-M12-Z": ("0.85", ()),
}

CATALOGS = {"nordstahl": nordstahl_items, "lefevre": lefevre_items, "polmet": polmet_items,
            "alpenwerk": alpenwerk_items}


def seed(companies: dict, users: dict) -> None:
    from portal.catalog.models import CatalogBuyerPrice, CatalogItem
    from portal.db import db

    for key, build in CATALOGS.items():
        company = companies.get(key)
        if company is None:
            continue
        if db.session.scalar(sa.select(CatalogItem.id).where(CatalogItem.supplier_company_id == company.id)
                             .limit(1)):
            continue  # already seeded
        items = [CatalogItem(supplier_company_id=company.id, **spec) for spec in build()]
        db.session.add_all(items)
        db.session.flush()
        hartmann = companies.get("hartmann")
        if key == "nordstahl" and hartmann is not None:
            by_sku = {it.sku: it for it in items}
            for sku, (factor, steps) in HARTMANN_SPECIAL.items():
                it = by_sku[sku]
                price = _p(it.unit_price * D(factor))
                db.session.add(CatalogBuyerPrice(item_id=it.id, buyer_company_id=hartmann.id, unit_price=price,
                                                 price_breaks=_breaks(price, steps)))
    db.session.commit()


# --------------------------------------------------------------------------------------------- demo files

def _valid_quantity(spec: dict, step: int) -> Decimal:
    pack = spec["pack_size"] or D(1)
    moq = spec["moq"] or pack
    smallest = (moq / pack).to_integral_value(rounding=ROUND_CEILING) * pack
    return smallest + pack * step


def quick_order_csv(lines: int = 300) -> str:
    """``lines`` sku,quantity lines cycling through Nordstahl's active items, each valid (MOQ, pack size)."""
    active = [s for s in nordstahl_items() if s["active"]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sku", "quantity"])
    for i in range(lines):
        spec = active[i % len(active)]
        w.writerow([spec["sku"], csvio.fmt_decimal(_valid_quantity(spec, (i // len(active)) % 4))])
    return buf.getvalue()


def nordstahl_import_csv() -> str:
    """A catalog import for Nordstahl: its items with list prices raised 3 % plus five new SKUs."""
    specs = []
    for s in nordstahl_items():
        s = dict(s)
        s["unit_price"] = _p(s["unit_price"] * D("1.03"))
        s["price_breaks"] = [{"min_quantity": b["min_quantity"],
                              "unit_price": csvio.fmt_decimal(_p(D(b["unit_price"]) * D("1.03")))}
                             for b in s["price_breaks"]]
        specs.append(s)
    for d in (6, 8, 10, 12, 16):
        specs.append(_item(f"NS-HB-M{d}-100-88Z" if d >= 10 else f"NS-HB-M{d}-50-88Z",
                           f"Hex bolt M{d}x{100 if d >= 10 else 50} DIN 931 8.8 zinc plated", "Bolts",
                           D("0.02") * d * 2, pack=100 if d < 16 else 50, moq=500 if d < 16 else 200,
                           steps=((1000, "0.93"), (5000, "0.86")),
                           description="Partially threaded hex head bolt, property class 8.8, zinc plated."))

    class Row:
        def __init__(self, spec):
            self.__dict__.update(spec)

    return csvio.export_rows(Row(s) for s in specs).replace("\r\n", "\n")


def write_demo_files(directory: str | Path | None = None) -> list[Path]:
    d = Path(directory) if directory else ROOT / "docs" / "demo"
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (("quick-order-300.csv", quick_order_csv()),
                       ("catalog-import-nordstahl.csv", nordstahl_import_csv())):
        path = d / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out
