"""`/trend`: one tag's rollup over a window as a chart, a history table and 5-minute features.

The rollup rows stay in a backend-only var; the browser gets the chart points
(at most domain.series.MAX_POINTS merged buckets, floats rounded) and one page
of the history table. Table rows and chart points are the same merged buckets.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.series import (
    Bucket,
    fmt_num,
    format_width,
    merge_buckets,
    page_slice,
    rounded,
    to_csv,
)
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import parse_window
from ksys_app.states.base import ALL, PageState
from ksys_app.states.chart_table import PAGE_SIZE, ChartTable
from ksys_app.states.view import chart_label

FEATURES_MAX_ROWS = 2016  # 7 days of 5-minute rows; longer windows show the newest 7 days
SERIES_KEYS = ("avg", "min", "max", "last", "first")
# Short keys of the chart points: 300 points x 5 series travel on every update.
CHART_KEYS = {"avg": "a", "min": "mn", "max": "mx", "last": "l", "first": "f"}
HISTORY_HEADER = ["Num.", "TAG", "Time Stamp", "avg", "min", "max", "last", "first", "n"]
FEATURES_HEADER = ["Num.", "TAG", "Time Stamp", "mean", "std", "min", "max", "p10", "p90", "n"]


class TrendState(PageState, ChartTable, rx.State):
    show_avg: bool = True
    show_min: bool = True
    show_max: bool = True
    show_last: bool = True
    show_first: bool = True

    bucket_label: str = ""
    merged_from: str = ""  # rollup bucket when merged, else ""

    features_page: list[list[str]] = []
    features_count: int = 0
    fpage: int = 0
    fpage_count: int = 1
    features_note: str = ""
    features_error: str = ""

    _features: tuple = ()  # FeatureRows, newest first

    input_defaults: ClassVar[Mapping[str, Any]] = {"page": 0, "fpage": 0}

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, ReadResult]:
        tag, window = params
        repo = get_repository()
        series, features = await asyncio.gather(
            repo.series(tag, window),
            repo.features_recent(tag, window, FEATURES_MAX_ROWS))
        return {"series": series, "features": features}

    def _apply(self, data: dict[str, ReadResult], parts: frozenset[str]) -> dict[str, ReadResult]:
        series = data["series"]
        tz = get_repository().tz
        w = parse_window(self.window)
        merged = merge_buckets(series.rows, w.bucket)
        self._rows = tuple(reversed(merged.rows))
        self.row_count = len(self._rows)
        self.truncated = series.truncated
        self.bucket_label = format_width(merged.width)
        self.merged_from = format_width(w.bucket) if merged.factor > 1 else ""
        long_span = w.duration > timedelta(days=2)
        self.chart = [
            {"t": chart_label(b.bucket, tz, long_span), CHART_KEYS["avg"]: rounded(b.avg),
             CHART_KEYS["min"]: rounded(b.min), CHART_KEYS["max"]: rounded(b.max),
             CHART_KEYS["last"]: rounded(b.last), CHART_KEYS["first"]: rounded(b.first)}
            for b in merged.rows
        ]
        self._page_rows(tz)

        feats = data["features"]
        self._features = tuple(reversed(feats.rows))
        self.features_count = len(self._features)
        # With last good rows the page-level stale badge says enough; without, say why.
        self.features_error = (f"{feats.error.code}: {feats.error.message}"
                               if feats.failed and not feats.stale else "")
        self.features_note = (f"newest {FEATURES_MAX_ROWS} rows of the window" if feats.truncated
                              else "")
        self._feature_rows(tz)
        return {ALL: series}

    def _row_cells(self, num: int, b: Bucket, tz: Any) -> list[str]:
        return history_row(num, self.tag, b, tz)

    def _feature_rows(self, tz=None) -> None:
        tz = tz or get_repository().tz
        p = page_slice(len(self._features), self.fpage, PAGE_SIZE)
        self.fpage, self.fpage_count = p.index, p.count
        self.features_page = [
            [str(i + 1), f.tag_name, format_local(f.bucket, tz), fmt_num(f.mean_5m),
             fmt_num(f.std_5m), fmt_num(f.min_5m), fmt_num(f.max_5m), fmt_num(f.p10_5m),
             fmt_num(f.p90_5m), str(f.n_5m)]
            for i, f in enumerate(self._features[p.start:p.stop], start=p.start)
        ]

    @rx.event
    def set_series(self, key: str, on: bool):
        if key in SERIES_KEYS:
            setattr(self, f"show_{key}", bool(on))

    @rx.event
    def next_fpage(self):
        self.fpage += 1
        self._feature_rows()

    @rx.event
    def prev_fpage(self):
        self.fpage -= 1
        self._feature_rows()

    @rx.event
    def download_csv(self):
        tz = get_repository().tz
        text = to_csv(HISTORY_HEADER[1:] + ["bucket_width"],
                      [[self.tag, format_local(b.bucket, tz), b.avg, b.min, b.max, b.last, b.first,
                        b.n, self.bucket_label] for b in self._rows])
        return rx.download(data=text, filename=f"trend_{self.tag}_{self.window}.csv",
                           mime_type="text/csv")


def history_row(num: int, tag: str, b: Bucket, tz) -> list[str]:
    return [str(num), tag, format_local(b.bucket, tz), fmt_num(b.avg), fmt_num(b.min),
            fmt_num(b.max), fmt_num(b.last), fmt_num(b.first), str(b.n)]
