"""`/comm`: 30 local days x 24 hours communication success of one tag, outages, cell detail."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app import logevents
from ksys_app.data.repository import HEATMAP_DAYS, get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.comm import HourCell, hour_phase, success_colour_band
from ksys_app.domain.comm_range import start_bounds, step_start
from ksys_app.domain.timefmt import format_local
from ksys_app.i18n import tr
from ksys_app.states.base import ALL, PageState

HOURS = 24
STEP_DAYS = (1, HEATMAP_DAYS)  # the two steps of the range buttons


def recent_start(today: date) -> date:
    """First day of the 30-day grid that ends today."""
    return start_bounds(today, HEATMAP_DAYS)[1]


def pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def heat_rows(cells: tuple[HourCell, ...], slo_warn: float, slo_crit: float, tz,
              now: datetime) -> list[list[list[str]]]:
    """30 rows (local days) x 24 columns (local hours) of [band, rate, recv/exp, missing, last seen].

    band is a colour band, or "future" for an hour that has not started at `now`.
    """
    grid: list[list[list[str]]] = [[] for _ in range(len(cells) // HOURS)]
    for i, cell in enumerate(cells):  # day-major, 24 a day
        row = grid[i // HOURS]
        if hour_phase(cell.bucket_utc, now) == "future":
            row.append(["future", "", "", "", ""])
            continue
        band = success_colour_band(cell.success_rate, slo_warn, slo_crit)
        if cell.success_rate is None:
            row.append([band, "", "", "", ""])
            continue
        seen = "" if cell.last_seen is None else f"{cell.last_seen.astimezone(tz):%H:%M}"
        row.append([
            band, pct(cell.success_rate), f"{cell.recv_msgs}/{cell.exp_msgs}",
            str(cell.missing_msgs if cell.missing_msgs is not None else ""), seen,
        ])
    return grid


def now_index(cells: tuple[HourCell, ...], now: datetime) -> int:
    """Position of the hour running at `now` in the grid, -1 when it is not shown."""
    for i, cell in enumerate(cells):
        if hour_phase(cell.bucket_utc, now) == "current":
            return i
    return -1


def cell_detail(cell: HourCell, slo_warn: float, slo_crit: float, tz, now: datetime,
                lang: str = "en") -> dict[str, str]:
    phase = hour_phase(cell.bucket_utc, now)
    band = "future" if phase == "future" else success_colour_band(cell.success_rate, slo_warn, slo_crit)
    rate = pct(cell.success_rate) or tr(lang, "comm.not_yet" if phase == "future" else "comm.rate_no_data")
    if phase == "current" and cell.success_rate is not None:
        rate += tr(lang, "comm.hour_in_progress")
    return {
        "when": format_local(cell.bucket_utc, tz),
        "band": band,
        "rate": rate,
        "recv": "-" if cell.recv_msgs is None else str(cell.recv_msgs),
        "exp": "-" if cell.exp_msgs is None else str(cell.exp_msgs),
        "missing": "-" if cell.missing_msgs is None else str(cell.missing_msgs),
        "last_seen": "-" if cell.last_seen is None else format_local(cell.last_seen, tz),
        "utc": cell.bucket_utc.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


class CommState(PageState, rx.State):
    start_day: str = ""
    today: str = ""
    min_start: str = ""  # earliest start: the oldest retained day
    max_start: str = ""  # latest start: the 30 days that end today
    can_prev: bool = False
    can_next: bool = False
    day_labels: list[str] = []  # "MM-DD ddd" per row
    day_full: list[str] = []  # "YYYY-MM-DD" per row
    heat: list[list[list[str]]] = []
    now_index: int = -1  # the running hour's cell, -1 when not in the grid
    selected: dict[str, str] = {}
    selected_index: int = -1
    outages: list[list[str]] = []
    slo_text: str = ""

    _cells: tuple = ()
    _slo: tuple = (0.98, 0.95)

    uses_window: ClassVar[bool] = False
    load_event: ClassVar[str] = logevents.COMM_LOAD_OK
    empty_key: ClassVar[str] = "empty.comm"
    url_vars: ClassVar[Mapping[str, str]] = {"start": "start_day"}
    # Heatmap, SLO and outages refresh when their cached entries expire.
    live: ClassVar[Mapping[str, str]] = {ALL: "cache_ttl_comm_s"}
    input_defaults: ClassVar[Mapping[str, Any]] = {"selected_index": -1, "selected": {}}

    def _params(self) -> tuple:
        return (self.tag, self.start_day)

    def _ready(self) -> bool:
        # no start day before on_load set one: a Retry or Refresh sent earlier (any websocket
        # client can) has nothing to read yet
        return super()._ready() and bool(self.start_day)

    def _today(self) -> date:
        return datetime.now(timezone.utc).astimezone(get_repository().tz).date()

    def _set_start(self, start: date) -> None:
        """Show the 30 days from `start` (kept within the retained range) and say
        which way the range can still move."""
        today = self._today()
        earliest, latest = start_bounds(today, HEATMAP_DAYS)
        start = max(earliest, min(latest, start))
        self.today = today.isoformat()
        self.min_start, self.max_start = earliest.isoformat(), latest.isoformat()
        self.start_day = start.isoformat()
        self.can_prev, self.can_next = start > earliest, start < latest

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        """The start date: ?start=YYYY-MM-DD, else (no start in the URL) the last 30 days."""
        today = self._today()
        raw = qp.get("start")
        notices = []
        if raw:
            try:
                asked = date.fromisoformat(raw)
            except ValueError:
                notices.append(self._t("notice.unknown_start", value=raw[:20]))
            else:
                self._set_start(asked)
                if self.start_day != asked.isoformat():
                    notices.append(self._t("notice.start_outside", value=raw[:20], lo=self.min_start,
                                           hi=self.max_start, shown=self.start_day))
                return notices
        self._set_start(recent_start(today))
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
        now = datetime.now(timezone.utc)
        heat, slo, outages = data["heat"], data["slo"], data["outages"]
        if slo.rows:
            self._slo = (slo.rows[0].slo_warn, slo.rows[0].slo_crit)
        warn, crit = self._slo
        self.slo_text = self._t("comm.slo", warn=f"{warn * 100:.0f}", crit=f"{crit * 100:.0f}")
        self._cells = tuple(heat.rows)
        start = date.fromisoformat(self.start_day)
        days = [start + timedelta(days=i) for i in range(HEATMAP_DAYS)]
        self.day_labels = [f"{d:%m-%d} {self._t(f'weekday.{d.weekday()}')}" for d in days]
        self.day_full = [d.isoformat() for d in days]
        self.heat = heat_rows(self._cells, warn, crit, tz, now) if self._cells else []
        self.now_index = now_index(self._cells, now)
        self.outages = [[format_local(o.start_utc, tz), format_local(o.end_utc, tz), str(o.hours)]
                        for o in outages.rows]
        if 0 <= self.selected_index < len(self._cells):
            self.selected = cell_detail(self._cells[self.selected_index], warn, crit, tz, now, self._lang)
        else:
            self.selected_index, self.selected = -1, {}
        result = heat
        if heat.ok and not any(c.success_rate is not None for c in self._cells):
            result = ReadResult(rows=(), fetched_at=heat.fetched_at, window=heat.window,
                                tag=heat.tag, view=heat.view)
        return {ALL: result, "slo": slo, "outages": outages}

    async def _move(self, start: date, event: str):
        before = self.start_day
        self._set_start(start)
        if self.start_day == before:
            return  # at the end of the range already: nothing to read
        async for step in self._show_new_input(event):
            yield step

    async def _step(self, days: int, event: str):
        if not self.start_day:
            return  # a range button before the page loaded: no range to step from yet
        start = step_start(date.fromisoformat(self.start_day), days, self._today(), HEATMAP_DAYS)
        async for step in self._move(start, event):
            yield step

    @rx.event
    async def prev_month(self):
        async for step in self._step(-STEP_DAYS[1], "comm_nav_prev"):
            yield step

    @rx.event
    async def prev_day(self):
        async for step in self._step(-STEP_DAYS[0], "comm_nav_prev"):
            yield step

    @rx.event
    async def next_day(self):
        async for step in self._step(STEP_DAYS[0], "comm_nav_next"):
            yield step

    @rx.event
    async def next_month(self):
        async for step in self._step(STEP_DAYS[1], "comm_nav_next"):
            yield step

    @rx.event
    async def recent_30(self):
        async for step in self._move(recent_start(self._today()), "comm_recent30"):
            yield step

    @rx.event
    async def set_start(self, value: str):
        if not isinstance(value, str) or len(value) > 10:
            return   # not from the date input: anything may come over the websocket
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return
        async for step in self._move(day, "comm_nav_next"):
            yield step

    @rx.event
    def select_cell(self, index: int):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._cells):
            return
        warn, crit = self._slo
        self.selected_index = index
        self.selected = cell_detail(self._cells[index], warn, crit, get_repository().tz,
                                    datetime.now(timezone.utc), self._lang)
        logevents.log_event("comm_cell_select", tag=self.tag, view="comm_success_1h",
                            cell=self.selected["utc"])
