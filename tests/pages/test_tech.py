"""`/tech`: the indicator table shows the database's rows (every row, or sampled on a grid)."""

from __future__ import annotations

import csv
import io

import pytest

from ksys_app.domain.series import fmt_num
from ksys_app.domain.timefmt import format_local
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
