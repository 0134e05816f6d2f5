"""Bulk lines: paste or upload CSV, a preview listing every bad row by number and column, confirm, export."""
from __future__ import annotations

import io
import os
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import ValidationFailed
from portal.rfq import csvlines, services
from portal.rfq.models import RfqAmendment, RfqLine
from tests import factories
from tests.rfq.conftest import count, events, fresh, text

HEADER = "description,quantity,unit,part_number,target_price,notes\n"
GOOD = HEADER + ("Hex bolt M12x60 DIN 933 8.8 zinc,500,pcs,HB-12,0.21,\n"
                 "\"Washer A13, DIN 125\",1000,pcs,,,boxes of 500\n")


def rfq_lines(rfq):
    return list(db.session.scalars(sa.select(RfqLine).where(RfqLine.rfq_id == rfq.id)
                                   .order_by(RfqLine.position)))


def preview(client, rfq, text_=None, file=None):
    data = {"version": str(rfq.version), "preview": "y", "text": text_ or ""}
    if file is not None:
        data["file"] = (io.BytesIO(file), "lines.csv")
    return client.post(f"/rfqs/{rfq.id}/lines/import", data=data, content_type="multipart/form-data")


def confirm(client, rfq, text_, version=None):
    return client.post(f"/rfqs/{rfq.id}/lines/import",
                       data={"version": str(version or rfq.version), "confirm": "y", "text": text_})


def test_preview_saves_nothing_then_confirm_appends(world, login, draft):
    c = login(world.procurement)
    resp = preview(c, draft, GOOD)
    body = text(resp)
    assert resp.status_code == 200 and "All 2 rows are fine" in body and "Append 2 lines" in body
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3
    # the confirm form keeps the text itself: nothing in server memory
    assert 'name="text" value="description,quantity' in resp.get_data(as_text=True).replace("&#34;", '"')
    resp = confirm(c, draft, GOOD)
    assert resp.status_code == 302
    lines = rfq_lines(draft)
    assert [ln.position for ln in lines] == [1, 2, 3, 4, 5]
    assert lines[4].description == "Washer A13, DIN 125" and lines[4].notes == "boxes of 500"
    assert lines[3].target_price == Decimal("0.21") and lines[4].target_price is None
    assert events(draft.id, "lines_imported")[0].detail == "2 line(s) imported from CSV (lines 4–5)"


def test_upload_file_and_semicolon_csv(world, login, draft):
    data = "\ufeffdescription;quantity;unit\nSchraube M8;10;Stk\nMutter M8;20,5;Stk\n".encode("utf-8")
    body = text(preview(login(world.procurement), draft, file=data))
    assert "Row 3, column “quantity”" in body or ("<td class=\"num\">3</td><td>quantity</td>" in body)
    assert "use a point as the decimal separator" in body
    assert "1 good row" in body


def test_preview_lists_each_bad_row_by_number_and_column(world, login, draft):
    csv_text = HEADER + ("Good line,10,pcs,,,\n"
                         ",5,pcs,,,\n"                 # row 3: description missing
                         "Bolt,-2,pcs,,,\n"            # row 4: negative quantity
                         "Nut,1.23456,pcs,,,\n"        # row 5: too many decimals
                         "Pin,10,pcs,,-1,\n"           # row 6: negative target price
                         "Rod,100000000000000,pcs,,,\n"  # row 7: too large
                         "Too,many,columns,a,b,c,d\n")  # row 8
    c = login(world.procurement)
    body = text(preview(c, draft, csv_text))
    parsed = csvlines.parse(csv_text)
    got = {(e.row, e.column) for e in parsed.errors}
    assert got == {(3, "description"), (4, "quantity"), (5, "quantity"), (6, "target_price"),
                   (7, "quantity"), (8, "")}
    assert "6 problems found" in body and "Append" not in body
    for sentence in ("A description is required.", "The quantity must be greater than zero (it is -2).",
                     "The quantity 1.23456 has more than 4 decimal places.",
                     "The target unit price cannot be negative.", "is too large"):
        assert sentence in body
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3


def test_confirm_reparses_and_refuses_text_with_errors(world, login, draft):
    bad = HEADER + "Bolt,0,pcs,,,\n"
    resp = confirm(login(world.procurement), draft, bad)
    assert resp.status_code == 200
    assert "1 problem(s); nothing was imported" in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3
    with pytest.raises(ValidationFailed):
        services.import_lines(world.procurement, draft.id, text=bad)


