"""`/comm`: 30 local days x 24 hours communication success of one tag, outages, cell detail."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app import logevents
from ksys_app.data.repository import HEATMAP_DAYS, get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.comm import HourCell, success_colour_band
from ksys_app.domain.timefmt import format_local
from ksys_app.states.base import ALL, PageState

HOURS = 24


def recent_start(today: date) -> date:
    """First day of the 30-day grid that ends today."""
    return today - timedelta(days=HEATMAP_DAYS - 1)


def pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def heat_rows(cells: tuple[HourCell, ...], slo_warn: float, slo_crit: float, tz) -> list[list[list[str]]]:
    """24 rows (local hours) x 30 columns (days) of [band, rate, recv/exp, missing, last seen]."""
    grid: list[list[list[str]]] = [[] for _ in range(HOURS)]
    for cell in cells:  # day-major
        band = success_colour_band(cell.success_rate, slo_warn, slo_crit)
        if cell.success_rate is None:
            grid[cell.local_hour].append([band, "", "", "", ""])
            continue
        seen = "" if cell.last_seen is None else f"{cell.last_seen.astimezone(tz):%H:%M}"
        grid[cell.local_hour].append([
            band, pct(cell.success_rate), f"{cell.recv_msgs}/{cell.exp_msgs}",
            str(cell.missing_msgs if cell.missing_msgs is not None else ""), seen,
        ])
    return grid


def cell_detail(cell: HourCell, slo_warn: float, slo_crit: float, tz) -> dict[str, str]:
    band = success_colour_band(cell.success_rate, slo_warn, slo_crit)
    return {
        "when": format_local(cell.bucket_utc, tz),
        "band": band,
        "rate": pct(cell.success_rate) or "no data",
        "recv": "-" if cell.recv_msgs is None else str(cell.recv_msgs),
        "exp": "-" if cell.exp_msgs is None else str(cell.exp_msgs),
        "missing": "-" if cell.missing_msgs is None else str(cell.missing_msgs),
        "last_seen": "-" if cell.last_seen is None else format_local(cell.last_seen, tz),
        "utc": cell.bucket_utc.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


class CommState(PageState, rx.State):
    start_day: str = ""
    today: str = ""
    day_labels: list[str] = []  # "MM-DD" per column
    day_full: list[str] = []  # "YYYY-MM-DD" per column
    heat: list[list[list[str]]] = []
    selected: dict[str, str] = {}
    selected_index: int = -1
    outages: list[list[str]] = []
    slo_text: str = ""

    _cells: tuple = ()
    _slo: tuple = (0.98, 0.95)

    uses_window: ClassVar[bool] = False
    load_event: ClassVar[str] = logevents.COMM_LOAD_OK
    empty_text: ClassVar[str] = "no data for {s.tag} in the 30 days from {s.start_day}"
    url_vars: ClassVar[Mapping[str, str]] = {"start": "start_day"}
    input_defaults: ClassVar[Mapping[str, Any]] = {"selected_index": -1, "selected": {}}

    def _params(self) -> tuple:
        return (self.tag, self.start_day)

    def _today(self) -> date:
        return datetime.now(timezone.utc).astimezone(get_repository().tz).date()

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        """The start date: ?start=YYYY-MM-DD, else the one shown, else the last 30 days."""
        today = self._today()
        self.today = today.isoformat()
        raw = qp.get("start")
        notices = []
        if raw:
            try:
                self.start_day = date.fromisoformat(raw).isoformat()
                return notices
            except ValueError:
                notices.append(f"Unknown start date '{raw}' — showing the last 30 days")
        elif self.start_day:
            return notices
        self.start_day = recent_start(today).isoformat()
        return notices

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, ReadResult]:
        tag, start = params
        repo = get_repository()
        day = date.fromisoformat(start)
        heat, slo, outages = await asyncio.gather(
            repo.comm_heatmap(tag, day), repo.comm_slo(tag), repo.comm_outages(tag, day))
        return {"heat": heat, "slo": slo, "outages": outages}

    def _apply(self, data: dict[str, ReadResult], parts: frozenset[str]) -> dict[str, ReadResult]:
        tz = get_repository().tz
        heat, slo, outages = data["heat"], data["slo"], data["outages"]
        if slo.rows:
            self._slo = (slo.rows[0].slo_warn, slo.rows[0].slo_crit)
        warn, crit = self._slo
        self.slo_text = f"ok ≥ {warn * 100:.0f}%, warn ≥ {crit * 100:.0f}%, crit below"
        self._cells = tuple(heat.rows)
        start = date.fromisoformat(self.start_day)
        days = [start + timedelta(days=i) for i in range(HEATMAP_DAYS)]
        self.day_labels = [f"{d:%m-%d}" for d in days]
        self.day_full = [d.isoformat() for d in days]
        self.heat = heat_rows(self._cells, warn, crit, tz) if self._cells else []
        self.outages = [[format_local(o.start_utc, tz), format_local(o.end_utc, tz), str(o.hours)]
                        for o in outages.rows]
        if 0 <= self.selected_index < len(self._cells):
            self.selected = cell_detail(self._cells[self.selected_index], warn, crit, tz)
        else:
            self.selected_index, self.selected = -1, {}
        result = heat
        if heat.ok and not any(c.success_rate is not None for c in self._cells):
            result = ReadResult(rows=(), fetched_at=heat.fetched_at, window=heat.window,
                                tag=heat.tag, view=heat.view)
        return {ALL: result, "slo": slo, "outages": outages}

    async def _move(self, start: date, event: str):
        self.start_day = start.isoformat()
        async for step in self._show_new_input(event):
            yield step

    @rx.event
    async def prev_day(self):
        async for step in self._move(date.fromisoformat(self.start_day) - timedelta(days=1),
                                     "comm_nav_prev"):
            yield step

    @rx.event
    async def next_day(self):
        nxt = date.fromisoformat(self.start_day) + timedelta(days=1)
        if nxt > recent_start(self._today()):
            return
        async for step in self._move(nxt, "comm_nav_next"):
            yield step

    @rx.event
    async def recent_30(self):
        async for step in self._move(recent_start(self._today()), "comm_recent30"):
            yield step

    @rx.event
    async def set_start(self, value: str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return
        if day.isoformat() == self.start_day:
            return
        async for step in self._move(day, "comm_nav_next"):
            yield step

    @rx.event
    def select_cell(self, index: int):
        index = int(index)
        if not 0 <= index < len(self._cells):
            return
        warn, crit = self._slo
        self.selected_index = index
        self.selected = cell_detail(self._cells[index], warn, crit, get_repository().tz)
        logevents.log_event("comm_cell_select", tag=self.tag, view="comm_success_1h",
                            cell=self.selected["utc"])
