"""Server-side SVG charts: pure functions from data to SVG markup (no JavaScript, no external assets).

Every text that reaches the markup goes through markupsafe.escape. Each chart is an ``<svg role="img">`` named
by its ``<title>`` and described by its ``<desc>``; pages put a data table next to it as the text alternative.
Values arrive as Decimal; ``fmt`` turns one into display text (the page passes the locale-aware money filter).
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Callable, Sequence

from markupsafe import Markup, escape

Fmt = Callable[[Decimal], str]

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: Decimal, count: int = 5) -> list[Decimal]:
    """0 and round steps (1, 2, 2.5, 5 × 10^n) up to at least ``maximum``."""
    maximum = Decimal(maximum)
    if maximum <= 0:
        return [Decimal(0), Decimal(1)]
    raw = maximum / count
    exp = Decimal(10) ** math.floor(math.log10(raw))
    step = next(m * exp for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
                if m * exp >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < maximum:
        ticks.append(ticks[-1] + step)
    return [t.normalize() if t == t.to_integral() else t for t in ticks]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, width: int, height: int, title: str, desc: str, css: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" id="{cid}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" {FONT} font-size="12">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def month_bars(points: Sequence[tuple[str, Decimal]], *, chart_id: str, title: str, desc: str, fmt: Fmt,
               tick_fmt: Fmt | None = None, width: int = 960, height: int = 300) -> Markup:
    """Vertical bars, one per (label, value), with value labels and a y axis with ticks."""
    tick_fmt = tick_fmt or fmt
    n = max(len(points), 1)
    rotate = n > 12  # long periods: value labels turn upright and every other month is labelled
    left, right, top, bottom = 96, 12, (72 if rotate else 24), 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [Decimal(v) for _, v in points]
    ticks = nice_ticks(max(values, default=Decimal(0)))
    top_value = ticks[-1]
    slot = plot_w / n
    bar_w = max(slot * 0.62, 2)
    out = _open(chart_id, width, height, title, desc, "chart-months")
    out.append('<g class="y-axis" fill="#6c757d" text-anchor="end">')
    for t in ticks:
        y = top + plot_h - float(t / top_value) * plot_h
        out.append(f'<line class="tick" x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
                   f'stroke="#dee2e6" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{_num(y + 4)}">{escape(tick_fmt(t))}</text>')
    out.append("</g>")
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#adb5bd"/>')
    out.append('<g class="bars">')
    for i, (label, value) in enumerate(points):
        v = Decimal(value)
        h = float(v / top_value) * plot_h if top_value else 0
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        cx = x + bar_w / 2
        out.append(f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                   f'fill="#0d6efd" rx="2"><title>{escape(label)}: {escape(fmt(v))}</title></rect>')
        text = escape(fmt(v)) if v else "–"
        if rotate:
            out.append(f'<text class="value" transform="translate({_num(cx + 3)},{_num(y - 4)}) rotate(-90)" '
                       f'font-size="9" fill="#212529">{text}</text>')
        else:
            out.append(f'<text class="value" x="{_num(cx)}" y="{_num(y - 5)}" text-anchor="middle" '
                       f'font-size="10" fill="#212529">{text}</text>')
        if not rotate or (n - 1 - i) % 2 == 0:  # the latest month always carries its label
            out.append(f'<text class="x-label" x="{_num(cx)}" y="{height - bottom + 16}" text-anchor="middle" '
                       f'font-size="11" fill="#495057">{escape(label)}</text>')
    out.append("</g></svg>")
    return Markup("".join(out))


def hbars(items: Sequence[tuple[str, Decimal]], *, chart_id: str, title: str, desc: str, fmt: Fmt,
          width: int = 460, row: int = 28, label_chars: int = 20) -> Markup:
    """Horizontal bars, one per (label, value), largest first as given, each with its value at the end."""
    label_w, value_w, top = 160, 96, 8
    plot_w = width - label_w - value_w
    height = top * 2 + row * max(len(items), 1)
    top_value = max((Decimal(v) for _, v in items), default=Decimal(0))
    out = _open(chart_id, width, height, title, desc, "chart-hbars")
    out.append('<g class="bars">')
    for i, (label, value) in enumerate(items):
        v = Decimal(value)
        w = float(v / top_value) * plot_w if top_value > 0 else 0
        y = top + i * row
        out.append(f'<text class="y-label" x="{label_w - 8}" y="{_num(y + row / 2 + 4)}" text-anchor="end" '
                   f'fill="#212529" font-size="11">{escape(_shorten(label, label_chars))}</text>')
        out.append(f'<rect class="bar" x="{label_w}" y="{_num(y + 4)}" width="{_num(max(w, 1))}" '
                   f'height="{row - 8}" fill="#198754" rx="2"><title>{escape(label)}: {escape(fmt(v))}</title>'
                   f'</rect>')
        out.append(f'<text class="value" x="{_num(label_w + max(w, 1) + 6)}" y="{_num(y + row / 2 + 4)}" '
                   f'fill="#212529" font-size="11">{escape(fmt(v))}</text>')
    out.append("</g></svg>")
    return Markup("".join(out))
