"""Read cache: per-kind TTL, single-flight loads, last good value for stale serving.

* Key: sha1 of the SQL text and its bind parameters (PRD B12).
* Fresh entries live in a cachetools TLRUCache: one bounded store (max 100
  entries) where each entry expires after the TTL of its kind (metrics 30 s,
  features 60 s, comm/tags 300 s). A TTL of 0 (snapshot) is never stored.
* Single flight: while a key is being loaded, identical requests await the
  same task instead of sending their own statement. The load runs as its own
  task, so a caller that is cancelled (page left) does not cancel it for others.
* Last good value: every successful load is also kept, without expiry, in a
  bounded LRU store. When a load fails, that value is served marked stale
  (PRD B7: "error + cache -> stale badge"), also for TTL-0 reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Iterator, Sequence

from cachetools import LRUCache, TLRUCache

from ksys_app.data.errors import DataError, DataFailure


@dataclass(frozen=True, slots=True)
class CacheEntry:
    value: Any  # what the loader returned; must be immutable (shared by every reader)
    fetched_at: datetime  # when the database produced it (UTC)
    ttl_s: float


@dataclass(frozen=True, slots=True)
class CacheOutcome:
    entry: CacheEntry | None  # None only when the load failed and nothing was ever loaded
    cache_hit: bool  # no round trip of this caller's own: fresh entry or shared in-flight load
    stale: bool  # entry is the last good value served because the load failed
    error: DataError | None  # why the load failed (stale or not)
    loaded: bool  # this call's load actually reached the database and succeeded


# A Refresh asks for data no older than this, for the reads it makes only: other
# pages' entries stay, and refreshes that come faster than this share one load
# per key instead of each clearing the cache for every user.
_MAX_AGE: ContextVar[float | None] = ContextVar("ksys_cache_max_age", default=None)


@contextmanager
def fresher_than(seconds: float) -> Iterator[None]:
    """Within the block, a fresh entry older than `seconds` counts as a miss."""
    token = _MAX_AGE.set(seconds)
    try:
        yield
    finally:
        _MAX_AGE.reset(token)


def _young_enough(entry: CacheEntry) -> bool:
    max_age = _MAX_AGE.get()
    return max_age is None or (datetime.now(timezone.utc) - entry.fetched_at).total_seconds() <= max_age


def _ttu(_key: str, entry: CacheEntry, now: float) -> float:
    return now + entry.ttl_s


# sha1 state after the statement text, per statement: the statements are a fixed
# set (ksys_app.data.queries), so each is hashed once; bounded all the same.
_SQL_HASHES: dict[str, Any] = {}
_SQL_HASHES_MAX = 256


# Keys already computed for parameters of types whose equal values also have
# equal reprs (so the memo gives exactly the key _cache_key would): a page asks
# for the same few reads again and again. Others (float: 0.0 == -0.0; datetime:
# equal instants in other zones or folds) are hashed every time.
_MEMO_TYPES = frozenset({str, int, timedelta, date})
_KEYS: dict[tuple, str] = {}
_KEYS_MAX = 1024


def cache_key(sql: str, args: Sequence[Any]) -> str:
    """sha1 over the statement and a type-tagged rendering of its parameters."""
    for arg in args:
        kind = type(arg)
        if kind not in _MEMO_TYPES and not (
                kind is datetime and arg.tzinfo is timezone.utc and not arg.fold):
            return _cache_key(sql, args)
    memo = (sql, tuple(args))
    key = _KEYS.get(memo)
    if key is None:
        key = _cache_key(sql, args)
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[memo] = key
    return key


def _cache_key(sql: str, args: Sequence[Any]) -> str:
    base = _SQL_HASHES.get(sql)
    if base is None:
        if len(_SQL_HASHES) >= _SQL_HASHES_MAX:
            _SQL_HASHES.clear()
        base = _SQL_HASHES[sql] = hashlib.sha1(sql.encode("utf-8"))
    h = base.copy()
    for arg in args:
        h.update(b"\x00")
        h.update(type(arg).__name__.encode())
        h.update(b":")
        h.update(repr(arg).encode("utf-8", "backslashreplace"))
    return h.hexdigest()


class QueryCache:
    def __init__(self, max_entries: int = 100, timer: Callable[[], float] = time.monotonic):
        self._fresh: TLRUCache = TLRUCache(maxsize=max_entries, ttu=_ttu, timer=timer)
        self._last_good: LRUCache = LRUCache(maxsize=max_entries)
        self._inflight: dict[str, _Flight] = {}
        self.hits = 0  # answered from a fresh entry
        self.misses = 0  # started a load
        self.coalesced = 0  # waited for another caller's load
        self.stale_served = 0  # load failed, last good value returned
        self.failures = 0  # loads that failed

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "coalesced": self.coalesced,
                "stale_served": self.stale_served, "failures": self.failures,
                "entries": len(self._fresh), "last_good": len(self._last_good),
                "inflight": len(self._inflight)}

    def clear(self) -> None:
        """Drop fresh entries (tests, benchmarks); last good values stay for outages.
        Pages never call it: a Refresh reads under fresher_than instead."""
        self._fresh.clear()

    async def get(self, key: str, ttl_s: float,
                  loader: Callable[[], Awaitable[Any]]) -> CacheOutcome:
        """Fresh entry, else the shared load of `key`; DataFailure from the loader becomes a value."""
        if key in self._fresh:
            entry = self._fresh.get(key)
            if entry is not None and _young_enough(entry):
                self.hits += 1
                return CacheOutcome(entry, cache_hit=True, stale=False, error=None, loaded=False)

        loop = asyncio.get_running_loop()
        flight = self._inflight.get(key)
        leader = flight is None
        if flight is None:
            self.misses += 1
            flight = self._inflight[key] = _Flight()
            flight.task = loop.create_task(self._load(key, ttl_s, loader, flight))
        else:
            self.coalesced += 1
        # Each caller waits on a future of its own, resolved by the load task: a
        # caller that is cancelled cancels only its future, never the load.
        waiter = loop.create_future()
        flight.waiters.append(waiter)
        try:
            entry = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # settled just before the cancel: nothing left to report
            raise
        except DataFailure as failure:
            if leader:
                self.failures += 1
            good = self._last_good.get(key)
            if good is not None:
                self.stale_served += 1
            return CacheOutcome(good, cache_hit=False, stale=good is not None,
                                error=failure.error, loaded=False)
        return CacheOutcome(entry, cache_hit=not leader, stale=False, error=None, loaded=leader)

    async def _load(self, key: str, ttl_s: float, loader: Callable[[], Awaitable[Any]],
                    flight: "_Flight") -> None:
        """Run the loader once and hand its outcome to every caller waiting for it."""
        try:
            value = await loader()
            entry = CacheEntry(value, datetime.now(timezone.utc), ttl_s)
            if ttl_s > 0:
                self._fresh[key] = entry
            self._last_good[key] = entry
        except Exception as exc:  # DataFailure, or a bug: raised in every caller
            self._settle(key, flight, exc)
            return
        except BaseException:  # cancelled with the loop
            self._settle(key, flight, None)
            raise
        self._settle(key, flight, entry)

    def _settle(self, key: str, flight: "_Flight", outcome: Any) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        for waiter in flight.waiters:
            if waiter.done():
                continue  # its caller was cancelled
            if outcome is None:
                waiter.cancel()
            elif isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)


class _Flight:
    """One load in progress: its task and the futures of the callers waiting for it."""

    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None  # kept referenced while it runs
        self.waiters: list[asyncio.Future] = []
