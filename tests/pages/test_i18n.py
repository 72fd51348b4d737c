"""Korean and English: ?lang=, the navbar switch and the browser's cookie; every label in both."""

from __future__ import annotations

import re

import pytest

from tests.pages.conftest import UNITS, screenshot, wait_loaded

pytestmark = pytest.mark.e2e

ROUTES = ["/", "/trend?tag=D200&window=24h", "/tech?tag=D200&window=24h", "/comm?tag=D100"]
# Latin words a Korean page may show: tag and relation names, units and codes, window codes
ALLOWED = re.compile(r"^(D\d+|ksys|KPI|DB|SMA|BB|CSV|UTC|TS_DSN|features_5m|influx_latest|sma_10|sma_60|"
                     r"bb_top|bb_bot|slope_60|p10|p90|n|min|h|d|m|s|ms|KB|NOQC_FLOW|OLD_D900|English|Tab|Enter)$")


def latin_words(page) -> list[str]:
    text = page.evaluate("document.body.innerText")
    # the seeded tags' units (influx_qc_rule.meta.unit) are data, shown as recorded
    return sorted({w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if not ALLOWED.match(w)
                   and not re.fullmatch(r"\d+[a-z]", w) and w not in UNITS.values()})


@pytest.mark.parametrize("route", ROUTES)
def test_a_korean_page_has_no_english_label(seeded_app, page, route):
    sep = "&" if "?" in route else "?"
    page.goto(f"{seeded_app.url}{route}{sep}lang=ko")
    wait_loaded(page)
    page.wait_for_function("document.documentElement.lang === 'ko'")
    page.wait_for_timeout(500)
    assert re.search(r"[\uac00-\ud7a3]", page.evaluate("document.body.innerText"))
    assert latin_words(page) == []
    assert re.fullmatch(r"ksys · [\uac00-\ud7a3 ]+", page.title()), page.title()
    name = route.strip("/").split("?")[0] or "dashboard"
    screenshot(page, f"ko_{name}")


def test_the_switch_keeps_the_view_and_the_browser_keeps_the_language(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=24h")
    wait_loaded(page)
    assert page.inner_text("[data-testid=nav-trend]") == "Trend"
    page.click("[data-testid=lang-switch]")
    page.wait_for_function("location.search.includes('lang=ko')")
    wait_loaded(page)
    page.wait_for_function("document.querySelector('[data-testid=nav-trend]').innerText === '추이'")
    assert page.input_value("[data-testid=tag-select]") == "D200"
    assert page.input_value("[data-testid=window-select]") == "24h"
    assert page.inner_text("[data-testid=lang-switch]") == "English"
    # the cookie: a page opened without ?lang= is Korean too
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    page.wait_for_function("document.querySelector('[data-testid=nav-comm]').innerText === '통신'")
    assert "화" in page.inner_text("[data-testid=comm-heatmap]") or "월" in page.inner_text("[data-testid=comm-heatmap]")
    # and back
    page.click("[data-testid=lang-switch]")
    page.wait_for_function("document.querySelector('[data-testid=nav-comm]').innerText === 'Comm'")
    # <html lang> comes with the page's load, a moment after the labels
    page.wait_for_function("document.documentElement.lang === 'en' && document.title === 'ksys · Comm'")


def test_an_unknown_language_is_a_notice_and_english(seeded_app, page):
    page.goto(f"{seeded_app.url}/?lang=xx")
    wait_loaded(page)
    assert "Unknown language 'xx'" in page.inner_text("[data-testid=notice]")
    assert page.inner_text("[data-testid=nav-dashboard]") == "Dashboard"


def test_notices_about_bad_url_values_speak_the_page_language(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D200&kiosk=garbage&cycle=x&lang=ko")
    wait_loaded(page)
    notice = page.wait_for_selector("[data-testid=kiosk-notice]").inner_text()
    assert "garbage" in notice and "무시합니다" in notice and "ignored" not in notice
