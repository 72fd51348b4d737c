"""`/tech`: the indicator table shows the database's rows (every row, or sampled on a grid);
the tooltip, the minute in progress, the 1m window's dots and the all-series-off hint."""

from __future__ import annotations

import csv
import io

import pytest

from ksys_app.domain.series import fmt_num
from ksys_app.domain.timefmt import format_local
from tests.pages.chart_helpers import (
    LIVE_TAG,
    POINT_LABEL,
    chart_shot,
    drop_live_tag,
    hover,
    seed_live_tag,
)
from tests.pages.conftest import (
    chart_points,
    screenshot,
    select_window,
    table_rows,
    wait_chart,
    wait_loaded,
    wait_url,
)

pytestmark = pytest.mark.e2e

COLS = ("avg", "sma_10", "sma_60", "bb_top", "bb_bot", "slope_60")


def db_indicators(db, tag: str, interval: str) -> dict[str, tuple]:
    rows = db.execute(
        f"SELECT bucket, {', '.join(COLS)} FROM tech_ind_1m_mv "
        "WHERE tag_name = %s AND bucket >= now() - %s::interval ORDER BY bucket DESC", (tag, interval)).fetchall()
    return {format_local(r[0], "Asia/Seoul"): r[1:] for r in rows}


def check_rows(rows: list[list[str]], expected: dict[str, tuple], tag: str) -> None:
    assert rows
    for row in rows:
        num, t, ts, *values = row
        assert t == tag
        assert ts in expected, ts
        assert values == [fmt_num(v) for v in expected[ts]], ts


