"""A chart and its paged table of the same rows (/trend, /tech): PRD §10 wants
the table 1:1 with what the chart draws. A page state mixes this in next to
PageState, sets `_rows` (newest first) in `_apply` and says how one row reads
in the table (`_row_cells`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.domain.chartmarks import axis_format, axis_ticks, draws_dots, gap_after, newest_partial
from ksys_app.domain.series import page_slice
from ksys_app.domain.timefmt import format_local_point
from ksys_app.i18n import tr

PAGE_SIZE = 50


class ChartTable(rx.State, mixin=True):
    chart: list[dict[str, Any]] = []
    rows_page: list[list[str]] = []
    row_count: int = 0
    page: int = 0
    page_count: int = 1
    truncated: bool = False
    chart_axis: str = "min"  # x tick format: "min" / "day" / "sec" (domain.chartmarks.axis_format)
    chart_ticks: list[str] = []  # the x-axis labels offered to recharts ("t" of some points)
    chart_dots: bool = False  # the lines draw their points
    partial_t: str = ""  # the "t" of the newest point when it is a partial bucket, else ""
    partial_note: str = ""  # e.g. "partial bucket (n=1)", also in that point's "p" for the tooltip
    unit_suffix: str = ""  # " bar" after each value in the tooltip; "" when the tag has no unit
    axis_unit: str = ""  # after the y axis' tick values: the unit every line shares, else ""
    chart_points_drawn: int = 0  # points with values (the chart's data also holds gap markers)

    def _set_unit(self, rules: Any) -> None:
        """The tag's unit from the QC rules read (influx_qc_rule.meta.unit); a failed read
        leaves the last one: a unit is not worth an error on the chart."""
        if rules is not None and rules.rows:
            unit = next((r.unit for r in rules.rows if r.tag_name == self.tag), "")
            self.unit_suffix = f" {unit}" if unit else ""
            self.axis_unit = self.unit_suffix

    _rows: tuple = ()  # the rows behind chart and table, newest first

    def _row_cells(self, num: int, row: Any, tz: Any) -> list[str]:
        raise NotImplementedError

    def _set_chart(self, points: list[dict[str, Any]], starts: Sequence[datetime],
                   counts: Sequence[int | None], width: timedelta, as_of: datetime | None,
                   duration: timedelta, raw: bool = False, spacing: timedelta | None = None) -> None:
        """Chart points (ascending, "t" their full label) and what the chart marks on them.
        Raw readings are complete each, so only a window of buckets can end partial.
        `spacing`: how far apart the points are meant to be when not `width` (sampled rows)."""
        partial = None if raw or as_of is None else newest_partial(starts, counts, width, as_of)
        if partial is not None:
            points[-1] = {**points[-1], "p": partial.note_in(self._lang)}
        self.chart_points_drawn = len(points)
        points = self._with_gaps(points, starts, spacing or width, raw)
        self.chart = points
        self.partial_t = points[-1]["t"] if partial is not None else ""
        self.partial_note = partial.note_in(self._lang) if partial is not None else ""
        self.chart_axis = axis_format(duration, raw)
        self.chart_ticks = axis_ticks([p["t"] for p in points])
        self.chart_dots = draws_dots(len(points), raw)

    def _with_gaps(self, points: list[dict[str, Any]], starts: Sequence[datetime], width: timedelta,
                   raw: bool) -> list[dict[str, Any]]:
        """Where buckets are missing (domain.chartmarks.gap_after), a point without values
        after the last one before the gap: the lines break there (connectNulls off) and its
        tooltip says "no data". Raw readings have no grid to miss, so they never break."""
        if raw or len(points) < 2:
            return points
        tz = get_repository().tz
        out: list[dict[str, Any]] = []
        breaks = set(gap_after(starts, width))
        for i, point in enumerate(points):
            out.append(point)
            if i in breaks:
                out.append({"t": format_local_point(starts[i] + width, tz), "p": tr(self._lang, "chart.no_data")})
        return out

    def _page_rows(self, tz: Any = None) -> None:
        tz = tz or get_repository().tz
        p = page_slice(len(self._rows), self.page, PAGE_SIZE)
        self.page, self.page_count = p.index, p.count
        self.rows_page = [self._row_cells(i + 1, r, tz)
                          for i, r in enumerate(self._rows[p.start:p.stop], start=p.start)]

    @rx.event
    def next_page(self):
        self.page += 1
        self._page_rows()

    @rx.event
    def prev_page(self):
        self.page -= 1
        self._page_rows()
