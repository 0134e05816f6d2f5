"""What the supplier reads on the quote form and what the buyer's quote panel says for a draft RFQ
(usability review: cut-off item text, missing buyer notes/target prices, "0 of 1 submitted" on a draft)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from portal.db import db
from tests import factories
from tests.quotes.helpers import text

pytestmark = pytest.mark.usefixtures("isolated_requests")

LONG = ("Hex socket head cap screw ISO 4762 M12x60 8.8 zinc flake coated, thread-locking patch, "
        "delivered in labelled boxes of max. 15 kg")


def _item_cell(page: str, position: int) -> str:
    """The item cell of row ``position`` on the quote form."""
    rows = re.findall(r'<tr id="row-\d+"[^>]*>(.*?)</tr>', page, re.S)
    m = re.search(r'<td class="desc" data-testid="line-item">(.*?)</td>', rows[position - 1], re.S)
    assert m, rows[position - 1]
    return m.group(1)


@pytest.fixture
def detailed_rfq(world, open_rfq):
    first, second, _ = sorted(open_rfq.lines, key=lambda rl: rl.position)
    first.description = LONG
    first.part_number = "HM-ISO4762-M12X60-8.8-ZNFL-PATCH"
    first.target_price = Decimal("0.2150")
    first.notes = "Cr(VI)-free passivation\nBox label with our part number"
    second.part_number = None
    second.notes = ""
    db.session.commit()
    return open_rfq


def test_quote_form_shows_the_whole_item_with_part_number_target_and_notes(world, detailed_rfq, login):
    page = text(login(world.sales_a).get(f"/rfqs/{detailed_rfq.id}/quote"))
    cell = _item_cell(page, 1)
    assert "text-truncate" not in cell  # the description wraps; nothing is cut off with an ellipsis
    assert LONG in cell
    assert "Part no. HM-ISO4762-M12X60-8.8-ZNFL-PATCH" in cell
    assert "Target price <strong>€0.215</strong> / pcs" in cell
    assert "Buyer's note: Cr(VI)-free passivation\nBox label with our part number" in cell
    # a line without part number, target or notes shows just its description
    plain = _item_cell(page, 2)
    assert "Item 2" in plain and "Part no." not in plain and "Target price" not in plain and "note" not in plain
    # what the browser suite relies on is still there
    assert 'aria-label="Line 1 unit price"' in page and 'data-testid="quote-lines"' in page
    assert 'data-testid="submit-quote"' in page and 'data-testid="save-draft"' in page


def test_draft_rfq_panel_says_suppliers_are_notified_on_publish(world, login):
    draft = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    page = text(login(world.procurement).get(f"/rfqs/{draft.id}"))
    panel = page[page.index('data-testid="quote-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "1 supplier invited — notified when you publish" in panel
    assert "0 of 1" not in panel and "Not submitted" not in panel
    assert 'data-state="invited">Invited</span>' in panel  # the state in words, not by colour


def test_draft_rfq_without_suppliers_says_none_is_invited(world, login):
    draft = factories.rfq(world.buyer, world.procurement, status="draft")
    page = text(login(world.procurement).get(f"/rfqs/{draft.id}"))
    assert "No supplier is invited yet." in page and "notified when you publish</p>" not in page


def test_published_rfq_panel_still_counts_submissions(world, open_rfq, login):
    factories.quote(open_rfq, world.supplier_a, world.sales_a)
    page = text(login(world.procurement).get(f"/rfqs/{open_rfq.id}"))
    assert "1 of 2 invited suppliers submitted" in page
    assert "Not submitted" in page and "notified when you publish" not in page.split('data-testid="quote-panel"')[1]
    assert 'data-testid="sealed-note"' in page
