"""The view lives in the query string: links reopen it, bad values fall back with a notice."""

from __future__ import annotations

import pytest

from tests.pages.conftest import screenshot, select_window, wait_chart, wait_loaded

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("route", ["trend", "tech"])
def test_link_opens_that_view(seeded_app, page, route):
    page.goto(f"{seeded_app.url}/{route}?tag=D200&window=24h")
    wait_loaded(page)
    assert page.input_value("[data-testid=tag-select]") == "D200"
    assert page.input_value("[data-testid=window-select]") == "24h"
    assert "D200 · last 24h" in page.inner_text("main")
    assert page.locator("[data-testid=notice]").count() == 0
    assert int(page.get_attribute(f"[data-testid={route}-chart]", "data-points")) > 100
    wait_chart(page, f"{route}-chart", lines=5)


def test_changing_the_view_updates_the_url_and_survives_reload(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=60m")
    wait_loaded(page)
    page.select_option("[data-testid=tag-select]", "D300")
    page.wait_for_function("location.search.includes('tag=D300')")
    select_window(page, "12h")
    page.wait_for_function("location.search.includes('window=12h')")
    assert page.url.endswith("/trend?tag=D300&window=12h")
    page.reload()
    wait_loaded(page)
    assert page.input_value("[data-testid=tag-select]") == "D300"
    assert page.input_value("[data-testid=window-select]") == "12h"


def test_bogus_window_shows_notice_and_default(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=bogus")
    wait_loaded(page)
    notice = page.inner_text("[data-testid=notice]")
    assert "Unknown window 'bogus' — showing 5m" in notice
    assert page.input_value("[data-testid=window-select]") == "5m"
    page.wait_for_function("location.search.includes('window=5m')")
    screenshot(page, "notice_bogus_window")
    page.click("[data-testid=notice] button")
    page.wait_for_selector("[data-testid=notice]", state="detached")


def test_unknown_tag_shows_notice(seeded_app, page):
    page.goto(f"{seeded_app.url}/tech?tag=NOPE&window=60m")
    wait_loaded(page)
    assert "Unknown tag 'NOPE' — showing D100" in page.inner_text("[data-testid=notice]")
    assert page.input_value("[data-testid=tag-select]") == "D100"
    assert page.input_value("[data-testid=window-select]") == "60m"


def test_dashboard_window_in_url(seeded_app, page):
    page.goto(f"{seeded_app.url}/?window=7d")
    wait_loaded(page)
    assert page.input_value("[data-testid=window-select]") == "7d"
    page.goto(f"{seeded_app.url}/?window=1M")  # codes are case-sensitive
    wait_loaded(page)
    assert "Unknown window '1M' — showing 5m" in page.inner_text("[data-testid=notice]")
