"""The one connection pool of the process: created on first use, closed on shutdown.

Every connection starts with the session guards of PRD B9 as startup
parameters (statement_timeout, idle_in_transaction_session_timeout) and
default_transaction_read_only=on, so even a DSN with a writing role cannot
write from the app. Nothing outside ksys_app.data opens connections.

Recovery after a server restart needs no process restart: a connection the
server closed is replaced when it is next acquired, and after a connection
error the pool expires all its connections so none of them is reused.

The pool is a small one of our own over asyncpg connections rather than
asyncpg.Pool: asyncpg's release awaits Connection.reset() (a second round
trip per read) in a task of its own, and its acquire with a timeout runs in
another task; together ~0.1 ms per read, as much as a small statement takes
on the server (bench finding 5). Here taking an idle connection and giving
it back are plain function calls.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Sequence

import asyncpg

from ksys_app.config import Settings
from ksys_app.data.errors import DataFailure, classify

APPLICATION_NAME = "ksys-dashboard"
# Client-side safety net above statement_timeout: a server that stops answering
# (network cut) still ends the wait. Server-side timeout is the real limit.
CLIENT_TIMEOUT_MARGIN_S = 2.0


def connect_kwargs(settings: Settings) -> dict[str, Any]:
    """asyncpg connect arguments from TS_DSN (URI or key=value) and the timeouts."""
    parts = settings.dsn_parts()
    kwargs: dict[str, Any] = {}
    host = parts.get("hostaddr") or parts.get("host")
    if host:
        kwargs["host"] = host
    if "port" in parts:
        kwargs["port"] = int(parts["port"])
    for src, dst in (("user", "user"), ("password", "password"), ("dbname", "database"),
                     ("passfile", "passfile"), ("target_session_attrs", "target_session_attrs")):
        if parts.get(src):
            kwargs[dst] = parts[src]
    if parts.get("sslmode"):
        kwargs["ssl"] = parts["sslmode"]
    kwargs["timeout"] = float(parts.get("connect_timeout") or settings.connect_timeout_s)
    kwargs["server_settings"] = {
        "application_name": parts.get("application_name") or APPLICATION_NAME,
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.idle_in_transaction_timeout_ms),
        "default_transaction_read_only": "on",
        # JIT compilation of the first KPI query can cost more than the whole
        # 900 ms budget; the dashboard's reads are small and planned quickly.
        "jit": "off",
    }
    return kwargs


class _Pool:
    """Connections of one event loop for Database.fetch: at most max_size, LIFO reuse.

    No reset on release. asyncpg.Pool by default sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` when a
    connection comes back; there is nothing to undo here: these connections
    only ever run Database.fetch, one SELECT (ksys_app.data.queries, or a
    test's own) in autocommit, read-only by default_transaction_read_only.
    Nothing SETs (session settings are startup parameters, which RESET ALL
    would keep anyway), LISTENs, takes advisory locks, declares cursors or
    leaves a transaction open; a connection found in a transaction, closed,
    or whose statement failed other than by a server error is dropped, not
    reused. A read that needs session state must not go through this pool.

    Idle connections beyond min_size are closed after MAX_IDLE_S (as asyncpg's
    max_inactive_connection_lifetime did); expire() drops every connection
    after a connection error.
    """

    MAX_IDLE_S = 300.0

    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._kwargs = connect_kwargs(settings)
        self._kwargs["command_timeout"] = settings.statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_S
        self._min = settings.pool_min_size
        self._free = settings.pool_max_size  # slots: connections that may be in use or opening
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # (connection, idle since), oldest first
        self._busy: dict[asyncpg.Connection, int] = {}  # in use -> generation it was opened in
        self._generation = 0
        self._closing = False
        self._sweeper: asyncio.TimerHandle | None = None
        self._drained: asyncio.Event | None = None

    async def start(self) -> None:
        """Open min_size connections (a server that is down fails here, as DB_CONN)."""
        opened: list[asyncpg.Connection] = []
        try:
            for _ in range(self._min):
                opened.append(await asyncpg.connect(**self._kwargs))
        except BaseException:
            for conn in opened:
                conn.terminate()
            raise
        now = time.monotonic()
        self._idle.extend((conn, now) for conn in opened)
        if opened:
            self._arm_sweeper()

    @property
    def size(self) -> int:
        return len(self._idle) + len(self._busy)

    def acquire_nowait(self) -> asyncpg.Connection | None:
        """An idle connection if one is free right now, else None (then await acquire())."""
        if self._free <= 0 or self._waiters or self._closing:
            return None
        while self._idle:
            conn = self._idle.pop()[0]
            if conn.is_closed():
                conn.terminate()
                continue
            self._free -= 1
            self._busy[conn] = self._generation
            return conn
        return None

    async def acquire(self) -> asyncpg.Connection:
        """A connection, waiting for a free slot and connecting when no idle one is left."""
        if self._closing:
            raise asyncpg.InterfaceError("pool is closing")
        await self._take_slot()
        try:
            while self._idle:
                conn = self._idle.pop()[0]
                if not conn.is_closed():
                    break
                conn.terminate()
            else:
                conn = await asyncpg.connect(**self._kwargs)
        except BaseException:
            self._give_slot()
            raise
        self._busy[conn] = self._generation
        return conn

    def release(self, conn: asyncpg.Connection, reusable: bool) -> None:
        """Give a connection back: kept idle when reusable and healthy, else closed."""
        generation = self._busy.pop(conn, None)
        if generation is None:
            return  # not ours, or released twice
        try:
            if (reusable and generation == self._generation and not self._closing
                    and not conn.is_closed() and not conn.is_in_transaction()):
                self._idle.append((conn, time.monotonic()))
                self._arm_sweeper()
            else:
                conn.terminate()
        finally:
            self._give_slot()
            if self._drained is not None and not self._busy:
                self._drained.set()

    def expire(self) -> None:
        """After a connection error: close the idle connections, close busy ones on release."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.terminate()

    async def close(self) -> None:
        """Close idle connections, wait for busy ones to come back and close them."""
        self._closing = True
        self._cancel_sweeper()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(conn.close() for conn, _ in idle), return_exceptions=True)
        if self._busy:
            self._drained = asyncio.Event()
            await self._drained.wait()

    def terminate(self) -> None:
        """Close every connection now (also callable from another loop)."""
        self._closing = True
        self._cancel_sweeper()
        conns = [conn for conn, _ in self._idle] + list(self._busy)
        self._idle, self._busy = [], {}
        for conn in conns:
            try:
                conn.terminate()
            except RuntimeError:  # its event loop is already closed
                pass

    # -------------------------------------------------------------- slots

    async def _take_slot(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_slot()  # handed a slot, then cancelled (timeout): pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def _give_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the waiter
                return
        self._free += 1

    # -------------------------------------------------------------- idle expiry

    def _arm_sweeper(self, delay: float | None = None) -> None:
        if self._sweeper is None and not self._closing:
            self._sweeper = self._loop.call_later(self.MAX_IDLE_S if delay is None else delay,
                                                  self._sweep)

    def _cancel_sweeper(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = time.monotonic() - self.MAX_IDLE_S
        excess = self.size - self._min
        keep = []
        for conn, since in self._idle:  # oldest first
            if excess > 0 and since <= cutoff:
                conn.terminate()
                excess -= 1
            else:
                keep.append((conn, since))
        self._idle = keep
        if keep and self.size > self._min:
            self._arm_sweeper(max(0.05, keep[0][1] + self.MAX_IDLE_S - time.monotonic()))


class Database:
    """Lazily created connection pool plus the one function that runs a statement."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: _Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self.round_trips = 0  # statements sent to the server (for tests and metrics)

    @property
    def client_timeout_s(self) -> float:
        return self.settings.statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_S

    async def _get_pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A pool belongs to the loop that made it (e.g. after a dev reload):
            # drop the old one without awaiting it on a foreign loop.
            if self._pool is not None:
                self._pool.terminate()
            self._pool, self._loop, self._lock = None, loop, asyncio.Lock()
        if self._pool is not None:
            return self._pool
        assert self._lock is not None
        async with self._lock:
            if self._pool is None:
                pool = _Pool(self.settings, loop)
                try:
                    await pool.start()
                except BaseException:
                    pool.terminate()
                    raise
                self._pool = pool
        return self._pool

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[asyncpg.Record]:
        """Run one statement; DataFailure with a classified DataError on any DB problem."""
        try:
            pool = await self._get_pool()
            conn = pool.acquire_nowait()
            if conn is None:
                async with asyncio.timeout(self.settings.connect_timeout_s):
                    conn = await pool.acquire()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as exc:
            raise DataFailure(classify(exc, "connect")) from exc
        reusable = False
        try:
            self.round_trips += 1
            records = await conn.fetch(sql, *args, timeout=self.client_timeout_s)
            reusable = True
            return records
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as exc:
            error = classify(exc, "query")
            if error.code == "DB_CONN":
                pool.expire()
            else:
                # The server answered with an error: the connection is fine. A
                # client-side timeout or interface error leaves it in doubt.
                reusable = isinstance(exc, asyncpg.PostgresError)
            raise DataFailure(error) from exc
        finally:
            pool.release(conn, reusable)

    async def reset(self) -> None:
        """Forget the pool (e.g. after an operator restarted the server); the next read reconnects."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close the pool at shutdown; waits for running statements up to timeout_s."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout_s)
        except (asyncio.TimeoutError, asyncpg.InterfaceError, OSError):
            pool.terminate()
