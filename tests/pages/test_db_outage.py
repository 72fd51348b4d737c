"""Database stopped and started again: stale / error state, automatic retry, recovery in place.

Marked `stops_database`: it stops the shared test cluster under the shared e2e app and
restarts it in a finally block, so tests/conftest.py moves it after every other test.
"""

from __future__ import annotations

import time

import pytest

from tests.pages.conftest import screenshot, select_window, wait_chart, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.stops_database]


def test_outage_shows_stale_then_error_and_recovers_without_reload(seeded_app, pg_server, page):
    if pg_server.cluster is None:
        pytest.skip("needs the suite's own cluster (KSYS_TEST_DSN points elsewhere)")
    page.goto(f"{seeded_app.url}/trend?tag=D300&window=60m")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    page.evaluate("window.__noReload = true")
    dash = page.context.new_page()
    dash.goto(seeded_app.url + "/")
    wait_loaded(dash)
    rows_before = page.get_attribute("[data-testid=history-count]", "data-count")
    try:
        pg_server.cluster.stop()
        # a read with a last good value: rows stay, marked stale, with the error code
        page.click("[data-testid=refresh-btn]")
        badge = page.wait_for_selector("[data-testid=stale-badge]", timeout=20_000)
        assert "DB_CONN" in badge.inner_text()
        assert page.get_attribute("[data-testid=db-status]", "data-status") == "stale"
        assert page.get_attribute("[data-testid=history-count]", "data-count") == rows_before
        screenshot(page, "outage_stale")
        # a read never made before has nothing to fall back on: error box with code and Retry
        select_window(page, "7d")
        box = page.wait_for_selector("[data-testid=error-box]", timeout=20_000)
        assert page.inner_text("[data-testid=error-code]") in ("DB_CONN", "DB_TIMEOUT")
        assert page.locator("[data-testid=retry-btn]").is_visible()
        assert page.get_attribute("[data-testid=db-status]", "data-status") == "down"
        page.wait_for_selector("[data-testid=retry-countdown]")
        page.click("[data-testid=retry-btn]")  # a manual retry fails the same way
        page.wait_for_selector("[data-testid=error-box]")
        screenshot(page, "outage_error")
        assert box.is_visible()
        # a page opened during the outage: error box, then data once the database is back
        second = page.context.new_page()
        second.goto(f"{seeded_app.url}/comm?tag=D300")
        second.wait_for_selector("[data-testid=error-box]", timeout=20_000)
        assert second.locator("[data-testid=hm-cell]").count() == 0
        # the snapshot's Comm. column: not known while the database does not answer
        dash.click("[data-testid=refresh-btn]")
        dash.wait_for_selector("[data-testid=stale-badge]", timeout=20_000)
        dots = dash.eval_on_selector_all("[data-testid=snapshot-row] [data-comm]",
                                         "els => els.map(e => e.getAttribute('data-comm'))")
        assert dots and set(dots) == {"unknown"}
    finally:
        pg_server.cluster.start()
    t0 = time.monotonic()
    # no reload, no click: the backoff retry (<= 8 s apart) brings the data back
    page.wait_for_selector("[data-testid=trend-chart] .recharts-line-curve", timeout=30_000)
    page.wait_for_function(
        "document.querySelector('[data-testid=db-status]').getAttribute('data-status') === 'ok'",
        timeout=30_000)
    recovered_s = time.monotonic() - t0
    assert page.locator("[data-testid=error-box]").count() == 0
    assert page.locator("[data-testid=stale-badge]").count() == 0
    assert page.evaluate("window.__noReload") is True
    assert page.input_value("[data-testid=window-select]") == "7d"
    print(f"\nrecovered {recovered_s:.1f} s after the database started")
    second.wait_for_function("document.querySelectorAll('[data-testid=hm-cell]').length === 720",
                             timeout=30_000)
    assert second.get_attribute("[data-testid=db-status]", "data-status") == "ok"
    dash.click("[data-testid=refresh-btn]")
    dash.wait_for_function("Array.from(document.querySelectorAll('[data-testid=snapshot-row] [data-comm]'))"
                           ".every(e => e.getAttribute('data-comm') !== 'unknown')", timeout=30_000)
    wait_loaded(page)
    screenshot(page, "outage_recovered")
