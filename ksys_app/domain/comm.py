"""Communication health: freshness status, the hourly success heatmap and outages.

All instants are timezone-aware; the heatmap is laid out in local days/hours of
a display zone but every cell keeps its UTC bucket so it can be matched to the
hourly UTC rows produced by the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache, partial
from itertools import compress, count, islice, repeat
from operator import attrgetter, ge, is_not, itemgetter
from typing import Any, Callable, Iterable, Literal, NamedTuple, Sequence

from ksys_app.domain.timefmt import DEFAULT_TZ, TzLike, require_aware, resolve_tz

HOUR = timedelta(hours=1)
_US = timedelta(microseconds=1)
_HOUR_US = HOUR // _US
# A minute tick plus its own run time: how old the running hour's received count may be
# on plain PostgreSQL (comm_recv_1h is refreshed by the tick) without reading as missing.
RUNNING_HOUR_GRACE = timedelta(seconds=90)
_UTC = timezone.utc
_isfinite = math.isfinite
_new_cell = tuple.__new__  # HourCell from a tuple of its fields, without the keyword parsing
_BUCKET = attrgetter("bucket_utc")
_RATE = attrgetter("success_rate")
_TZINFO = attrgetter("tzinfo")

CommStatus = Literal["ok", "late", "no_data"]
ColourBand = Literal["none", "crit", "warn", "ok"]
HourPhase = Literal["past", "current", "future"]

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


class HourCell(NamedTuple):
    """One hour of the heatmap (immutable; build_heatmap_grid makes them, already checked)."""
    bucket_utc: datetime  # start of the UTC hour this cell shows (aware, UTC)
    local_day: date
    local_hour: int  # 0..23 wall-clock hour in the display zone
    success_rate: float | None  # None = no row for this hour (empty, not 0)
    recv_msgs: int | None
    exp_msgs: int | None
    missing_msgs: int | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Outage:
    start_utc: datetime
    end_utc: datetime  # exclusive: end of the last bad hour
    hours: int


def _attr(row: Any, key: str) -> Any:
    return getattr(row, key, None)


def _opt_float(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _opt_int(x: Any) -> int | None:
    return None if x is None else int(x)


def _utc(ts: datetime, name: str) -> datetime:
    if type(ts) is datetime and ts.tzinfo is _UTC:
        return ts  # what astimezone(utc) returns for it, without the checks
    return require_aware(ts, name).astimezone(_UTC)


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


# Over 60 lines on purpose: one loop over up to 720 rows a read, with the common value
# types taken as they are inline (bench/README finding 5: the heatmap read's cost).
def build_heatmap_grid(
    start_day: date,
    rows: Iterable[Any],
    tz: TzLike = DEFAULT_TZ,
    days: int = 30,
    columns: Sequence[str] | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(0),
) -> list[HourCell]:
    """Lay hourly UTC rows onto a days x 24 grid of local days/hours, day-major.

    start_day is a LOCAL date in tz. Always returns days * 24 cells; a cell
    whose hour has no row keeps success_rate None (shown empty, not as 0%).
    Rows (mappings, records or objects) carry bucket, success_rate, recv_msgs,
    exp_msgs, missing_msgs, last_seen_min; they are matched to cells by exact
    UTC bucket, rows outside the grid are ignored (two rows for one cell's
    hour raise DuplicateBucketError). With `columns` (the rows'
    column names in order, e.g. an asyncpg result's keys) each row is read by
    position. On DST days see local_hour_starts_utc; a repeated hour's second
    occurrence has no cell.
    Zones with a non-whole-hour offset need rows bucketed on local hours.

    With `now` (aware), the hour running at `now` is recomputed from its
    received count: its expectation counts the elapsed part of the hour only
    (expected_so_far, from the row's full-hour expectation `hour_exp_msgs`
    and its recv_msgs),
    and success_rate / missing_msgs follow from it (hour_success). A row
    without hour_exp_msgs keeps the values it came with.
    """
    if isinstance(start_day, datetime) or not isinstance(start_day, date):
        raise ValueError(f"start_day must be a local date, got {type(start_day).__name__}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")

    empty, where = _empty_grid(start_day, resolve_tz(tz), days)
    cells = list(empty)
    running: datetime | None = None  # the UTC hour running at `now`
    if now is not None:
        running = _utc(now, "now").replace(minute=0, second=0, microsecond=0)
    full_of = _full_hour_reader(columns)
    if not isinstance(rows, (list, tuple)):
        rows = list(rows)
    for row, (bucket, rate, recv, exp, missing, last_seen) in zip(rows, map(_row_reader(columns), rows)):
        if bucket is None:
            raise ValueError("heatmap row without a bucket")
        if type(bucket) is not datetime or bucket.tzinfo is not _UTC:
            bucket = _utc(bucket, "bucket")
        slots = where.get(bucket)
        if slots is None:
            continue  # outside the grid
        if cells[slots[0]] is not empty[slots[0]]:
            raise DuplicateBucketError(f"two heatmap rows for bucket {bucket.isoformat()}")
        # What _opt_float / _opt_int / _utc give, with the common types taken as they are.
        if rate is not None:
            if type(rate) is not float:
                rate = float(rate)
            if not _isfinite(rate):
                rate = None
        if type(recv) is not int:
            recv = _opt_int(recv)
        if type(exp) is not int:
            exp = _opt_int(exp)
        if type(missing) is not int:
            missing = _opt_int(missing)
        if last_seen is not None and (type(last_seen) is not datetime or last_seen.tzinfo is not _UTC):
            last_seen = _utc(last_seen, "last_seen_min")
        if bucket == running:
            full = full_of(row)
            if full is not None and recv is not None:
                exp = expected_so_far(int(full), bucket, now, int(recv), grace)  # type: ignore[arg-type]
                rate, missing = hour_success(int(recv), exp)
        for i in slots:
            cell = empty[i]
            cells[i] = _new_cell(HourCell, (cell[0], cell[1], cell[2], rate, recv, exp, missing, last_seen))
    return cells


# The optional column with an hour's full expectation (exp_per_min * 60).
_FULL_HOUR_COLUMN = "hour_exp_msgs"


def _full_hour_reader(columns: Sequence[str] | None) -> Callable[[Any], Any]:
    """row -> its hour_exp_msgs, or None when the rows do not carry it."""
    if columns is not None:
        if _FULL_HOUR_COLUMN not in columns:
            return lambda row: None
        return itemgetter(list(columns).index(_FULL_HOUR_COLUMN))
    return lambda row: _read_by_name(row, (_FULL_HOUR_COLUMN,))[0]


def hour_phase(bucket_utc: datetime, now: datetime) -> HourPhase:
    """"past" once the hour is over (bucket + 1 h <= now), "current" while it runs,
    "future" when it has not started (bucket > now)."""
    bucket = require_aware(bucket_utc, "bucket_utc")
    require_aware(now, "now")
    if bucket + HOUR <= now:
        return "past"
    return "current" if bucket <= now else "future"


def expected_so_far(hour_expected: int, bucket_utc: datetime, now: datetime, received: int = 0,
                    grace: timedelta = timedelta(0)) -> int:
    """Readings of one hour expected by `now`, given `received` of them so far.

    The hour expects hour_expected readings, one in each of hour_expected equal
    slots (3600 / hour_expected seconds). Once the hour is over all of them are
    expected, before it starts none. While it runs, each slot that has ended
    owes its reading; the slot still running owes one only once it has come
    (a reading may arrive anywhere in its slot):
        completed = floor(elapsed_s * hour_expected / 3600)
        expected  = min(hour_expected, max(completed, min(received, completed + 1)))
    So a tag that sends on time reads received == expected, never more received
    than expected, and each missed slot counts once its slot is over.
    `grace`: a slot is owed only once it ended that long ago. The received count
    comes from a rollup the scheduler refreshes once a tick (plain PostgreSQL), so
    a count up to a tick old must not read as missing readings (RUNNING_HOUR_GRACE).
    """
    if hour_expected < 0:
        raise ValueError(f"hour_expected must be >= 0, got {hour_expected}")
    phase = hour_phase(bucket_utc, now)
    if phase == "past":
        return hour_expected
    if phase == "future":
        return 0
    elapsed_us = (now - bucket_utc) // _US  # whole microseconds: exact integer arithmetic
    completed = elapsed_us * hour_expected // _HOUR_US
    owed = max(0, elapsed_us - grace // _US) * hour_expected // _HOUR_US
    return min(hour_expected, max(owed, min(received, completed + 1)))


def hour_success(recv: int, expected: int) -> tuple[float | None, int]:
    """(success_rate, missing) of an hour: recv / expected clipped to 0..1 and
    max(0, expected - recv); the rate is None when nothing is expected yet."""
    if expected <= 0:
        return None, 0
    return min(1.0, max(0.0, recv / expected)), max(0, expected - recv)


# The columns a heatmap row carries, in the order the grid reads them.
_HOUR_COLUMNS = ("bucket", "success_rate", "recv_msgs", "exp_msgs", "missing_msgs", "last_seen_min")


def _row_reader(columns: Sequence[str] | None) -> Callable[[Any], tuple]:
    """row -> its _HOUR_COLUMNS values: by position when the rows' column order is given
    (one C call a row), else by name (a missing column reads as None)."""
    if columns is None:
        return _read_by_name
    missing = [c for c in _HOUR_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"heatmap rows lack the columns {missing}")
    return itemgetter(*(list(columns).index(c) for c in _HOUR_COLUMNS))


def _read_by_name(row: Any, names: Sequence[str] = _HOUR_COLUMNS) -> tuple:
    get = getattr(row, "get", None)  # a mapping or an asyncpg Record
    if not callable(get):
        get = partial(_attr, row)
    return tuple(get(c) for c in names)


@lru_cache(maxsize=16)
def _empty_grid(start_day: date, zone: tzinfo,
                days: int) -> tuple[tuple[HourCell, ...], dict[datetime, tuple[int, ...]]]:
    """The grid's empty cells (day-major) and, per UTC bucket, the cell positions showing it.

    A pure function of its arguments, kept for the few grids a page asks for
    again and again (every refresh of /comm): the local-to-UTC conversion of
    720 wall-clock hours is most of the cost of a grid. The cells are immutable
    and the dict is only read, so sharing them is safe. (A spring-forward DST
    day maps two cells to one bucket.)
    """
    cells: list[HourCell] = []
    where: dict[datetime, tuple[int, ...]] = {}
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        for hour, bucket in enumerate(local_hour_starts_utc(day, zone)):
            slots = where.get(bucket)
            where[bucket] = (len(cells),) if slots is None else slots + (len(cells),)
            cells.append(_new_cell(HourCell, (bucket, day, hour, None, None, None, None, None)))
    return tuple(cells), where


def merge_outages(cells: Iterable[HourCell], slo_crit: float, now: datetime) -> list[Outage]:
    """Merge consecutive bad hours into outages, oldest first.

    Only hours that are over (bucket + 1 h <= now) can be bad. Such an hour is bad when
      * it has data and success_rate < slo_crit, or
      * it has no row (success_rate None) and lies after the first hour with
        data in the grid: the tag went silent, which is the worst kind of outage.
    Hours before the tag's first data (not yet installed / not yet collected),
    the hour running at `now` and future hours are never outages.

    Cells are taken in UTC time order with duplicate buckets (DST spring-forward)
    counted once. Bad hours merge only when exactly one hour apart, so
    Outage.hours always equals (end_utc - start_utc) in hours.
    """
    require_aware(now, "now")
    if not isinstance(cells, (list, tuple)):
        cells = list(cells)
    buckets = list(map(_BUCKET, cells))
    if set(map(type, buckets)) != {datetime} or set(map(_TZINFO, buckets)) != {_UTC}:
        buckets = [_utc(b, "bucket_utc") for b in buckets]
    if any(map(ge, buckets, islice(buckets, 1, None))):
        # Not strictly ascending: duplicates (a spring-forward grid) or another order.
        unique = dict(zip(buckets, cells))  # each bucket once, its last cell
        buckets = sorted(unique)
        rates = list(map(_RATE, map(unique.__getitem__, buckets)))
    else:  # a grid without a DST jump: already in order, each bucket once
        rates = list(map(_RATE, cells))
    first = next(compress(count(), map(is_not, rates, repeat(None))), None)  # first data
    if first is None:
        return []
    first_data = buckets[first]
    over_by = now - HOUR  # an empty hour counts once bucket + 1 h <= now

    outages: list[Outage] = []
    start: datetime | None = None
    end: datetime | None = None
    # Hours before the first data are never bad: start there.
    for bucket, rate in zip(islice(buckets, first, None), islice(rates, first, None)):
        if bucket > over_by:
            break  # ascending: this hour and every later one are not over yet
        if rate is not None:
            if not rate < slo_crit:
                continue
        elif not first_data < bucket:
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
