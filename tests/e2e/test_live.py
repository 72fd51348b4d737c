"""`/` refreshes by itself (tiles every 30 s, snapshot every 60 s) and stops when the tab closes."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import server_events, wait_loaded

pytestmark = pytest.mark.e2e


def test_dashboard_refreshes_live_and_stops_with_the_tab(seeded_app, page):
    page.goto(seeded_app.url + "/?window=24h")
    wait_loaded(page)
    page.evaluate("window.__noReload = true")
    tiles0 = page.inner_text("[data-testid=tiles-time]")
    snap0 = page.inner_text("[data-testid=snapshot-time]")
    page.wait_for_function("t => document.querySelector('[data-testid=tiles-time]').innerText !== t",
                           arg=tiles0, timeout=45_000)
    page.wait_for_function("t => document.querySelector('[data-testid=snapshot-time]').innerText !== t",
                           arg=snap0, timeout=75_000)
    assert page.evaluate("window.__noReload") is True  # updated in place, no reload
    assert page.locator("[data-testid=kpi-tile]").count() == 3
    parts = {e.get("part") for e in server_events("snapshot_refresh")}
    assert {"tiles", "snapshot"} <= parts

    page.close()  # the tab goes away: its refresh loop must end
    time.sleep(2)
    before = len(server_events("snapshot_refresh"))
    time.sleep(33)  # longer than the tiles period
    assert len(server_events("snapshot_refresh")) == before
