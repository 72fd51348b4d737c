"""Chart-sized series: merging rollup buckets, sampling spacing, paging, display numbers.

A page never sends more than a few hundred points to the browser (PRD B14:
payload < 50 KB). When a window yields more buckets than that, consecutive
buckets are merged into wider ones on a fixed time grid, keeping the rollup
semantics exact: n summed, avg weighted by n, min of mins, max of maxes, first
of the earliest bucket, last of the newest. The merged buckets are at the same
time the chart points and the history table rows.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol, Sequence

from ksys_app.domain.timefmt import require_aware

# TimescaleDB's time_bucket origin (a Monday); merged groups align to it like the rollups do.
ORIGIN = datetime(2000, 1, 3, tzinfo=timezone.utc)

# Most points a chart (and its table) shows; above it buckets are merged / rows sampled.
# 300 points of five series with the table page stay well under 50 KB per update.
MAX_POINTS = 300

# Readable bucket widths / sampling steps, in minutes.
NICE_STEPS_MIN: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360,
                                   480, 720, 1440, 2880, 4320, 10080)


class BucketLike(Protocol):
    bucket: datetime
    avg: float | None
    min: float | None
    max: float | None
    first: float | None
    last: float | None
    n: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """One (possibly merged) rollup bucket."""
    bucket: datetime  # start of the bucket (UTC)
    avg: float | None
    min: float | None
    max: float | None
    first: float | None
    last: float | None
    n: int


@dataclass(frozen=True, slots=True)
class MergedSeries:
    rows: tuple[Bucket, ...]  # ascending by bucket
    width: timedelta  # effective bucket width of `rows`
    factor: int  # how many source buckets one row spans (1 = unmerged)


def _num(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _nice_multiple(need: int, unit: timedelta) -> int:
    """Smallest k >= need such that k * unit is a readable width (falls back to need)."""
    for step in NICE_STEPS_MIN:
        width = timedelta(minutes=step)
        if width >= need * unit and width % unit == timedelta(0):
            return width // unit
    return need


def merge_factor(n_rows: int, max_points: int = MAX_POINTS,
                 base: timedelta | None = None) -> int:
    """Source buckets per merged bucket so that `n_rows` buckets fit in `max_points`.

    Grid-aligned groups can cut one group more at the edge than n / factor, so
    the factor leaves room for it: ceil(n / factor) + 1 <= max_points. With
    `base` (the source bucket width) the factor is rounded up to a readable
    merged width (5 min, 1 h, 8 h, 2 d, ...).
    """
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if n_rows <= max_points:
        return 1
    need = -(-n_rows // (max_points - 1))
    return need if base is None else _nice_multiple(need, base)


def _merge_group(start: datetime, group: Sequence[BucketLike]) -> Bucket:
    n_total = sum(int(b.n) for b in group)
    weighted = [(_num(b.avg), int(b.n)) for b in group]
    weighted = [(a, n) for a, n in weighted if a is not None and n > 0]
    w = sum(n for _, n in weighted)
    if w > 0:
        avg = sum(a * n for a, n in weighted) / w
    else:  # no counts to weight by: plain mean of what is there
        plain = [a for a in (_num(b.avg) for b in group) if a is not None]
        avg = sum(plain) / len(plain) if plain else None
    mins = [m for m in (_num(b.min) for b in group) if m is not None]
    maxs = [m for m in (_num(b.max) for b in group) if m is not None]
    firsts = [f for f in (_num(b.first) for b in group) if f is not None]
    lasts = [v for v in (_num(b.last) for b in group) if v is not None]
    return Bucket(start, avg, min(mins) if mins else None, max(maxs) if maxs else None,
                  firsts[0] if firsts else None, lasts[-1] if lasts else None, n_total)


def merge_buckets(rows: Iterable[BucketLike], base: timedelta, max_points: int = MAX_POINTS,
                  origin: datetime = ORIGIN, factor: int | None = None) -> MergedSeries:
    """Merge consecutive buckets of width `base` until at most `max_points` remain.

    Groups are `factor * base` wide and aligned to `origin` (as time_bucket
    aligns), so the same bucket always lands in the same group whatever the
    window's start. Rows may come in any order; the result is ascending.
    A `factor` given is used as it is, and groups even at 1 (rows off the grid,
    such as raw readings, land on it: domain.pens).
    """
    if base <= timedelta(0):
        raise ValueError(f"base bucket must be positive, got {base}")
    if factor is not None and factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    require_aware(origin, "origin")
    ordered = sorted(rows, key=lambda r: require_aware(r.bucket, "bucket"))
    forced = factor is not None
    factor = factor if forced else merge_factor(len(ordered), max_points, base)
    if factor == 1 and not forced:
        return MergedSeries(tuple(Bucket(r.bucket, _num(r.avg), _num(r.min), _num(r.max),
                                         _num(r.first), _num(r.last), int(r.n)) for r in ordered),
                            base, 1)
    width = base * factor
    groups: list[tuple[datetime, list[BucketLike]]] = []
    for r in ordered:
        idx = (r.bucket - origin) // width
        start = (origin + idx * width).astimezone(r.bucket.tzinfo)
        if groups and groups[-1][0] == start:
            groups[-1][1].append(r)
        else:
            groups.append((start, [r]))
    return MergedSeries(tuple(_merge_group(s, g) for s, g in groups), width, factor)


def sample_step(duration: timedelta, row_width: timedelta = timedelta(minutes=1),
                max_points: int = MAX_POINTS) -> timedelta:
    """Spacing of sampled rows (every k-th row on a time grid) so a window fits max_points.

    Rows that cannot be merged (moving averages, bands) are sampled instead:
    k is the smallest readable step with duration / (k * row_width) < max_points.
    """
    if duration <= timedelta(0) or row_width <= timedelta(0):
        raise ValueError("duration and row_width must be positive")
    rows = -(-duration // row_width)
    if rows + 1 <= max_points:
        return row_width
    need = -(-rows // (max_points - 1))
    return _nice_multiple(need, row_width) * row_width


def format_width(width: timedelta) -> str:
    """"1 min", "10 min", "1 h", "2 h 30 min", "1 d", "2 d"."""
    secs = int(width.total_seconds())
    if secs <= 0:
        raise ValueError(f"width must be positive, got {width}")
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    mins, sec = divmod(rem, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "min"), (sec, "s")) if n)


def rounded(x: Any, digits: int = 3) -> float | None:
    """A float for the browser: rounded, None for missing/NaN/inf."""
    f = _num(x)
    return None if f is None else round(f, digits)


def fmt_num(x: Any, digits: int = 3) -> str:
    """Table cell text of a number: fixed decimals, "-" when missing."""
    f = _num(x)
    return "-" if f is None else f"{f:.{digits}f}"


@dataclass(frozen=True, slots=True)
class Page:
    index: int  # 0-based, clamped into range
    count: int  # number of pages (>= 1)
    start: int  # slice of the rows on this page
    stop: int


def page_slice(total: int, index: int, size: int) -> Page:
    """Which rows a page shows; the index is clamped into [0, pages - 1]."""
    if size < 1:
        raise ValueError(f"page size must be >= 1, got {size}")
    count = max(1, -(-max(total, 0) // size))
    idx = min(max(index, 0), count - 1)
    start = idx * size
    return Page(idx, count, start, min(start + size, max(total, 0)))


# A spreadsheet runs a cell that starts with one of these as a formula
# (=HYPERLINK(...) exfiltrates, =cmd|... ran commands in old Excel).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(v: Any) -> Any:
    """None as an empty field; text that a spreadsheet would run as a formula, quoted with a
    leading apostrophe (OWASP's CSV-injection advice). Numbers stay numbers, negative ones too."""
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        try:
            float(v)
            return v
        except ValueError:
            return "'" + v
    return v


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180, \\r\\n line ends); None is an empty field; formula-like text is neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def typical_spacing(times: Sequence[datetime], floor: timedelta = timedelta(seconds=1)) -> timedelta:
    """The median gap between consecutive times (sorted), whole seconds, at least `floor`:
    the "bucket width" of raw readings, which merge_buckets needs to merge them."""
    gaps = sorted((b - a) for a, b in zip(times, times[1:]) if b > a)
    if not gaps:
        return floor
    median = gaps[len(gaps) // 2]
    return max(floor, timedelta(seconds=round(median.total_seconds())))
