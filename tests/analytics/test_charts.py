from decimal import Decimal

import pytest
from markupsafe import Markup

from portal.analytics import charts

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

D = Decimal


def fmt(v):
    return f"€{v:.2f}"


def test_nice_ticks():
    assert charts.nice_ticks(D("0")) == [D(0), D(1)]
    assert charts.nice_ticks(D("350")) == [D(0), D(100), D(200), D(300), D(400)]
    assert charts.nice_ticks(D("1000")) == [D(0), D(200), D(400), D(600), D(800), D(1000)]
    assert charts.nice_ticks(D("0.7"))[-1] >= D("0.7")


def test_month_bars_one_bar_per_point_with_labels():
    pts = [(f"M{i}", D(i * 10)) for i in range(12)]
    svg = charts.month_bars(pts, chart_id="c1", title="T <b>", desc="D & more", fmt=fmt)
    assert isinstance(svg, Markup)
    assert svg.count('<rect class="bar"') == 12 and svg.count('class="x-label"') == 12
    assert svg.count('class="value"') == 12 and "€110.00" in svg
    assert '<title id="c1-title">T &lt;b&gt;</title>' in svg and '<desc id="c1-desc">D &amp; more</desc>' in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>") and 'role="img"' in svg
    # the tallest bar reaches the top tick; a zero bar has no height
    assert 'height="0"' in svg


def test_month_bars_all_zero_does_not_divide_by_zero():
    svg = charts.month_bars([("a", D(0)), ("b", D(0))], chart_id="z", title="t", desc="d", fmt=fmt)
    assert svg.count('<rect class="bar"') == 2


def test_hbars_escapes_labels_and_shortens_long_ones():
    svg = charts.hbars([("<script>x</script>", D("5")), ("A" * 60, D("2"))], chart_id="h", title="t",
                       desc="d", fmt=fmt)
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    assert svg.count('<rect class="bar"') == 2
    assert "A" * 19 + "…" in svg and "A" * 60 in svg  # shortened label, full text in the bar's <title>


def test_long_periods_label_every_other_month_but_keep_every_bar():
    pts = [(f"M{i}", D(i)) for i in range(24)]
    svg = charts.month_bars(pts, chart_id="c24", title="t", desc="d", fmt=fmt)
    assert svg.count('<rect class="bar"') == 24 and svg.count('class="x-label"') == 12
    assert ">M23</text>" in svg and "rotate(-90)" in svg
    assert svg.count("<title>M") == 24  # every bar still names its month
