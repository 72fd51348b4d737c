"""Where a contract's overhead over raw asyncpg goes, part by part (bench finding 5).

    python -m bench.overhead_parts RO_DSN [contract ...] [--runs N]

against a cluster left by `python -m bench --keep`. For each contract, interleaved
p50s of: the raw statement(s) on a plain asyncpg connection; the same through the
app's pool (Database.fetch); the Repository call with the single flight replaced
by an inline await of the load; and the Repository call as it is. Then the cost of
turning the fetched records into the contract's rows: plain tuples against the
NamedTuple rows the data layer hands out. The pseudo-contract `select_1` (first by
default) is `SELECT 1` raw and through the app's pool only: the pool's own cost a read.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import asyncpg

from bench.contracts import NO_CACHE, Contract, contracts, settings
from ksys_app.data.cache import CacheEntry, CacheOutcome
from ksys_app.data.pool import connect_kwargs
from ksys_app.data.repository import Repository
from ksys_app.data.rows import series_row, tech_row

ROW_MAPPERS = {"series": series_row, "tech": tech_row}


def _inline_get() -> Callable:
    """QueryCache.get without the single flight: the caller awaits the load itself."""
    async def get(key: str, ttl_s: float, loader: Callable[[], Awaitable[Any]]) -> CacheOutcome:
        value = await loader()
        return CacheOutcome(CacheEntry(value, datetime.now(timezone.utc), ttl_s),
                            cache_hit=False, stale=False, error=None, loaded=True)
    return get


async def _parts(dsn: str, names: list[str], runs: int) -> None:
    repo = Repository(settings(dsn, **NO_CACHE))
    raw = await asyncpg.connect(**connect_kwargs(settings(dsn)))
    by_name = {c.name: c for c in contracts("D100")}
    by_name["select_1"] = Contract("select_1", "", None, [("SELECT 1", ())])  # type: ignore[arg-type]
    single_flight = repo.cache.get
    try:
        for name in names:
            c = by_name[name]

            async def raw_sql() -> None:
                for sql, args in c.raw:
                    await raw.fetch(sql, *args)

            async def pool_sql() -> None:
                for sql, args in c.raw:
                    await repo.db.fetch(sql, args)

            async def inline() -> None:
                repo.cache.get = _inline_get()
                try:
                    await c.call(repo)
                finally:
                    repo.cache.get = single_flight

            async def repository() -> None:
                await c.call(repo)

            steps = {"raw asyncpg": raw_sql, "app pool": pool_sql,
                     "Repository, no single flight": inline, "Repository": repository}
            if c.call is None:  # select_1: no Repository call
                steps = {"raw asyncpg": raw_sql, "app pool": pool_sql}
            times: dict[str, list[float]] = {k: [] for k in steps}
            for i in range(runs + 20):
                for label, fn in steps.items():
                    t0 = time.perf_counter()
                    await fn()
                    if i >= 20:  # warm-up
                        times[label].append(time.perf_counter() - t0)
            print(f"==== {name}: p50 of {runs} interleaved runs")
            base = statistics.median(times["raw asyncpg"])
            for label, ts in times.items():
                p50 = statistics.median(ts)
                print(f"  {label:30} {p50 * 1e6:9.1f} µs {(p50 - base) * 1e6:+8.1f}")
            mapper = ROW_MAPPERS.get(name.split("_")[0])
            if mapper is not None:
                records = await raw.fetch(*c.raw[0][:1], *c.raw[0][1])
                for label, build in (("plain tuples", lambda: tuple(map(tuple, records))),
                                     ("NamedTuple rows", lambda: mapper.many(records))):
                    ts = []
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        build()
                        ts.append(time.perf_counter() - t0)
                    p50 = statistics.median(ts)
                    print(f"  rows: {label:24} {p50 * 1e6:9.1f} µs for {len(records)} rows "
                          f"({p50 * 1e6 / max(len(records), 1):.2f} µs a row)")
    finally:
        repo.cache.get = single_flight
        await repo.close()
        await raw.close()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--runs")]
    runs = int(next((a.split("=")[1] for a in sys.argv[1:] if a.startswith("--runs=")), "300"))
    if not args:
        sys.exit("usage: python -m bench.overhead_parts RO_DSN [contract ...] [--runs=N]")
    dsn, names = args[0], args[1:] or ["select_1", "series_12m", "series_7d", "tech_24h", "comm_heatmap_30d"]
    asyncio.run(_parts(dsn, names, runs))


if __name__ == "__main__":
    main()
