"""`/trend`: row counts per window against the database, series toggles, table == chart, CSV;
the tooltip, the partial newest bucket, the raw 1m window and the all-series-off hint."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta, timezone

import pytest
from psycopg.rows import dict_row

from ksys_app.data.rows import series_row
from ksys_app.domain.series import MAX_POINTS, merge_buckets
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import parse_window
from tests.pages.chart_helpers import (
    LIVE_TAG,
    POINT_LABEL,
    chart_shot,
    dots_per_line,
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


# ---------------------------------------------------------------------- chart marks (issue 14)

LEGEND = ["Average", "Min", "Max", "Last", "First"]


@pytest.fixture
def live_tag(db):
    seeded = seed_live_tag(db)
    try:
        yield LIVE_TAG
    finally:
        drop_live_tag(db, seeded)


def local_labels(db, tag: str, window: str) -> set[str]:
    """"YYYY-MM-DD HH:mm+09:00" of every point the window can show, from the database's
    buckets, formatted here with the fixed +9 h offset of Asia/Seoul."""
    rows = merge_buckets(db_buckets(db, tag, window), parse_window(window).bucket).rows
    return {seoul(b.bucket) + "+09:00" for b in rows}


def seoul(ts, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return (ts.astimezone(timezone.utc) + timedelta(hours=9)).strftime(fmt)


def test_tooltip_shows_full_date_zone_in_legend_order(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=48h")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    labels = local_labels(db, "D200", "48h")
    seen = set()
    for at in (0.1, 0.5, 0.9):
        tip = hover(page, "trend-chart", at)
        assert POINT_LABEL.match(tip["label"]), tip  # not "19:30" alone: the day and the zone
        assert tip["label"][:22] in labels, tip
        assert tip["names"] == LEGEND, tip  # the legend's order, not sorted by name
        assert tip["units"] == ["bar"] * len(LEGEND), tip  # D200's unit (influx_qc_rule.meta.unit)
        seen.add(tip["label"][:10])
    assert len(seen) >= 2  # a 48 h window: points of different days say which day
    chart_shot(page, "trend-chart", "trend_tooltip")


def test_partial_newest_bucket_is_marked(seeded_app, page, db, live_tag):
    page.goto(f"{seeded_app.url}/trend?tag={live_tag}&window=60m")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    newest = db_buckets(db, live_tag, "60m")[-1]
    assert newest.n < 6  # the fixture's newest minute is short
    caption = page.inner_text("[data-testid=trend-chart-partial]")
    assert f"partial bucket (n={newest.n}" in caption, caption
    # a dashed line at the newest point, labelled (recharts draws the label apart from the line)
    assert page.locator("[data-testid=trend-chart] .recharts-reference-line.partial-mark").count() == 1
    assert "partial" in page.locator("[data-testid=trend-chart] .recharts-label").all_text_contents()
    tip = hover(page, "trend-chart", 1.0)  # the newest point, at the right edge
    assert tip["label"].startswith(seoul(newest.bucket) + "+09:00"), tip
    assert f"partial bucket (n={newest.n}" in tip["label"], tip
    chart_shot(page, "trend-chart", "trend_partial")
    # an older point is complete and says nothing of the kind
    assert "partial" not in hover(page, "trend-chart", 0.3)["label"]


def test_one_minute_window_draws_the_raw_readings_as_a_line(seeded_app, page, db, live_tag):
    page.goto(f"{seeded_app.url}/trend?tag={live_tag}&window=1m")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    points = int(page.get_attribute("[data-testid=trend-chart]", "data-points"))
    raw = db.execute("SELECT count(*) FROM influx_hist WHERE tag_name = %s AND ts >= now() - interval '1 minute'",
                     (live_tag,)).fetchone()[0]
    assert points >= 3 and raw <= points <= raw + 1, (points, raw)  # readings, not one or two buckets
    assert chart_points(page, "trend-chart") == [points] * 5  # a path through every reading ...
    assert dots_per_line(page, "trend-chart") == [points] * 5  # ... with its points drawn
    assert "raw readings" in page.inner_text("[data-testid=bucket-width]")
    assert len(table_rows(page, "history-table")) == points
    # seconds in the label: the readings are seconds apart
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+09:00$", hover(page, "trend-chart", 0.5)["label"])
    chart_shot(page, "trend-chart", "trend_1m")


def test_all_series_off_shows_a_hint(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=60m")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    assert page.locator("[data-testid=trend-chart-hint]").count() == 0
    for key in ("avg", "min", "max", "last", "first"):
        page.click(f"[data-testid=toggle-{key}]")
    page.wait_for_selector("[data-testid=trend-chart-hint]", state="visible")
    assert "all series hidden" in page.inner_text("[data-testid=trend-chart-hint]")
    assert page.locator("[data-testid=trend-chart] .recharts-line").count() == 0
    chart_shot(page, "trend-chart", "trend_all_off")
    page.click("[data-testid=toggle-max]")
    page.wait_for_selector("[data-testid=trend-chart-hint]", state="detached")
