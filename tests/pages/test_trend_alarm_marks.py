"""/trend shades where the tag's alarms were active: as many stretches as the journal
holds over the chart's span, high priority red and medium amber."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.chart_helpers import hover
from tests.pages.conftest import goto_new_tag, screenshot, wait_chart

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Asia/Seoul")


def _expected(db, tag: str, lo: datetime, hi: datetime) -> dict[str, int]:
    """Stretches per priority, from the journal read here: an activation inside the span
    starts one, and so does a limit already active when the span begins."""
    out = {"high": 0, "medium": 0}
    for kind, priority, inside, active_before in db.execute(
            """SELECT k.kind, k.priority,
                      (SELECT count(*) FROM alarm_journal j WHERE j.tag_name = %(t)s AND j.kind = k.kind
                         AND j.action = 'activate' AND j.at >= %(lo)s AND j.at < %(hi)s),
                      (SELECT j.action = 'activate' FROM alarm_journal j WHERE j.tag_name = %(t)s AND j.kind = k.kind
                         AND j.action IN ('activate', 'clear') AND j.at < %(lo)s ORDER BY j.at DESC LIMIT 1)
               FROM alarm_states k WHERE k.tag_name = %(t)s""",
            {"t": tag, "lo": lo, "hi": hi}).fetchall():
        out[priority] += inside + (1 if active_before else 0)
    return out


TAG = "MARK1"


@pytest.fixture
def marked_tag(db):
    """MARK1: one reading a minute from 8 h to 1 h ago at 40, with warn_max 45 and
    crit_max 50: at 47 until 5 h 40 min ago (medium active when the chart, 6 h long, begins), at 60
    for 20 minutes from 5 h ago (medium and high), at 47 for 30 minutes from 3 h ago."""
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(hours=7)
    rows = []
    for i in range(7 * 60):
        t = start + timedelta(minutes=i)
        ago = end - t
        value = 40.0
        if ago > timedelta(hours=5, minutes=40):
            value = 47.0
        elif timedelta(hours=4, minutes=40) < ago <= timedelta(hours=5):
            value = 60.0
        elif timedelta(hours=2, minutes=30) < ago <= timedelta(hours=3):
            value = 47.0
        rows.append((t, TAG, value))
    db.execute("INSERT INTO influx_qc_rule (tag_name, enabled, warn_max, crit_max) VALUES (%s, true, 45, 50)", (TAG,))
    with db.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    refresh_range(db, start - timedelta(hours=1), end + timedelta(hours=1))
    db.execute("SELECT ksys.run_alarms()")
    yield end - timedelta(hours=6), end
    db.execute("DELETE FROM influx_hist WHERE tag_name = %s", (TAG,))
    db.execute("DELETE FROM influx_qc_rule WHERE tag_name = %s", (TAG,))
    db.execute("DELETE FROM ksys.tag_registry WHERE tag_name = %s", (TAG,))
    refresh_range(db, start - timedelta(hours=1), end + timedelta(hours=1))
    db.execute("SELECT ksys.run_alarms()")


def test_alarm_stretches_on_the_chart_equal_the_journal(seeded_app, page, db, marked_tag):
    lo, hi = marked_tag
    want = _expected(db, TAG, lo, hi)
    assert want == {"high": 1, "medium": 3}
    goto_new_tag(page, f"{seeded_app.url}/trend?tag={TAG}&from={lo.astimezone(TZ):%Y-%m-%dT%H:%M}"
                       f"&to={hi.astimezone(TZ):%Y-%m-%dT%H:%M}", TAG)
    wait_chart(page, "trend-chart")
    got = {level: page.locator(f"[data-testid=trend-chart] .alarm-area-{level}").count() for level in want}
    assert got == want
    assert page.locator("[data-testid=alarm-marks-note]").count() == 1
    # hovering inside the high stretch (60 from 5 h to 4 h 40 min before the end) names the
    # alarms active there; at 40, 1 h 12 min before the end, nothing is
    inside = hover(page, "trend-chart", 0.195)
    assert "alarm: " in inside["label"] and "crit high" in inside["label"] and "warn high" in inside["label"], inside
    outside = hover(page, "trend-chart", 0.8)
    assert "alarm" not in outside["label"], outside
    # the range controls and the shaded chart fit the Pi, a phone and a desktop
    for width, height in ((800, 480), (390, 844), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        screenshot(page, f"trend-range-alarms-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
