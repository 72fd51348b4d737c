"""QueryCache on its own: TTL per kind, bound, single flight, stale fallback (no database)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from ksys_app.data.cache import QueryCache, cache_key, fresher_than
from ksys_app.data.errors import DataError, DataFailure, ErrorCode


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def loader(value, calls: list, delay: float = 0.0, fail: DataError | None = None):
    async def load():
        calls.append(value)
        if delay:
            await asyncio.sleep(delay)
        if fail is not None:
            raise DataFailure(fail)
        return value
    return load


DOWN = DataError(ErrorCode.DB_CONN, "database unavailable: connection refused")


def test_key_covers_sql_and_parameters():
    k = cache_key("SELECT 1 LIMIT $1", (5,))
    assert len(k) == 40 and k == cache_key("SELECT 1 LIMIT $1", (5,))
    assert k != cache_key("SELECT 2 LIMIT $1", (5,))
    assert k != cache_key("SELECT 1 LIMIT $1", (6,))
    assert k != cache_key("SELECT 1 LIMIT $1", ("5",))  # type matters, not just repr
    assert cache_key("q", (timedelta(hours=24), date(2026, 1, 1))) != cache_key("q", (timedelta(hours=23),
                                                                                   date(2026, 1, 1)))
    assert cache_key("q", ("a", "b")) != cache_key("q", ("a\x00str:'b'",))


async def test_ttl_per_kind():
    clock = Clock()
    cache = QueryCache(100, timer=clock)
    calls: list = []
    for _ in range(3):
        await cache.get("metrics", 30, loader("m", calls))
        await cache.get("features", 60, loader("f", calls))
    assert calls == ["m", "f"]
    clock.t += 31
    await cache.get("metrics", 30, loader("m", calls))
    await cache.get("features", 60, loader("f", calls))
    assert calls == ["m", "f", "m"]
    clock.t += 30
    await cache.get("features", 60, loader("f", calls))
    assert calls == ["m", "f", "m", "f"]
    assert cache.hits == 5 and cache.misses == 4


async def test_ttl_zero_is_never_kept_fresh():
    cache = QueryCache(100)
    calls: list = []
    for _ in range(3):
        out = await cache.get("snap", 0, loader("s", calls))
        assert out.cache_hit is False and out.entry.value == "s"
    assert len(calls) == 3 and cache.stats()["entries"] == 0 and cache.stats()["last_good"] == 1


async def test_bounded_to_max_entries():
    cache = QueryCache(100)
    for i in range(150):
        await cache.get(f"k{i}", 30, loader(i, []))
    stats = cache.stats()
    assert stats["entries"] == 100 and stats["last_good"] == 100


async def test_single_flight_shares_one_load():
    cache = QueryCache(100)
    calls: list = []
    outs = await asyncio.gather(*(cache.get("k", 30, loader("v", calls, delay=0.05)) for _ in range(50)))
    assert calls == ["v"]
    assert (cache.misses, cache.coalesced) == (1, 49)
    assert sum(o.loaded for o in outs) == 1
    assert all(o.entry.value == "v" for o in outs)


async def test_cancelled_caller_does_not_cancel_the_shared_load():
    cache = QueryCache(100)
    calls: list = []
    first = asyncio.create_task(cache.get("k", 30, loader("v", calls, delay=0.05)))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.get("k", 30, loader("other", calls)))
    await asyncio.sleep(0.01)
    first.cancel()
    out = await second
    assert out.entry.value == "v" and calls == ["v"]


async def test_failure_serves_last_good_value_stale_even_after_expiry():
    clock = Clock()
    cache = QueryCache(100, timer=clock)
    good = await cache.get("k", 30, loader("v1", []))
    clock.t += 3600  # long expired
    out = await cache.get("k", 30, loader(None, [], fail=DOWN))
    assert out.stale is True and out.entry.value == "v1" and out.error == DOWN
    assert out.entry.fetched_at == good.entry.fetched_at
    assert cache.stale_served == 1 and cache.failures == 1
    back = await cache.get("k", 30, loader("v2", []))
    assert back.stale is False and back.entry.value == "v2" and back.error is None


async def test_failure_without_history_has_no_rows():
    cache = QueryCache(100)
    out = await cache.get("k", 30, loader(None, [], fail=DOWN))
    assert out.entry is None and out.stale is False and out.error == DOWN
    # The failure is not cached: the next call tries again.
    calls: list = []
    again = await cache.get("k", 30, loader("v", calls))
    assert calls == ["v"] and again.entry.value == "v"


async def test_concurrent_failure_is_shared_too():
    cache = QueryCache(100)
    calls: list = []
    outs = await asyncio.gather(*(cache.get("k", 30, loader(None, calls, delay=0.02, fail=DOWN))
                                  for _ in range(10)))
    assert len(calls) == 1 and all(o.error == DOWN for o in outs)


async def test_other_exceptions_propagate():
    cache = QueryCache(100)

    async def broken():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await cache.get("k", 30, broken)
    assert cache.stats()["inflight"] == 0


async def test_clear_keeps_last_good():
    cache = QueryCache(100)
    await cache.get("k", 30, loader("v", []))
    cache.clear()
    calls: list = []
    await cache.get("k", 30, loader("w", calls))
    assert calls == ["w"]
    assert isinstance((await cache.get("k", 30, loader("x", []))).entry.fetched_at, datetime)
    assert (await cache.get("k", 30, loader("x", []))).entry.fetched_at.tzinfo == timezone.utc


async def test_a_refresh_renews_only_its_own_entries_and_a_burst_shares_one_load():
    """fresher_than (what a page's Refresh reads under): an entry older than the bound is
    loaded again, others' entries are left alone, and 100 refreshes at once make one load."""
    cache = QueryCache(100)
    mine, theirs = [], []
    await cache.get("mine", 30, loader("m1", mine))
    await cache.get("theirs", 30, loader("t1", theirs))
    await asyncio.sleep(0.15)
    with fresher_than(0.1):
        outcomes = await asyncio.gather(*[cache.get("mine", 30, loader("m2", mine, delay=0.05)) for _ in range(100)])
    assert mine == ["m1", "m2"]                       # one new load for the whole burst
    assert {o.entry.value for o in outcomes} == {"m2"}
    with fresher_than(0.1):                           # just loaded: young enough, no load
        assert (await cache.get("mine", 30, loader("m3", mine))).entry.value == "m2"
    assert mine == ["m1", "m2"]
    # the other page's entry was not dropped: still a hit without a load
    hit = await cache.get("theirs", 30, loader("t2", theirs))
    assert hit.cache_hit and hit.entry.value == "t1" and theirs == ["t1"]
