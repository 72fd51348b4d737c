"""The kiosk's alarm sound (`?kiosk=1&sound=1`, assets/kiosk.js): asked for when the
banner's count of unacknowledged high-priority alarms goes up, not for the alarms already
there when the page opened, and never without `sound=1`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.conftest import wait_loaded

pytestmark = pytest.mark.e2e

TAG = "SOUND1"


def _high(page) -> int:
    return int(page.get_attribute("[data-testid=alarm-banner]", "data-high") or 0)


@pytest.fixture
def new_high_alarm(db):
    """A callable that raises one more unacknowledged high alarm; cleaned up after."""
    def raise_one() -> None:
        db.execute("INSERT INTO influx_qc_rule (tag_name, enabled, crit_max) VALUES (%s, true, 10) "
                   "ON CONFLICT (tag_name) DO NOTHING", (TAG,))
        db.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, 20)",
                   (datetime.now(timezone.utc) - timedelta(seconds=30), TAG))
        db.execute("SELECT ksys.run_alarms()")
    yield raise_one
    db.execute("DELETE FROM influx_hist WHERE tag_name = %s", (TAG,))
    db.execute("DELETE FROM influx_qc_rule WHERE tag_name = %s", (TAG,))
    db.execute("DELETE FROM ksys.tag_registry WHERE tag_name = %s", (TAG,))
    # the scheduler may have rolled the reading up meanwhile: without it the rollups keep
    # SOUND1, and the next page tests count a fourth KPI tile
    now = datetime.now(timezone.utc)
    refresh_range(db, now - timedelta(minutes=30), now + timedelta(minutes=1))
    db.execute("SELECT ksys.run_alarms()")


@pytest.mark.parametrize("query, sounds", [("kiosk=1&sound=1", 1), ("kiosk=1", 0), ("sound=1", 0)])
def test_a_new_high_alarm_sounds_in_kiosk_mode_with_sound_on(seeded_app, page, db, new_high_alarm, query, sounds):
    db.execute("SELECT ksys.run_alarms()")
    page.goto(f"{seeded_app.url}/?{query}")
    wait_loaded(page)
    page.wait_for_function("() => document.querySelector('[data-testid=alarm-banner]')"
                           " && document.querySelector('[data-testid=alarm-banner]').getAttribute('data-high') !== null")
    page.wait_for_timeout(1500)  # the script has seen the count the page opened with
    before = _high(page)
    assert page.evaluate("window.__ksysAlarmSounds") == 0  # alarms already there do not sound
    new_high_alarm()
    page.wait_for_function("n => Number(document.querySelector('[data-testid=alarm-banner]')"
                           ".getAttribute('data-high')) > n", arg=before, timeout=20_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__ksysAlarmSounds") == sounds
    if "sound=1" in query:
        assert "sound=1" in page.url  # kept through the page's URL rewrite