def test_stale_confirm_is_refused(world, login, draft):
    stale = draft.version
    services.add_line(world.procurement2, draft.id, description="x", quantity="1")
    resp = confirm(login(world.procurement), draft, GOOD, version=stale)
    assert str(services.STALE_MESSAGE) in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 4


@pytest.mark.parametrize("payload, message", [
    ("name,qty\nBolt,10\n", "missing column(s): description, quantity"),
    (HEADER.strip() + ",colour\nBolt,1,pcs,,,,red\n", "unknown column(s): colour"),
    (HEADER, "has a header but no rows"),
    ("", "Paste some lines or choose a CSV file."),
])
def test_malformed_pasted_csv_gives_a_clear_message(world, login, draft, payload, message):
    resp = preview(login(world.procurement), draft, payload)
    assert resp.status_code == 200
    assert message in text(resp) and "Nothing was saved." in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3


@pytest.mark.parametrize("payload, message", [
    ((HEADER + "Schraube für Maschine Ä,10,Stück,,,\n").encode("latin-1"), "not UTF-8 encoded"),
    (b"%PDF-1.4\x00\x01\x02binary" * 50, "not a text CSV file"),
    (os.urandom(4096), "not a text CSV file"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a text CSV file"),
    ((HEADER + "x,1,pcs,,,\n") + "junk," * 600_000, "too large"),
])
def test_malformed_uploads_give_a_clear_message(world, login, draft, payload, message):
    if isinstance(payload, str):
        payload = payload.encode()
    resp = preview(login(world.procurement), draft, file=payload)
    assert resp.status_code == 200
    assert message in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3


def test_ten_megabytes_of_junk_is_refused_before_parsing(world, login, draft):
    resp = preview(login(world.procurement), draft, file=b"a," * (5 * 1024 * 1024 + 10))
    assert resp.status_code == 413
    assert "The upload is too large" in text(resp)
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 3


def test_pasted_binary_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        csvlines.parse(HEADER + "a\x00b,1,pcs,,,\n")
    assert "binary" in exc.value.message


def test_template_csv_downloads_and_imports_cleanly(world, login, draft):
    c = login(world.procurement)
    resp = c.get("/rfqs/lines-template.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.splitlines()[0] == "description,quantity,unit,part_number,target_price,notes"
    parsed = csvlines.parse(body)
    assert parsed.ok and len(parsed.rows) == 3


def test_formula_cells_are_kept_as_text_and_neutralised_on_export(world, login, draft):
    evil = HEADER + '"=HYPERLINK(""http://x"",""y"")",5,pcs,+SUM(A1),,@cmd\n'
    services.import_lines(world.procurement, draft.id, text=evil)
    ln = rfq_lines(draft)[-1]
    assert ln.description == '=HYPERLINK("http://x","y")'  # accepted as typed
    c = login(world.procurement)
    page = c.get(f"/rfqs/{draft.id}").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page  # escaped in HTML
    resp = c.get(f"/rfqs/{draft.id}/lines.csv")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    exported = resp.get_data(as_text=True)
    assert "'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")" in exported
    assert ",'+SUM(A1)," in exported and exported.rstrip().endswith("'@cmd")
    assert "\n=" not in exported and ",=" not in exported


def test_export_round_trips_through_import(world):
    r = factories.rfq(world.buyer, world.procurement, status="draft", quantities=["12.5", "1000", "0.0001"])
    _, exported = services.export_lines_csv(world.procurement, r.id)
    parsed = csvlines.parse(exported.lstrip("\ufeff"))
    assert parsed.ok and [row["quantity"] for row in parsed.rows] == [Decimal("12.5"), Decimal("1000"),
                                                                      Decimal("0.0001")]


def test_five_hundred_lines_in_one_post(world, login, draft):
    rows = "".join(f"Part {i} stainless DIN 912,{i},pcs,P-{i:05d},{i % 7}.25,\n" for i in range(1, 501))
    c = login(world.procurement)
    assert "All 500 rows are fine" in text(preview(c, draft, HEADER + rows))
    resp = confirm(c, draft, HEADER + rows)
    assert resp.status_code == 302
    assert count(RfqLine, RfqLine.rfq_id == draft.id) == 503


def test_import_into_open_rfq_is_one_amendment(world, open_rfq):
    services.import_lines(world.procurement, open_rfq.id, text=GOOD)
    r = fresh(open_rfq)
    [a] = db.session.scalars(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == r.id))
    assert r.amendment_no == 1 and a.summary == "2 line(s) added by CSV import (lines 4–5)"


def test_supplier_cannot_import(world, login, open_rfq):
    resp = preview(login(world.sales_a), open_rfq, GOOD)
    assert resp.status_code == 403
