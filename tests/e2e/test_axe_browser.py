"""axe-core (the npm package in tests/e2e/axe/, installed by `make install-dev`) injected by Playwright into the
main pages of each kind of person, at desktop and phone width: no serious or critical violation."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.phone_pages import main_pages, open_signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN = """
async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
}
"""


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_main_pages(world, browser, live_server, viewport):
    if not AXE.exists():
        pytest.skip("axe-core not installed (make install-dev runs npm ci in tests/e2e/axe)")
    script = AXE.read_text()
    failures = {}
    contexts = []
    try:
        for user, pages in main_pages(world):
            page = open_signed_in(browser, live_server, user, viewport, contexts, bypass_csp=True)
            for _name, path in pages:
                page.goto(live_server + path)
                page.add_script_tag(content=script)
                found = page.evaluate(RUN)
                if found:
                    failures[f"{user.email} {path}"] = found
    finally:
        for c in contexts:
            c.close()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
