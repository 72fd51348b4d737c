"""Every read the pages make, as methods of `Reads`: validate, pick a statement, run it.

Each method

  1. validates its arguments (window via domain.windows, tag names, aware
     datetimes) and returns INVALID_INPUT without touching the database;
  2. picks a fixed statement from ksys_app.data.queries;
  3. hands it to `run`, which a subclass implements: Repository reads through
     the cache and the pool, UnconfiguredRepository answers CONFIG;
  4. passes limit + 1 as the LIMIT parameter, so a LIMIT that cuts rows shows
     as `truncated`.

tech_ind_1m_mv holds one row per minute whatever the window, so a 12-month
window would be 525,600 rows per tag. `tech_sampled` instead reads the rows
that fall on a time grid of `step` (every k-th minute, aligned like
time_bucket to 2000-01-03 UTC): one primary-key probe per grid point, LIMIT-ed,
so the read costs the same for every window. Each row is a real database row.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Sequence

from ksys_app.data import queries, validate
from ksys_app.data.errors import invalid_input
from ksys_app.data.queries import Query
from ksys_app.data.repository.alarm_reads import AlarmReads
from ksys_app.data.repository.context import ReadContext, ms_since  # noqa: F401 - re-exported
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import (
    CommSlo,
    Expectation,
    FeatureRow,
    LatestRow,
    SeriesRow,
    TechRow,
    expectation,
    feature_row,
    latest_row,
    qc_rule,
    series_row,
    tech_row,
    window_stats,
)
from ksys_app.domain.comm import RUNNING_HOUR_GRACE, HourCell, Outage, build_heatmap_grid, merge_outages
from ksys_app.domain.groups import GROUP_KEY
from ksys_app.domain.kpi import QcRule, WindowStats
from ksys_app.domain.series import MAX_POINTS, sample_step
from ksys_app.domain.windows import RAW_ROW_LIMIT, RAW_VIEW, bucket_count

HEATMAP_DAYS = 30
FEATURES_BUCKET = timedelta(minutes=5)
FEATURES_PAGE_MAX = 500  # rows of one features_page read
SNAPSHOT_PAGE_MAX = 200  # rows of one snapshot_page read
# Rows of one series_range read: a range's source has about one row per pixel
# column or fewer (domain/m4.source_for), and raw ranges are under 2 hours.
RANGE_ROW_LIMIT = 50_000
INGEST_INSTANCES_MAX = 50  # `ksys ingest` instances /api/health lists

# Cache kinds -> Settings.cache_ttl_<kind>_s
METRICS, FEATURES, SNAPSHOT, COMM, TAGS = "metrics", "features", "snapshot", "comm", "tags"




class Reads(AlarmReads):
    """The read methods (the alarm reads in alarm_reads.py); subclasses provide `run`,
    `tz`, `cache` and `setting`."""

    tz: Any

    async def run(self, query: Query, args: tuple[Any, ...], **options: Any) -> ReadResult:
        """Execute one read: Repository.run (configured.py), or CONFIG without a database."""
        raise NotImplementedError

    def setting(self, name: str) -> Any:
        """The value of a ksys_app.config.Settings field this process runs with."""
        raise NotImplementedError

    def invalid(self, exc: Exception, *, window: Any = None, tag: Any = None) -> ReadResult:
        """The INVALID_INPUT result for an argument rejected by ksys_app.data.validate."""
        return ReadResult(error=invalid_input(str(exc)),
                          window=window if isinstance(window, str) else None,
                          tag=tag if isinstance(tag, str) and len(tag) <= validate.MAX_TAG_LEN else None)

    # ------------------------------------------------------------------ PRD contracts

    async def series(self, tag: str, window: str) -> ReadResult[SeriesRow]:
        """Rollup rows of one tag over a window (PRD 10), ascending by bucket.

        The view and row limit come from domain.windows.parse_window(window).
        No payload estimate: /trend sends these rows merged to at most
        domain.series.MAX_POINTS chart points and one table page (a 14-day
        window is 2,017 ten-minute rows here, about 30 KB on the wire), and the
        page measures the update it sends.
        """
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        return await self.run(
            queries.SERIES_BY_VIEW[w.view], (tag, w.duration, w.row_limit + 1),
            kind=METRICS, convert=series_row, limit=w.row_limit, newest_first=True,
            payload_check=False, ctx=ReadContext(w.code, tag, w.view))

    async def raw_series(self, tag: str, window: str) -> ReadResult[SeriesRow]:
        """The raw readings of a raw window (domain.windows.RAW_WINDOWS, the 1m window)
        as SeriesRows of n = 1, ascending, at most RAW_ROW_LIMIT (newest kept)."""
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        return await self.run(
            queries.SERIES_RAW, (tag, w.duration, RAW_ROW_LIMIT + 1),
            kind=METRICS, convert=series_row, limit=RAW_ROW_LIMIT, newest_first=True,
            payload_check=False, ctx=ReadContext(w.code, tag, RAW_VIEW))

    async def series_range(self, tag: str, start: datetime, end: datetime, view: str) -> ReadResult[SeriesRow]:
        """One tag's rows of `view` (a rollup, or RAW_VIEW for the raw readings) in
        [start, end), ascending, at most RANGE_ROW_LIMIT (oldest kept: the chart
        reduces them to its width, domain/m4.py)."""
        try:
            tag = validate.tag_name(tag)
            start, end = validate.aware(start, "start"), validate.aware(end, "end")
            if end <= start:
                raise validate.InvalidInput("end must be after start")
            query = queries.SERIES_RAW_RANGE if view == RAW_VIEW else queries.SERIES_RANGE_BY_VIEW[view]
        except KeyError:
            return self.invalid(validate.InvalidInput(f"unknown view {str(view)[:40]!r}"), tag=tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        return await self.run(
            query, (tag, start, end, RANGE_ROW_LIMIT + 1),
            kind=METRICS, convert=series_row, limit=RANGE_ROW_LIMIT, payload_check=False,
            ctx=ReadContext(f"{start:%Y-%m-%dT%H:%MZ}..{end:%Y-%m-%dT%H:%MZ}", tag, view))

    async def ingest_health(self) -> ReadResult[dict]:
        """Each `ksys ingest` instance as /api/health shows it (rates, lag, spool, refusals,
        alive); no rows where ingest never ran."""
        def as_dict(r: Any) -> dict:
            kinds = r["rejects_by_kind"]
            return {"client_id": r["client_id"], "alive": bool(r["alive"]), "connected": bool(r["connected"]),
                    "beat_at": r["beat_at"].isoformat(), "readings": int(r["readings"]), "rejected": int(r["rejected"]),
                    "rejects_by_kind": json.loads(kinds) if isinstance(kinds, str) else dict(kinds or {}),
                    "messages_per_s": float(r["messages_per_s"]), "readings_per_s": float(r["readings_per_s"]),
                    "lag_s": None if r["lag_s"] is None else float(r["lag_s"]),
                    "spool_bytes": int(r["spool_bytes"]), "spool_full": bool(r["spool_full"])}
        return await self.run(queries.INGEST_HEALTH, (INGEST_INSTANCES_MAX + 1,), kind=SNAPSHOT, convert=as_dict,
                              limit=INGEST_INSTANCES_MAX, empty_is_no_rows=False, payload_check=False,
                              ctx=ReadContext(view="ingest_health"))

    async def latest(self, tag: str | None = None) -> ReadResult[LatestRow]:
        """influx_latest for every tag (ordered by tag) or for one; always read fresh."""
        try:
            tag = validate.optional_tag(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        if tag is None:
            q, args, limit = queries.LATEST_ALL, (queries.MAX_TAGS + 1,), queries.MAX_TAGS
        else:
            q, args, limit = queries.LATEST_ONE, (tag, 2), 1
        return await self.run(q, args, kind=SNAPSHOT, convert=latest_row, limit=limit,
                              ctx=ReadContext(None, tag, "influx_latest"))

    async def tech(self, tag: str, window: str) -> ReadResult[TechRow]:
        """tech_ind_1m_mv rows (1 per minute, whatever the window) of one tag, ascending."""
        try:
            w = validate.tech(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        return await self.run(queries.TECH, (tag, w.duration, w.row_limit + 1), kind=METRICS,
                              convert=tech_row, limit=w.row_limit, newest_first=True,
                              ctx=ReadContext(w.code, tag, w.view))

    async def qc_rules(self) -> ReadResult[QcRule]:
        """All QC rules, by tag. No rules is a normal state (error stays None)."""
        # $2, $3: the keys of the tag's unit and group in meta (values only ever travel as parameters)
        return await self.run(queries.QC_RULES, (queries.MAX_TAGS + 1, "unit", GROUP_KEY), kind=TAGS,
                              convert=qc_rule,
                              limit=queries.MAX_TAGS, empty_is_no_rows=False,
                              ctx=ReadContext(view="influx_qc_rule"))

    async def tags(self) -> ReadResult[str]:
        """Tag names with a latest reading (PRD 28.2 eco_tags), sorted."""
        return await self.run(queries.TAGS, (queries.MAX_TAGS + 1,), kind=TAGS,
                              convert=lambda r: r["tag_name"], limit=queries.MAX_TAGS,
                              ctx=ReadContext(view="influx_latest"))

    async def kpi_stats(self, window: str, tags: Sequence[str] | None = None) -> ReadResult[WindowStats]:
        """Window statistics from the window's rollup, one query (PRD 4, B10): of every
        tag, or with `tags` of those only (the tiles a page shows, issue 19).

        n = sum of n, min/max over buckets, first of the earliest bucket, last of
        the newest, prev_last = last of the second-newest bucket (None with one
        bucket), last_ts = influx_latest.ts. Feed each with its QcRule to
        domain.kpi.build_kpi_tile.
        """
        try:
            w = validate.window(window)
            names = None if tags is None else validate.tag_list(tags, queries.MAX_TAGS)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window)
        if names is None:
            query, args = queries.KPI_BY_VIEW[w.view], (w.duration, queries.MAX_TAGS + 1)
        else:
            query, args = queries.KPI_TAGS_BY_VIEW[w.view], (w.duration, queries.MAX_TAGS + 1, names)
        return await self.run(query, args, kind=METRICS, convert=window_stats, limit=queries.MAX_TAGS,
                              ctx=ReadContext(w.code, None, w.view))

    async def snapshot_count(self, search: str = "") -> ReadResult[int]:
        """How many tags of influx_latest match a snapshot search ("" every tag): one row."""
        try:
            pattern = validate.like_contains(search)
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        return await self.run(queries.SNAPSHOT_COUNT, (pattern, GROUP_KEY, "unit", 2), kind=SNAPSHOT,
                              convert=lambda r: int(r["n"]), limit=1,
                              ctx=ReadContext(None, None, "influx_latest"))

    async def snapshot_page(self, search: str, offset: int, size: int) -> ReadResult[LatestRow]:
        """One page of the snapshot table by tag name: the tags matching `search` (a case-
        insensitive substring of the name, group or unit; "" every tag), rows offset ..
        offset + size - 1. No rows is a normal state (a search that finds nothing)."""
        try:
            pattern = validate.like_contains(search)
            offset, size = validate.page_bounds(offset, size, SNAPSHOT_PAGE_MAX)
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        # The LIMIT is the page size: rows after the page are the next page, not a cut.
        return await self.run(queries.SNAPSHOT_PAGE, (pattern, GROUP_KEY, "unit", size, offset), kind=SNAPSHOT,
                              convert=latest_row, limit=None, empty_is_no_rows=False,
                              ctx=ReadContext(None, None, "influx_latest"))

    async def comm_heatmap(self, tag: str, start_day: date) -> ReadResult[HourCell]:
        """30 local days x 24 local hours (720 cells in Asia/Seoul) of one tag's success rate.

        start_day is a LOCAL date in settings.tz (an aware datetime counts as its
        local date). Cells are day-major; an hour without a row has
        success_rate None. Rows come from comm_success_1h for UTC instants
        [local midnight of start_day, + 30 days). The hour running when the
        rows are read expects only its elapsed part (domain.comm.expected_so_far).
        """
        try:
            tag = validate.tag_name(tag)
            day = validate.local_day(start_day, self.tz)
            lo, hi = validate.local_span_utc(day, HEATMAP_DAYS, self.tz)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        tz = self.tz

        def grid(records: Sequence[Any]) -> list[HourCell]:
            # The grid reads the records' columns itself, by position (bucket,
            # success_rate, recv/exp/missing_msgs, last_seen_min: rows.CommHourRow's
            # fields), and converts each value once, instead of a CommHourRow in between.
            columns = tuple(records[0].keys()) if records else None
            return build_heatmap_grid(day, records, tz, days=HEATMAP_DAYS, columns=columns,
                                      now=datetime.now(timezone.utc), grace=RUNNING_HOUR_GRACE)

        return await self.run(queries.COMM_HOURS, (tag, lo, hi, queries.MAX_HEATMAP_HOURS + 1),
                              kind=COMM, convert=None, limit=queries.MAX_HEATMAP_HOURS,
                              post=grid, empty_is_no_rows=False,
                              ctx=ReadContext(day.isoformat(), tag, "comm_success_1h"))

    async def comm_slo(self, tag: str) -> ReadResult[CommSlo]:
        """slo_warn / slo_crit of a tag from ingest_expectation; 0.98 / 0.95 without a row."""
        try:
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)

        def with_default(rows: Sequence[CommSlo]) -> tuple[CommSlo, ...]:
            return tuple(rows) or (CommSlo(tag),)

        return await self.run(queries.COMM_SLO, (tag,), kind=COMM,
                              convert=lambda r: CommSlo(tag, r["slo_warn"], r["slo_crit"]),
                              limit=None, post=with_default,
                              ctx=ReadContext(None, tag, "ingest_expectation"))

    async def comm_outages(self, tag: str, start_day: date,
                           now: datetime | None = None) -> ReadResult[Outage]:
        """Runs of hours below slo_crit (or silent after the first data) in the heatmap's grid.

        Computed by domain.comm.merge_outages over exactly the cells of
        comm_heatmap(tag, start_day), so the list and the heatmap always agree.
        `now` (aware; default: current time) bounds which empty hours are over.
        """
        try:
            tag = validate.tag_name(tag)
            validate.local_day(start_day, self.tz)
            at = datetime.now(timezone.utc) if now is None else validate.aware(now, "now")
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        t0 = time.monotonic()
        heat = await self.comm_heatmap(tag, start_day)
        if not heat.rows:
            return dataclasses.replace(heat, query="comm_outages", dur_ms=ms_since(t0))
        slo = await self.comm_slo(tag)
        if not slo.rows:
            return dataclasses.replace(slo, query="comm_outages", view="comm_success_1h",
                                       window=heat.window, dur_ms=ms_since(t0))
        outages = merge_outages(heat.rows, slo.rows[0].slo_crit, at)
        fetched = [r.fetched_at for r in (heat, slo) if r.fetched_at is not None]
        return ReadResult(
            rows=tuple(outages),
            stale=heat.stale or slo.stale,
            cache_hit=heat.cache_hit and slo.cache_hit,
            error=heat.error or slo.error,
            truncated=heat.truncated,
            fetched_at=min(fetched) if fetched else None,
            query="comm_outages", window=heat.window, tag=tag, view="comm_success_1h",
            dur_ms=ms_since(t0),
        )

    # ------------------------------------------------------------------ page reads

    async def tech_sampled(self, tag: str, window: str,
                           max_points: int = MAX_POINTS) -> tuple[ReadResult[TechRow], timedelta]:
        """Indicator rows of one tag over a window, at most max_points, and their spacing.

        Windows with no more minutes than max_points read every row through
        `tech`; longer ones read every k-th minute on the time grid (k from
        domain.series.sample_step). Rows ascend by bucket.
        """
        try:
            w = validate.tech(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag), timedelta(minutes=1)
        step = sample_step(w.duration, w.bucket, max_points)
        if step == w.bucket:
            return await self.tech(tag, window), step
        limit = w.duration // step + 2
        result = await self.run(queries.TECH_SAMPLED, (tag, w.duration, step, limit + 1),
                                kind=METRICS, convert=tech_row, limit=limit, newest_first=True,
                                ctx=ReadContext(w.code, tag, w.view))
        return result, step

    async def expectations(self) -> ReadResult[Expectation]:
        """ingest_expectation rows (exp_per_min per tag); no rows is a normal state."""
        return await self.run(queries.INGEST_EXPECTATIONS, (queries.MAX_TAGS + 1,), kind=TAGS,
                              convert=expectation, limit=queries.MAX_TAGS, empty_is_no_rows=False,
                              ctx=ReadContext(view="ingest_expectation"))

    async def features_recent(self, tag: str, window: str,
                              max_rows: int | None = None) -> ReadResult[FeatureRow]:
        """features_5m rows of one tag over a window, ascending by bucket.

        With max_rows, at most the newest max_rows: a window longer than that
        many five-minute buckets comes back `truncated`, holding its newest
        rows, instead of ~100k rows for 12 months.
        """
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        limit = bucket_count(w.duration, FEATURES_BUCKET)
        if max_rows is not None:
            limit = min(limit, max_rows)
        return await self.run(queries.FEATURES, (tag, w.duration, limit + 1), kind=FEATURES,
                              convert=feature_row, limit=limit, newest_first=True,
                              ctx=ReadContext(w.code, tag, "features_5m"))

    async def features_count(self, tag: str, window: str) -> ReadResult[int]:
        """How many features_5m rows one tag has in a window: one row, the count."""
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        return await self.run(queries.FEATURES_COUNT, (tag, w.duration, 2), kind=FEATURES,
                              convert=lambda r: int(r["n"]), limit=1,
                              ctx=ReadContext(w.code, tag, "features_5m"))

    async def features_page(self, tag: str, window: str, offset: int,
                            size: int) -> ReadResult[FeatureRow]:
        """One page of a tag's features_5m rows over a window, NEWEST FIRST: the rows
        offset .. offset + size - 1 in descending bucket order (features_count says
        how many there are). /trend reads its features table a page at a time, so
        the read (and what the browser gets) is one page for any window.
        """
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
            offset, size = validate.page_bounds(offset, size, FEATURES_PAGE_MAX)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        # The statement's LIMIT is the page size itself: rows after the page are
        # the next page, not a cut-off result, so `truncated` stays False.
        return await self.run(queries.FEATURES_PAGE, (tag, w.duration, size, offset), kind=FEATURES,
                              convert=feature_row, limit=None,
                              ctx=ReadContext(w.code, tag, "features_5m"))

    async def features_count_range(self, tag: str, start: datetime, end: datetime) -> ReadResult[int]:
        """How many features_5m rows of one tag start in [start, end) (/trend's absolute range)."""
        try:
            tag = validate.tag_name(tag)
            start, end = self._range_bounds(start, end)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        return await self.run(queries.FEATURES_RANGE_COUNT, (tag, start, end, 2), kind=FEATURES,
                              convert=lambda r: int(r["n"]), limit=1, ctx=_range_ctx(start, end, tag))

    async def features_page_range(self, tag: str, start: datetime, end: datetime, offset: int,
                                  size: int) -> ReadResult[FeatureRow]:
        """One page of those rows, newest first (as features_page for a window)."""
        try:
            tag = validate.tag_name(tag)
            start, end = self._range_bounds(start, end)
            offset, size = validate.page_bounds(offset, size, FEATURES_PAGE_MAX)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        return await self.run(queries.FEATURES_RANGE_PAGE, (tag, start, end, size, offset), kind=FEATURES,
                              convert=feature_row, limit=None, ctx=_range_ctx(start, end, tag))

    @staticmethod
    def _range_bounds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
        start, end = validate.aware(start, "start"), validate.aware(end, "end")
        if end <= start:
            raise validate.InvalidInput("end must be after start")
        return start, end


def _range_ctx(start: datetime, end: datetime, tag: str) -> ReadContext:
    return ReadContext(f"{start:%Y-%m-%dT%H:%MZ}..{end:%Y-%m-%dT%H:%MZ}", tag, "features_5m")
