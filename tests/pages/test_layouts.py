"""The pages at the operator's screens: the Pi touchscreen (800 x 480), a phone
(390 x 844) and a desktop (1440 x 900).

No page scrolls sideways at any size; on the touch screens every control is at least
44 x 44 px; on the Pi the KPI tiles are above the fold, abnormal ones first; wide
tables and the heatmap scroll inside their own box. Screenshots of every page at
every size go to test-output/screenshots/layout_<size>_<page>.png (the first screen)
and ..._full.png (the whole page).
"""

from __future__ import annotations

import pytest

from ksys_app.domain.attention import attention_rank
from tests.pages.conftest import SCREENSHOTS, wait_chart, wait_loaded
from tests.pages.layout_probe import sideways, small_targets, summarize

pytestmark = pytest.mark.e2e

SIZES = {
    "pi": {"viewport": {"width": 800, "height": 480}, "has_touch": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}
TOUCH = ("pi", "phone")
PAGES = {
    "dashboard": "/?window=24h",
    "trend": "/trend?tag=D200&window=60m",
    "tech": "/tech?tag=D200&window=60m",
    "comm": "/comm?tag=D100",
    "alarms": "/alarms",
}


@pytest.fixture(params=list(SIZES))
def sized(request, browser):
    context = browser.new_context(**SIZES[request.param])
    yield request.param, context.new_page()
    context.close()


def open_page(page, url: str, name: str) -> None:
    page.goto(url)
    wait_loaded(page)
    if name == "dashboard":
        page.wait_for_selector("[data-testid=kpi-tile]")
        page.wait_for_selector("[data-testid=snapshot-row]")
    elif name == "comm":
        page.wait_for_function("document.querySelectorAll('[data-testid=hm-cell]').length === 720")
    elif name == "alarms":
        page.wait_for_selector("[data-testid=alarm-row], [data-testid=no-alarms]")
    else:
        wait_chart(page, f"{name}-chart", lines=5)
    page.wait_for_timeout(300)  # the chart's first layout


def shoot(page, size: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"layout_{size}_{name}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"layout_{size}_{name}_full.png"), full_page=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_sideways_scroll_and_touch_targets(seeded_app, sized, name):
    size, page = sized
    open_page(page, seeded_app.url + PAGES[name], name)
    shoot(page, size, name)
    wide = sideways(page)
    assert wide["scrollWidth"] <= wide["clientWidth"], f"{name} at {size} scrolls sideways: {wide}"
    if size in TOUCH:
        violators = small_targets(page)
        assert not violators, f"{name} at {size}: " + summarize(violators)


def test_pi_dashboard_tiles_above_the_fold_abnormal_first(seeded_app, browser):
    context = browser.new_context(**SIZES["pi"])
    page = context.new_page()
    try:
        open_page(page, seeded_app.url + PAGES["dashboard"], "dashboard")
        first = page.locator("[data-testid=kpi-tile]").first.bounding_box()
        assert first["y"] < 480, f"the first KPI tile starts {first['y']} px down"
        assert first["y"] + first["height"] <= 480, f"the first KPI tile ends below the fold: {first}"
        # the tiles come before the snapshot table
        table = page.locator("[data-testid=snapshot-table]").bounding_box()
        assert table["y"] > first["y"]
        tones = page.eval_on_selector_all("[data-testid=kpi-tile]", "els => els.map(e => e.dataset.tone)")
        ranks = [attention_rank(t) for t in tones]
        assert ranks == sorted(ranks), f"abnormal tiles are not first: {tones}"
    finally:
        context.close()


def test_phone_snapshot_shows_every_column(seeded_app, browser):
    context = browser.new_context(**SIZES["phone"])
    page = context.new_page()
    try:
        open_page(page, seeded_app.url + PAGES["dashboard"], "dashboard")
        width = page.evaluate("document.documentElement.clientWidth")
        cells = page.eval_on_selector_all(
            "[data-testid=snapshot-row]:first-child td",
            "tds => tds.map(td => { const r = td.getBoundingClientRect();"
            " return {text: td.innerText.trim(), left: r.left, right: r.right}; })")
        assert len(cells) == 5
        cut = [c for c in cells if c["left"] < 0 or c["right"] > width]
        assert not cut, f"snapshot cells outside the {width} px screen: {cut}"
    finally:
        context.close()


@pytest.mark.parametrize("size", ["pi", "desktop"])
def test_trend_features_table_fits(seeded_app, browser, size):
    """At 800 px and up the features table shows every column (p90, n) without scrolling."""
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    try:
        open_page(page, seeded_app.url + PAGES["trend"], "trend")
        page.wait_for_selector("[data-testid=features-row]")
        fit = page.eval_on_selector("[data-testid=features-table]",
                                    "t => ({table: t.scrollWidth, box: t.parentElement.clientWidth})")
        assert fit["table"] <= fit["box"], f"features table wider than its card at {size}: {fit}"
        chart = page.locator("[data-testid=trend-chart]").bounding_box()
        assert chart["y"] < SIZES[size]["viewport"]["height"], f"the chart starts below the fold: {chart}"
    finally:
        context.close()


def test_desktop_heatmap_fits_without_scrolling(seeded_app, browser):
    context = browser.new_context(**SIZES["desktop"])
    page = context.new_page()
    try:
        open_page(page, seeded_app.url + PAGES["comm"], "comm")
        fit = page.eval_on_selector("[data-testid=comm-heatmap]", "h => [h.scrollWidth, h.clientWidth]")
        assert fit[0] <= fit[1], f"the heatmap scrolls at 1440 px: {fit}"
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_navbar_is_compact(seeded_app, browser, size):
    """At most two rows (brand and DB status, then the links on a phone), the four
    links on one of them, and all of it on the screen."""
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    try:
        page.goto(seeded_app.url + "/trend?tag=D200")
        wait_loaded(page)
        bar = page.locator(".navbar").bounding_box()
        tops = {round(page.locator(f"[data-testid=nav-{n}]").bounding_box()["y"])
                for n in ("dashboard", "trend", "tech", "comm")}
        assert len(tops) == 1, f"the nav links wrap at {size}: tops {tops}"
        assert bar["height"] <= 2 * 44 + 12, f"the navbar is {bar['height']} px high at {size}"
        width = page.evaluate("document.documentElement.clientWidth")
        status = page.locator("[data-testid=db-status]").bounding_box()
        last = page.locator("[data-testid=nav-comm]").bounding_box()
        off = [name for name, box in (("db-status", status), ("nav-comm", last)) if box["x"] + box["width"] > width]
        assert not off, f"off the {width} px screen at {size}: {off}"
    finally:
        context.close()


def test_phone_tapped_hour_shows_its_numbers_in_view(seeded_app, browser):
    """On a phone the heatmap is 30 rows of 44 px: the selected hour's numbers stay in
    view (at the bottom) instead of 1,400 px further down, and the hours scroll inside
    the card, not the page."""
    context = browser.new_context(**SIZES["phone"])
    page = context.new_page()
    try:
        open_page(page, seeded_app.url + PAGES["comm"], "comm")
        cell = page.locator("#cell-250")  # day 10, hour 10: below the first screen, right of it
        cell.scroll_into_view_if_needed()
        cell.tap()
        page.wait_for_selector("#cell-250.selected")
        page.wait_for_selector("[data-testid=detail-rate]")
        wide = sideways(page)
        assert wide["scrollWidth"] <= wide["clientWidth"], f"the selected hour's numbers widen the page: {wide}"
        assert page.evaluate("innerWidth") == 390, "the page no longer fits: the phone zoomed out"
        box = page.locator("[data-testid=detail-card]").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 844, f"the detail is out of view: {box}"
        scroll = page.eval_on_selector("[data-testid=comm-heatmap]", "h => h.scrollLeft")
        assert scroll > 0, "hour 10 was reached by scrolling the page, not the heatmap"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "layout_phone_comm_selected.png"))
    finally:
        context.close()
