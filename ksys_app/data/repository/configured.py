"""Repository: the reads of `Reads` over the pool, through the TTL cache.

`run` is the one execution path of every read. It fetches through the
QueryCache (per-kind TTL, single flight, last good value served stale on
failure), maps records to rows, flags a cut LIMIT as `truncated` and a large
result as PAYLOAD_BLOAT, and keeps the database's health: the first failure
logs db_fail, the first success after failures logs db_recover. `probe` asks
the server whether it answers (data.probe: shared by every page, at most one
in flight) and keeps the same health.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from typing import Any, Callable, Sequence

from ksys_app import logevents
from ksys_app.config import Settings
from ksys_app.data import probe
from ksys_app.data.cache import CacheOutcome, QueryCache, cache_key
from ksys_app.data.errors import DataError, DataFailure, ErrorCode
from ksys_app.data.pool import Database
from ksys_app.data.queries import PROBE, Query
from ksys_app.data.repository.reads import ReadContext, Reads, ms_since
from ksys_app.data.result import ReadResult

# Rough JSON size of one field of a row on the wire (key, value, punctuation).
_BYTES_PER_FIELD = 24

# The debug-level `query` event is built only when something will log it.
_QUERY_LOGGED = functools.partial(logevents.logger.isEnabledFor, logging.DEBUG)


@dataclasses.dataclass(frozen=True, slots=True)
class _Loaded:
    rows: tuple
    truncated: bool
    warning: DataError | None  # PAYLOAD_BLOAT of these rows (same for every reader)


class Repository(Reads):
    """The reads of a process with valid settings. One per process: get_repository()."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 cache: QueryCache | None = None):
        self.settings = settings
        self.db = db or Database(settings)
        self.cache = cache or QueryCache(settings.cache_max_entries)
        self.tz = settings.zone
        self._down_since: float | None = None
        self._probe = probe.HealthProbe(self._probe_once)

    @property
    def db_healthy(self) -> bool:
        """False between a failed read and the next successful one."""
        return self._down_since is None

    def setting(self, name: str) -> Any:
        return getattr(self.settings, name)

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------------ read path

    async def run(self, query: Query, args: tuple[Any, ...], *, kind: str,
                  convert: Callable[[Any], Any] | None, limit: int | None,
                  newest_first: bool = False,
                  post: Callable[[Sequence], Sequence] | None = None,
                  empty_is_no_rows: bool = True,
                  payload_check: bool = True,
                  ctx: ReadContext = ReadContext()) -> ReadResult:
        """The one execution path of every read (also used by tests with their own Query).

        `args` must already hold limit + 1 as the LIMIT parameter when `limit` is set.
        `convert` maps one record to a row (a rows.RowMapper converts the whole
        result at once); None passes the records to `post` as they are, which
        must then turn them into rows. The rows end up in a tuple.
        `payload_check` False: the rows are not what goes to the browser (the page
        reduces them first, e.g. merges a rollup to its chart points), so their
        size says nothing about the payload; the page measures what it sends
        (states.payload.check_payload).
        """
        t0 = time.monotonic()
        load = functools.partial(self._load, query, args, convert, limit, newest_first, post, ctx,
                                 payload_check)
        outcome = await self.cache.get(cache_key(query.sql, args), self.settings.ttl_for(kind), load)
        dur_ms = ms_since(t0)
        self._note_health(outcome, ctx, dur_ms)
        return _result(outcome, query, ctx, dur_ms, empty_is_no_rows)

    async def _load(self, query: Query, args: tuple[Any, ...],
                    convert: Callable[[Any], Any] | None, limit: int | None, newest_first: bool,
                    post: Callable[[Sequence], Sequence] | None, ctx: ReadContext,
                    payload_check: bool = True) -> _Loaded:
        """One round trip: records -> rows, with the truncation flag and payload warning."""
        q0 = time.monotonic()
        records = await self.db.fetch(query.sql, args)
        truncated = limit is not None and len(records) > limit
        if truncated:
            records = records[:limit]
        rows = _to_rows(records, convert, newest_first, post)
        dur = ms_since(q0)
        if _QUERY_LOGGED():
            logevents.log_event(logevents.QUERY, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                rowcount=len(records), dur_ms=dur, cache_hit=False,
                                query=query.name, truncated=truncated)
        warning = self._payload_warning(rows) if payload_check else None
        if warning is not None:
            logevents.log_event(logevents.PAYLOAD_BLOAT, range=ctx.window, tag=ctx.tag,
                                view=ctx.view, rowcount=len(rows), dur_ms=dur,
                                cache_hit=False, query=query.name, message=warning.message)
        return _Loaded(rows, truncated, warning)

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
                         f"{budget // 1000} KB payload budget; choose a shorter window",
                         key="notice.payload_read",
                         fields=(("kb", estimate // 1000), ("rows", len(rows)), ("budget", budget // 1000)))

    # ------------------------------------------------------------------ health

    async def probe(self) -> probe.ProbeResult:
        """Whether the server answers (a result at most probe.MAX_AGE_S old, shared)."""
        return await self._probe.result()

    async def _probe_once(self) -> DataError | probe.Standby | None:
        t0 = time.monotonic()
        ctx = ReadContext(view="probe")
        try:
            # The outer bound also covers building the pool (a server that accepts
            # connections but never answers the startup).
            async with asyncio.timeout(probe.TIMEOUT_S + 0.5):
                records = await self.db.fetch(PROBE.sql, (), timeout_s=probe.TIMEOUT_S)
        except DataFailure as failure:
            error = failure.error
        except TimeoutError:
            error = DataError(ErrorCode.DB_TIMEOUT,
                              f"database timeout: no answer to the health probe within {probe.TIMEOUT_S:g} s")
        else:
            self._note_success(ctx, ms_since(t0))
            row = records[0] if records else None
            if row is not None and row["replica"]:
                return probe.Standby(_non_negative(row["lag_s"]), bool(row["receiving"]),
                                     _non_negative(row["behind_bytes"]), _non_negative(row["replay_age_s"]))
            return None
        self._note_failure(error, ctx, ms_since(t0))
        return error

    def _note_health(self, outcome: CacheOutcome, ctx: ReadContext, dur_ms: float) -> None:
        if outcome.error is not None and outcome.error.is_failure:
            self._note_failure(outcome.error, ctx, dur_ms)
        elif outcome.loaded:
            self._note_success(ctx, dur_ms)

    def _note_failure(self, error: DataError, ctx: ReadContext, dur_ms: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logevents.log_event(logevents.DB_FAIL, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                rowcount=0, dur_ms=dur_ms, cache_hit=False,
                                code=error.code, message=error.message, detail=error.detail)

    def _note_success(self, ctx: ReadContext, dur_ms: float) -> None:
        if self._down_since is not None:
            down_ms = ms_since(self._down_since)
            self._down_since = None
            logevents.log_event(logevents.DB_RECOVER, range=ctx.window, tag=ctx.tag, view=ctx.view,
                                dur_ms=dur_ms, cache_hit=False, down_ms=round(down_ms))


def _to_rows(records: Sequence[Any], convert: Callable[[Any], Any] | None, newest_first: bool,
             post: Callable[[Sequence], Sequence] | None) -> tuple:
    many = getattr(convert, "many", None)
    if many is not None:
        rows = many(records, reverse=newest_first)
    else:
        rows = records if convert is None else list(map(convert, records))
        if newest_first:
            rows = rows[::-1]
    if post is not None:
        rows = post(rows)
    return rows if type(rows) is tuple else tuple(rows)


def _result(outcome: CacheOutcome, query: Query, ctx: ReadContext, dur_ms: float,
            empty_is_no_rows: bool) -> ReadResult:
    """The ReadResult of a cache outcome: its rows (fresh or stale) and error."""
    meta = {"query": query.name, "window": ctx.window, "tag": ctx.tag, "view": ctx.view}
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


def _field_count(row: Any) -> int | None:
    """Fields of a row type (NamedTuple or dataclass); None for anything else (str, tuple...)."""
    fields = getattr(type(row), "_fields", None)
    if isinstance(fields, tuple) and isinstance(row, tuple):
        return len(fields)
    if dataclasses.is_dataclass(row):
        return len(dataclasses.fields(row))
    return None


def _no_rows_message(ctx: ReadContext) -> str:
    parts = []
    if ctx.tag is not None:
        parts.append(f"tag {ctx.tag!r}")
    if ctx.window is not None:
        parts.append(f"window {ctx.window}")
    where = f" for {' / '.join(parts)}" if parts else ""
    return f"no data in {ctx.view or 'the database'}{where}"


def _non_negative(value) -> float | None:
    """A probe's measure as a float, never below 0 (the clocks of a primary and its
    replica may differ by a little)."""
    return None if value is None else max(float(value), 0.0)
