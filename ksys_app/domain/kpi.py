"""KPI tile rules: delta, gauge position, QC alarm level and display strings.

Inputs come from the rollup of the selected window; numbers may arrive as
float, int or Decimal (numeric columns), and NaN/inf are treated as missing
so a bad sample never renders as "nan" or paints a gauge.

Scale: the QC hard range when usable, else the window's min..max padded by
SCALE_PAD_FRACTION of its span on each side (and a non-zero span when min ==
max), so a tag without limits never shows "1.0 ~ 1.0" at 0 % or pins at 100 %.
Delta: a percentage of |prev_last|, except when prev_last is within
NEAR_ZERO_FRACTION of the scale's span from 0: then the absolute change.
Tone: what colour the tile wears - grey for no data, neutral for a tag without
limits, else the status level's colour (PRD.md resolution 24).
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

# How a tile is coloured: no data (grey), no limits (neutral), else by status_level.
Tone = Literal["nodata", "neutral", "normal", "warn", "crit"]
_TONES: tuple[Tone, ...] = ("normal", "warn", "crit")
DeltaMode = Literal["pct", "abs"]
Direction = Literal["up", "down", "flat"]

MISSING = "-"
NO_LIMITS = "no limits"  # scale note of a tag without any enabled QC limit
WINDOW_SCALE = "window scale"  # limits exist, but no usable hard range to draw

# A window scale is the window's min..max widened by this share of its span on each side.
SCALE_PAD_FRACTION = 0.10
# A flat window (min == max) is widened by this share of |value| on each side ...
FLAT_PAD_FRACTION = 0.10
# ... or by this much when the value is 0.
FLAT_PAD_MIN = 1.0
# |prev_last| below this share of the scale's span counts as "near 0": absolute delta.
NEAR_ZERO_FRACTION = 0.01
# A change that rounds to 0.0 in the tile (one decimal) has no direction.
_FLAT_BELOW = 0.05


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
    unit: str = ""  # the tag's unit (influx_qc_rule.meta.unit), "" when none is recorded
    group: str = ""  # the tag's group / plant area (influx_qc_rule.meta.group, domain.groups), "" for none


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
class Scale:
    """The gauge's scale: the QC hard range (from_qc) or the padded window range."""
    lo: float
    hi: float
    from_qc: bool

    @property
    def span(self) -> float:
        return self.hi - self.lo


@dataclass(frozen=True, slots=True)
class Delta:
    """The tile's change from the previous bucket, as shown.

    mode "pct": `pct` is the percentage and `text` "+5.6%"; mode "abs" (prev_last
    near 0): `pct` is 0.0 and `text` the absolute change "+0.3". `change` is
    last - prev_last (0.0 when not computable).
    """
    mode: DeltaMode
    pct: float
    change: float
    text: str
    direction: Direction


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
    tone: Tone = "nodata"
    scale_note: str = ""  # "" (QC range), WINDOW_SCALE or NO_LIMITS
    delta_mode: DeltaMode = "pct"
    direction: Direction = "flat"


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


def near_zero(prev_last: Number | None, scale_span: Number | None) -> bool:
    """Whether prev_last is too close to 0 for a percentage to mean anything:
    exactly 0, or |prev_last| < NEAR_ZERO_FRACTION x the scale's span."""
    prev = _num(prev_last)
    if prev is None:
        return False
    span = _num(scale_span)
    eps = NEAR_ZERO_FRACTION * span if span is not None and span > 0 else 0.0
    return prev == 0 or abs(prev) < eps


def delta_pct(last: Number | None, prev_last: Number | None,
              scale_span: Number | None = None) -> float:
    """Percent change from prev_last to last; 0.0 when it cannot be computed.

    The denominator is |prev_last| so the sign always follows the direction of
    change, also for negative readings (-10 -> -5 is +50%, not -50%). With
    `scale_span`, a prev_last near 0 (see near_zero) also gives 0.0: the tile
    shows the absolute change instead (tile_delta).
    """
    cur, prev = _num(last), _num(prev_last)
    if cur is None or prev is None or near_zero(prev, scale_span):
        return 0.0
    return (cur - prev) / abs(prev) * 100.0


def _signed1(x: float) -> str:
    s = f"{x:+.1f}"
    return "+0.0" if s == "-0.0" else s


def format_delta(pct: float) -> str:
    """One decimal with an explicit sign: "+5.6%", "-3.2%"; rounds-to-zero is "+0.0%"."""
    f = _num(pct)
    if f is None:
        return MISSING
    s = f"{f:+.1f}%"
    return "+0.0%" if s == "-0.0%" else s


def format_change(change: float) -> str:
    """An absolute change with one decimal and an explicit sign: "+0.3", "-1.2"."""
    f = _num(change)
    return MISSING if f is None else _signed1(f)


