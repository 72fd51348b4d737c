"""Data-layer contracts through Repository (cache off / on) beside the same SQL on raw
asyncpg in the same process, and the 30-day hourly series from the rollup vs raw data.

Each contract is timed N times after warm-up runs, the Repository call and the raw
statement(s) interleaved so that both see the same machine noise. Repository and raw
connection use the app's role (eco_ro) and the app's session settings.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import asyncpg

from bench.common import summary_ms
from ksys_app.config import Settings
from ksys_app.data import queries, validate
from ksys_app.data.pool import connect_kwargs
from ksys_app.data.repository import HEATMAP_DAYS, Repository
from ksys_app.domain.groups import GROUP_KEY, SNAPSHOT_PAGE_ROWS, TILES_PER_PAGE
from ksys_app.domain.windows import parse_window, tech_window

TZ = "Asia/Seoul"
NO_CACHE = {"cache_ttl_metrics_s": 0, "cache_ttl_features_s": 0, "cache_ttl_snapshot_s": 0,
            "cache_ttl_comm_s": 0, "cache_ttl_tags_s": 0}

# Which target a contract is held to: "24h" (<= 24 h of data) or "30d" (longer windows).
CLASS_24H, CLASS_30D = "24h", "30d"


@dataclass
class Contract:
    name: str
    target_class: str
    call: Callable[[Repository], Awaitable[Any]]
    raw: list[tuple[str, tuple]]          # the statements the call sends, with their arguments


def settings(dsn: str, **overrides: Any) -> Settings:
    return Settings(_env_file=None, ts_dsn=dsn, tz=TZ, **overrides)  # type: ignore[call-arg]


def contracts(tag: str, page_tags: list[str] | None = None) -> list[Contract]:
    """The contracts; with `page_tags`, also the KPI read of `/`'s tiles for those tags only
    (one page of tiles or one group, issue 19) beside the read of every tag."""
    tz = settings("postgresql://x@localhost/x").zone
    start_day = datetime.now(timezone.utc).astimezone(tz).date() - timedelta(days=HEATMAP_DAYS - 1)
    lo, hi = validate.local_span_utc(start_day, HEATMAP_DAYS, tz)
    heat = (queries.COMM_HOURS.sql, (tag, lo, hi, queries.MAX_HEATMAP_HOURS + 1))

    def series(code: str) -> Contract:
        w = parse_window(code)
        return Contract(f"series_{code}", CLASS_24H if w.duration <= timedelta(hours=24) else CLASS_30D,
                        lambda r: r.series(tag, code),
                        [(queries.SERIES_BY_VIEW[w.view].sql, (tag, w.duration, w.row_limit + 1))])

    def kpi(code: str) -> Contract:
        w = parse_window(code)
        return Contract(f"kpi_stats_{code}", CLASS_24H, lambda r: r.kpi_stats(code),
                        [(queries.KPI_BY_VIEW[w.view].sql, (w.duration, queries.MAX_TAGS + 1))])

    def kpi_page(code: str, tags: list[str]) -> Contract:
        w = parse_window(code)
        names = sorted(set(tags))
        return Contract(f"kpi_stats_{code}_{len(names)}_tags", CLASS_24H, lambda r: r.kpi_stats(code, names),
                        [(queries.KPI_TAGS_BY_VIEW[w.view].sql, (w.duration, queries.MAX_TAGS + 1, names))])

    async def snapshot_search(r: Repository):
        await r.snapshot_count("d1")
        return await r.snapshot_page("d1", 0, SNAPSHOT_PAGE_ROWS)

    tw = tech_window("24h")
    page = [kpi_page("24h", page_tags)] if page_tags else []
    return [
        Contract("latest", CLASS_24H, lambda r: r.latest(),
                 [(queries.LATEST_ALL.sql, (queries.MAX_TAGS + 1,))]),
        kpi("5m"), kpi("24h"), *page,
        # `/`'s snapshot table: how many tags match a search, then one page of them
        Contract("snapshot_search_page", CLASS_24H, snapshot_search,
                 [(queries.SNAPSHOT_COUNT.sql, ("%d1%", GROUP_KEY, "unit", 2)),
                  (queries.SNAPSHOT_PAGE.sql, ("%d1%", GROUP_KEY, "unit", SNAPSHOT_PAGE_ROWS, 0))]),
        series("60m"), series("24h"), series("7d"), series("30d"), series("12m"),
        Contract("tech_24h", CLASS_24H, lambda r: r.tech(tag, "24h"),
                 [(queries.TECH.sql, (tag, tw.duration, tw.row_limit + 1))]),
        Contract("comm_heatmap_30d", CLASS_30D, lambda r: r.comm_heatmap(tag, start_day), [heat]),
        Contract("comm_outages_30d", CLASS_30D, lambda r: r.comm_outages(tag, start_day),
                 [heat, (queries.COMM_SLO.sql, (tag,))]),
    ]


async def _time(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await fn()
    return time.perf_counter() - t0, result


async def _raw(conn: asyncpg.Connection, stmts: list[tuple[str, tuple]]) -> int:
    n = 0
    for sql, args in stmts:
        n += len(await conn.fetch(sql, *args))
    return n


async def measure_contracts(ro_dsn: str, tag: str, runs: int, warmup: int = 3) -> dict:
    cold = Repository(settings(ro_dsn, **NO_CACHE))
    warm = Repository(settings(ro_dsn))
    raw = await asyncpg.connect(**connect_kwargs(settings(ro_dsn)))
    out: dict = {}
    try:
        # the first page of `/`'s tiles: TILES_PER_PAGE tags
        page_tags = [r["tag_name"] for r in await raw.fetch(
            "SELECT tag_name FROM public.influx_latest ORDER BY tag_name LIMIT $1", TILES_PER_PAGE)]
        for c in contracts(tag, page_tags):
            for _ in range(warmup):
                await c.call(cold)
                await _raw(raw, c.raw)
            t_repo, t_raw, errors, rows, cache_flags = [], [], [], None, set()
            for _ in range(runs):
                s, res = await _time(lambda: c.call(cold))
                t_repo.append(s)
                if res.error is not None and res.error.code != "NO_ROWS":
                    errors.append(res.error.code)
                rows = len(res.rows)
                cache_flags.add(res.cache_hit)
                s, _ = await _time(lambda: _raw(raw, c.raw))
                t_raw.append(s)
            raw_rows = await _raw(raw, c.raw)
            await c.call(warm)  # fills the cache
            t_hit, hits = [], 0
            for _ in range(runs):
                s, res = await _time(lambda: c.call(warm))
                t_hit.append(s)
                hits += bool(res.cache_hit)
            entry = {
                "target_class": c.target_class, "rows": rows, "raw_rows": raw_rows,
                "cache_off": summary_ms(t_repo), "raw_asyncpg": summary_ms(t_raw),
                "cache_on": summary_ms(t_hit), "cache_on_hits": hits,
                "errors": sorted(set(errors)), "error_count": len(errors),
                "cache_off_hit_seen": True in cache_flags,
            }
            p_repo, p_raw = entry["cache_off"]["p50"], entry["raw_asyncpg"]["p50"]
            entry["overhead_p50"] = round(p_repo / p_raw, 3) if p_raw else None
            q_repo, q_raw = entry["cache_off"]["p95"], entry["raw_asyncpg"]["p95"]
            entry["overhead_p95"] = round(q_repo / q_raw, 3) if q_raw else None
            entry["plans"] = [await _explain(raw, sql, args) for sql, args in c.raw]
            out[c.name] = entry
    finally:
        await raw.close()
        await cold.close()
        await warm.close()
    return out


async def _explain(conn: asyncpg.Connection, sql: str, args: tuple) -> dict:
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
    lines = [r[0] for r in rows]
    exec_ms = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), None)
    plan_ms = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Planning Time")), None)
    return {"sql": " ".join(sql.split())[:160], "execution_ms": exec_ms, "planning_ms": plan_ms,
            "plan": lines}


# ---------------------------------------------------------------------- rollup vs raw

RAW_HOURLY_SQL = """
SELECT bucket, tag_name, avg, min, max, last, first, n FROM (
  SELECT date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
         tag_name,
         avg(value)                              AS avg,
         min(value)                              AS min,
         max(value)                              AS max,
         (array_agg(value ORDER BY ts DESC))[1]  AS last,
         (array_agg(value ORDER BY ts ASC))[1]   AS first,
         count(*)                                AS n
  FROM public.influx_hist
  WHERE tag_name = $1 AND ts >= now() - $2::interval
  GROUP BY 1, 2) b
