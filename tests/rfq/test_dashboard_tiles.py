"""The dashboard tiles (usability review): status tiles last, item lines that keep their end (amount, due
date, state), singular count labels, headings that do not push the counts out of line."""
from __future__ import annotations

import re

from portal.dashboard.views import count_label, item_parts, ordered
from portal.db import db
from portal.jobs.models import JobRecord, JobStatus
from portal.rfq import services
from tests import factories
from tests.rfq.conftest import text


def _tiles(page: str) -> list[str]:
    return re.findall(r'<section class="card h-100 dash-tile"[^>]*data-testid="(panel-[^"]+)"', page)


def test_background_jobs_tile_comes_after_the_work_tiles(world, login):
    db.session.add(JobRecord(kind="invoice-pdf", title="PDF of Invoice INV-2026-000001", func="x", args=[],
                             queue="default", company_id=world.supplier_a.id, user_id=world.sales_a.id,
                             status=JobStatus.succeeded, progress=100))
    db.session.commit()
    factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    tiles = _tiles(text(login(world.sales_a).get("/dashboard")))
    assert "panel-background-jobs" in tiles and len(tiles) > 1
    assert tiles[-1] == "panel-background-jobs"
    assert ordered([{"title": "Jobs", "position": "last"}, {"title": "A"}, {"title": "B"}]) == [
        {"title": "A"}, {"title": "B"}, {"title": "Jobs", "position": "last"}]


def test_items_shorten_the_middle_never_the_amount_or_due_date():
    it = item_parts("INV-2026-000002 · Nordstahl Fasteners · €1,234.50 · due 15 Jan 2027")
    assert (it["head"], it["middle"], it["tail"]) == ("INV-2026-000002", "Nordstahl Fasteners",
                                                      "€1,234.50 · due 15 Jan 2027")
    it = item_parts("RFQ-2026-0001 · Stainless fittings for the bottling line — due 7 Dec, 16:00")
    assert (it["head"], it["middle"], it["tail_sep"], it["tail"]) == (
        "RFQ-2026-0001", "Stainless fittings for the bottling line", " — ", "due 7 Dec, 16:00")
    assert item_parts(("RFQ-2026-0001", "Van Dijk Food", "due 7 Dec"))["text"] == "RFQ-2026-0001 · Van Dijk Food · due 7 Dec"
    # one or two parts: nothing to shorten in the middle; the line wraps (two lines) instead
    assert item_parts("PDF of Invoice INV-2026-000034 — succeeded") == {
        "text": "PDF of Invoice INV-2026-000034 — succeeded"}


def test_tiles_render_items_without_cutting_their_end(world, login):
    r = factories.rfq(world.buyer, world.procurement, title=("Stainless fittings for the bottling line " * 3).strip(),
                      suppliers=[world.supplier_a])
    page = text(login(world.sales_a).get("/dashboard"))
    assert 'class="text-truncate"' not in page
    item = re.search(r'<li><a href="/rfqs/%d"[^>]*>(.*?)</a></li>' % r.id, page, re.S)
    assert item, page
    assert f'<span class="item-head">{r.reference}</span>' in item.group(1)
    # the buyer's name first (two buyers may both have an RFQ-2026-0001), then the title
    assert re.search(r'<span class="item-mid">Acme Buying GmbH: Stainless fittings[^<]*</span> · '
                     r'<span class="item-tail">due [^<]+</span>', item.group(1))
    # only the middle part may be shortened, and the tail never breaks apart
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"\.item-mid \{[^}]*text-overflow: ellipsis", css)
    assert re.search(r"\.item-head, \.dash-items \.item-tail \{ display: inline-block; max-width: 100%", css)
    assert not re.search(r"\.item-(head|tail)[^{]*\{[^}]*(overflow: hidden|text-overflow)", css)
    assert re.search(r"\.panel-title \{ min-height: 2\.4em", css)  # counts stay level when a heading wraps


def test_a_count_of_one_reads_in_the_singular(world, login):
    assert count_label({"count": 1, "count_label": "answers on open RFQs"}) == "answer on open RFQs"
    assert count_label({"count": 2, "count_label": "answers on open RFQs"}) == "answers on open RFQs"
    assert count_label({"count": 1, "count_label": "drafts"}) == "draft"
    assert count_label({"count": 1, "count_label": "to approve"}) == "to approve"
    assert count_label({"count": 1, "count_label": "x things", "count_label_one": "x thing"}) == "x thing"
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    q = services.ask_question(world.sales_a, r.id, question="Pallet height?")
    services.answer_question(world.procurement, r.id, q.id, answer="Max 1.2 m")
    page = text(login(world.sales_a).get("/dashboard"))
    assert "answer on open RFQs" in page and "1 answers" not in page and "answers on open RFQs" not in page
