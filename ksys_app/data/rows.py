"""Typed, immutable rows the data layer hands out (NamedTuples, UTC datetimes).

Rows are shared by every reader of a cache entry, so they are immutable. They
are NamedTuples rather than frozen dataclasses because a frozen dataclass pays
one object.__setattr__ per field (about 1.3 µs a row, bench finding 5); a
NamedTuple is built positionally in one call. Read fields by name; `row._asdict()`
gives a dict and `tuple(row)` the values when needed.

Each converter (`series_row`, ...) maps one row by column name (an asyncpg
Record, a dict row, any mapping) and has `.many(records)` for a whole result:
when the statement's columns are exactly the row's fields, in order, and every
column already has the row's Python type (float8 -> float, int8 -> int), the
records are turned into rows positionally, without a per-value conversion.
Otherwise it converts row by row, as the single-row form does. Both give the
same rows.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import asyncpg

from ksys_app.domain.groups import GROUP_KEY, group_of_meta
from ksys_app.domain.kpi import QcRule, WindowStats


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _i(x: Any) -> int | None:
    return None if x is None else int(x)


class SeriesRow(NamedTuple):
    """One bucket of a rollup (Trend chart point / history table row, PRD 10)."""
    bucket: datetime
    tag_name: str
    avg: float | None
    min: float | None
    max: float | None
    last: float | None
    first: float | None
    n: int


class LatestRow(NamedTuple):
    """influx_latest: the newest reading of a tag."""
    tag_name: str
    value: float | None
    ts: datetime


class FeatureRow(NamedTuple):
    """features_5m."""
    bucket: datetime
    tag_name: str
    mean_5m: float | None
    std_5m: float | None
    min_5m: float | None
    max_5m: float | None
    p10_5m: float | None
    p90_5m: float | None
    n_5m: int


class TechRow(NamedTuple):
    """tech_ind_1m_mv (PRD 11)."""
    bucket: datetime
    tag_name: str
    avg: float | None
    sma_10: float | None
    sma_60: float | None
    bb_top: float | None
    bb_bot: float | None
    slope_60: float | None


class CommHourRow(NamedTuple):
    """comm_success_1h; the input of domain.comm.build_heatmap_grid."""
    bucket: datetime
    tag_name: str
    recv_msgs: int | None
    exp_msgs: int | None
    success_rate: float | None
    missing_msgs: int | None
    last_seen_min: datetime | None
    hour_exp_msgs: int | None = None  # the full hour's expectation (exp_per_min * 60)


class CommSlo(NamedTuple):
    """Thresholds of a tag's hourly success rate (ingest_expectation; PRD 28.1 defaults)."""
    tag_name: str
    slo_warn: float = 0.98
    slo_crit: float = 0.95


class Expectation(NamedTuple):
    """Readings a tag is expected to send per minute (ingest_expectation)."""
    tag_name: str
    exp_per_min: int

    @property
    def interval_s(self) -> float:
        """Expected seconds between two readings."""
        return 60.0 / self.exp_per_min


class RowMapper:
    """Record -> row by column name (`mapper(record)`), or a whole result (`mapper.many`).

    `casts` names the fields converted with float() / int() (None stays None);
    the others are taken as they come.
    """

    __slots__ = ("cls", "fields", "_casts", "_checks", "_make", "__name__")

    def __init__(self, cls: type, casts: Mapping[str, type]):
        self.cls = cls
        self.fields: tuple[str, ...] = cls._fields
        conv = {float: _f, int: _i}
        self._casts: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (name, conv[casts[name]] if name in casts else None) for name in self.fields)
        # (column position, exact Python type the column must already have)
        self._checks = tuple((i, casts[name]) for i, name in enumerate(self.fields) if name in casts)
        self._make = partial(tuple.__new__, cls)
        self.__name__ = f"{cls.__name__}_row"

    def __call__(self, r: Mapping[str, Any]) -> Any:
        return self._make([r[name] if fn is None else fn(r[name]) for name, fn in self._casts])

    def many(self, records: Sequence[Any], reverse: bool = False) -> tuple:
        """Rows of a whole result (in reverse order with reverse=True); positional when the
        result's shape allows it (see module doc)."""
        if not records:
            return ()
        ordered = reversed(records) if reverse else records
        if self._positional(records):
            return tuple(map(self._make, ordered))
        return tuple(map(self, ordered))

    def _positional(self, records: Sequence[Any]) -> bool:
        first = records[0]
        if not isinstance(first, asyncpg.Record) or tuple(first.keys()) != self.fields:
            return False
        # Every value of a column comes from the same decoder: its first non-NULL
        # value shows the column's Python type (a column of NULLs needs no cast).
        for i, typ in self._checks:
            for r in records:
                v = r[i]
                if v is not None:
                    if type(v) is not typ:
                        return False
                    break
        return True


series_row = RowMapper(SeriesRow, {"avg": float, "min": float, "max": float, "last": float,
                                   "first": float, "n": int})
latest_row = RowMapper(LatestRow, {"value": float})
feature_row = RowMapper(FeatureRow, {"mean_5m": float, "std_5m": float, "min_5m": float,
                                     "max_5m": float, "p10_5m": float, "p90_5m": float,
                                     "n_5m": int})
tech_row = RowMapper(TechRow, {"avg": float, "sma_10": float, "sma_60": float, "bb_top": float,
                               "bb_bot": float, "slope_60": float})
comm_hour_row = RowMapper(CommHourRow, {"recv_msgs": int, "exp_msgs": int, "success_rate": float,
                                        "missing_msgs": int, "hour_exp_msgs": int})


def qc_rule(r: Mapping[str, Any]) -> QcRule:
    return QcRule(
        tag_name=r["tag_name"],
        min_val=_f(r["min_val"]), max_val=_f(r["max_val"]),
        warn_min=_f(r["warn_min"]), warn_max=_f(r["warn_max"]),
        crit_min=_f(r["crit_min"]), crit_max=_f(r["crit_max"]),
        enabled=bool(r["enabled"]),
        max_gap_seconds=_i(r["max_gap_seconds"]),
        unit=r.get("unit") or "",
        group=group_of_meta({GROUP_KEY: r.get("tag_group")}),
    )


def window_stats(r: Mapping[str, Any]) -> WindowStats:
    return WindowStats(
        tag_name=r["tag_name"], n=int(r["n"]),
        min=_f(r["min"]), max=_f(r["max"]),
        first=_f(r["first"]), last=_f(r["last"]),
        last_ts=r["last_ts"], prev_last=_f(r["prev_last"]),
    )


def expectation(r: Mapping[str, Any]) -> Expectation:
    """exp_per_min of a tag; a missing or zero rate counts as one reading a minute."""
    return Expectation(r["tag_name"], max(1, int(r["exp_per_min"] or 1)))
