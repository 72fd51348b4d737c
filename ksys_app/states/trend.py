"""`/trend`: one tag's rollup over a window as a chart, a history table and 5-minute features.

The rollup rows stay in a backend-only var; the browser gets the chart points
(at most domain.series.MAX_POINTS merged buckets, floats rounded) and one page
of the history table. Table rows and chart points are the same merged buckets.
The 5-minute features are read a page at a time (their count, then the rows of
the page shown), so a long window neither reads nor sends thousands of rows.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import FeatureRow
from ksys_app.domain.alarm_marks import on_buckets, spans
from ksys_app.domain.groups import MAX_CHOICES, filter_tags
from ksys_app.domain.pens import MAX_PENS, merge_pens, pens_param, pick_pens
from ksys_app.domain.series import (
    Bucket,
    Page,
    fmt_num,
    format_width,
    merge_buckets,
    page_slice,
    rounded,
    to_csv,
    typical_spacing,
)
from ksys_app.domain.time_range import choose_range
from ksys_app.domain.timefmt import format_local, format_local_point
from ksys_app.domain.windows import RAW_VIEW, parse_window, range_source, reads_raw
from ksys_app.i18n import tr_known
from ksys_app.states.base import ALL, SCREEN_PARAMS, PageState
from ksys_app.states.chart_table import PAGE_SIZE, ChartTable

SERIES_KEYS = ("avg", "min", "max", "last", "first")
# Short keys of the chart points: 300 points x 5 series travel on every update.
CHART_KEYS = {"avg": "a", "min": "mn", "max": "mx", "last": "l", "first": "f"}
HISTORY_HEADER = ["Num.", "TAG", "Time Stamp", "avg", "min", "max", "last", "first", "n"]
# Pen colours (components.charts.PEN_COLOURS) are by position; pen i draws data key "p{i}".
PEN_KEYS = tuple(f"p{i}" for i in range(MAX_PENS))
RANGE_TEXT_FORMAT = "%Y-%m-%dT%H:%M"  # local wall time, what <input type=datetime-local> shows


def range_text(t: datetime, tz: Any) -> str:
    """An instant as the URL writes it: local wall time with its offset (2026-12-01T14:00+09:00),
    seconds only where it has them (a zoom into raw readings)."""
    local = t.astimezone(tz).replace(microsecond=0)
    wall = local.strftime(RANGE_TEXT_FORMAT + (":%S" if local.second else ""))
    return wall + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


ZOOM_MIN = timedelta(minutes=1)  # time_range.MIN_SPAN: a zoom narrower than this widens to it
ZOOM_MS_MAX = 253_370_764_800_000  # 9999-01-01 in epoch ms: larger is no instant a chart shows
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
    features_error: str = ""
    features_empty_text: str = ""  # the features' empty state, in the page's language

    # An absolute range (?from=...&to=...; domain/time_range.py) instead of the window.
    range_from: str = ""  # as the URL writes it, "" without a range
    range_to: str = ""  # ... or "now"
    range_from_input: str = ""  # the picker's local wall times (datetime-local)
    range_to_input: str = ""
    _range: tuple = ()  # (start, end, end_is_now) of the range shown, () without one
    # the tag's alarms over the chart: x1 / x2 (point labels), level (priority)
    alarm_areas: list[dict[str, str]] = []
    # the times of the chart's first and last point (epoch ms): a drag maps onto them (assets/zoom.js)
    span_first_ms: int = 0
    span_last_ms: int = 0

    # Several tags in one chart (domain/pens.py): ?pens=B,C beside the page's tag.
    pens_param: str = ""  # the extra pens as the URL writes them, "" with one tag
    pen_scale_param: str = ""  # ?scale=own: each pen on its own axis, else ""
    # per pen shown (the page's tag first): tag, unit (" bar"), error ("" when read)
    pen_legend: list[dict[str, str]] = []
    _starts: tuple = ()  # the chart points' bucket starts, ascending (without the gap markers)
    _labels: tuple = ()  # ... and their "t" labels
    _marks_of: tuple = ()  # (tag, first label) the alarm areas shown were read for

    # The rollup read refreshes when its cached entry expires; the features it reads
    # alongside come from the cache until theirs (cache_ttl_features_s) expires too.
    live: ClassVar[Mapping[str, str]] = {ALL: "cache_ttl_metrics_s"}
    input_defaults: ClassVar[Mapping[str, Any]] = {"page": 0, "fpage": 0}
    url_vars: ClassVar[Mapping[str, str]] = {"from": "range_from", "to": "range_to", "pens": "pens_param",
                                             "scale": "pen_scale_param"}

    def _pen_list(self) -> tuple[str, ...]:
        """Every pen, the page's tag first; () with the page's tag alone."""
        extra = tuple(p for p in self.pens_param.split(",") if p and p != self.tag) if self.pens_param else ()
        return (self.tag, *extra) if extra else ()

    @rx.var
    def pen_count(self) -> int:
        return len(self._pen_list())

    @rx.var
    def own_scales(self) -> bool:
        return self.pen_scale_param == "own" and len(self._pen_list()) > 1

    @rx.var
    def pen_choices(self) -> list[str]:
        """Tags that can still be added as a pen (none once MAX_PENS are shown): those the
        "Find tag" box lets through, at most MAX_CHOICES, like the tag picker's."""
        pens = set(self._pen_list()) | {self.tag}
        if len(pens) >= MAX_PENS:
            return []
        return [t for t in filter_tags(self._tag_options, self.tag_filter) if t not in pens][:MAX_CHOICES]

    def _span(self) -> tuple[datetime, datetime] | None:
        """The range shown, its end moved to now when it ends "now" (live)."""
        if not self._range:
            return None
        start, end, to_now = self._range
        if to_now:
            now = datetime.now(timezone.utc)
            start, end = start + (now - end), now
        return start, end

    def _params(self) -> tuple:
        return (self.tag, self.window, self.fpage, self._span(), self._pen_list())

    def _window_overridden(self) -> bool:
        return bool(self._range)

    def _window_chosen(self) -> None:
        self._range, self.range_from, self.range_to = (), "", ""

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        """?from= / ?to= (domain/time_range.py); without them, the window."""
        tz = get_repository().tz
        choice = choose_range(qp.get("from"), qp.get("to"), tz, datetime.now(timezone.utc))
        notices = [self._t(key, window=self.window) for key in choice.notices]
        r = choice.range
        self._range = (r.start, r.end, r.end_is_now) if r else ()
        self.range_from = range_text(r.start, tz) if r else ""
        self.range_to = ("now" if r.end_is_now else range_text(r.end, tz)) if r else ""
        now_local = datetime.now(timezone.utc).astimezone(tz)
        self.range_from_input = (r.start.astimezone(tz) if r else now_local - timedelta(hours=24)).strftime(RANGE_TEXT_FORMAT)
        self.range_to_input = (r.end.astimezone(tz) if r else now_local).strftime(RANGE_TEXT_FORMAT)
        extra, picked = pick_pens(qp.get("pens"), self.tag, self._tag_options)
        notices += [self._t(n.pop("key"), **n) for n in picked]
        self.pens_param = pens_param(extra)
        scale = qp.get("scale") or ""
        if scale not in ("", "own", "shared"):
            notices.append(self._t("notice.unknown_scale", value=scale[:20]))
        self.pen_scale_param = "own" if scale == "own" else ""
        return notices

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, Any]:
        tag, window, fpage, span, pens = params
        repo = get_repository()

        def read(name: str):
            if span is not None:
                return repo.series_range(name, span[0], span[1], range_source(span[1] - span[0])[0])
            return (repo.raw_series if reads_raw(window) else repo.series)(name, window)

        lo, hi = span if span is not None else (datetime.now(timezone.utc) - parse_window(window).duration,
                                                 datetime.now(timezone.utc))
        series, (count, rows, page), rules, marks, *others = await asyncio.gather(
            read(tag), read_features_page(tag, window, fpage, span), repo.qc_rules(), repo.alarm_marks(tag, lo, hi),
            *[read(p) for p in pens[1:]])
        return {"series": series, "features_count": count, "features": rows, "fpage": page, "qc": rules,
                "marks": (marks, lo, hi), "pens": (pens, [series, *others]) if pens else None}

    def _apply(self, data: dict[str, ReadResult], parts: frozenset[str]) -> dict[str, ReadResult]:
        series = data["series"]
        self._set_unit(data.get("qc"))
        span = self._span()
        if data.get("pens"):
            self._apply_pens(*data["pens"], span, data.get("qc"))
        elif span is not None:
            self._apply_range(series, span)
        else:
            self._apply_window(series)
        if not data.get("pens"):
            self.pen_legend = []
        self.pens_param = pens_param(data["pens"][0][1:]) if data.get("pens") else ""
        self._mark_alarms(*data["marks"])
        self._note_span()
        # Features that cannot be read show their error in their own section (_show_features);
        # the page's state (error, stale, empty, retry) follows the rollup read.
        self._show_features(data["features_count"], data["features"], data["fpage"], get_repository().tz)
        return {ALL: series}

    def _note_span(self) -> None:
        first, last = (self._starts[0], self._starts[-1]) if self._starts else (None, None)
        self.span_first_ms = int(first.timestamp() * 1000) if first else 0
        self.span_last_ms = int(last.timestamp() * 1000) if last else 0

    def _shown_span(self) -> tuple[datetime, datetime]:
        """What the chart covers: the range, or the window up to now."""
        now = datetime.now(timezone.utc)
        return self._span() or (now - parse_window(self.window).duration, now)

    def _mark_alarms(self, marks: ReadResult, lo: datetime, hi: datetime) -> None:
        """Where the tag's alarms were active, as shaded stretches of the chart's points
        (high priority red, medium amber). A failed read keeps the last marks: they are
        not worth an error on the chart."""
        if marks.failed:
            if self._marks_of != (self.tag, self._labels[:1]):  # another tag or span: its marks would lie
                self.alarm_areas = []
            return
        self._marks_of = (self.tag, self._labels[:1])
        labels = self._labels
        stretches = on_buckets(spans(marks.rows, lo, hi), list(self._starts)) if labels else []
        # x1 / x2 and level only: every update carries them (the payload budget, bench/)
        self.alarm_areas = [{"x1": labels[i], "x2": labels[j], "level": s.priority} for i, j, s in stretches]
        self._note_alarms_on_points(stretches)

    def _note_alarms_on_points(self, stretches: list) -> None:
        """Hovering a shaded point says which alarms were active there ("al" of the point,
        written after its time by the tooltip): only points inside a stretch carry it."""
        active: dict[str, list[str]] = {}
        for i, j, s in stretches:
            text = self._t('alarm.kind.' + s.kind)  # the shading's colour says the priority; short: payload
            for label in self._labels[i:j + 1]:
                if text not in active.setdefault(label, []):
                    active[label].append(text)
        if not active and not any("al" in p for p in self.chart):
            return
        prefix = self._t("chart.alarm_active")
        self.chart = [{**{k: v for k, v in p.items() if k != "al"},
                       **({"al": prefix + ", ".join(active[p["t"]])} if p["t"] in active else {})}
                      for p in self.chart]

    def _apply_range(self, series: ReadResult, span: tuple[datetime, datetime]) -> None:
        """An absolute range: the rows of the relation its span calls for (range_source),
        merged like a window's to at most MAX_POINTS chart points; the table holds
        exactly those points. (Pixel-exact M4 reduction, domain/m4.py, needs a chart
        with a time axis; the chart's axis is still one point per category.)"""
        tz = get_repository().tz
        start, end = span
        view, bucket = range_source(end - start)
        raw = view == RAW_VIEW
        if raw:  # readings come every few seconds, not every second: merge by their spacing
            bucket = typical_spacing([r.bucket for r in series.rows])
        merged = merge_buckets(series.rows, bucket)
        self._rows = tuple(reversed(merged.rows))
        self.row_count = len(self._rows)
        self.truncated = series.truncated
        self.bucket_label = self._t("trend.raw") if raw and merged.factor == 1 else format_width(merged.width)
        self.merged_from = (self._t("trend.raw") if raw else format_width(bucket)) if merged.factor > 1 else ""
        points = self._points(merged.rows, tz, raw)
        self._set_chart(points, [b.bucket for b in merged.rows], [b.n for b in merged.rows],
                        merged.width, series.fetched_at, end - start, raw and merged.factor == 1)
        self._page_rows(tz)

    def _points(self, rows: tuple[Bucket, ...], tz: Any, raw: bool) -> list[dict[str, Any]]:
        """The chart's points of one tag (ascending rows), and their starts and labels kept
        for the marks drawn on them."""
        self._starts = tuple(b.bucket for b in rows)
        self._labels = tuple(format_local_point(b.bucket, tz, seconds=raw) for b in rows)
        return [{"t": label, CHART_KEYS["avg"]: rounded(b.avg), CHART_KEYS["min"]: rounded(b.min),
                 CHART_KEYS["max"]: rounded(b.max), CHART_KEYS["last"]: rounded(b.last),
                 CHART_KEYS["first"]: rounded(b.first)} for b, label in zip(rows, self._labels)]

    def _apply_window(self, series: ReadResult) -> None:
        tz = get_repository().tz
        w = parse_window(self.window)
        merged = merge_buckets(series.rows, w.bucket)
        self._rows = tuple(reversed(merged.rows))
        self.row_count = len(self._rows)
        self.truncated = series.truncated
        raw = reads_raw(self.window)
        self.bucket_label = self._t("trend.raw") if raw else format_width(merged.width)
        self.merged_from = format_width(w.bucket) if merged.factor > 1 else ""
        points = self._points(merged.rows, tz, raw)
        self._set_chart(points, [b.bucket for b in merged.rows], [b.n for b in merged.rows],
                        merged.width, series.fetched_at, w.duration, raw)
        self._page_rows(tz)

    def _apply_pens(self, pens: tuple[str, ...], results: list[ReadResult], span: tuple[datetime, datetime] | None,
                    rules: ReadResult | None) -> None:
        """Several pens: every pen's buckets merged onto one grid (domain.pens.merge_pens);
        the chart draws each pen's average ("p0".."p7"), the table lists every pen's buckets."""
        tz = get_repository().tz
        if span is not None:
            view, base = range_source(span[1] - span[0])
            raw, duration = view == RAW_VIEW, span[1] - span[0]
        else:
            w = parse_window(self.window)
            raw, base, duration = reads_raw(self.window), w.bucket, w.duration
        if raw:  # each tag is read at its own instants: group them on a grid of their spacing
            spacings = [typical_spacing([r.bucket for r in res.rows]) for res in results if len(res.rows) > 1]
            base = max(spacings, default=timedelta(seconds=1))
        grid = merge_pens([res.rows for res in results], base, align=raw)
        self._rows = tuple(grid.rows_newest_first(pens))
        self.row_count = len(self._rows)
        self.truncated = any(res.truncated for res in results)
        self.bucket_label = format_width(grid.width)
        self.merged_from = (self._t("trend.raw") if raw else format_width(base)) if raw or grid.factor > 1 else ""
        self._starts = grid.starts
        self._labels = tuple(format_local_point(s, tz, seconds=raw) for s in grid.starts)
        points = [{"t": label, **{PEN_KEYS[i]: rounded(by_start[s].avg)
                                  for i, by_start in enumerate(grid.buckets) if s in by_start}}
                  for s, label in zip(grid.starts, self._labels)]
        fetched = next((res.fetched_at for res in results if res.fetched_at), None)
        self._set_chart(points, grid.starts, grid.counts(), grid.width, fetched, duration, raw)
        units = {r.tag_name: r.unit for r in rules.rows} if rules is not None and rules.rows else {}
        old = {p["tag"]: p["unit"] for p in self.pen_legend}
        self.pen_legend = [{"tag": tag, "unit": f" {units[tag]}" if units.get(tag) else old.get(tag, ""),
                            "error": res.error.code if res.failed and not res.stale and res.error else ""}
                           for tag, res in zip(pens, results)]
        shared = {p["unit"] for p in self.pen_legend}
        self.axis_unit = shared.pop() if len(shared) == 1 else ""
        self._page_rows(tz)

    def _row_cells(self, num: int, row: Any, tz: Any) -> list[str]:
        if isinstance(row, tuple):  # (tag, bucket) with several pens
            return history_row(num, row[0], row[1], tz)
        return history_row(num, self.tag, row, tz)

    def _show_features(self, count: ReadResult, rows: ReadResult, p: Page, tz: Any) -> None:
        """The features table from a count read and the page read of page `p`."""
        self.features_count = count.rows[0] if count.rows else 0
        self.fpage, self.fpage_count = p.index, p.count
        # With last good rows the page-level stale badge says enough; without, say why.
        failed = next((r for r in (count, rows) if r.failed and not r.stale), None)
        self.features_error = (f"{failed.error.code}: {tr_known(self._lang, failed.error.message)}"
                               if failed else "")
        self.features_empty_text = (self._t("empty.features_range", tag=self.tag) if self._range
                                    else self._t("empty.features", tag=self.tag, window=self.window))
        self.features_page = [feature_cells(i, f, tz) for i, f in enumerate(rows.rows, start=p.start + 1)]

    async def _flip_features(self, to_page: int):
        """Read and show another page of the features table (the history table pages
        from memory; the features are read per page)."""
        tag, window = self.tag, self.window
        count, rows, p = await read_features_page(tag, window, to_page, self._span())
        self._show_features(count, rows, p, get_repository().tz)

    @rx.event
    def set_range_input(self, which: str, value: str):
        if which in ("from", "to") and isinstance(value, str) and len(value) <= 40:
            setattr(self, f"range_{which}_input", value)

    @rx.event
    def show_range(self):
        """The picker's range as a new URL (pushed: Back returns to what was shown before)."""
        return rx.redirect(self._range_url(self.range_from_input, self.range_to_input))

    @rx.event
    def clear_range(self):
        return rx.redirect(self._range_url(None, None))

    def _go_to(self, start: datetime, end: datetime):
        tz = get_repository().tz
        now = datetime.now(timezone.utc)
        to_now = end >= now - timedelta(seconds=1)
        return rx.redirect(self._range_url(range_text(start, tz), "now" if to_now else range_text(end, tz)))

    @rx.event
    def zoom_to(self, value: Any):
        """A drag on the chart ("from_ms,to_ms", assets/zoom.js) or a double-click ("reset":
        back to the window). Anything else is ignored: any client can send this event."""
        if not isinstance(value, str) or len(value) > 40:
            return None
        if value == "reset":
            return rx.redirect(self._range_url(None, None))
        parts = value.split(",")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and int(p) < ZOOM_MS_MAX for p in parts):
            return None
        start, end = (datetime.fromtimestamp(int(p) / 1000, timezone.utc) for p in parts)
        if end <= start:
            return None
        if end - start < ZOOM_MIN:
            mid = start + (end - start) / 2
            start, end = mid - ZOOM_MIN / 2, mid + ZOOM_MIN / 2
        return self._go_to(start, end)

    @rx.event
    def zoom_out(self):
        """Twice the span around its middle (at most up to now)."""
        start, end = self._shown_span()
        half = end - start
        now = datetime.now(timezone.utc)
        new_end = min(now, end + half / 2)
        return self._go_to(new_end - 2 * half, new_end)

    @rx.event
    def pan(self, direction: Any):
        """Half a span earlier (-1) or later (+1); later stops at now."""
        if direction not in (-1, 1) or isinstance(direction, bool):
            return None
        start, end = self._shown_span()
        shift = (end - start) / 2 * direction
        now = datetime.now(timezone.utc)
        if end + shift > now:
            shift = now - end
        return self._go_to(start + shift, end + shift)

    def _range_url(self, frm: str | None, to: str | None, pens: tuple[str, ...] | None = None) -> str:
        """This page's URL for a range (None: the window) and pens (None: the ones shown)."""
        from urllib.parse import urlencode

        params = {"tag": self.tag, "window": self.window}
        if pens is None:
            pens = self._pen_list()[1:]
        if pens:
            params["pens"] = pens_param(pens)
            if self.own_scales:
                params["scale"] = "own"
        if frm is not None:
            params["from"] = frm
        if to is not None:
            params["to"] = to
        here = self.router.url.query_parameters
        params.update({k: here[k] for k in SCREEN_PARAMS if k in here})
        return f"{self.route}?{urlencode(params)}"

    def _keep_range(self) -> tuple[str | None, str | None]:
        return (self.range_from or None, self.range_to or None)

    @rx.event
    def add_pen(self, tag: Any):
        """Another tag in the chart (pushed URL: Back removes it again)."""
        pens = self._pen_list()[1:]
        if not isinstance(tag, str) or tag not in self._tag_options or tag == self.tag or tag in pens \
                or len(pens) + 1 >= MAX_PENS:
            return None
        return rx.redirect(self._range_url(*self._keep_range(), pens=(*pens, tag)))

    @rx.event
    def remove_pen(self, tag: Any):
        pens = self._pen_list()[1:]
        if not isinstance(tag, str) or tag not in pens:
            return None
        return rx.redirect(self._range_url(*self._keep_range(), pens=tuple(p for p in pens if p != tag)))

    @rx.event
    def set_own_scales(self, on: Any):
        """Each pen on its own axis, or all on one; only the chart's axes change (no read)."""
        if not isinstance(on, bool):
            return None
        self.pen_scale_param = "own" if on else ""
        return self._url_script()

    @rx.event
    def set_series(self, key: str, on: bool):
        if isinstance(key, str) and key in SERIES_KEYS:
            setattr(self, f"show_{key}", bool(on))

    @rx.event
    async def next_fpage(self):
        await self._flip_features(self.fpage + 1)

    @rx.event
    async def prev_fpage(self):
        await self._flip_features(self.fpage - 1)

    @rx.event
    def download_csv(self):
        tz = get_repository().tz
        units = {p["tag"]: p["unit"].strip() for p in self.pen_legend}
        rows = [r if isinstance(r, tuple) else (self.tag, r) for r in self._rows]
        text = to_csv(HISTORY_HEADER[1:] + ["unit", "bucket_width"],
                      [[tag, format_local(b.bucket, tz), b.avg, b.min, b.max, b.last, b.first,
                        b.n, units.get(tag, self.unit_suffix.strip()), self.bucket_label] for tag, b in rows])
        name = "_".join(self._pen_list()) or self.tag
        return rx.download(data=text, filename=f"trend_{name}_{self.window}.csv",
                           mime_type="text/csv")


