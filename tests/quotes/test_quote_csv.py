"""Quote lines as CSV: the prefilled download, the upload into the draft, and its row-level error preview."""
import csv
import io
import re
from decimal import Decimal

import pytest

from portal.db import db
from portal.quotes.models import Quote
from portal.rfq.models import RfqLine
from tests import factories
from tests.quotes.helpers import count, draft_with, fresh, submitted, text

pytestmark = pytest.mark.usefixtures("isolated_requests")

COLUMNS = ["rfq_line_id", "position", "part_number", "description", "quantity", "unit", "unit_price",
           "price_breaks", "moq", "pack_size", "lead_time_days", "declined", "decline_reason"]


def rows_of(resp) -> list[dict]:
    body = resp.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def lock_on(page: str) -> str:
    return re.search(r'name="lock_version"[^>]*value="(\d+)"', page).group(1)


def upload(c, rfq, content: bytes, lock="0", filename="lines.csv"):
    return c.post(f"/rfqs/{rfq.id}/quote/upload", data={"lock_version": lock, "file": (io.BytesIO(content), filename)},
                  content_type="multipart/form-data")


def csv_bytes(rows, header=COLUMNS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def test_the_template_has_every_line_with_empty_price_columns(world, open_rfq, login):
    resp = login(world.sales_a).get(f"/rfqs/{open_rfq.id}/quote/lines.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = rows_of(resp)
    assert list(rows[0]) == COLUMNS
    assert [(r["rfq_line_id"], r["position"], r["description"], r["quantity"], r["unit"]) for r in rows] == [
        (str(rl.id), str(rl.position), rl.description, str(int(rl.quantity)), "pcs") for rl in open_rfq.lines]
    assert all(r["unit_price"] == "" and r["moq"] == "" for r in rows)


def test_the_template_is_prefilled_from_the_draft(world, open_rfq, login):
    draft_with(open_rfq, world.sales_a, ["1.5", None, "3"], price_breaks={0: "500:1.4"}, moq={2: "50"})
    rows = rows_of(login(world.sales_a).get(f"/rfqs/{open_rfq.id}/quote/lines.csv"))
    assert [(r["unit_price"], r["price_breaks"], r["moq"]) for r in rows] == [
        ("1.5", "500:1.4", ""), ("", "", ""), ("3", "", "50")]


def test_export_neutralises_spreadsheet_formulas(world, login):
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, suppliers=[world.supplier_a])
    line = db.session.get(RfqLine, rfq.lines[0].id)
    line.description = '=HYPERLINK("http://evil.example","click")'
    line.part_number = "@SUM(A1)"
    db.session.commit()
    q = draft_with(fresh(rfq), world.sales_a, ["1", "2"], declined={1: True}, decline_reason={1: "+cmd|' /C calc'!A0"})
    c = login(world.sales_a)
    for url in (f"/rfqs/{rfq.id}/quote/lines.csv", f"/quotes/{q.id}/lines.csv"):
        rows = rows_of(c.get(url))
        assert rows[0]["description"] == '\'=HYPERLINK("http://evil.example","click")'
        assert rows[0]["part_number"] == "'@SUM(A1)"
        assert rows[1]["decline_reason"] == "'+cmd|' /C calc'!A0"


def test_upload_fills_the_draft(world, open_rfq, login):
    c = login(world.sales_a)
    l1, l2, l3 = open_rfq.lines
    content = csv_bytes([[l1.id, 1, "", "Item 1", 100, "pcs", "1.25", "500:1.2; 1000:1.1", "50", "10", "7", "", ""],
                         [l2.id, 2, "", "Item 2", 200, "pcs", "", "", "", "", "", "yes", "Not in our range"],
                         [l3.id, 3, "", "Item 3", 300, "pcs", "3", "", "", "", "", "no", ""]])
    resp = upload(c, open_rfq, content)
    assert resp.status_code == 302, text(resp)
    q = db.session.scalar(db.select(Quote))
    by_line = {ql.rfq_line_id: ql for ql in q.draft_version.lines}
    assert by_line[l1.id].unit_price == Decimal("1.25") and by_line[l1.id].moq == Decimal(50)
    assert by_line[l1.id].price_breaks == [{"min_quantity": "500", "unit_price": "1.2"},
                                           {"min_quantity": "1000", "unit_price": "1.1"}]
    assert by_line[l2.id].declined and by_line[l2.id].decline_reason == "Not in our range"
    assert by_line[l3.id].unit_price == Decimal(3)


def test_upload_with_only_some_columns_keeps_the_other_values(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"], moq={0: "50"})
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    content = csv_bytes([[open_rfq.lines[0].id, "9.99"]], header=["rfq_line_id", "unit_price"])
    assert upload(c, open_rfq, content, lock=lock_on(page)).status_code == 302
    by_line = {ql.rfq_line_id: ql for ql in fresh(q).draft_version.lines}
    assert by_line[open_rfq.lines[0].id].unit_price == Decimal("9.99")
    assert by_line[open_rfq.lines[0].id].moq == Decimal(50)
    assert by_line[open_rfq.lines[1].id].unit_price == Decimal(2)


def test_a_semicolon_separated_file_from_a_european_spreadsheet_works(world, open_rfq, login):
    c = login(world.sales_a)
    content = ("rfq_line_id;unit_price\r\n" + "".join(f"{rl.id};{i + 1}.5\r\n" for i, rl in enumerate(open_rfq.lines))
               ).encode("utf-8-sig")
    assert upload(c, open_rfq, content).status_code == 302
    assert len(db.session.scalar(db.select(Quote)).draft_version.lines) == 3


def _preview(resp):
    body = text(resp)
    rows = re.findall(r"<tr><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td><td><code>([^<]*)</code></td>"
                      r"<td>([^<]*)</td></tr>", body)
    return body, rows


def test_row_errors_are_previewed_and_nothing_is_saved(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{open_rfq.id}/quote"))
    l1, l2, l3 = open_rfq.lines
    content = csv_bytes([[l1.id, 1, "", "", "", "", "-5", "", "", "", "", "", ""],
                         [999999, 2, "", "", "", "", "1", "", "", "", "", "", ""],
                         [l2.id, 2, "", "", "", "", "1", "1000:1; 10:2", "", "", "2.5", "", ""],
                         [l3.id, 3, "", "", "", "", "", "", "", "", "", "yes", ""],
                         ["abc", "", "", "", "", "", "1", "", "", "", "", "", ""]])
    resp = upload(c, open_rfq, content, lock=lock_on(page))
    assert resp.status_code == 422
    body, rows = _preview(resp)
    assert "Nothing was saved" in body
    assert ("2", "1", "unit_price", "Must be 0 or more.") in rows
    assert ("3", "2", "rfq_line_id", f"RFQ line id 999999 is not a line of {open_rfq.reference}.") in rows
    assert ("4", "2", "price_breaks", "Break quantities must increase: 1000 is followed by 10.") in rows
    assert ("4", "2", "lead_time_days", "Whole days only, e.g. 14.") in rows
    assert ("5", "3", "decline_reason", "Give a reason for declining this line.") in rows
    assert ("6", "—", "rfq_line_id", "“abc” is not an RFQ line id.") in rows
    assert {ql.unit_price for ql in fresh(q).draft_version.lines} == {Decimal(1), Decimal(2), Decimal(3)}


def test_a_row_for_the_wrong_position_is_refused(world, open_rfq, login):
    c = login(world.sales_a)
    content = csv_bytes([[open_rfq.lines[0].id, 2, "", "", "", "", "1", "", "", "", "", "", ""]])
    body, rows = _preview(upload(c, open_rfq, content))
    assert rows == [("2", "2", "position", f"RFQ line id {open_rfq.lines[0].id} is position 1, not 2.")]
    assert count(Quote) == 0


def test_the_same_line_twice_is_refused(world, open_rfq, login):
    c = login(world.sales_a)
    lid = open_rfq.lines[0].id
    content = csv_bytes([[lid, 1] + [""] * 4 + ["1"] + [""] * 6, [lid, 1] + [""] * 4 + ["2"] + [""] * 6])
    body, rows = _preview(upload(c, open_rfq, content))
    assert rows == [("3", "1", "rfq_line_id", "Line 1 is also on CSV line 2.")]


UNREADABLE = [
    (b"line,price\n1,2\n", "The header row is wrong — missing column(s): rfq_line_id; unknown column(s): line, price."),
    (b"rfq_line_id,unit_price,colour\n1,2,red\n", "unknown column(s): colour"),
    ("rfq_line_id,unit_price,decline_reason\n1,2,Größe\n".encode("latin-1"), "The file is not UTF-8 encoded."),
    (b"", "The file is empty."),
    (b"rfq_line_id,unit_price\n", "The file has a header but no rows."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text CSV file"),
]


def test_unreadable_files_are_refused_with_a_sentence(world, open_rfq, login):
    c = login(world.sales_a)
    for content, message in UNREADABLE:
        resp = upload(c, open_rfq, content)
        assert resp.status_code == 422 and message in text(resp), message
    assert count(Quote) == 0


def test_upload_after_the_deadline_is_refused(world, open_rfq, login):
    from tests.quotes.helpers import move_deadline_to_past

    c = login(world.sales_a)
    move_deadline_to_past(open_rfq)
    resp = upload(c, open_rfq, csv_bytes([[open_rfq.lines[0].id, 1] + [""] * 4 + ["1"] + [""] * 6]))
    assert resp.status_code == 409 and "quotes are locked" in text(resp) and count(Quote) == 0


def test_upload_into_a_submitted_quote_needs_revise_first(world, open_rfq, login):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    resp = upload(c, open_rfq, csv_bytes([[open_rfq.lines[0].id, 1] + [""] * 4 + ["9"] + [""] * 6],),
                  lock=str(fresh(q).lock_version))
    assert resp.status_code == 409 and "Click Revise" in text(resp)


def test_upload_with_a_stale_lock_is_a_conflict(world, open_rfq, login):
    draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    resp = upload(c, open_rfq, csv_bytes([[open_rfq.lines[0].id, 1] + [""] * 4 + ["9"] + [""] * 6]), lock="1")
    assert resp.status_code == 409 and "changed in another tab" in text(resp)


def test_a_non_invited_supplier_cannot_upload(world, login):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    resp = upload(login(world.sales_b), rfq, csv_bytes([[rfq.lines[0].id, 1] + [""] * 4 + ["9"] + [""] * 6]))
    assert resp.status_code == 404 and count(Quote) == 0
