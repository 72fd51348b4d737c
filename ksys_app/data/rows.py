"""Typed, immutable rows the data layer hands out (plain dataclasses, UTC datetimes).

Rows are shared by every reader of a cache entry, so they are frozen. Pages turn
them into what they draw; dataclasses.asdict() gives a dict when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ksys_app.domain.kpi import QcRule, WindowStats


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _i(x: Any) -> int | None:
    return None if x is None else int(x)


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One bucket of a rollup (Trend chart point / history table row, PRD 10)."""
    bucket: datetime
    tag_name: str
    avg: float | None
    min: float | None
    max: float | None
    last: float | None
    first: float | None
    n: int


@dataclass(frozen=True, slots=True)
class LatestRow:
    """influx_latest: the newest reading of a tag."""
    tag_name: str
    value: float | None
    ts: datetime


@dataclass(frozen=True, slots=True)
class FeatureRow:
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


@dataclass(frozen=True, slots=True)
class TechRow:
    """tech_ind_1m_mv (PRD 11)."""
    bucket: datetime
    tag_name: str
    avg: float | None
    sma_10: float | None
    sma_60: float | None
    bb_top: float | None
    bb_bot: float | None
    slope_60: float | None


@dataclass(frozen=True, slots=True)
class CommHourRow:
    """comm_success_1h; the input of domain.comm.build_heatmap_grid."""
    bucket: datetime
    tag_name: str
    recv_msgs: int | None
    exp_msgs: int | None
    success_rate: float | None
    missing_msgs: int | None
    last_seen_min: datetime | None


@dataclass(frozen=True, slots=True)
class CommSlo:
    """Thresholds of a tag's hourly success rate (ingest_expectation; PRD 28.1 defaults)."""
    tag_name: str
    slo_warn: float = 0.98
    slo_crit: float = 0.95


def series_row(r: Mapping[str, Any]) -> SeriesRow:
    return SeriesRow(r["bucket"], r["tag_name"], _f(r["avg"]), _f(r["min"]), _f(r["max"]),
                     _f(r["last"]), _f(r["first"]), int(r["n"]))


def latest_row(r: Mapping[str, Any]) -> LatestRow:
    return LatestRow(r["tag_name"], _f(r["value"]), r["ts"])


def feature_row(r: Mapping[str, Any]) -> FeatureRow:
    return FeatureRow(r["bucket"], r["tag_name"], _f(r["mean_5m"]), _f(r["std_5m"]),
                      _f(r["min_5m"]), _f(r["max_5m"]), _f(r["p10_5m"]), _f(r["p90_5m"]),
                      int(r["n_5m"]))


def tech_row(r: Mapping[str, Any]) -> TechRow:
    return TechRow(r["bucket"], r["tag_name"], _f(r["avg"]), _f(r["sma_10"]), _f(r["sma_60"]),
                   _f(r["bb_top"]), _f(r["bb_bot"]), _f(r["slope_60"]))


def comm_hour_row(r: Mapping[str, Any]) -> CommHourRow:
    return CommHourRow(r["bucket"], r["tag_name"], _i(r["recv_msgs"]), _i(r["exp_msgs"]),
                       _f(r["success_rate"]), _i(r["missing_msgs"]), r["last_seen_min"])


def qc_rule(r: Mapping[str, Any]) -> QcRule:
    return QcRule(
        tag_name=r["tag_name"],
        min_val=_f(r["min_val"]), max_val=_f(r["max_val"]),
        warn_min=_f(r["warn_min"]), warn_max=_f(r["warn_max"]),
        crit_min=_f(r["crit_min"]), crit_max=_f(r["crit_max"]),
        enabled=bool(r["enabled"]),
        max_gap_seconds=_i(r["max_gap_seconds"]),
    )


def window_stats(r: Mapping[str, Any]) -> WindowStats:
    return WindowStats(
        tag_name=r["tag_name"], n=int(r["n"]),
        min=_f(r["min"]), max=_f(r["max"]),
        first=_f(r["first"]), last=_f(r["last"]),
        last_ts=r["last_ts"], prev_last=_f(r["prev_last"]),
    )
