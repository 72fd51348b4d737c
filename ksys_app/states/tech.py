"""`/tech`: SMA 10/60, Bollinger bands and slope_60 of one tag, chart and table in step.

Indicator rows cannot be merged like rollup buckets, so long windows read
every k-th minute on a time grid (Reads.tech_sampled); the page says
which spacing it shows. Chart points and table rows are the same rows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.series import fmt_num, format_width, rounded, to_csv
from ksys_app.domain.timefmt import format_local, format_local_point
from ksys_app.domain.windows import TECH_BUCKET, parse_window
from ksys_app.states.base import ALL, PageState
from ksys_app.states.chart_table import ChartTable

TECH_KEYS = ("avg", "bb_bot", "bb_top", "sma_10", "sma_60")
# Short keys of the chart points (payload); the legend shows the full names.
CHART_KEYS = {"avg": "a", "sma_10": "s10", "sma_60": "s60", "bb_top": "bt", "bb_bot": "bb"}
TECH_HEADER = ["Num.", "TAG", "Time Stamp", "avg", "sma_10", "sma_60", "bb_top", "bb_bot", "slope_60"]


class TechState(PageState, ChartTable, rx.State):
    show_avg: bool = True
    show_bb_bot: bool = True
    show_bb_top: bool = True
    show_sma_10: bool = True
    show_sma_60: bool = True

    spacing_label: str = ""
    is_sampled: bool = False

    # The indicator read refreshes when its cached entry expires.
    live: ClassVar[Mapping[str, str]] = {ALL: "cache_ttl_metrics_s"}
    input_defaults: ClassVar[Mapping[str, Any]] = {"page": 0}

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, Any]:
        tag, window = params
        repo = get_repository()
        (result, step), rules = await asyncio.gather(repo.tech_sampled(tag, window), repo.qc_rules())
        return {"tech": result, "step": step, "qc": rules}

    def _apply(self, data: dict[str, Any], parts: frozenset[str]) -> dict[str, ReadResult]:
        result: ReadResult = data["tech"]
        step: timedelta = data["step"]
        self._set_unit(data.get("qc"))
        tz = get_repository().tz
        w = parse_window(self.window)
        rows = result.rows
        self._rows = tuple(reversed(rows))
        self.row_count = len(rows)
        self.truncated = result.truncated
        self.is_sampled = step > timedelta(minutes=1)
        self.spacing_label = format_width(step)
        points = [
            {"t": format_local_point(r.bucket, tz), CHART_KEYS["avg"]: rounded(r.avg),
             CHART_KEYS["sma_10"]: rounded(r.sma_10), CHART_KEYS["sma_60"]: rounded(r.sma_60),
             CHART_KEYS["bb_top"]: rounded(r.bb_top), CHART_KEYS["bb_bot"]: rounded(r.bb_bot)}
            for r in rows
        ]
        # each row is one minute's indicators (sampled or not): partial while that minute runs
        self._set_chart(points, [r.bucket for r in rows], [None] * len(rows), TECH_BUCKET,
                        result.fetched_at, w.duration, spacing=step)
        self._page_rows(tz)
        return {ALL: result}

    def _row_cells(self, num: int, r: Any, tz: Any) -> list[str]:
        return [str(num), r.tag_name, format_local(r.bucket, tz), fmt_num(r.avg), fmt_num(r.sma_10),
                fmt_num(r.sma_60), fmt_num(r.bb_top), fmt_num(r.bb_bot), fmt_num(r.slope_60)]

    @rx.event
    def toggle_series(self, key: str):
        if isinstance(key, str) and key in TECH_KEYS:
            name = f"show_{key}"
            setattr(self, name, not getattr(self, name))

    @rx.event
    def download_csv(self):
        tz = get_repository().tz
        # slope_60 is per minute: its unit would be "<unit>/min"; the column says the tag's unit
        text = to_csv(TECH_HEADER[1:] + ["unit", "spacing"],
                      [[r.tag_name, format_local(r.bucket, tz), r.avg, r.sma_10, r.sma_60, r.bb_top,
                        r.bb_bot, r.slope_60, self.unit_suffix.strip(), self.spacing_label] for r in self._rows])
        return rx.download(data=text, filename=f"tech_{self.tag}_{self.window}.csv",
                           mime_type="text/csv")
