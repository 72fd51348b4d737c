"""`/trend`: row counts per window against the database, series toggles, table == chart, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from psycopg.rows import dict_row

from ksys_app.data.rows import series_row
from ksys_app.domain.series import MAX_POINTS, merge_buckets
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import parse_window
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


def db_buckets(db, tag: str, window: str) -> list:
    """The rollup rows the window covers, straight from the database."""
    w = parse_window(window)
    cur = db.cursor(row_factory=dict_row)
    rows = cur.execute(
        f"SELECT bucket, tag_name, avg, min, max, last, first, n FROM {w.view} "
        "WHERE tag_name = %s AND bucket >= now() - %s::interval ORDER BY bucket", (tag, w.duration)).fetchall()
    return [series_row(r) for r in rows]


def expected_points(db, tag: str, window: str) -> int:
    """Chart points the window should show: the window's buckets, merged above MAX_POINTS."""
    return len(merge_buckets(db_buckets(db, tag, window), parse_window(window).bucket).rows)


def shown_count(page) -> int:
    return int(page.get_attribute("[data-testid=history-count]", "data-count"))


def test_window_switch_changes_rows_to_database_count(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=60m")
    wait_loaded(page)
    for window in ("60m", "12h", "24h", "48h"):
        before = expected_points(db, "D200", window)
        select_window(page, window)
        got = shown_count(page)
        after = expected_points(db, "D200", window)
        # the window slides with now() and the read may come from the 30 s cache,
        # so it may still hold the one bucket that slid out since
        assert min(before, after) <= got <= max(before, after) + 1, (window, got, before, after)
        assert 2 <= got <= MAX_POINTS
        # table rows == chart points, in the page and in the drawn SVG path
        assert int(page.get_attribute("[data-testid=trend-chart]", "data-points")) == got
        wait_chart(page, "trend-chart", lines=5)
        assert chart_points(page, "trend-chart") == [got] * 5
        if window == "24h":  # 1440 one-minute buckets merged into five-minute ones
            assert "5 min" in page.inner_text("[data-testid=bucket-width]")
            assert "merged from 1 min" in page.inner_text("[data-testid=bucket-width]")
    wait_url(page, "window=48h")


def test_history_table_values_are_the_buckets(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=60m")
    wait_loaded(page)
    rows = table_rows(page, "history-table")
    buckets = {format_local(b.bucket, "Asia/Seoul"): b for b in db_buckets(db, "D200", "60m")}
    assert rows and len(rows) <= 50
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    for num, tag, ts, avg, mn, mx, last, first, n in rows:
        assert tag == "D200" and ts.endswith("+09:00")
        b = buckets[ts]
        assert float(avg) == pytest.approx(b.avg, abs=5.001e-4)  # shown with 3 decimals (half-even)
        assert (float(mn), float(mx), float(last), float(first), int(n)) == (b.min, b.max, b.last, b.first, b.n)
    stamps = [r[2] for r in rows]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    # second page continues the numbering
    if shown_count(page) > 50:
        page.click("[data-testid=history-next]")
        page.wait_for_function("document.querySelector('[data-testid=history-page]').innerText.startsWith('page 2')")
        assert table_rows(page, "history-table")[0][0] == "51"
    features = table_rows(page, "features-table")
    assert features and all(r[1] == "D200" for r in features)
    n_db = db.execute("SELECT count(*) FROM features_5m WHERE tag_name = 'D200' "
                      "AND bucket >= now() - interval '60 minutes'").fetchone()[0]
    assert abs(int(page.get_attribute("[data-testid=features-count]", "data-count")) - n_db) <= 1


def test_unticking_a_series_removes_its_line(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=60m")
    wait_loaded(page)
    lines = "[data-testid=trend-chart] .recharts-line"
    wait_chart(page, "trend-chart", lines=5)
    for key in ("avg", "min", "max", "last", "first"):
        assert page.is_checked(f"[data-testid=toggle-{key}]")
    assert page.locator(lines).count() == 5
    page.click("[data-testid=toggle-min]")
    page.wait_for_function(f"document.querySelectorAll('{lines}').length === 4")
    assert page.locator("[data-testid=trend-chart] .series-min").count() == 0
    assert page.locator("[data-testid=trend-chart] .series-max").count() == 1
    page.click("[data-testid=toggle-min]")
    page.wait_for_function(f"document.querySelectorAll('{lines}').length === 5")
    screenshot(page, "trend")


def test_csv_download_has_every_row(seeded_app, page, tmp_path):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=24h")
    wait_loaded(page)
    with page.expect_download() as info:
        page.click("[data-testid=csv-btn]")
    download = info.value
    assert download.suggested_filename == "trend_D200_24h.csv"
    text = (tmp_path / "t.csv")
    download.save_as(text)
    rows = list(csv.reader(io.StringIO(text.read_text())))
    assert rows[0][:8] == ["TAG", "Time Stamp", "avg", "min", "max", "last", "first", "n"]
    assert len(rows) - 1 == shown_count(page)
    assert all(r[0] == "D200" and r[-1] == "5 min" for r in rows[1:])
