"""M4 downsampling (domain/m4.py): at most 4 points per pixel column, and each column's
first, last, min and max the same as the full data's (a property test against a
recompute written here)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksys_app.domain.m4 import RAW, column_of, m4_indices, m4_rows, source_for

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)

values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.none(), st.just(math.nan))
series = st.lists(st.tuples(st.integers(0, 86_399_999), values), min_size=0, max_size=400)


def _columns(times, vals, start, end, width):
    """Per column: (first index, last index, min value, max value) of the full data."""
    cols = defaultdict(list)
    for i, t in enumerate(times):
        cols[int((t - start).total_seconds() / (end - start).total_seconds() * width)].append(i)
    out = {}
    for c, idx in cols.items():
        finite = [vals[i] for i in idx if vals[i] is not None and math.isfinite(vals[i])]
        out[min(c, width - 1)] = (idx[0], idx[-1], min(finite, default=None), max(finite, default=None))
    return out


@given(series, st.integers(1, 300))
def test_m4_keeps_four_per_column_with_the_same_extent(points, width):
    points = sorted(set(points), key=lambda p: p[0])
    times = [T0 + timedelta(milliseconds=ms) for ms, _v in points]
    vals = [v for _t, v in points]
    start, end = T0, T0 + timedelta(days=1)
    kept = sorted(m4_indices(times, vals, start, end, width))
    per_col = defaultdict(list)
    for i in kept:
        per_col[column_of(times[i], start, end, width)].append(i)
    assert all(len(ix) <= 4 for ix in per_col.values())
    full = _columns(times, vals, start, end, width)
    assert set(per_col) == set(full)
    for c, (first, last, lo, hi) in full.items():
        ix = per_col[c]
        assert ix[0] == first and ix[-1] == last
        finite = [vals[i] for i in ix if vals[i] is not None and math.isfinite(vals[i])]
        assert min(finite, default=None) == lo and max(finite, default=None) == hi


def test_m4_rows_keep_every_series_exact_and_rows_whole():
    rows = [(T0 + timedelta(minutes=i), float(i % 7), float(-(i % 5))) for i in range(1000)]
    kept = m4_rows(rows, lambda r: r[0], [lambda r: r[1], lambda r: r[2]], T0, T0 + timedelta(minutes=1000), 50)
    assert len(kept) <= 50 * 8 and set(kept) <= set(rows)
    for k in (1, 2):
        by_col = defaultdict(list)
        for r in kept:
            by_col[column_of(r[0], T0, T0 + timedelta(minutes=1000), 50)].append(r[k])
        assert all(max(v) == (6.0 if k == 1 else 0.0) and min(v) == (0.0 if k == 1 else -4.0) for v in by_col.values())


@pytest.mark.parametrize("span, width, view", [
    (timedelta(minutes=30), 1400, RAW),
    (timedelta(hours=2), 1400, "influx_agg_1m"),  # 5 s a column: the 1-minute rollup is the finest
    (timedelta(hours=24), 1400, "influx_agg_1m"),  # 62 s a column
    (timedelta(days=7), 1400, "influx_agg_1m"),   # 7.2 min a column: 10-minute buckets would be wider
    (timedelta(days=14), 1400, "influx_agg_10m"),
    (timedelta(days=90), 1400, "influx_agg_1h"),
    (timedelta(days=365), 1400, "influx_agg_1h"),  # 6.3 h a column
    (timedelta(days=365), 300, "influx_agg_1d"),   # a phone: 29 h a column
])
def test_the_source_is_the_coarsest_rollup_no_wider_than_a_column(span, width, view):
    assert source_for(span, width).view == view


def test_bad_arguments_are_refused():
    for args in ((timedelta(0), 100), (timedelta(hours=1), 0)):
        with pytest.raises(ValueError):
            source_for(*args)
    with pytest.raises(ValueError):
        m4_indices([], [], T0, T0, 10)
