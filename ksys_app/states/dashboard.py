"""`/` Dashboard: latest snapshot table and KPI tiles, refreshed live."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import ClassVar, Mapping, Sequence

import reflex as rx

from ksys_app import logevents
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import LatestRow
from ksys_app.domain.attention import abnormal_first
from ksys_app.domain.comm import comm_status
from ksys_app.domain.kpi import NO_LIMITS, WINDOW_SCALE, QcRule, WindowStats, alarm_badge, build_kpi_tile
from ksys_app.domain.series import fmt_num
from ksys_app.domain.timefmt import format_local
from ksys_app.i18n import tr
from ksys_app.states.base import PageState

SNAPSHOT, TILES = "snapshot", "tiles"
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


class DashboardState(PageState, rx.State):
    snapshot: list[dict[str, str]] = []
    tiles: list[dict[str, str]] = []
    snapshot_time: str = ""  # local time of the snapshot read
    tiles_time: str = ""  # local time of the KPI read
    snapshot_every_s: str = "60"  # live refresh periods, for the section heads
    tiles_every_s: str = "30"

    parts: ClassVar[frozenset[str]] = frozenset({SNAPSHOT, TILES})
    # The tiles refresh when their cached KPI read expires.
    live: ClassVar[Mapping[str, str]] = {SNAPSHOT: "snapshot_period_s", TILES: "cache_ttl_metrics_s"}
    needs_tags: ClassVar[bool] = False
    load_event: ClassVar[str] = logevents.DASH_LOAD_OK
    # Tiles are kept for every tag; the empty state says the window had no rows.
    main_part: ClassVar[str] = TILES
    empty_key: ClassVar[str] = "empty.window"

    def _params(self) -> tuple:
        return (self.window,)

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, ReadResult]:
        (window,) = params
        repo = get_repository()
        names = ["qc", "latest"]
        reads = [repo.qc_rules(), repo.latest()]
        if SNAPSHOT in parts:
            names.append("exp")
            reads.append(repo.expectations())
        if TILES in parts:
            names.append("kpi")
            reads.append(repo.kpi_stats(window))
        return dict(zip(names, await asyncio.gather(*reads)))

    def _rows_went_stale(self) -> None:
        # whether a tag still communicates is not known while the database does not answer
        self.snapshot = [{**r, "comm": "unknown"} for r in self.snapshot]

    def _apply(self, data: dict[str, ReadResult], parts: frozenset[str]) -> dict[str, ReadResult]:
        repo = get_repository()
        rules = {r.tag_name: r for r in data["qc"].rows}
        latest = data["latest"]
        self.snapshot_every_s = period_text(repo.setting("snapshot_period_s"))
        self.tiles_every_s = period_text(repo.setting("cache_ttl_metrics_s"))
        results: dict[str, ReadResult] = {"qc": data["qc"]}
        if SNAPSHOT in parts:
            intervals = {e.tag_name: e.interval_s for e in data["exp"].rows}
            self.snapshot = snapshot_rows(latest.rows, rules, intervals,
                                          datetime.now(timezone.utc), repo.tz, stale=latest.stale or latest.failed)
            self.snapshot_time = (format_local(latest.fetched_at, repo.tz)
                                  if latest.fetched_at else "")
            results[SNAPSHOT] = latest
        if TILES in parts:
            kpi = data["kpi"]
            stats = {s.tag_name: s for s in kpi.rows}
            tags = sorted({r.tag_name for r in latest.rows} | set(stats))
            # What needs attention first: at 800 x 480 only the first tiles are above the fold.
            self.tiles = abnormal_first(tile_cards(tags, stats, rules, repo.tz, self._lang))
            self.tiles_time = format_local(kpi.fetched_at, repo.tz) if kpi.fetched_at else ""
            results[TILES] = kpi
        return results
