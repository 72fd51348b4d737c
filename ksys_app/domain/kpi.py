"""KPI tile rules: delta, gauge position, QC alarm level and display strings.

Inputs come from the rollup of the selected window; numbers may arrive as
float, int or Decimal (numeric columns), and NaN/inf are treated as missing
so a bad sample never renders as "nan" or paints a gauge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ksys_app.domain.timefmt import DEFAULT_TZ, TzLike, format_local_short

Number = float | int | Decimal

STATUS_NORMAL = 0
STATUS_WARN = 1
STATUS_CRIT = 2

AlarmBadge = Literal["none", "warn", "crit"]
_BADGES: tuple[AlarmBadge, ...] = ("none", "warn", "crit")

MISSING = "-"


@dataclass(frozen=True, slots=True)
class QcRule:
    tag_name: str
    min_val: float | None = None  # hard physical range; outside it is critical
    max_val: float | None = None
    warn_min: float | None = None
    warn_max: float | None = None
    crit_min: float | None = None
    crit_max: float | None = None
    enabled: bool = True
    max_gap_seconds: int | None = None  # comm-health override, see comm.comm_status


@dataclass(frozen=True, slots=True)
class WindowStats:
    tag_name: str
    n: int
    min: float | None
    max: float | None
    first: float | None
    last: float | None
    last_ts: datetime | None
    # `last` of the previous bucket of the window's rollup: the delta compares
    # the last two buckets, not first vs last of the whole window.
    prev_last: float | None = None

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"WindowStats.n must be >= 0, got {self.n} for {self.tag_name!r}")


@dataclass(frozen=True, slots=True)
class KpiTile:
    title: str
    value_s: str
    delta_pct: float
    delta_s: str
    gauge_pct: float
    status_level: int
    ts_s: str
    range_label: str
    n: int
    min_s: str
    max_s: str
    first_s: str
    last_s: str


def _num(x: Number | None) -> float | None:
    """float(x), or None for missing / NaN / inf."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _fmt1(x: Number | None) -> str:
    f = _num(x)
    return MISSING if f is None else f"{f:.1f}"


def _active(qc: QcRule | None) -> QcRule | None:
    return qc if qc is not None and qc.enabled else None


def _qc_range(qc: QcRule | None) -> tuple[float, float] | None:
    """QC (min_val, max_val) when usable as a scale: enabled, both set, max > min."""
    rule = _active(qc)
    if rule is None:
        return None
    lo, hi = _num(rule.min_val), _num(rule.max_val)
    if lo is None or hi is None or hi <= lo:
        return None
    return lo, hi


def delta_pct(last: Number | None, prev_last: Number | None) -> float:
    """Percent change from prev_last to last; 0.0 when it cannot be computed.

    The denominator is |prev_last| so the sign always follows the direction of
    change, also for negative readings (-10 -> -5 is +50%, not -50%).
    """
    cur, prev = _num(last), _num(prev_last)
    if cur is None or prev is None or prev == 0:
        return 0.0
    return (cur - prev) / abs(prev) * 100.0


def format_delta(pct: float) -> str:
    """One decimal with an explicit sign: "+5.6%", "-3.2%"; rounds-to-zero is "+0.0%"."""
    f = _num(pct)
    if f is None:
        return MISSING
    s = f"{f:+.1f}%"
    return "+0.0%" if s == "-0.0%" else s


def gauge_pct(
    value: Number | None,
    qc: QcRule | None,
    window_min: Number | None,
    window_max: Number | None,
) -> float:
    """Position of value on its scale, 0..100.

    The scale is the QC hard range when usable (enabled, both limits, max > min),
    otherwise the window's own min..max. Empty scale or missing value -> 0.0.
    """
    v = _num(value)
    if v is None:
        return 0.0
    scale = _qc_range(qc)
    if scale is None:
        lo, hi = _num(window_min), _num(window_max)
        if lo is None or hi is None:
            return 0.0
        scale = (lo, hi)
    lo, hi = scale
    if hi <= lo:
        return 0.0
    return min(100.0, max(0.0, (v - lo) / (hi - lo) * 100.0))


def status_level(value: Number | None, qc: QcRule | None) -> int:
    """0 normal, 1 warn, 2 crit for value against an enabled QC rule.

    Critical (checked first): outside the hard range (value < min_val or
    value > max_val), or value <= crit_min or value >= crit_max.
    Warning: value <= warn_min or value >= warn_max. All crit/warn limits are
    inclusive; None limits are ignored. No rule, disabled rule or no value -> 0.
    """
    rule = _active(qc)
    v = _num(value)
    if rule is None or v is None:
        return STATUS_NORMAL

    def below(limit: float | None, inclusive: bool) -> bool:
        lim = _num(limit)
        return lim is not None and (v <= lim if inclusive else v < lim)

    def above(limit: float | None, inclusive: bool) -> bool:
        lim = _num(limit)
        return lim is not None and (v >= lim if inclusive else v > lim)

    if (
        below(rule.min_val, inclusive=False)
        or above(rule.max_val, inclusive=False)
        or below(rule.crit_min, inclusive=True)
        or above(rule.crit_max, inclusive=True)
    ):
        return STATUS_CRIT
    if below(rule.warn_min, inclusive=True) or above(rule.warn_max, inclusive=True):
        return STATUS_WARN
    return STATUS_NORMAL


def alarm_badge(value: Number | None, qc: QcRule | None) -> AlarmBadge:
    """"none" / "warn" / "crit" for the tag table's alarm column."""
    return _BADGES[status_level(value, qc)]


def range_label(qc: QcRule | None, window_min: Number | None, window_max: Number | None) -> str:
    """"lo ~ hi" of the gauge's scale: QC hard range if usable, else the window's range, else "-"."""
    scale = _qc_range(qc)
    if scale is None:
        lo, hi = _num(window_min), _num(window_max)
        if lo is None or hi is None:
            return MISSING
        scale = (lo, hi)
    return f"{scale[0]:.1f} ~ {scale[1]:.1f}"


def build_kpi_tile(stats: WindowStats, qc: QcRule | None, tz: TzLike = DEFAULT_TZ) -> KpiTile:
    """Assemble a tile from the window's stats; n == 0 yields an empty tile."""
    if stats.n == 0:
        return KpiTile(
            title=stats.tag_name,
            value_s=MISSING,
            delta_pct=0.0,
            delta_s=MISSING,
            gauge_pct=0.0,
            status_level=STATUS_NORMAL,
            ts_s=MISSING,
            # The QC range is still worth showing on an empty tile; window stats are not.
            range_label=range_label(qc, None, None),
            n=0,
            min_s=MISSING,
            max_s=MISSING,
            first_s=MISSING,
            last_s=MISSING,
        )
    pct = delta_pct(stats.last, stats.prev_last)
    return KpiTile(
        title=stats.tag_name,
        value_s=_fmt1(stats.last),
        delta_pct=pct,
        delta_s=format_delta(pct),
        gauge_pct=gauge_pct(stats.last, qc, stats.min, stats.max),
        status_level=status_level(stats.last, qc),
        ts_s=MISSING if stats.last_ts is None else format_local_short(stats.last_ts, tz),
        range_label=range_label(qc, stats.min, stats.max),
        n=stats.n,
        min_s=_fmt1(stats.min),
        max_s=_fmt1(stats.max),
        first_s=_fmt1(stats.first),
        last_s=_fmt1(stats.last),
    )
