"""Kiosk mode (`?kiosk=1`): no navigation or controls, the DB status and a clock stay,
the page cycles through KSYS_KIOSK_PAGES (default /,/comm) by client-side navigation,
and the stale state shows while the database is down.

The test server runs with the defaults (kiosk off): every kiosk here comes from the
URL, and `cycle=N` shortens the cycle so the tests need not wait 30 s a page.
"""

from __future__ import annotations

import re

import pytest

from tests.pages.conftest import SCREENSHOTS, wait_loaded, wait_url

pytestmark = pytest.mark.e2e

CYCLE_S = 5
# generous: the machine is slow and shared; a cycle that works takes CYCLE_S
NEXT_PAGE_TIMEOUT_MS = (CYCLE_S + 40) * 1000
PI = {"viewport": {"width": 800, "height": 480}, "has_touch": True}


@pytest.fixture
def pi_page(browser):
    context = browser.new_context(**PI)
    yield context.new_page()
    context.close()


def visible_nav_links(page) -> list[str]:
    links = page.locator("[data-testid^=nav-]")
    return [links.nth(i).inner_text() for i in range(links.count()) if links.nth(i).is_visible()]


def assert_kiosk_chrome(page) -> None:
    page.wait_for_selector(".app.kiosk")
    assert visible_nav_links(page) == []
    assert not page.locator("[data-testid=controls]").is_visible()
    assert page.locator("[data-testid=db-status]").is_visible()
    clock = page.locator("[data-testid=kiosk-clock]")
    page.wait_for_function("document.querySelector('[data-testid=kiosk-clock]').textContent.length > 0")
    assert clock.is_visible() and re.fullmatch(r"\d\d:\d\d:\d\d", clock.inner_text())


def shoot(page, name: str, full: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"kiosk_{name}.png"), full_page=full)


def test_kiosk_hides_chrome_and_cycles_without_reload(seeded_app, pi_page):
    page = pi_page
    page.goto(f"{seeded_app.url}/?kiosk=1&cycle={CYCLE_S}")
    wait_loaded(page)
    assert_kiosk_chrome(page)
    page.wait_for_selector("[data-testid=kpi-tile]")
    page.wait_for_selector("[data-testid=kiosk-asof]")
    shoot(page, "pi_dashboard")
    # the page's own URL rewrite (tag, window) keeps the kiosk's parameters: a reload stays a kiosk
    wait_url(page, "window=")
    assert "kiosk=1" in page.url and f"cycle={CYCLE_S}" in page.url
    page.evaluate("window.__noReload = true")
    wait_url(page, "/comm?", timeout=NEXT_PAGE_TIMEOUT_MS)
    wait_loaded(page)
    page.wait_for_function("document.querySelectorAll('[data-testid=hm-cell]').length === 720")
    assert_kiosk_chrome(page)
    assert page.evaluate("window.__noReload") is True, "the cycle reloaded the page (websocket lost)"
    shoot(page, "pi_comm")
    # and round again: back to the dashboard
    page.wait_for_function("location.pathname === '/'", timeout=NEXT_PAGE_TIMEOUT_MS)
    page.wait_for_selector("[data-testid=kpi-tile]")
    assert_kiosk_chrome(page)
    assert page.evaluate("window.__noReload") is True


@pytest.mark.parametrize("size,viewport", [("phone", {"width": 390, "height": 844}),
                                           ("desktop", {"width": 1440, "height": 900})])
def test_kiosk_at_other_sizes(seeded_app, browser, size, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        for name, path in (("dashboard", "/?kiosk=1&cycle=0"), ("comm", "/comm?tag=D100&kiosk=1&cycle=0")):
            page.goto(seeded_app.url + path)
            wait_loaded(page)
            assert_kiosk_chrome(page)
            page.wait_for_selector("[data-testid=kpi-tile], [data-testid=hm-cell]")
            page.wait_for_timeout(300)
            d = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert d[0] <= d[1], f"kiosk {name} at {size} scrolls sideways: {d}"
            assert page.locator("#kiosk-next").count() == 0  # cycle=0: stays
            shoot(page, f"{size}_{name}")
    finally:
        context.close()


def test_kiosk_off_and_garbage(seeded_app, pi_page):
    page = pi_page
    page.goto(f"{seeded_app.url}/?kiosk=0")
    wait_loaded(page)
    assert page.locator(".app.kiosk").count() == 0
    assert len(visible_nav_links(page)) == 5  # Dashboard, Trend, Tech, Comm, Alarms
    page.goto(f"{seeded_app.url}/trend?tag=D200&kiosk=garbage")
    wait_loaded(page)
    notice = page.wait_for_selector("[data-testid=kiosk-notice]")
    assert "garbage" in notice.inner_text() and "ignored" in notice.inner_text()
    assert page.locator(".app.kiosk").count() == 0
    assert len(visible_nav_links(page)) == 5


def test_kiosk_routes_are_the_registered_pages():
    """config.py validates KSYS_KIOSK_PAGES against domain.kiosk.ROUTES (it cannot import
    the pages): the two lists must agree."""
    import ksys_app.ksys_app  # noqa: F401 - registers every page
    from ksys_app.domain.kiosk import ROUTES
    from ksys_app.pages.template import pages

    assert sorted(ROUTES) == sorted(p.route for p in pages())
