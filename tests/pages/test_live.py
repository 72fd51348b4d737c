"""`/` refreshes by itself (tiles and snapshot, each on its period) and stops when the tab closes.

The test server runs with both periods set to conftest.LIVE_PERIOD_S (the
defaults are 30 s for the tiles and 60 s for the snapshot).
"""

from __future__ import annotations

import time

import pytest

from tests.pages.conftest import LIVE_PERIOD_S, server_events, wait_loaded

pytestmark = pytest.mark.e2e

# Room for one period plus a slow read on a busy machine.
CHANGE_TIMEOUT_MS = (LIVE_PERIOD_S + 15) * 1000


def test_dashboard_refreshes_live_and_stops_with_the_tab(seeded_app, page):
    page.goto(seeded_app.url + "/?window=24h")
    wait_loaded(page)
    page.evaluate("window.__noReload = true")
    assert page.inner_text("[data-testid=tiles-time]").endswith(f"every {LIVE_PERIOD_S} s")
    assert page.inner_text("[data-testid=snapshot-time]").endswith(f"every {LIVE_PERIOD_S} s")
    tiles0 = page.inner_text("[data-testid=tiles-time]")
    snap0 = page.inner_text("[data-testid=snapshot-time]")
    page.wait_for_function("t => document.querySelector('[data-testid=tiles-time]').innerText !== t",
                           arg=tiles0, timeout=CHANGE_TIMEOUT_MS)
    page.wait_for_function("t => document.querySelector('[data-testid=snapshot-time]').innerText !== t",
                           arg=snap0, timeout=CHANGE_TIMEOUT_MS)
    assert page.evaluate("window.__noReload") is True  # updated in place, no reload
    assert page.locator("[data-testid=kpi-tile]").count() == 3
    parts = {e.get("part") for e in server_events("snapshot_refresh")}
    assert {"tiles", "snapshot"} <= parts

    page.close()  # the tab goes away: its refresh loop must end
    time.sleep(2)
    before = len(server_events("snapshot_refresh"))
    time.sleep(3 * LIVE_PERIOD_S + 1)  # several refresh periods
    assert len(server_events("snapshot_refresh")) == before