WHERE bucket >= now() - $2::interval
ORDER BY bucket DESC
LIMIT $3
"""


async def rollup_vs_raw(ro_dsn: str, tag: str, runs: int, warmup: int = 2) -> dict:
    """30-day hourly series of one tag: influx_agg_1h vs the same aggregation over influx_hist."""
    w = parse_window("30d")
    assert w.view == "influx_agg_1h"
    args = (tag, w.duration, w.row_limit + 1)
    rollup_sql = queries.SERIES_BY_VIEW["influx_agg_1h"].sql
    kw = connect_kwargs(settings(ro_dsn))
    kw["server_settings"] = dict(kw["server_settings"], statement_timeout="0")
    conn = await asyncpg.connect(**kw)
    try:
        for _ in range(warmup):
            await conn.fetch(rollup_sql, *args)
            await conn.fetch(RAW_HOURLY_SQL, *args)
        t_roll, t_raw = [], []
        for _ in range(runs):
            s, a = await _time(lambda: conn.fetch(rollup_sql, *args))
            t_roll.append(s)
            s, b = await _time(lambda: conn.fetch(RAW_HOURLY_SQL, *args))
            t_raw.append(s)
        roll = {r["bucket"]: r for r in a}
        mismatched = [r["bucket"].isoformat() for r in b
                      if r["bucket"] in roll and (roll[r["bucket"]]["n"] != r["n"]
                                                  or abs(roll[r["bucket"]]["avg"] - r["avg"]) > 1e-6 * max(1, abs(r["avg"])))]
        out = {"rollup": summary_ms(t_roll), "raw": summary_ms(t_raw),
               "rows_rollup": len(a), "rows_raw": len(b), "buckets_compared": len(set(roll) & {r["bucket"] for r in b}),
               "buckets_mismatched": mismatched[:10],
               "plans": {"rollup": await _explain(conn, rollup_sql, args),
                         "raw": await _explain(conn, RAW_HOURLY_SQL, args)}}
        out["speedup_p50"] = round(out["raw"]["p50"] / out["rollup"]["p50"], 1)
        out["speedup_p95"] = round(out["raw"]["p95"] / out["rollup"]["p95"], 1)
        return out
    finally:
        await conn.close()


def run(coro):
    return asyncio.run(coro)