async def read_features_page(tag: str, window: str, index: int,
                             span: tuple[datetime, datetime] | None = None) -> tuple[ReadResult, ReadResult, Page]:
    """(count read, page read, the page) of /trend's features table at page `index`, over
    the window or, with `span`, over the absolute range shown.

    The count comes first so the index is clamped to the pages there are (a
    window that slid past the last page shows the new last page). Without a
    count, or with no rows, there is no page to read.
    """
    repo = get_repository()
    count = await (repo.features_count_range(tag, *span) if span else repo.features_count(tag, window))
    total = count.rows[0] if count.rows else 0
    p = page_slice(total, index, PAGE_SIZE)
    if total == 0:
        return count, ReadResult(), p
    page = await (repo.features_page_range(tag, *span, p.start, PAGE_SIZE) if span
                  else repo.features_page(tag, window, p.start, PAGE_SIZE))
    return count, page, p


def feature_cells(num: int, f: FeatureRow, tz) -> list[str]:
    return [str(num), f.tag_name, format_local(f.bucket, tz), fmt_num(f.mean_5m), fmt_num(f.std_5m),
            fmt_num(f.min_5m), fmt_num(f.max_5m), fmt_num(f.p10_5m), fmt_num(f.p90_5m), str(f.n_5m)]


def history_row(num: int, tag: str, b: Bucket, tz) -> list[str]:
    return [str(num), tag, format_local(b.bucket, tz), fmt_num(b.avg), fmt_num(b.min),
            fmt_num(b.max), fmt_num(b.last), fmt_num(b.first), str(b.n)]
