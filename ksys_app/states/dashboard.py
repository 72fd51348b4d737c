"""`/` Dashboard: latest snapshot table and KPI tiles, refreshed live.

At a plant's size (issue 19) the tiles are one group's (?group=) or a page of the
tags in attention order, and only their statistics are read; the snapshot is a
page of a database search (?q=)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone
from typing import ClassVar, Mapping, Sequence

import reflex as rx

from ksys_app import logevents
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import LatestRow
from ksys_app.domain.attention import abnormal_first, latest_tone, tags_by_attention
from ksys_app.domain.comm import comm_status
from ksys_app.domain.groups import (
    MAX_SEARCH_LEN,
    SNAPSHOT_PAGE_ROWS,
    TILES_PER_PAGE,
    clamp_page,
    group_name,
    group_names,
    page_count,
    page_of,
    page_param,
    search_term,
    tags_in_group,
)
from ksys_app.domain.inputs import InputError
from ksys_app.domain.kpi import NO_LIMITS, WINDOW_SCALE, QcRule, WindowStats, alarm_badge, build_kpi_tile
from ksys_app.domain.series import fmt_num
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import parse_window
from ksys_app.i18n import tr
from ksys_app.states.base import PageState

SNAPSHOT, TILES = "snapshot", "tiles"
MAX_DRAFT = 4 * MAX_SEARCH_LEN  # the box keeps a little more than a search may be, so the refusal can say so
DEFAULT_INTERVAL_S = 60.0  # exp_per_min 1 when a tag has no ingest_expectation row


def value_text(x: float | None) -> str:
    """Snapshot value: up to 3 decimals without trailing zeros ("190", "12.75")."""
    s = fmt_num(x, 3)
    return s.rstrip("0").rstrip(".") if "." in s else s


def period_text(seconds: float) -> str:
    """A refresh period for "every N s": whole seconds without a decimal point."""
    return f"{seconds:g}"


def snapshot_rows(latest: Sequence[LatestRow], rules: Mapping[str, QcRule],
                  intervals: Mapping[str, float], now: datetime, tz,
                  stale: bool = False) -> list[dict[str, str]]:
    """Rows of the snapshot table. `stale`: the database did not answer and these are
    the last good rows, so whether a tag still communicates is not known."""
    rows = []
    for r in latest:
        rule = rules.get(r.tag_name)
        status = "unknown" if stale else comm_status(r.ts, now, intervals.get(r.tag_name, DEFAULT_INTERVAL_S),
                                                       rule.max_gap_seconds if rule else None)
        rows.append({
            "tag": r.tag_name,
            "ts": format_local(r.ts, tz),
            "value": value_text(r.value),
            "unit": rule.unit if rule else "",
            "comm": status,
            "alarm": alarm_badge(r.value, rule),
        })
    return rows


# domain.kpi's scale notes -> their message (ksys_app/i18n/messages.py)
NOTE_KEYS = {NO_LIMITS: "kpi.no_limits", WINDOW_SCALE: "kpi.window_scale"}


def tile_cards(tags: Sequence[str], stats: Mapping[str, WindowStats],
               rules: Mapping[str, QcRule], tz, lang: str = "en") -> list[dict[str, str]]:
    cards = []
    for tag in tags:
        s = stats.get(tag) or WindowStats(tag, 0, None, None, None, None, None)
        t = build_kpi_tile(s, rules.get(tag), tz)
        cards.append({
            "title": t.title, "value": t.value_s, "unit": rule.unit if (rule := rules.get(tag)) else "",
            "ts": t.ts_s, "range": t.range_label,
            "note": tr(lang, NOTE_KEYS[t.scale_note]) if t.scale_note else "", "delta": t.delta_s, "delta_mode": t.delta_mode,
            "dir": t.direction, "status": str(t.status_level), "tone": t.tone,
            "gauge": f"{t.gauge_pct:.1f}", "n": str(t.n), "min": t.min_s, "max": t.max_s,
            "first": t.first_s, "last": t.last_s,
        })
    return cards


def tiles_to_read(tags: Sequence[str], rules: Mapping[str, QcRule], latest: Sequence[LatestRow], group: str,
                  page: int, window_start: datetime) -> tuple[list[str], int, int]:
    """The tags whose tiles `/` shows: those of `group` ("" all), a page of TILES_PER_PAGE
    in attention order (domain.attention.latest_tone) when there are more; with the
    clamped page and how many tags there are in all."""
    members = tags_in_group(tags, {t: r.group for t, r in rules.items()}, group)
    if len(members) <= TILES_PER_PAGE:
        return list(members), 0, len(members)
    newest = {r.tag_name: r for r in latest}
    tones = {t: latest_tone(row.value if (row := newest.get(t)) else None, row.ts if row else None,
                            rules.get(t), window_start) for t in members}
    page = clamp_page(page, len(members), TILES_PER_PAGE)
    return page_of(tags_by_attention(members, tones), page, TILES_PER_PAGE), page, len(members)


class DashboardState(PageState, rx.State):
    snapshot: list[dict[str, str]] = []
    tiles: list[dict[str, str]] = []
    snapshot_time: str = ""  # local time of the snapshot read
    tiles_time: str = ""  # local time of the KPI read
    snapshot_every_s: str = "60"  # live refresh periods, for the section heads
    tiles_every_s: str = "30"
    group: str = ""  # the group whose tiles are shown ("" every tag); ?group=
    group_options: list[str] = []
    tile_page: int = 0
    tile_pages: int = 1
    tile_total: int = 0  # tags of the group (or all), of which a page of tiles is shown
    search: str = ""  # the snapshot search applied; ?q=
    search_draft: str = ""  # what the search box holds (applied on Enter / Search)
    snap_page: int = 0
    snap_pages: int = 1
    snap_total: int = 0  # tags matching the search

    parts: ClassVar[frozenset[str]] = frozenset({SNAPSHOT, TILES})
    # The tiles refresh when their cached KPI read expires.
    live: ClassVar[Mapping[str, str]] = {SNAPSHOT: "snapshot_period_s", TILES: "cache_ttl_metrics_s"}
    needs_tags: ClassVar[bool] = False
    load_event: ClassVar[str] = logevents.DASH_LOAD_OK
    # Tiles are kept for every shown tag; the empty state says the window had no rows.
    main_part: ClassVar[str] = TILES
    empty_key: ClassVar[str] = "empty.window"
    # ?tiles=N: the page of tiles (1-based), so a reload, Back and a kiosk entry such as
    # KSYS_KIOSK_PAGES="/?tiles=1,/?tiles=2" come to the same tiles
    url_vars: ClassVar[Mapping[str, str]] = {"group": "group", "tiles": "tiles_param", "q": "search"}

    @rx.var
    def tiles_param(self) -> str:
        return str(self.tile_page + 1) if self.tile_page > 0 else ""

    def _params(self) -> tuple:
        return (self.window, self.group, self.tile_page, self.search, self.snap_page)

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        """?group= (checked against the groups once the rules are read, in _apply), ?tiles=
        (clamped to the pages there are, in _fetch) and ?q=."""
        notices = []
        self.group, self.tile_page, self.snap_page = "", 0, 0
        if raw := qp.get("group", ""):
            try:
                self.group = group_name(raw)
            except InputError:
                notices.append(self._t("notice.unknown_group", value=raw[:40]))
        if raw := qp.get("tiles", ""):
            try:
                self.tile_page = page_param(raw)
            except InputError:
                notices.append(self._t("notice.unknown_tiles", value=raw[:20]))
        self.search = ""
        if raw := qp.get("q", ""):
            try:
                self.search = search_term(raw)
            except InputError as exc:
                notices.append(self._t("notice.bad_search", why=str(exc)))
        self.search_draft = self.search
        return notices

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict:
        window, group, tile_page, search, snap_page = params
        repo = get_repository()
        names = ["qc", "latest"]
        reads = [repo.qc_rules(), repo.latest()]
        if SNAPSHOT in parts:
            names.append("exp")
            reads.append(repo.expectations())
            if search:
                names.append("snap_count")
                reads.append(repo.snapshot_count(search))
        data: dict = dict(zip(names, await asyncio.gather(*reads)))
        rules = {r.tag_name: r for r in data["qc"].rows}
        later, later_names = [], []
        if SNAPSHOT in parts and not search and not data["latest"].truncated:
            # Every tag, by name: the count and the page are those of the influx_latest rows
            # just read for the tiles, so the database is not asked for them again (at 2,000
            # tags each of the two reads costs what `latest` does, ~20 ms; bench/README.md).
            latest = data["latest"]
            data["snap_total"] = total = len(latest.rows)
            data["snap_page"] = clamp_page(snap_page, total, SNAPSHOT_PAGE_ROWS)
            data["snap_count"] = replace(latest, rows=(total,))
            data["snap"] = replace(latest, rows=tuple(page_of(latest.rows, snap_page, SNAPSHOT_PAGE_ROWS)))
        elif SNAPSHOT in parts:
            if "snap_count" not in data:  # every tag, but `latest` was cut at its limit
                data["snap_count"] = await repo.snapshot_count(search)
            count = data["snap_count"]
            data["snap_total"] = total = count.rows[0] if count.rows else 0
            data["snap_page"] = page = clamp_page(snap_page, total, SNAPSHOT_PAGE_ROWS)
            later_names.append("snap")
            later.append(repo.snapshot_page(search, page * SNAPSHOT_PAGE_ROWS, SNAPSHOT_PAGE_ROWS))
        if TILES in parts:
            groups = group_names(r.group for r in rules.values())
            rules_known = bool(data["qc"].rows) or not data["qc"].failed
            shown_group = group if group in groups or not rules_known else ""
            latest = data["latest"].rows
            start = datetime.now(timezone.utc) - parse_window(window).duration
            tags, page, total = tiles_to_read(sorted({r.tag_name for r in latest}), rules, latest, shown_group,
                                              tile_page, start)
            data.update(groups=groups, shown_group=shown_group, tile_tags=tags, tile_page=page, tile_total=total)
            later_names.append("kpi")
            later.append(repo.kpi_stats(window, tags))
        data.update(zip(later_names, await asyncio.gather(*later)))
        return data

    def _rows_went_stale(self) -> None:
        # whether a tag still communicates is not known while the database does not answer
        self.snapshot = [{**r, "comm": "unknown"} for r in self.snapshot]

    def _apply(self, data: dict, parts: frozenset[str]) -> dict[str, ReadResult]:
        repo = get_repository()
        rules = {r.tag_name: r for r in data["qc"].rows}
        self.snapshot_every_s = period_text(repo.setting("snapshot_period_s"))
        self.tiles_every_s = period_text(repo.setting("cache_ttl_metrics_s"))
        results: dict[str, ReadResult] = {"qc": data["qc"]}
        if SNAPSHOT in parts:
            snap = data["snap"]
            intervals = {e.tag_name: e.interval_s for e in data["exp"].rows}
            self.snapshot = snapshot_rows(snap.rows, rules, intervals,
                                          datetime.now(timezone.utc), repo.tz, stale=snap.stale or snap.failed)
            self.snapshot_time = format_local(snap.fetched_at, repo.tz) if snap.fetched_at else ""
            self.snap_total, self.snap_page = data["snap_total"], data["snap_page"]
            self.snap_pages = page_count(self.snap_total, SNAPSHOT_PAGE_ROWS)
            results[SNAPSHOT] = snap
            results["snap_count"] = data["snap_count"]
        if TILES in parts:
            kpi = data["kpi"]
            stats = {s.tag_name: s for s in kpi.rows}
            self.group_options = data["groups"]
            if self.group and data["shown_group"] != self.group:
                self.notice = "; ".join(n for n in (self.notice, self._t("notice.unknown_group",
                                                                        value=self.group)) if n)
                self.group = ""
            self.tile_page, self.tile_total = data["tile_page"], data["tile_total"]
            self.tile_pages = page_count(self.tile_total, TILES_PER_PAGE)
            # What needs attention first: at 800 x 480 only the first tiles are above the fold.
            self.tiles = abnormal_first(tile_cards(data["tile_tags"], stats, rules, repo.tz, self._lang))
            self.tiles_time = format_local(kpi.fetched_at, repo.tz) if kpi.fetched_at else ""
            results[TILES] = kpi
        return results

    # ------------------------------------------------------------------ events

    @rx.event
    async def set_group(self, group: str):
        # event arguments come from the websocket: any client can send any JSON
        if not isinstance(group, str) or group == self.group or (group and group not in self.group_options):
            return
        self.group, self.tile_page = group, 0
        async for step in self._show_new_input():
            yield step

    @rx.event
    def set_search_draft(self, value: str):
        if isinstance(value, str):
            self.search_draft = value[:MAX_DRAFT]

    @rx.event
    async def apply_search(self, form: dict | None = None):
        """The search box's text (search_draft; the form's own data is not needed) as the
        snapshot's search. Refused text leaves the search, the page and the rows as they were."""
        try:
            term = search_term(self.search_draft)
        except InputError as exc:
            self.notice = self._t("notice.bad_search", why=str(exc))
            return
        self.notice = ""
        if term == self.search:
            return
        self.search, self.snap_page = term, 0
        await self._reload(frozenset({SNAPSHOT}))
        yield self._url_script()

    @rx.event
    async def clear_search(self):
        self.search_draft = ""
        if self.search:
            self.search, self.snap_page = "", 0
            await self._reload(frozenset({SNAPSHOT}))
            yield self._url_script()

    async def _turn(self, page_var: str, pages_var: str, step: int, part: str) -> None:
        page = min(max(getattr(self, page_var) + step, 0), getattr(self, pages_var) - 1)
        if page != getattr(self, page_var):
            setattr(self, page_var, page)
            await self._reload(frozenset({part}))

    @rx.event
    async def snapshot_prev(self):
        await self._turn("snap_page", "snap_pages", -1, SNAPSHOT)

    @rx.event
    async def snapshot_next(self):
        await self._turn("snap_page", "snap_pages", 1, SNAPSHOT)

    @rx.event
    async def tiles_prev(self):
        await self._turn("tile_page", "tile_pages", -1, TILES)
        yield self._url_script()

    @rx.event
    async def tiles_next(self):
        await self._turn("tile_page", "tile_pages", 1, TILES)
        yield self._url_script()
