"""Screenshots of every page at 1280 px, full pages, in test-output/screenshots/ (README's
images come from the demo instead: ksys_dev/screenshots.py)."""

from __future__ import annotations

import pytest

from tests.pages.conftest import SCREENSHOTS, wait_chart, wait_loaded

pytestmark = pytest.mark.e2e

PAGES = [
    ("dashboard", "/?window=24h"),
    ("trend", "/trend?tag=D200&window=60m"),
    ("tech", "/tech?tag=D200&window=60m"),
    ("comm", "/comm?tag=D100"),
]


@pytest.mark.parametrize("name,path", PAGES)
def test_page_screenshot(seeded_app, browser, name, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    logs: list[str] = []
    page.on("console", lambda m: logs.append(f"{m.type}: {m.text}"[:300]))
    page.on("pageerror", lambda e: logs.append(f"pageerror: {e}"[:300]))
    try:
        page.goto(seeded_app.url + path)
        wait_loaded(page)
        if name == "comm":
            page.click("[data-testid=hm-cell][data-band=ok] >> nth=100")
            page.wait_for_selector("[data-testid=detail-rate]")
        else:
            page.wait_for_selector(".kpi-tile, .recharts-line-curve")
            if name in ("trend", "tech"):
                wait_chart(page, f"{name}-chart", lines=5)
        page.wait_for_timeout(300)  # let the chart finish its first layout
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"page_{name}.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"failed_{name}.png"))
        print("\n".join(logs))
        raise
    finally:
        context.close()
