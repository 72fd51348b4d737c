"""domain.series: merging buckets with exact rollup semantics, sampling, paging, CSV."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.series import (
    MAX_POINTS,
    ORIGIN,
    Bucket,
    fmt_num,
    format_width,
    merge_buckets,
    merge_factor,
    page_slice,
    rounded,
    sample_step,
    to_csv,
)
from ksys_app.domain.windows import WINDOWS

MIN = timedelta(minutes=1)
T0 = datetime(2025, 8, 15, 0, 0, tzinfo=timezone.utc)


def minute_rows(count: int, seed: int = 3, start: datetime = T0, step: timedelta = MIN) -> list[Bucket]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        vals = [rng.randrange(0, 4000) / 4 for _ in range(rng.randrange(1, 7))]
        rows.append(Bucket(start + i * step, sum(vals) / len(vals), min(vals), max(vals),
                           vals[0], vals[-1], len(vals)))
    return rows


def test_small_series_is_unchanged():
    rows = minute_rows(10)
    merged = merge_buckets(reversed(rows), MIN)
    assert merged.factor == 1
    assert merged.width == MIN
    assert merged.rows == tuple(rows)  # ascending even from descending input


def test_merge_semantics_exact():
    rows = minute_rows(1441)
    merged = merge_buckets(rows, MIN, max_points=360)
    assert merged.factor == 5 and merged.width == timedelta(minutes=5)
    assert len(merged.rows) <= 360
    assert sum(r.n for r in merged.rows) == sum(r.n for r in rows)
    for m in merged.rows:
        group = [r for r in rows if m.bucket <= r.bucket < m.bucket + merged.width]
        assert group, m
        assert m.n == sum(r.n for r in group)
        assert m.min == min(r.min for r in group)
        assert m.max == max(r.max for r in group)
        assert m.first == group[0].first
        assert m.last == group[-1].last
        assert m.avg == pytest.approx(sum(r.avg * r.n for r in group) / sum(r.n for r in group))


def test_groups_align_to_time_bucket_origin():
    start = T0 + timedelta(minutes=3)  # not on a 5-minute boundary
    rows = minute_rows(1441, start=start)
    merged = merge_buckets(rows, MIN, max_points=360)
    assert merged.width == timedelta(minutes=5)
    for m in merged.rows:
        assert (m.bucket - ORIGIN) % merged.width == timedelta(0)
    # the first group holds only the two minutes before the 5-minute boundary
    assert merged.rows[0].bucket == T0
    assert merged.rows[0].n == sum(r.n for r in rows[:2])


def test_missing_values_and_gaps():
    rows = [Bucket(T0, None, None, None, None, None, 0),
            Bucket(T0 + MIN, 2.0, 1.0, 3.0, 1.5, 2.5, 4),
            Bucket(T0 + 2 * MIN, 4.0, 3.0, 5.0, 3.5, None, 4)]
    rows += minute_rows(400, start=T0 + 10 * MIN)
    merged = merge_buckets(rows, MIN, max_points=100)
    first = merged.rows[0]
    assert first.n == 8
    assert first.avg == pytest.approx(3.0)
    assert (first.min, first.max, first.first) == (1.0, 5.0, 1.5)
    assert first.last is not None  # last of the newest bucket that has one


def test_nan_is_missing():
    rows = [Bucket(T0, float("nan"), float("inf"), 1.0, None, 2.0, 1)]
    (row,) = merge_buckets(rows, MIN).rows
    assert row.avg is None and row.min is None and row.max == 1.0


@pytest.mark.parametrize("code", list(WINDOWS))
def test_every_window_fits_the_point_budget(code):
    w = WINDOWS[code]
    rows = minute_rows(w.row_limit, step=w.bucket)
    merged = merge_buckets(rows, w.bucket)
    assert len(merged.rows) <= MAX_POINTS
    assert merged.width % w.bucket == timedelta(0)


def test_merge_factor_bounds():
    assert merge_factor(0) == 1
    assert merge_factor(MAX_POINTS) == 1
    assert merge_factor(MAX_POINTS + 1) == 2
    assert merge_factor(360, max_points=360) == 1
    assert merge_factor(2161, max_points=360, base=timedelta(hours=1)) == 8  # 7 h -> readable 8 h
    with pytest.raises(ValueError):
        merge_factor(5, max_points=1)


@pytest.mark.parametrize("code,step_min", [("1m", 1), ("60m", 1), ("12h", 3), ("24h", 5), ("48h", 10),
                                           ("7d", 60), ("30d", 180), ("12m", 2880)])
def test_sample_step(code, step_min):
    w = WINDOWS[code]
    step = sample_step(w.duration)
    assert step == timedelta(minutes=step_min)
    assert w.duration // step + 1 <= MAX_POINTS


def test_format_width():
    assert format_width(MIN) == "1 min"
    assert format_width(timedelta(minutes=10)) == "10 min"
    assert format_width(timedelta(hours=8)) == "8 h"
    assert format_width(timedelta(days=2)) == "2 d"
    assert format_width(timedelta(minutes=90)) == "1 h 30 min"
    with pytest.raises(ValueError):
        format_width(timedelta(0))


def test_numbers_for_the_browser():
    assert rounded(1.23456) == 1.235
    assert rounded(None) is None and rounded(float("nan")) is None
    assert fmt_num(190) == "190.000"
    assert fmt_num(None) == "-"


def test_page_slice():
    p = page_slice(120, 0, 50)
    assert (p.index, p.count, p.start, p.stop) == (0, 3, 0, 50)
    p = page_slice(120, 9, 50)
    assert (p.index, p.start, p.stop) == (2, 100, 120)
    p = page_slice(0, 3, 50)
    assert (p.index, p.count, p.start, p.stop) == (0, 1, 0, 0)


def test_to_csv():
    text = to_csv(["a", "b"], [[1, None], ["x,y", 2.5]])
    assert text == 'a,b\r\n1,\r\n"x,y",2.5\r\n'


def test_to_csv_neutralises_formula_cells_but_keeps_numbers():
    rows = [['=HYPERLINK("http://x","y")', "-1.5", -2.0], ["+cmd|' /C calc'!A0", "@SUM(A1)", "\tx"], ["-", "ok", 1]]
    got = list(csv.reader(io.StringIO(to_csv(["=tag", "b", "c"], rows))))
    assert got == [["'=tag", "b", "c"],
                   ['\'=HYPERLINK("http://x","y")', "-1.5", "-2.0"],
                   ["'+cmd|' /C calc'!A0", "'@SUM(A1)", "'\tx"],
                   ["'-", "ok", "1"]]


def test_naive_bucket_refused():
    with pytest.raises(ValueError):
        merge_buckets([Bucket(datetime(2025, 1, 1), 1.0, 1.0, 1.0, 1.0, 1.0, 1)], MIN)
