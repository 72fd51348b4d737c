"""`/`: latest snapshot table and one KPI tile per tag, checked against the database."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.comm import comm_status
from ksys_app.domain.kpi import QcRule, alarm_badge, status_level
from ksys_app.domain.timefmt import format_local, format_local_short
from ksys_app.domain.windows import DEFAULT_WINDOW, WINDOW_CODES
from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.conftest import QC_RULES, UNITS, screenshot, table_rows, wait_loaded, wait_url

pytestmark = pytest.mark.e2e

RULES = {t: QcRule(t, lo, hi, wlo, whi, clo, chi) for t, lo, hi, wlo, whi, clo, chi in QC_RULES}


def latest(db) -> dict[str, tuple[float, datetime]]:
    return {t: (v, ts) for t, v, ts in db.execute("SELECT tag_name, value, ts FROM influx_latest")}


def test_tiles_one_per_tag_with_last_value_and_range(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/?window=24h")
    wait_loaded(page)
    rows = latest(db)
    tiles = page.locator("[data-testid=kpi-tile]")
    assert tiles.count() == len(rows) == 3
    for tag, (value, ts) in rows.items():
        tile = page.locator(f"[data-testid=kpi-tile][data-tag={tag}]")
        assert tile.locator("[data-testid=kpi-title]").inner_text() == tag
        # value and time of one reading: the snapshot's newest one
        assert tile.locator("[data-testid=kpi-value]").inner_text() == f"{value:.1f}"  # PRD value_s
        unit = tile.locator("[data-testid=kpi-unit]")
        assert (unit.inner_text() if unit.count() else "") == UNITS.get(tag, "")
        assert tile.locator("[data-testid=kpi-ts]").inner_text() == format_local_short(ts, "Asia/Seoul")
        rule = RULES[tag]
        assert tile.locator("[data-testid=kpi-range]").inner_text() == f"{rule.min_val:.1f} ~ {rule.max_val:.1f}"
        gauge = tile.locator("[data-testid=kpi-gauge]")
        assert gauge.get_attribute("data-status") == str(status_level(value, rule))
        assert 0.0 <= float(gauge.get_attribute("data-pct")) <= 100.0
        delta = tile.locator("[data-testid=kpi-delta]")
        # a percentage, or the absolute change when the previous bucket's last is near 0
        # (|prev| < 1 % of the QC span: PRD.md resolution 24)
        if delta.get_attribute("data-mode") == "abs":
            assert re.fullmatch(r"[+-]\d+\.\d", delta.inner_text()), delta.inner_text()
        else:
            assert re.fullmatch(r"[+-]\d+\.\d%", delta.inner_text()), delta.inner_text()
        assert tile.get_attribute("data-tone") == ("normal", "warn", "crit")[status_level(value, rule)]
    screenshot(page, "dashboard_24h")


def test_snapshot_table_matches_influx_latest(seeded_app, page, db):
    before = datetime.now(timezone.utc)
    page.goto(seeded_app.url + "/")
    wait_loaded(page)
    shown = {r[0]: r for r in table_rows(page, "snapshot-table")}
    after = datetime.now(timezone.utc)
    rows = latest(db)
    assert set(shown) == set(rows)
    labels = {"ok": "ok", "late": "late", "no_data": "no data"}
    interval = {"D100": 60.0, "D200": 10.0, "D300": 10.0}  # seeded ingest_expectation
    for tag, (value, ts) in rows.items():
        _tag, ts_s, value_s, comm_s, alarm_s = shown[tag]
        assert ts_s == format_local(ts, "Asia/Seoul")
        assert ts_s.endswith("+09:00") and len(ts_s) == len("2025-08-15 16:26:07+09:00")
        unit = UNITS.get(tag, "")
        assert value_s.endswith(unit)  # the tag's unit after its value (influx_qc_rule.meta.unit)
        assert float(value_s.removesuffix(unit)) == value
        assert alarm_s == alarm_badge(value, RULES[tag])
        expected = {labels[comm_status(ts, t, interval[tag])] for t in (before, after)}
        assert comm_s in expected
    dots = page.eval_on_selector_all("[data-testid=snapshot-row] [data-comm]",
                                     "els => els.map(e => e.getAttribute('data-comm'))")
    assert len(dots) == 3 and set(dots) <= {"ok", "late", "no_data"}
    assert page.inner_text("[data-testid=db-status]").strip() == "DB ok"
    newest = max(ts for _v, ts in rows.values())
    assert page.inner_text("[data-testid=data-as-of]").strip() == f"data as of {format_local(newest, 'Asia/Seoul')} ·"
    screenshot(page, "dashboard")


def test_window_control_has_all_options_and_switches(seeded_app, page):
    page.goto(seeded_app.url + "/")
    wait_loaded(page)
    select = page.locator("[data-testid=window-select]")
    assert select.input_value() == DEFAULT_WINDOW
    options = page.eval_on_selector_all("[data-testid=window-select] option", "os => os.map(o => o.value)")
    assert options == list(WINDOW_CODES)
    select.select_option("48h")
    wait_url(page, "window=48h")
    wait_loaded(page)
    assert page.locator("[data-testid=kpi-tile]").count() == 3
    assert "last 48h" in page.inner_text("main")


# Two tags for the test below only. NOQC_FLOW: a constant 1.0 every minute for the last
# hour, no QC rule. OLD_D900: ten readings three days ago, nothing in the last 24 h.
NOQC, OLD = "NOQC_FLOW", "OLD_D900"
NEUTRAL_BORDER, NODATA_BORDER = "rgb(107, 114, 128)", "rgb(200, 204, 209)"  # ksys.css --normal, --border (light)


@pytest.fixture
def extra_tags(db):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    old = now - timedelta(days=3)
    rows = [(now - timedelta(minutes=60 - i, seconds=30), NOQC, 1.0) for i in range(60)]
    rows += [(old + timedelta(minutes=i), OLD, 5.0) for i in range(10)]
    with db.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    refresh_range(db, old - timedelta(hours=1), now)
    try:
        yield
    finally:
        db.execute("DELETE FROM influx_hist WHERE tag_name = ANY(%s)", ([NOQC, OLD],))
        db.execute("DELETE FROM ksys.tag_registry WHERE tag_name = ANY(%s)", ([NOQC, OLD],))
        refresh_range(db, old - timedelta(hours=1), datetime.now(timezone.utc) + timedelta(minutes=1))


def test_tiles_without_rule_are_neutral_and_without_data_grey(seeded_app, page, extra_tags):
    page.goto(f"{seeded_app.url}/?window=24h")
    wait_loaded(page)
    page.wait_for_selector(f"[data-testid=kpi-tile][data-tag={OLD}]")
    # the window's statistics may come from a cache entry read just before the fixture
    # wrote these tags (TTL LIVE_PERIOD_S): the tiles' live refresh brings them
    page.wait_for_selector(f"[data-testid=kpi-tile][data-tag={NOQC}][data-tone=neutral]", timeout=15_000)

    free = page.locator(f"[data-testid=kpi-tile][data-tag={NOQC}]")
    assert free.get_attribute("data-tone") == "neutral"
    assert free.locator("[data-testid=kpi-value]").inner_text() == "1.0"
    # a flat window 1.0 .. 1.0 is padded by 10 % of |1.0|: 0.9 ~ 1.1, and 1.0 sits at 50 %
    assert free.locator("[data-testid=kpi-range]").inner_text() == "0.9 ~ 1.1"
    assert free.locator("[data-testid=kpi-note]").inner_text() == "no limits"
    gauge = free.locator("[data-testid=kpi-gauge]")
    assert (gauge.get_attribute("data-pct"), gauge.get_attribute("data-tone")) == ("50.0", "neutral")
    assert free.locator("[data-testid=kpi-delta]").inner_text() == "+0.0%"
    assert free.evaluate("e => getComputedStyle(e).borderTopColor") == NEUTRAL_BORDER

    empty = page.locator(f"[data-testid=kpi-tile][data-tag={OLD}]")
    assert empty.get_attribute("data-tone") == "nodata"
    assert empty.locator("[data-testid=kpi-value]").inner_text() == "-"
    assert empty.locator("[data-testid=kpi-nodata]").inner_text() == "no data in the window"
    assert empty.locator("[data-testid=kpi-range]").count() == 0  # no scale to show
    assert empty.locator("[data-testid=kpi-gauge] text").inner_html() == "-"
    assert empty.evaluate("e => getComputedStyle(e).borderTopColor") == NODATA_BORDER
    # and the tags with rules keep their status colours (green within limits)
    for tag in ("D100", "D200", "D300"):
        tile = page.locator(f"[data-testid=kpi-tile][data-tag={tag}]")
        assert tile.get_attribute("data-tone") in ("normal", "warn", "crit")
        assert tile.locator("[data-testid=kpi-note]").count() == 0

    for width, height in ((1440, 900), (800, 480)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        screenshot(page, f"dashboard_tiles_{width}x{height}")
