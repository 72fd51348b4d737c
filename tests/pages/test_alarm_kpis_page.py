"""/alarms' KPI panel against the journal counted here, and its period in the URL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.pages.conftest import screenshot, wait_loaded

pytestmark = pytest.mark.e2e


def _announced(db, days: int) -> int:
    until = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return db.execute("SELECT count(*) FROM alarm_journal WHERE action = 'activate' AND new_state = 'unack' "
                      "AND at >= %s AND at < %s", (until - timedelta(days=days), until)).fetchone()[0]


@pytest.mark.parametrize("days", [1, 7])
def test_the_panel_counts_what_the_journal_holds(seeded_app, page, db, days):
    db.execute("SELECT ksys.run_alarms()")
    before = _announced(db, days)
    page.goto(f"{seeded_app.url}/alarms?kpi_days={days}")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=kpi-activations]:not(:empty)")
    shown = int(page.inner_text("[data-testid=kpi-activations]"))
    after = _announced(db, days)  # the tick may add alarms meanwhile: the page's count lies between
    assert before <= shown <= after, (before, shown, after)
    assert shown > 0
    rate = float(page.inner_text("[data-testid=kpi-rate]"))
    assert rate == pytest.approx(shown / (days * 144), abs=0.006)
    assert page.locator("[data-testid=kpi-top] li").count() >= 1
    assert page.locator("[data-testid=kpi-priorities] li").count() == 3
    assert f"kpi_days={days}" in page.url
    for width, height in ((800, 480), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.locator("[data-testid=kpi-panel]").scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        screenshot(page, f"alarm-kpis-{width}-{days}d")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width


def test_an_unknown_period_falls_back_with_a_notice(seeded_app, page):
    page.goto(f"{seeded_app.url}/alarms?kpi_days=365")
    wait_loaded(page)
    assert "kpi_days" in page.inner_text("[data-testid=notice]")
    assert page.input_value("[data-testid=kpi-days]") == "30"