def tile_delta(last: Number | None, prev_last: Number | None,
               scale_span: Number | None) -> Delta:
    """What the tile shows as its change: a percentage, or the absolute change
    when prev_last is near 0 relative to the scale (near_zero). Without a
    previous bucket (or a value) it is "+0.0%" and flat, as PRD 4 says."""
    cur, prev = _num(last), _num(prev_last)
    if cur is None or prev is None:
        return Delta("pct", 0.0, 0.0, "+0.0%", "flat")
    change = cur - prev
    if near_zero(prev, scale_span):
        shown, text, mode = change, format_change(change), "abs"
        pct = 0.0
    else:
        pct = (cur - prev) / abs(prev) * 100.0
        shown, text, mode = pct, format_delta(pct), "pct"
    direction: Direction = "flat" if abs(shown) < _FLAT_BELOW else ("up" if shown > 0 else "down")
    return Delta(mode, pct, change, text, direction)


def window_scale(window_min: Number | None, window_max: Number | None) -> Scale | None:
    """The window's min..max padded by SCALE_PAD_FRACTION of the span on each side;
    a flat window (min == max = v) by FLAT_PAD_FRACTION x |v|, or FLAT_PAD_MIN when
    v is 0. None when either end is missing or max < min."""
    lo, hi = _num(window_min), _num(window_max)
    if lo is None or hi is None or hi < lo:
        return None
    span = hi - lo
    if span > 0:
        pad = span * SCALE_PAD_FRACTION
    else:
        pad = abs(lo) * FLAT_PAD_FRACTION or FLAT_PAD_MIN
    lo, hi = lo - pad, hi + pad
    if not hi > lo:  # the pad vanished next to a huge value: floats ran out of digits
        return None
    return Scale(lo, hi, from_qc=False)


def gauge_scale(qc: QcRule | None, window_min: Number | None,
                window_max: Number | None) -> Scale | None:
    """The QC hard range when usable (enabled, both limits, max > min), else window_scale."""
    qc_range = _qc_range(qc)
    if qc_range is not None:
        return Scale(qc_range[0], qc_range[1], from_qc=True)
    return window_scale(window_min, window_max)


def gauge_pct(
    value: Number | None,
    qc: QcRule | None,
    window_min: Number | None,
    window_max: Number | None,
) -> float:
    """Position of value on its scale (gauge_scale), 0..100, clamped.
    No scale or missing value -> 0.0."""
    v = _num(value)
    scale = gauge_scale(qc, window_min, window_max)
    if v is None or scale is None:
        return 0.0
    return min(100.0, max(0.0, (v - scale.lo) / scale.span * 100.0))


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


def has_limits(qc: QcRule | None) -> bool:
    """Whether an enabled rule sets any limit status_level can trip."""
    rule = _active(qc)
    if rule is None:
        return False
    return any(_num(x) is not None for x in (rule.min_val, rule.max_val, rule.warn_min,
                                             rule.warn_max, rule.crit_min, rule.crit_max))


def tile_tone(n: int, qc: QcRule | None, level: int) -> Tone:
    """"nodata" for an empty window, "warn"/"crit" for a tripped limit, "normal"
    within limits, "neutral" when the tag has no limits (nothing to be green about)."""
    if n == 0:
        return "nodata"
    if level != STATUS_NORMAL:
        return _TONES[level]
    return "normal" if has_limits(qc) else "neutral"


def scale_note(qc: QcRule | None) -> str:
    """"" when the QC hard range is the scale, else why it is not: NO_LIMITS / WINDOW_SCALE."""
    if _qc_range(qc) is not None:
        return ""
    return WINDOW_SCALE if has_limits(qc) else NO_LIMITS


def range_label(qc: QcRule | None, window_min: Number | None, window_max: Number | None) -> str:
    """"lo ~ hi" of the gauge's scale (gauge_scale: QC hard range, else the padded
    window range), else "-"."""
    scale = gauge_scale(qc, window_min, window_max)
    if scale is None:
        return MISSING
    return f"{scale.lo:.1f} ~ {scale.hi:.1f}"


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
            tone="nodata",
            scale_note=scale_note(qc),
        )
    scale = gauge_scale(qc, stats.min, stats.max)
    delta = tile_delta(stats.last, stats.prev_last, None if scale is None else scale.span)
    level = status_level(stats.last, qc)
    return KpiTile(
        title=stats.tag_name,
        value_s=_fmt1(stats.last),
        delta_pct=delta.pct,
        delta_s=delta.text,
        gauge_pct=gauge_pct(stats.last, qc, stats.min, stats.max),
        status_level=level,
        ts_s=MISSING if stats.last_ts is None else format_local_short(stats.last_ts, tz),
        range_label=range_label(qc, stats.min, stats.max),
        n=stats.n,
        min_s=_fmt1(stats.min),
        max_s=_fmt1(stats.max),
        first_s=_fmt1(stats.first),
        last_s=_fmt1(stats.last),
        tone=tile_tone(stats.n, qc, level),
        scale_note=scale_note(qc),
        delta_mode=delta.mode,
        direction=delta.direction,
    )
