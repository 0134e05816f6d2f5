"""Usability review of the RFQ pages: the buyer beside the reference on the supplier side, the lines table
without an inner scroll box, and Cancel RFQ set apart at the end of the actions."""
from __future__ import annotations

import re

from portal.db import db
from tests import factories
from tests.rfq.conftest import text


def _rows(page: str, testid: str) -> list[list[str]]:
    table = page[page.index(f'data-testid="{testid}"'):]
    table = table[:table.index("</table>")]
    body = table[table.index("<tbody>"):]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_supplier_list_shows_the_buyer_beside_each_reference(world, login):
    """Numbering is per buyer: two buyers' RFQ-…-0001 must be told apart by the buyer next to the number."""
    other = factories.company("buyer", name="Van Dijk Food")
    theirs = factories.rfq(other, factories.user(other, "procurement"), title="Fittings",
                           suppliers=[world.supplier_a])
    ours = factories.rfq(world.buyer, world.procurement, title="Fasteners", suppliers=[world.supplier_a])
    assert theirs.reference == ours.reference  # the same number at two buyers
    page = text(login(world.sales_a).get("/rfqs/"))
    headers = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page[page.index('data-testid="rfq-list"'):])
    assert headers[:3] == ["Reference", "Buyer", "Title"]
    rows = {(r[0], r[1]) for r in _rows(page, "rfq-list")}
    assert {(ours.reference, world.buyer.display_name), (theirs.reference, "Van Dijk Food")} <= rows
    # the buyer's own list has no buyer column
    assert "<th scope=\"col\">Buyer</th>" not in text(login(world.procurement).get("/rfqs/"))


def test_supplier_detail_names_the_buyer_in_the_breadcrumb(world, login, open_rfq):
    page = text(login(world.sales_a).get(f"/rfqs/{open_rfq.id}"))
    crumb = page[page.index('aria-label="breadcrumb"'):page.index("</nav>", page.index('aria-label="breadcrumb"'))]
    assert f"{open_rfq.reference} · {world.buyer.display_name}" in crumb
    page = text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    crumb = page[page.index('aria-label="breadcrumb"'):page.index("</nav>", page.index('aria-label="breadcrumb"'))]
    assert world.buyer.display_name not in crumb  # the buyer knows whose RFQ it is


def test_lines_table_is_not_a_capped_scroll_box_and_long_part_numbers_wrap(world, login):
    r = factories.rfq(world.buyer, world.procurement, lines=12, suppliers=[world.supplier_a])
    r.lines[0].part_number = "HM-" + "X" * 58
    db.session.commit()
    page = text(login(world.procurement).get(f"/rfqs/{r.id}"))
    lines = page[page.index('aria-labelledby="lines-h"'):page.index('id="questions"')]
    assert "max-height" not in lines and "sticky-top" not in lines  # every line on the page, none cut mid-row
    assert len(_rows(page, "rfq-lines")) == 12
    part_cell = re.search(r'<td class="small col-part">HM-X+</td>', lines)
    assert part_cell and "text-nowrap" not in part_cell.group(0)
    assert re.search(r"\.col-part \{[^}]*overflow-wrap: anywhere", page)  # the part number may break
    assert re.search(r"\.col-desc \{[^}]*min-width: \d+rem", page)  # the description keeps its width


def test_cancel_is_the_last_action_set_apart_from_compare(world, login):
    closed = factories.rfq(world.buyer, world.procurement, status="closed", suppliers=[world.supplier_a])
    page = text(login(world.procurement).get(f"/rfqs/{closed.id}"))
    actions = page[page.index('data-testid="rfq-actions"'):]
    actions = actions[:actions.index("\n</div>")]
    labels = [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<(?:a|button)\b[^>]*>(.*?)</(?:a|button)>",
                                                                     actions, re.S)]
    assert labels[-1] == "Cancel RFQ"
    if "Compare quotes" in labels:
        assert labels.index("Compare quotes") < labels.index("Cancel RFQ") - 1  # not side by side
    cancel = re.search(r'<a class="([^"]+)"[^>]*data-testid="cancel-rfq"', actions)
    assert cancel and "btn-outline-danger" in cancel.group(1) and "btn-danger" not in cancel.group(1).split()
    for status in ("draft", "open"):
        r = factories.rfq(world.buyer, world.procurement, status=status, suppliers=[world.supplier_a])
        page = text(login(world.procurement).get(f"/rfqs/{r.id}"))
        actions = page[page.index('data-testid="rfq-actions"'):]
        actions = actions[:actions.index("\n</div>")]
        assert actions.rindex("Cancel RFQ") > actions.rindex("Lines CSV"), status
