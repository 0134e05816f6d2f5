"""What the browser tests share: how money looks to an en_GB person, and small waits and checks on pages."""
from __future__ import annotations

import re
import time
from decimal import ROUND_HALF_UP, Decimal

from playwright.sync_api import expect

CENT = Decimal("0.01")

UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))"""


def eur(amount: Decimal) -> str:
    """How en_GB shows euros: €1,234.50."""
    return f"€{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def plain(d: Decimal) -> str:
    """A Decimal as a person types it: 12.5, not 12.500 or 1.25E+1."""
    return format(d.normalize(), "f")


def assert_labelled(page) -> None:
    """Every form control on the page has an accessible name (a <label>, aria-label or aria-labelledby)."""
    missing = page.evaluate(UNLABELLED_JS)
    assert not missing, f"form controls without a label on {page.url}: {missing}"


def reload_until(page, selector: str, count: int = 1, timeout: float = 20.0) -> None:
    """Reload the page until ``selector`` matches ``count`` elements (the worker finishes in the background)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} did not reach {count} on {page.url} within {timeout}s")
        time.sleep(0.5)
        page.reload()


def panel_count(page, live_server: str, title: str) -> int:
    """The count a dashboard panel shows, read from the person's dashboard."""
    page.goto(live_server + "/dashboard")
    panel = page.get_by_test_id("panel-" + title.lower().replace(" ", "-"))
    return int(panel.get_by_test_id("panel-count").inner_text())


def header_state(page, state: str) -> None:
    """The page header shows exactly one state badge with this state."""
    expect(page.locator(f".page-header .state-badge[data-state={state}]")).to_have_count(1)


def flash(page, text: str) -> None:
    """Wait for a flashed message containing ``text``."""
    page.locator(".alert", has_text=text).first.wait_for()


def pdf_text(path) -> str:
    """The text of a PDF as pdftotext reads it (poppler-utils, installed by .ci/run)."""
    import subprocess

    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def number_in(text: str, prefix: str) -> str:
    m = re.search(re.escape(prefix) + r"\S+", text)
    assert m, f"no {prefix}… number in {text!r}"
    return m.group(0)


def save_shot(page, directory: str | None, name: str) -> None:
    """A full-page PNG of ``page`` as ``<directory>/<name>.png`` when a directory is given (an env variable)."""
    if directory:
        from pathlib import Path

        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def warm_up(live_server: str, times: int = 4, timeout: float = 180) -> None:
    """A loaded machine: let both gunicorn workers build the app before the browser's timeouts start."""
    import urllib.request

    for _ in range(times):
        urllib.request.urlopen(live_server + "/signin", timeout=timeout).read()
