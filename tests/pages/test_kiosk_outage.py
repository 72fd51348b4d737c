"""A kiosk while the database is down: it keeps cycling, shows the stale state in its
header and on the page, and recovers by itself (nobody is there to press Retry).

Marked `stops_database` (like test_db_outage): tests/conftest.py runs it after every
other test, and the cluster is started again in a finally block.
"""

from __future__ import annotations

import pytest

from tests.pages.conftest import wait_loaded, wait_url
from tests.pages.test_kiosk import NEXT_PAGE_TIMEOUT_MS, PI, assert_kiosk_chrome, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.stops_database]

CYCLE_S = 8
STATUS = "document.querySelector('[data-testid=db-status]').getAttribute('data-status')"


def test_kiosk_shows_stale_keeps_cycling_and_recovers(seeded_app, pg_server, browser):
    if pg_server.cluster is None:
        pytest.skip("needs the suite's own cluster (KSYS_TEST_DSN points elsewhere)")
    context = browser.new_context(**PI)
    page = context.new_page()
    try:
        page.goto(f"{seeded_app.url}/?kiosk=1&cycle={CYCLE_S}")
        wait_loaded(page)
        page.wait_for_selector("[data-testid=kpi-tile]")
        page.evaluate("window.__noReload = true")
        try:
            pg_server.cluster.stop()
            # the snapshot's live refresh (every few seconds in the test server) fails:
            # the last rows stay, marked stale, and the header says so
            page.wait_for_function(f"{STATUS} !== 'ok'", timeout=30_000)
            page.wait_for_selector("[data-testid=stale-badge], [data-testid=error-box]", timeout=30_000)
            assert_kiosk_chrome(page)
            shoot(page, "outage_pi_dashboard")
            # the cycle does not need the database
            wait_url(page, "/comm?", timeout=NEXT_PAGE_TIMEOUT_MS)
            assert_kiosk_chrome(page)
            assert page.locator("[data-testid=db-status]").is_visible()
            page.wait_for_function("location.pathname === '/'", timeout=NEXT_PAGE_TIMEOUT_MS)
            page.wait_for_function(f"{STATUS} !== 'ok'", timeout=30_000)
            assert_kiosk_chrome(page)
        finally:
            pg_server.cluster.start()
        # back by itself: no click, no reload
        page.wait_for_function(f"{STATUS} === 'ok'", timeout=60_000)
        assert page.evaluate("window.__noReload") is True
        assert_kiosk_chrome(page)
    finally:
        context.close()