def test_every_minute_matches_database(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=60m")
    wait_loaded(page)
    before = len(db_indicators(db, "D200", "60 minutes"))
    count = int(page.get_attribute("[data-testid=tech-count]", "data-count"))
    expected = db_indicators(db, "D200", "60 minutes")
    assert count in (before, len(expected))
    assert "every row" in page.inner_text("[data-testid=tech-spacing]")
    check_rows(table_rows(page, "tech-table"), expected, "D200")
    page.click("[data-testid=tech-next]")
    page.wait_for_function("document.querySelector('[data-testid=tech-page]').innerText.startsWith('page 2')")
    page_two = table_rows(page, "tech-table")
    assert page_two[0][0] == "51"
    check_rows(page_two, db_indicators(db, "D200", "61 minutes"), "D200")
    # chart and table are the same rows
    assert int(page.get_attribute("[data-testid=tech-chart]", "data-points")) == count
    wait_chart(page, "tech-chart", lines=5)
    assert set(chart_points(page, "tech-chart")) == {count}
    screenshot(page, "tech")


def test_long_window_is_sampled_on_a_grid(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=60m")
    wait_loaded(page)
    select_window(page, "24h")
    assert "one row every 5 min" in page.inner_text("[data-testid=tech-spacing]")
    rows = table_rows(page, "tech-table")
    expected = db_indicators(db, "D200", "25 hours")
    check_rows(rows, expected, "D200")
    assert all(int(r[2][14:16]) % 5 == 0 for r in rows)  # minute of "YYYY-MM-DD HH:mm:ss+09:00"
    count = int(page.get_attribute("[data-testid=tech-count]", "data-count"))
    grid = db.execute("SELECT count(*) FROM tech_ind_1m_mv WHERE tag_name = 'D200' "
                      "AND bucket >= now() - interval '24 hours' "
                      "AND extract(epoch FROM bucket)::bigint % 300 = 0").fetchone()[0]
    assert abs(count - grid) <= 1
    wait_url(page, "window=24h")


def test_legend_toggles_and_csv(seeded_app, page, tmp_path):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=60m")
    wait_loaded(page)
    lines = "[data-testid=tech-chart] .recharts-line"
    wait_chart(page, "tech-chart", lines=5)
    page.click("[data-testid=legend-bb_top]")
    page.wait_for_function(f"document.querySelectorAll('{lines}').length === 4")
    assert page.get_attribute("[data-testid=legend-bb_top]", "aria-pressed") == "false"
    assert page.locator("[data-testid=tech-chart] .series-bb_top").count() == 0
    with page.expect_download() as info:
        page.click("[data-testid=csv-btn]")
    path = tmp_path / "tech.csv"
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][:8] == ["TAG", "Time Stamp", "avg", "sma_10", "sma_60", "bb_top", "bb_bot", "slope_60"]
    assert len(rows) - 1 == int(page.get_attribute("[data-testid=tech-count]", "data-count"))


# ---------------------------------------------------------------------- chart marks (issue 14)

LEGEND = ["Average", "BB Bot", "BB Top", "SMA 10", "SMA 60"]


@pytest.fixture
def live_tag(db):
    seeded = seed_live_tag(db)
    try:
        yield LIVE_TAG
    finally:
        drop_live_tag(db, seeded)


def test_tooltip_shows_full_date_zone_in_legend_order(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=48h")
    wait_loaded(page)
    wait_chart(page, "tech-chart", lines=5)
    stamps = set(db_indicators(db, "D200", "49 hours"))  # "YYYY-MM-DD HH:mm:ss+09:00" of each row
    days = set()
    for at in (0.1, 0.5, 0.9):
        tip = hover(page, "tech-chart", at)
        assert POINT_LABEL.match(tip["label"]), tip
        assert tip["label"][:16] + ":00" + tip["label"][16:22] in stamps, tip
        assert tip["names"] == LEGEND, tip
        assert set(tip["units"]) == {"bar"}, tip   # D200's unit, after every value shown
        days.add(tip["label"][:10])
    assert len(days) >= 2
    chart_shot(page, "tech-chart", "tech_tooltip")


def test_newest_minute_in_progress_is_marked(seeded_app, page, db, live_tag):
    page.goto(f"{seeded_app.url}/tech?tag={live_tag}&window=60m")
    wait_loaded(page)
    wait_chart(page, "tech-chart", lines=5)
    # the fixture's readings reach into the current minute, and its indicator row is
    # there; the page read it before that minute ended (the fixture starts early in one)
    newest = db.execute("SELECT max(bucket), now() FROM tech_ind_1m_mv WHERE tag_name = %s", (live_tag,)).fetchone()
    assert newest[0] is not None
    caption = page.inner_text("[data-testid=tech-chart-partial]")
    assert "partial bucket (in progress)" in caption, (caption, newest)
    assert page.locator("[data-testid=tech-chart] .recharts-reference-line.partial-mark").count() == 1
    assert "partial bucket (in progress)" in hover(page, "tech-chart", 1.0)["label"]
    chart_shot(page, "tech-chart", "tech_partial")


def dots_by_series(page) -> list[int]:
    names = page.eval_on_selector_all("[data-testid=tech-chart] circle.recharts-line-dot",
                                      "ds => ds.map(d => d.getAttribute('name'))")
    return [names.count(name) for name in LEGEND]


def test_short_windows_draw_their_points(seeded_app, page, live_tag):
    """/tech has one indicator row a minute: the 10m window's lines show their ten or so
    points as dots, and the 1m window's one or two points are dots (a lone point is no
    line at all)."""
    page.goto(f"{seeded_app.url}/tech?tag={live_tag}&window=10m")
    wait_loaded(page)
    wait_chart(page, "tech-chart", lines=5)
    points = int(page.get_attribute("[data-testid=tech-chart]", "data-points"))
    assert points >= 5 and dots_by_series(page) == [points] * 5
    select_window(page, "1m")
    points = int(page.get_attribute("[data-testid=tech-chart]", "data-points"))
    assert points >= 1
    # (not wait_chart: recharts draws no path through a single point)
    page.wait_for_function("n => document.querySelectorAll('[data-testid=tech-chart] circle.recharts-line-dot')"
                           ".length === n", arg=5 * points)
    assert dots_by_series(page) == [points] * 5
    chart_shot(page, "tech-chart", "tech_1m")


def test_all_series_off_shows_a_hint(seeded_app, page):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=60m")
    wait_loaded(page)
    wait_chart(page, "tech-chart", lines=5)
    for key in ("avg", "bb_bot", "bb_top", "sma_10", "sma_60"):
        page.click(f"[data-testid=legend-{key}]")
    page.wait_for_selector("[data-testid=tech-chart-hint]", state="visible")
    assert "all series hidden" in page.inner_text("[data-testid=tech-chart-hint]")
    assert page.locator("[data-testid=tech-chart] .recharts-line").count() == 0
    chart_shot(page, "tech-chart", "tech_all_off")
    page.click("[data-testid=legend-sma_10]")
    page.wait_for_selector("[data-testid=tech-chart-hint]", state="detached")
