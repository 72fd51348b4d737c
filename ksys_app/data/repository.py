"""The dashboard's reads: validate, cache, run, map to rows, report as a ReadResult.

One Repository per process (get_repository()); States call its methods and
never see SQL, connections or exceptions. Every method:

  1. validates its arguments (window via domain.windows, tag names, aware
     datetimes) and returns INVALID_INPUT without touching the database;
  2. picks a fixed statement from ksys_app.data.queries;
  3. reads through the QueryCache (per-kind TTL, single flight, last good
     value served stale on failure);
  4. fetches limit + 1 rows so a LIMIT that cuts rows shows as `truncated`.

It also keeps the database's health: the first failure logs db_fail, the first
success after failures logs db_recover.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from ksys_app import logevents
from ksys_app.config import ConfigError, Settings, load_settings
from ksys_app.data import queries, validate
from ksys_app.data.cache import QueryCache, cache_key
from ksys_app.data.errors import DataError, ErrorCode, invalid_input
from ksys_app.data.pool import Database
from ksys_app.data.queries import Query
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import (
    CommSlo, FeatureRow, LatestRow, SeriesRow, TechRow,
    feature_row, latest_row, qc_rule, series_row, tech_row, window_stats,
)
from ksys_app.domain.comm import HourCell, Outage, build_heatmap_grid, merge_outages
from ksys_app.domain.kpi import QcRule, WindowStats
from ksys_app.domain.timefmt import DEFAULT_TZ, resolve_tz
from ksys_app.domain.windows import bucket_count

HEATMAP_DAYS = 30
FEATURES_BUCKET = timedelta(minutes=5)
# Rough JSON size of one field of a row on the wire (key, value, punctuation).
_BYTES_PER_FIELD = 24

# Cache kinds -> Settings.cache_ttl_<kind>_s
METRICS, FEATURES, SNAPSHOT, COMM, TAGS = "metrics", "features", "snapshot", "comm", "tags"


@dataclasses.dataclass(frozen=True, slots=True)
class _Loaded:
    rows: tuple
    truncated: bool
    warning: DataError | None  # PAYLOAD_BLOAT of these rows (same for every reader)


@dataclasses.dataclass(frozen=True, slots=True)
class ReadContext:
    """What a read is about, for its ReadResult and log lines."""
    window: str | None = None  # window code (or start day for /comm)
    tag: str | None = None
    view: str | None = None  # relation read


_Ctx = ReadContext  # older spelling, kept for callers outside this module


class Repository:
    def __init__(self, settings: Settings, db: Database | None = None,
                 cache: QueryCache | None = None):
        self.settings = settings
        self.db = db or Database(settings)
        self.cache = cache or QueryCache(settings.cache_max_entries)
        self.tz = settings.zone
        self._config_error: str | None = None
        self._down_since: float | None = None

    @classmethod
    def unconfigured(cls, message: str) -> "Repository":
        """A repository whose every read returns CONFIG with `message` (TS_DSN missing/bad)."""
        repo = cls.__new__(cls)
        repo.settings = None  # type: ignore[assignment]
        repo.db = None  # type: ignore[assignment]
        repo.cache = QueryCache()
        repo.tz = resolve_tz(DEFAULT_TZ)
        repo._config_error = message
        repo._down_since = None
        return repo

    @property
    def db_healthy(self) -> bool:
        """False between a failed read and the next successful one."""
        return self._down_since is None

    # ------------------------------------------------------------------ contracts

    async def series(self, tag: str, window: str) -> ReadResult[SeriesRow]:
        """Rollup rows of one tag over a window (PRD 10), ascending by bucket.

        The view and row limit come from domain.windows.parse_window(window).
        """
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        return await self.run(
            queries.SERIES_BY_VIEW[w.view], (tag, w.duration, w.row_limit + 1),
            kind=METRICS, convert=series_row, limit=w.row_limit, newest_first=True,
            ctx=ReadContext(w.code, tag, w.view))

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

    async def features(self, tag: str, window: str) -> ReadResult[FeatureRow]:
        """features_5m rows of one tag over a window, ascending by bucket."""
        try:
            w = validate.window(window)
            tag = validate.tag_name(tag)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window, tag=tag)
        limit = bucket_count(w.duration, FEATURES_BUCKET)
        return await self.run(queries.FEATURES, (tag, w.duration, limit + 1), kind=FEATURES,
                              convert=feature_row, limit=limit, newest_first=True,
                              ctx=ReadContext(w.code, tag, "features_5m"))

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
        return await self.run(queries.QC_RULES, (queries.MAX_TAGS + 1,), kind=TAGS, convert=qc_rule,
                              limit=queries.MAX_TAGS, empty_is_no_rows=False,
                              ctx=ReadContext(view="influx_qc_rule"))

    async def tags(self) -> ReadResult[str]:
        """Tag names with a latest reading (PRD 28.2 eco_tags), sorted."""
        return await self.run(queries.TAGS, (queries.MAX_TAGS + 1,), kind=TAGS,
                              convert=lambda r: r["tag_name"], limit=queries.MAX_TAGS,
                              ctx=ReadContext(view="influx_latest"))

    async def kpi_stats(self, window: str) -> ReadResult[WindowStats]:
        """Window statistics of every tag from the window's rollup, one query (PRD 4, B10).

        n = sum of n, min/max over buckets, first of the earliest bucket, last of
        the newest, prev_last = last of the second-newest bucket (None with one
        bucket), last_ts = influx_latest.ts. Feed each with its QcRule to
        domain.kpi.build_kpi_tile.
        """
        try:
            w = validate.window(window)
        except validate.InvalidInput as exc:
            return self.invalid(exc, window=window)
        return await self.run(queries.KPI_BY_VIEW[w.view], (w.duration, queries.MAX_TAGS + 1),
                              kind=METRICS, convert=window_stats, limit=queries.MAX_TAGS,
                              ctx=ReadContext(w.code, None, w.view))

    async def comm_heatmap(self, tag: str, start_day: date) -> ReadResult[HourCell]:
        """30 local days x 24 local hours (720 cells in Asia/Seoul) of one tag's success rate.

        start_day is a LOCAL date in settings.tz (an aware datetime counts as its
        local date). Cells are day-major; an hour without a row has
        success_rate None. Rows come from comm_success_1h for UTC instants
        [local midnight of start_day, + 30 days).
        """
        try:
            tag = validate.tag_name(tag)
            day = validate.local_day(start_day, self.tz)
        except validate.InvalidInput as exc:
            return self.invalid(exc, tag=tag)
        lo, hi = validate.local_span_utc(day, HEATMAP_DAYS, self.tz)
        tz = self.tz

        def grid(records: Sequence[Any]) -> list[HourCell]:
            # The grid reads the records' columns itself, by position (bucket,
            # success_rate, recv/exp/missing_msgs, last_seen_min: rows.CommHourRow's
            # fields), and converts each value once, instead of a CommHourRow in between.
            columns = tuple(records[0].keys()) if records else None
            return build_heatmap_grid(day, records, tz, days=HEATMAP_DAYS, columns=columns)

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
            return dataclasses.replace(heat, query="comm_outages", dur_ms=_ms_since(t0))
        slo = await self.comm_slo(tag)
        if not slo.rows:
            return dataclasses.replace(slo, query="comm_outages", view="comm_success_1h",
                                       window=heat.window, dur_ms=_ms_since(t0))
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
            dur_ms=_ms_since(t0),
        )

    # ------------------------------------------------------------------ read path

    async def run(self, query: Query, args: tuple[Any, ...], *, kind: str,
                  convert: Callable[[Any], Any] | None, limit: int | None,
                  newest_first: bool = False,
                  post: Callable[[Sequence], Sequence] | None = None,
                  empty_is_no_rows: bool = True,
                  ctx: ReadContext = ReadContext()) -> ReadResult:
        """The one execution path of every read (also used by tests with their own Query).

        `args` must already hold limit + 1 as the LIMIT parameter when `limit` is set.
        `convert` maps one record to a row (a rows.RowMapper converts the whole
        result at once); None passes the records to `post` as they are, which
        must then turn them into rows. The rows end up in a tuple.
        """
        t0 = time.monotonic()
        meta = {"query": query.name, "window": ctx.window, "tag": ctx.tag, "view": ctx.view}
        if self._config_error is not None:
            return ReadResult(error=DataError(ErrorCode.CONFIG, self._config_error),
                              dur_ms=_ms_since(t0), **meta)

        async def load() -> _Loaded:
            q0 = time.monotonic()
            records = await self.db.fetch(query.sql, args)
            truncated = limit is not None and len(records) > limit
            if truncated:
                records = records[:limit]
            many = getattr(convert, "many", None)
            if many is not None:
                rows = many(records, reverse=newest_first)
            else:
                rows = records if convert is None else list(map(convert, records))
                if newest_first:
                    rows = rows[::-1]
            if post is not None:
                rows = post(rows)
            if type(rows) is not tuple:
                rows = tuple(rows)
            dur = _ms_since(q0)
            if _QUERY_LOGGED():
                logevents.log_event(logevents.QUERY, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                    rowcount=len(records), dur_ms=dur, cache_hit=False,
                                    query=query.name, truncated=truncated)
            warning = self._payload_warning(rows)
            if warning is not None:
                logevents.log_event(logevents.PAYLOAD_BLOAT, range=ctx.window, tag=ctx.tag,
                                    view=ctx.view, rowcount=len(rows), dur_ms=dur,
                                    cache_hit=False, query=query.name, message=warning.message)
            return _Loaded(rows, truncated, warning)

        outcome = await self.cache.get(cache_key(query.sql, args), self.settings.ttl_for(kind), load)
        dur_ms = _ms_since(t0)

        if outcome.error is not None and outcome.error.is_failure:
            self._note_failure(outcome.error, ctx, dur_ms)
        elif outcome.loaded:
            self._note_success(ctx, dur_ms)

        entry = outcome.entry
        if entry is None:
            return ReadResult(error=outcome.error, cache_hit=False, dur_ms=dur_ms, **meta)
        loaded: _Loaded = entry.value
        error = outcome.error
        if error is None and not loaded.rows and empty_is_no_rows:
            error = DataError(ErrorCode.NO_ROWS, _no_rows_message(ctx))
        return ReadResult(
            rows=loaded.rows,
            stale=outcome.stale,
            cache_hit=outcome.cache_hit,
            error=error,
            truncated=loaded.truncated,
            fetched_at=entry.fetched_at,
            warning=loaded.warning,
            dur_ms=dur_ms,
            **meta,
        )

    def _payload_warning(self, rows: tuple) -> DataError | None:
        if not rows:
            return None
        n_fields = _field_count(rows[0])
        if n_fields is None:
            return None
        estimate = len(rows) * n_fields * _BYTES_PER_FIELD
        budget = self.settings.payload_warn_bytes
        if estimate <= budget:
            return None
        return DataError(ErrorCode.PAYLOAD_BLOAT,
                         f"about {estimate // 1000} KB for {len(rows)} rows exceeds the "
                         f"{budget // 1000} KB payload budget; choose a shorter window")

    def invalid(self, exc: Exception, *, window: Any = None, tag: Any = None) -> ReadResult:
        """The INVALID_INPUT result for an argument rejected by ksys_app.data.validate."""
        return ReadResult(error=invalid_input(str(exc)),
                          window=window if isinstance(window, str) else None,
                          tag=tag if isinstance(tag, str) and len(tag) <= validate.MAX_TAG_LEN else None)

    _invalid = invalid  # older spelling

    def _note_failure(self, error: DataError, ctx: ReadContext, dur_ms: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logevents.log_event(logevents.DB_FAIL, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                rowcount=0, dur_ms=dur_ms, cache_hit=False,
                                code=error.code, message=error.message)

    def _note_success(self, ctx: ReadContext, dur_ms: float) -> None:
        if self._down_since is not None:
            down_ms = _ms_since(self._down_since)
            self._down_since = None
            logevents.log_event(logevents.DB_RECOVER, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                dur_ms=dur_ms, cache_hit=False, down_ms=round(down_ms))

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()


def _ms_since(t0: float) -> float:
    return (time.monotonic() - t0) * 1000.0


def _field_count(row: Any) -> int | None:
    """Fields of a row type (NamedTuple or dataclass); None for anything else (str, tuple...)."""
    fields = getattr(type(row), "_fields", None)
    if isinstance(fields, tuple) and isinstance(row, tuple):
        return len(fields)
    if dataclasses.is_dataclass(row):
        return len(dataclasses.fields(row))
    return None


# The debug-level `query` event is built only when something will log it.
_QUERY_LOGGED = functools.partial(logevents.logger.isEnabledFor, logging.DEBUG)


def _no_rows_message(ctx: ReadContext) -> str:
    parts = []
    if ctx.tag is not None:
        parts.append(f"tag {ctx.tag!r}")
    if ctx.window is not None:
        parts.append(f"window {ctx.window}")
    where = f" for {' / '.join(parts)}" if parts else ""
    return f"no data in {ctx.view or 'the database'}{where}"


# ---------------------------------------------------------------------- process default

_default: Repository | None = None


def get_repository() -> Repository:
    """The process-wide repository, built from load_settings() on first use.

    A bad configuration does not raise here: every read then returns a CONFIG
    error naming the variable, which the page shows like any other error.
    """
    global _default
    if _default is None:
        try:
            _default = Repository(load_settings())
        except ConfigError as exc:
            _default = Repository.unconfigured(str(exc))
    return _default


async def close_repository() -> None:
    """Close the default repository's pool (app shutdown); the next use builds a new one."""
    global _default
    repo, _default = _default, None
    if repo is not None:
        await repo.close()
