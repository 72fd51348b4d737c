"""Pixel-exact downsampling for line charts: M4 (Jugel et al., "M4: A Visualization-
Oriented Time Series Data Aggregation", PVLDB 7(10), 2014), and the rollup a range
and a chart width call for.

A line chart of width W pixels over [start, end) puts every point in one of W
columns. Within a column, the line drawn through all points is, pixel for pixel,
the line drawn through four of them: the first and the last (where the line
enters and leaves the column) and those with the smallest and the largest value
(the column's vertical extent). M4 keeps those four per column and drops the rest,
so a chart of millions of readings sends at most 4 W points and draws the same
picture.

A row may carry several series (avg, min, max of a bucket). `m4_rows` keeps, per
column, the union of each series' four, so every series drawn from the kept rows
is exact, and every kept row stays whole (the table beside the chart shows rows,
not separate series): at most 4 x series rows per column.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence, TypeVar

Row = TypeVar("Row")

# Rollups by bucket, finest first (windows.py's, plus the raw readings).
RAW = "influx_hist"
ROLLUP_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("influx_agg_1m", timedelta(minutes=1)),
    ("influx_agg_10m", timedelta(minutes=10)),
    ("influx_agg_1h", timedelta(hours=1)),
    ("influx_agg_1d", timedelta(days=1)),
)
# Below this span the chart reads the raw readings (drill-down below one minute).
RAW_SPAN = timedelta(hours=2)


def column_of(t: datetime, start: datetime, end: datetime, width: int) -> int:
    """The pixel column (0 .. width-1) of time t in a chart of [start, end) `width` wide."""
    span = (end - start).total_seconds()
    col = math.floor((t - start).total_seconds() / span * width)
    return min(max(col, 0), width - 1)


def _finite(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def m4_indices(times: Sequence[datetime], values: Sequence[float | None], start: datetime, end: datetime,
               width: int) -> set[int]:
    """Indices of the first, last, min and max point of each column (times sorted).
    Missing and non-finite values are never a column's min or max (a gap draws nothing),
    but a column's first and last are kept even then: where the line breaks stays exact."""
    if width < 1:
        raise ValueError(f"width must be at least 1 pixel, got {width}")
    if end <= start:
        raise ValueError("the range must end after it starts")
    keep: set[int] = set()
    col = None
    first = lo = hi = -1
    lo_v = hi_v = 0.0
    last = -1

    def close() -> None:
        keep.update(i for i in (first, last, lo, hi) if i >= 0)

    for i, t in enumerate(times):
        c = column_of(t, start, end, width)
        if c != col:
            if col is not None:
                close()
            col, first, lo, hi = c, i, -1, -1
        last = i
        v = _finite(values[i])
        if v is None:
            continue
        if lo < 0 or v < lo_v:
            lo, lo_v = i, v
        if hi < 0 or v > hi_v:
            hi, hi_v = i, v
    if col is not None:
        close()
    return keep


def m4_rows(rows: Sequence[Row], time_of: Callable[[Row], datetime],
            series: Sequence[Callable[[Row], float | None]], start: datetime, end: datetime, width: int) -> list[Row]:
    """The rows that keep every series' line exact at `width` pixels (rows sorted by time)."""
    times = [time_of(r) for r in rows]
    keep: set[int] = set()
    for value_of in series:
        keep |= m4_indices(times, [value_of(r) for r in rows], start, end, width)
    return [rows[i] for i in sorted(keep)]


@dataclass(frozen=True, slots=True)
class Source:
    view: str
    bucket: timedelta | None  # None: the raw readings


def source_for(span: timedelta, width: int) -> Source:
    """The relation a chart of `span` over `width` pixels reads: raw readings for spans
    under RAW_SPAN, else the coarsest rollup whose bucket is at most one pixel column
    wide (coarser would draw steps wider than a pixel; finer only costs), the 1-minute
    rollup when even that is wider than a column."""
    if span <= timedelta(0) or width < 1:
        raise ValueError("a chart needs a positive span and width")
    if span < RAW_SPAN:
        return Source(RAW, None)
    column = span / width
    fitting = [(view, bucket) for view, bucket in ROLLUP_BUCKETS if bucket <= column]
    view, bucket = fitting[-1] if fitting else ROLLUP_BUCKETS[0]
    return Source(view, bucket)
