"""Zoom and pan on /trend: a drag across the chart shows that stretch (the URL follows,
Back returns), a double-click goes back to the window, zoom out doubles the span and pan
moves it by half; forged zoom requests change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from ksys_app.domain.time_range import parse_instant
from tests.pages.conftest import wait_chart, wait_loaded

pytestmark = pytest.mark.e2e

SEOUL = __import__("zoneinfo").ZoneInfo("Asia/Seoul")


def _range(page) -> tuple[datetime, datetime]:
    q = parse_qs(urlsplit(page.url).query)
    end = datetime.now(timezone.utc) if q["to"][0] == "now" else parse_instant(q["to"][0], SEOUL)
    return parse_instant(q["from"][0], SEOUL), end


def _drag(page, a: float, b: float) -> None:
    box = page.locator("[data-testid=trend-chart] .recharts-cartesian-grid").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * a, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (a + b) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * b, y, steps=4)
    page.mouse.up()


def test_drag_zooms_and_back_returns(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=24h")
    wait_loaded(page)
    wait_chart(page, "trend-chart")
    first = int(page.get_attribute("[data-testid=zoomable]", "data-first-ms"))
    last = int(page.get_attribute("[data-testid=zoomable]", "data-last-ms"))
    _drag(page, 0.25, 0.5)
    page.wait_for_function("() => location.search.includes('from=')")
    wait_loaded(page)
    start, end = _range(page)
    want_start = datetime.fromtimestamp((first + (last - first) * 0.25) / 1000, timezone.utc)
    want_end = datetime.fromtimestamp((first + (last - first) * 0.5) / 1000, timezone.utc)
    # the drag's ends in proportion of the plot, to the minute the URL writes
    assert abs(start - want_start) < timedelta(minutes=3) and abs(end - want_end) < timedelta(minutes=3)
    page.wait_for_selector("[data-testid=range-title]")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('from=')")
    wait_loaded(page)
    assert page.input_value("[data-testid=window-select]") == "24h"


def test_zoom_out_pan_and_double_click(seeded_app, page):
    day = (datetime.now(SEOUL) - timedelta(days=3)).date()
    page.goto(f"{seeded_app.url}/trend?tag=D100&from={day}T10:00&to={day}T12:00")
    wait_loaded(page)
    start, end = _range(page)
    page.click("[data-testid=zoom-out]")
    page.wait_for_function("f => !location.search.includes(f)", arg="T10%3A00")
    wait_loaded(page)
    s2, e2 = _range(page)
    assert (s2, e2) == (start - timedelta(hours=1), end + timedelta(hours=1))
    page.click("[data-testid=pan-earlier]")
    page.wait_for_function("f => !location.search.includes(f)", arg="T09%3A00")
    wait_loaded(page)
    s3, e3 = _range(page)
    assert (s3, e3) == (s2 - timedelta(hours=2), e2 - timedelta(hours=2))
    wait_chart(page, "trend-chart")
    box = page.locator("[data-testid=trend-chart] .recharts-cartesian-grid").bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => !location.search.includes('from=')")


@pytest.mark.parametrize("forged", ["", "reset;", "1,2,3", "abc,def", "5,3", "9" * 30 + ",1", "١٢,٣٤", None, 7, [1, 2]])
def test_forged_zoom_requests_change_nothing(seeded_app, page, forged):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=60m")
    wait_loaded(page)
    before = page.url
    page.evaluate("""v => {
        const input = document.getElementById('zoom-request');
        const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
        set.call(input, typeof v === 'string' ? v : JSON.stringify(v));
        input.dispatchEvent(new Event('input', {bubbles: true}));
    }""", forged)
    page.wait_for_timeout(800)

    def view(url: str) -> tuple:  # the page rewrites /trend/ to /trend on load: compare what is shown
        parts = urlsplit(url)
        return parts.path.rstrip("/"), parse_qs(parts.query)
    assert view(page.url) == view(before)
    assert page.locator("[data-testid=error-box]").count() == 0
