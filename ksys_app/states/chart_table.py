"""A chart and its paged table of the same rows (/trend, /tech): PRD §10 wants
the table 1:1 with what the chart draws. A page state mixes this in next to
PageState, sets `_rows` (newest first) in `_apply` and says how one row reads
in the table (`_row_cells`)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.domain.series import page_slice

PAGE_SIZE = 50


class ChartTable(rx.State, mixin=True):
    chart: list[dict[str, Any]] = []
    rows_page: list[list[str]] = []
    row_count: int = 0
    page: int = 0
    page_count: int = 1
    truncated: bool = False

    _rows: tuple = ()  # the rows behind chart and table, newest first

    def _row_cells(self, num: int, row: Any, tz: Any) -> list[str]:
        raise NotImplementedError

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
