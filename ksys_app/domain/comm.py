"""Communication health: freshness status, the hourly success heatmap and outages.

All instants are timezone-aware; the heatmap is laid out in local days/hours of
a display zone but every cell keeps its UTC bucket so it can be matched to the
hourly UTC rows produced by the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Literal

from ksys_app.domain.timefmt import DEFAULT_TZ, TzLike, require_aware, resolve_tz

HOUR = timedelta(hours=1)

CommStatus = Literal["ok", "late", "no_data"]
ColourBand = Literal["none", "crit", "warn", "ok"]

# Without a per-tag max_gap_seconds, a tag is late after missing this many intervals.
LATE_AFTER_INTERVALS = 3


class DuplicateBucketError(ValueError):
    """Two heatmap rows for the same hour: the query mixed tags or buckets."""


def comm_status(
    latest_ts: datetime | None,
    now: datetime,
    expected_interval_s: float,
    max_gap_seconds: int | None = None,
) -> CommStatus:
    """"no_data" / "late" / "ok" from the age of the newest sample.

    Late means now - latest_ts is strictly greater than max_gap_seconds (the
    QC rule's override) or, without one, 3 * expected_interval_s. A sample
    newer than `now` (clock skew) counts as fresh.
    """
    require_aware(now, "now")
    if max_gap_seconds is None:
        if not (math.isfinite(expected_interval_s) and expected_interval_s > 0):
            raise ValueError(f"expected_interval_s must be a positive number, got {expected_interval_s}")
        allowed = LATE_AFTER_INTERVALS * float(expected_interval_s)
    else:
        if max_gap_seconds < 0:
            raise ValueError(f"max_gap_seconds must be >= 0, got {max_gap_seconds}")
        allowed = float(max_gap_seconds)
    if latest_ts is None:
        return "no_data"
    age = now - require_aware(latest_ts, "latest_ts")
    return "late" if age.total_seconds() > allowed else "ok"


@dataclass(frozen=True, slots=True)
class HourCell:
    bucket_utc: datetime  # start of the UTC hour this cell shows
    local_day: date
    local_hour: int  # 0..23 wall-clock hour in the display zone
    success_rate: float | None  # None = no row for this hour (empty, not 0)
    recv_msgs: int | None
    exp_msgs: int | None
    missing_msgs: int | None
    last_seen: datetime | None

    def __post_init__(self) -> None:
        require_aware(self.bucket_utc, "bucket_utc")
        if not 0 <= self.local_hour <= 23:
            raise ValueError(f"local_hour must be 0..23, got {self.local_hour}")


@dataclass(frozen=True, slots=True)
class Outage:
    start_utc: datetime
    end_utc: datetime  # exclusive: end of the last bad hour
    hours: int


def _field(row: Any, key: str) -> Any:
    """Read a column from a mapping, an asyncpg Record (both have .get) or an object."""
    getter = getattr(row, "get", None)
    if callable(getter):
        return getter(key)
    return getattr(row, key, None)


def _opt_float(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _opt_int(x: Any) -> int | None:
    return None if x is None else int(x)


def _utc(ts: datetime, name: str) -> datetime:
    return require_aware(ts, name).astimezone(timezone.utc)


def local_hour_starts_utc(day: date, tz: TzLike = DEFAULT_TZ) -> list[datetime]:
    """UTC instants of local wall-clock hours 0..23 of `day` in tz.

    Each local hour is converted on its own with fold=0, so on DST days the
    list follows the real clock: a nonexistent spring-forward hour resolves
    with the pre-transition offset (it lands on the same UTC instant as the
    next hour), and a repeated fall-back hour yields only its first occurrence.
    """
    zone = resolve_tz(tz)
    return [
        datetime.combine(day, time(hour), tzinfo=zone).astimezone(timezone.utc)
        for hour in range(24)
    ]


def build_heatmap_grid(
    start_day: date,
    rows: Iterable[Any],
    tz: TzLike = DEFAULT_TZ,
    days: int = 30,
) -> list[HourCell]:
    """Lay hourly UTC rows onto a days x 24 grid of local days/hours, day-major.

    start_day is a LOCAL date in tz. Always returns days * 24 cells; a cell
    whose hour has no row keeps success_rate None (shown empty, not as 0%).
    Rows (mappings, records or objects) carry bucket, success_rate, recv_msgs,
    exp_msgs, missing_msgs, last_seen_min; they are matched to cells by exact
    UTC bucket, rows outside the grid are ignored. On DST days see
    local_hour_starts_utc; a repeated hour's second occurrence has no cell.
    Zones with a non-whole-hour offset need rows bucketed on local hours.
    """
    if isinstance(start_day, datetime) or not isinstance(start_day, date):
        raise ValueError(f"start_day must be a local date, got {type(start_day).__name__}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")

    by_bucket: dict[datetime, Any] = {}
    for row in rows:
        raw = _field(row, "bucket")
        if raw is None:
            raise ValueError(f"heatmap row without a bucket: {row!r}")
        bucket = _utc(raw, "bucket")
        if bucket in by_bucket:
            raise DuplicateBucketError(f"two heatmap rows for bucket {bucket.isoformat()}")
        by_bucket[bucket] = row

    cells: list[HourCell] = []
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        for hour, bucket in enumerate(local_hour_starts_utc(day, tz)):
            row = by_bucket.get(bucket)
            if row is None:
                cells.append(HourCell(bucket, day, hour, None, None, None, None, None))
                continue
            last_seen = _field(row, "last_seen_min")
            cells.append(
                HourCell(
                    bucket_utc=bucket,
                    local_day=day,
                    local_hour=hour,
                    success_rate=_opt_float(_field(row, "success_rate")),
                    recv_msgs=_opt_int(_field(row, "recv_msgs")),
                    exp_msgs=_opt_int(_field(row, "exp_msgs")),
                    missing_msgs=_opt_int(_field(row, "missing_msgs")),
                    last_seen=None if last_seen is None else _utc(last_seen, "last_seen_min"),
                )
            )
    return cells


def merge_outages(cells: Iterable[HourCell], slo_crit: float, now: datetime) -> list[Outage]:
    """Merge consecutive bad hours into outages, oldest first.

    An hour is bad when
      * it has data and success_rate < slo_crit, or
      * it has no row (success_rate None), lies after the first hour with data
        in the grid, and has fully elapsed (bucket + 1 h <= now): the tag went
        silent, which is the worst kind of outage.
    Hours before the tag's first data (not yet installed / not yet collected)
    and hours not yet over are never outages.

    Cells are taken in UTC time order with duplicate buckets (DST spring-forward)
    counted once. Bad hours merge only when exactly one hour apart, so
    Outage.hours always equals (end_utc - start_utc) in hours.
    """
    require_aware(now, "now")
    unique = {_utc(c.bucket_utc, "bucket_utc"): c for c in cells}
    ordered = sorted(unique.items())
    first_data = next((b for b, c in ordered if c.success_rate is not None), None)
    if first_data is None:
        return []

    def is_bad(bucket: datetime, cell: HourCell) -> bool:
        if cell.success_rate is not None:
            return cell.success_rate < slo_crit
        return bucket > first_data and bucket + HOUR <= now

    outages: list[Outage] = []
    start: datetime | None = None
    end: datetime | None = None
    for bucket, cell in ordered:
        if not is_bad(bucket, cell):
            continue
        if start is not None and end == bucket:
            end = bucket + HOUR
            continue
        if start is not None and end is not None:
            outages.append(Outage(start, end, (end - start) // HOUR))
        start, end = bucket, bucket + HOUR
    if start is not None and end is not None:
        outages.append(Outage(start, end, (end - start) // HOUR))
    return outages


def success_colour_band(
    rate: float | Decimal | None, slo_warn: float, slo_crit: float
) -> ColourBand:
    """Band of an hour's success rate: "none" (no data), "crit", "warn" or "ok".

    rate < slo_crit is crit, rate < slo_warn is warn; a rate equal to a
    threshold meets it. Thresholds use the same scale as the rate.
    """
    if slo_crit > slo_warn:
        raise ValueError(f"slo_crit ({slo_crit}) must not exceed slo_warn ({slo_warn})")
    r = _opt_float(rate)
    if r is None:
        return "none"
    if r < slo_crit:
        return "crit"
    if r < slo_warn:
        return "warn"
    return "ok"
