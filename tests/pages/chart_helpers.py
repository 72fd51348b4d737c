"""Chart checks shared by test_trend and test_tech: a tag whose newest minute is still
filling, hovering the plot for the tooltip, what the lines draw."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.conftest import SCREENSHOTS

# The chart tests bring this tag up to now: a reading every 10 s from its newest
# seeded one to the moment of the fixture (removed again afterwards), so its newest
# minute holds few readings (partial) and its last minute has raw readings whatever
# the session's seeding time was. A seeded tag: the page's tag list is cached.
LIVE_TAG = "D300"
STEP_S = 10
# "2026-12-01 19:30+09:00": the full local date, time and zone (Asia/Seoul) of a point.
POINT_LABEL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}\+09:00")


def seed_live_tag(db) -> datetime:
    """Add LIVE_TAG's readings up to now and refresh; returns its seeded newest reading (UTC).

    Waits for the first 20 s of a minute, so the newest minute holds at most three
    readings when the page reads it, well under the six of a full one."""
    while not 2 <= datetime.now(timezone.utc).second <= 20:
        time.sleep(0.5)
    seeded = db.execute("SELECT max(ts) FROM influx_hist WHERE tag_name = %s", (LIVE_TAG,)).fetchone()[0]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = []
    while now - timedelta(seconds=STEP_S * len(rows)) > seeded:
        rows.append((now - timedelta(seconds=STEP_S * len(rows)), LIVE_TAG, 5000.0 + 10 * (len(rows) % 7)))
    with db.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    refresh_range(db, seeded - timedelta(hours=1), now + timedelta(minutes=1))
    return seeded


def drop_live_tag(db, seeded: datetime) -> None:
    """Back to the seeded readings of LIVE_TAG."""
    db.execute("DELETE FROM influx_hist WHERE tag_name = %s AND ts > %s", (LIVE_TAG, seeded))
    refresh_range(db, seeded - timedelta(hours=1), datetime.now(timezone.utc) + timedelta(minutes=1))


def hover(page, testid: str, at: float) -> dict:
    """Move the mouse over the plot at fraction `at` of its width; returns the tooltip:
    {"label": heading, "names": entry names in order, "values": their texts, "units": the unit
    after each value ("" without one)}."""
    box = page.locator(f"[data-testid={testid}] .recharts-cartesian-grid").bounding_box()
    x = box["x"] + max(1.0, min(box["width"] - 1.0, box["width"] * at))
    y = box["y"] + box["height"] / 2
    page.mouse.move(x - 30, y, steps=2)
    page.mouse.move(x, y, steps=4)
    tip = f"[data-testid={testid}] .recharts-default-tooltip"
    page.wait_for_selector(f"{tip} .recharts-tooltip-label", state="visible")
    return page.eval_on_selector(tip, """t => ({
        label: t.querySelector('.recharts-tooltip-label').innerText.trim(),
        names: Array.from(t.querySelectorAll('.recharts-tooltip-item-name')).map(e => e.innerText.trim()),
        values: Array.from(t.querySelectorAll('.recharts-tooltip-item-value')).map(e => e.innerText.trim()),
        units: Array.from(t.querySelectorAll('.recharts-tooltip-item')).map(
          e => ((e.querySelector('.recharts-tooltip-item-unit') || {}).textContent || '').trim())})""")


def dots_per_line(page, testid: str) -> list[int]:
    """Dots each line of the chart draws, in the lines' order (recharts draws them only with
    `dot` on, in a layer of their own, each circle named after its line)."""
    return page.eval_on_selector(f"[data-testid={testid}]", """c => {
        const dots = Array.from(c.querySelectorAll('circle.recharts-line-dot'));
        return Array.from(c.querySelectorAll('.recharts-line-curve')).map(
          l => dots.filter(d => d.getAttribute('name') === l.getAttribute('name')).length); }""")


def chart_shot(page, testid: str, name: str) -> None:
    """A screenshot of the chart only (in view already, so the tooltip stays up while the
    mouse rests)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(f"[data-testid={testid}]").screenshot(path=str(SCREENSHOTS / f"{name}.png"))
