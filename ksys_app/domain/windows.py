"""Time-window options and the rollup view each one reads.

Codes are case-sensitive on purpose: "1m"/"5m"/"10m"/"60m" are minutes while
"3m"/"6m"/"12m" are months (90/180/365 days). Folding case (or guessing at
"M" vs "m") would make those two families ambiguous, so only the exact codes
in WINDOW_CODES are accepted; surrounding whitespace is the only leniency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True, slots=True)
class Window:
    code: str
    duration: timedelta
    view: str  # relation (continuous aggregate / view) to read
    bucket: timedelta  # row spacing of that relation
    row_limit: int  # max rows per series the window can yield from `view`


class UnknownWindowError(ValueError):
    """A window code that is not one of WINDOW_CODES."""


DEFAULT_WINDOW = "5m"

# Order is the UI order.
_DURATIONS: Mapping[str, timedelta] = MappingProxyType(
    {
        "1m": timedelta(minutes=1),
        "5m": timedelta(minutes=5),
        "10m": timedelta(minutes=10),
        "60m": timedelta(minutes=60),
        "12h": timedelta(hours=12),
        "24h": timedelta(hours=24),
        "48h": timedelta(hours=48),
        "7d": timedelta(days=7),
        "14d": timedelta(days=14),
        "30d": timedelta(days=30),
        "3m": timedelta(days=90),  # months, see module docstring
        "6m": timedelta(days=180),
        "12m": timedelta(days=365),
    }
)

WINDOW_CODES: tuple[str, ...] = tuple(_DURATIONS)

# (longest duration served, view, bucket) - fixed by the PRD; last entry catches the rest.
_ROLLUPS: tuple[tuple[timedelta | None, str, timedelta], ...] = (
    (timedelta(hours=24), "influx_agg_1m", timedelta(minutes=1)),
    (timedelta(days=14), "influx_agg_10m", timedelta(minutes=10)),
    (timedelta(days=90), "influx_agg_1h", timedelta(hours=1)),
    (None, "influx_agg_1d", timedelta(days=1)),
)

# Windows that read the raw readings instead of a rollup. The 1m window holds one
# 1-minute bucket (two across a minute boundary; PRD.md resolution 17): a chart of
# one dot. Its raw readings are a handful of rows per tag (one index range scan).
RAW_WINDOWS: frozenset[str] = frozenset({"1m"})
RAW_VIEW = "influx_hist"
# Most raw readings a raw window reads (newest kept, flagged truncated above it):
# 5 readings a second over the 1m window, and the chart's point limit
# (domain.series.MAX_POINTS), so the page never merges raw readings.
RAW_ROW_LIMIT = 300

TECH_VIEW = "tech_ind_1m_mv"
TECH_BUCKET = timedelta(minutes=1)


def rollup_for(duration: timedelta) -> tuple[str, timedelta]:
    """Return (view, bucket) of the rollup that serves a window of this length."""
    if duration <= timedelta(0):
        raise ValueError(f"window duration must be positive, got {duration}")
    for longest, view, bucket in _ROLLUPS:
        if longest is None or duration <= longest:
            return view, bucket
    raise AssertionError("unreachable: last rollup has no upper bound")


def bucket_count(duration: timedelta, bucket: timedelta) -> int:
    """Upper bound on buckets a window of `duration` can touch: ceil(d/b) + 1.

    A window that does not start on a bucket boundary cuts a partial bucket at
    each edge, which adds one bucket over ceil(d/b). Using this as LIMIT means
    the limit can never silently drop the oldest/newest part of the window.
    """
    if bucket <= timedelta(0):
        raise ValueError(f"bucket must be positive, got {bucket}")
    return -(-duration // bucket) + 1  # exact integer ceil on timedeltas


def _build(code: str, duration: timedelta) -> Window:
    view, bucket = rollup_for(duration)
    return Window(code, duration, view, bucket, bucket_count(duration, bucket))


WINDOWS: Mapping[str, Window] = MappingProxyType(
    {code: _build(code, d) for code, d in _DURATIONS.items()}
)


def _normalise_code(code: str) -> str:
    key = code.strip() if isinstance(code, str) else None
    if key not in _DURATIONS:
        raise UnknownWindowError(
            f"unknown window {code!r}; valid codes (case-sensitive): {', '.join(WINDOW_CODES)}"
        )
    return key


def parse_window(code: str) -> Window:
    """Return the Window for a code such as "5m" or " 24h "; case-sensitive."""
    return WINDOWS[_normalise_code(code)]


def tech_window(code: str) -> Window:
    """Window for the tech-indicator page, which always reads 1-minute rows.

    tech_ind_1m_mv has one row per minute regardless of the window length, so
    row_limit = minutes in the window + 1 (the same partial-edge bound as
    bucket_count with a 1-minute bucket), e.g. "12m" -> 525,601 rows per tag.
    """
    duration = _DURATIONS[_normalise_code(code)]
    return Window(code.strip(), duration, TECH_VIEW, TECH_BUCKET, bucket_count(duration, TECH_BUCKET))



def reads_raw(code: str) -> bool:
    """Whether the /trend series of this window comes from the raw readings."""
    return _normalise_code(code) in RAW_WINDOWS


# Absolute ranges (/trend's from / to) shorter than this read the raw readings: the
# drill-down below one minute. 2 hours of 10-second readings are 720 rows.
RAW_RANGE_SPAN = timedelta(hours=2)


def range_source(span: timedelta) -> tuple[str, timedelta]:
    """(relation, row width) an absolute range of this length reads: the raw readings
    under RAW_RANGE_SPAN (their width taken as one second, for merging), else the rollup
    a window of the same length reads."""
    if span <= timedelta(0):
        raise ValueError(f"range must be positive, got {span}")
    if span < RAW_RANGE_SPAN:
        return RAW_VIEW, timedelta(seconds=1)
    return rollup_for(span)
