"""The one connection pool of the process (asyncpg's), created on first use, closed on shutdown.

This module holds only what is ours: the pool's arguments from the settings and
the mapping of driver errors to DataFailure values. Every connection starts with
the session guards of PRD B9 as startup parameters (statement_timeout,
idle_in_transaction_session_timeout) and default_transaction_read_only=on, so
even a DSN with a writing role cannot write from the app. Nothing outside
ksys_app.data opens connections.

Recovery after a server restart needs no process restart: asyncpg.Pool replaces
a connection the server closed when it is next acquired, and after a connection
error the pool's connections are expired so none of them is reused.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import asyncpg

from ksys_app.config import Settings, dsn_list
from ksys_app.data.errors import DataError, DataFailure, classify

APPLICATION_NAME = "ksys-dashboard"
# Client-side safety net above statement_timeout: a server that stops answering
# (network cut) still ends the wait. Server-side timeout is the real limit.
CLIENT_TIMEOUT_MARGIN_S = 2.0
# Idle connections beyond min_size are closed after this long.
MAX_INACTIVE_S = 300.0

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


def connect_kwargs(settings: Settings, parts: dict[str, str] | None = None,
                   read_only: bool = True) -> dict[str, Any]:
    """asyncpg connect arguments from TS_DSN (or the given DSN parts: KSYS_OPERATOR_DSN's)
    and the timeouts. `read_only` False: the operators' pool, whose role may only call its
    functions, which write (data/operator.py)."""
    if parts is None:
        parts = settings.dsn_parts()   # values checked there (config._check_dsn_values)
    kwargs: dict[str, Any] = {}
    # libpq's comma lists (host=db1,db2 port=5432,5433) are lists for asyncpg: given the string,
    # it would look up "db1,db2" as one host name
    hosts = dsn_list(parts.get("hostaddr") or parts.get("host"))
    if hosts:
        kwargs["host"] = hosts if len(hosts) > 1 else hosts[0]
    ports = [int(p) for p in dsn_list(parts.get("port"))]
    if ports:
        kwargs["port"] = ports if len(ports) > 1 else ports[0]
    for src, dst in (("user", "user"), ("password", "password"), ("dbname", "database"),
                     ("passfile", "passfile"), ("target_session_attrs", "target_session_attrs")):
        if parts.get(src):
            kwargs[dst] = parts[src]
    if parts.get("sslmode"):
        kwargs["ssl"] = parts["sslmode"]
    # libpq reads connect_timeout <= 0 as "wait for ever"; the dashboard keeps its own bound then
    timeout = int(parts.get("connect_timeout") or 0)
    kwargs["timeout"] = float(timeout if timeout > 0 else settings.connect_timeout_s)
    kwargs["server_settings"] = {
        "application_name": parts.get("application_name") or APPLICATION_NAME,
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.idle_in_transaction_timeout_ms),
        "default_transaction_read_only": "on" if read_only else "off",
        # JIT compilation of the first KPI query can cost more than the whole
        # 900 ms budget; the dashboard's reads are small and planned quickly.
        "jit": "off",
    }
    return kwargs


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset hook: nothing to undo between reads, so no reset round trip.

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` on every release (bench finding 5). These connections
    only ever run Database.fetch, one read-only SELECT in autocommit: nothing
    SETs (the session settings are startup parameters, which RESET ALL keeps
    anyway), LISTENs, takes advisory locks or declares cursors. asyncpg still
    rolls back a transaction left open and drops a connection that broke. A read
    that needs session state must not go through this pool.
    """


def pool_kwargs(settings: Settings) -> dict[str, Any]:
    """asyncpg.create_pool arguments from the settings."""
    return {
        **connect_kwargs(settings),
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "max_inactive_connection_lifetime": MAX_INACTIVE_S,
        "command_timeout": settings.statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_S,
        "reset": _keep_session,
    }


async def check_connection(settings: Settings) -> DataError | None:
    """Connect once as the pool would and run a trivial query: None, or why not (classified).

    `ksys serve` calls it before it builds or starts anything, so that a wrong
    password or database is one line at start rather than error pages.
    """
    try:
        conn = await asyncpg.connect(**connect_kwargs(settings))
    except _DB_ERRORS as exc:
        return classify(exc, "connect")
    try:
        await conn.fetchval("SELECT 1")
    except _DB_ERRORS as exc:
        return classify(exc, "query")
    finally:
        try:
            await conn.close(timeout=settings.connect_timeout_s)
        except _DB_ERRORS:
            conn.terminate()
    return None


class Database:
    """Lazily created asyncpg pool plus the one function that runs a statement."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def _get_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A pool belongs to the loop that made it (e.g. after a dev reload):
            # drop the old one without awaiting it on a foreign loop.
            if self._pool is not None:
                _terminate(self._pool)
            self._pool, self._loop, self._lock = None, loop, asyncio.Lock()
        if self._pool is not None:
            return self._pool
        assert self._lock is not None
        async with self._lock:
            if self._pool is None:
                # A server that is down fails here (DB_CONN); the next read tries again.
                self._pool = await asyncpg.create_pool(**pool_kwargs(self.settings))
        return self._pool

    async def fetch(self, sql: str, args: Sequence[Any] = (),
                    timeout_s: float | None = None) -> list[asyncpg.Record]:
        """Run one statement; DataFailure with a classified DataError on any DB problem.

        `timeout_s` bounds the wait for a connection and the statement below the
        usual limits (the health probe must answer within a couple of seconds).
        """
        connect_s = self.settings.connect_timeout_s if timeout_s is None else min(
            timeout_s, self.settings.connect_timeout_s)
        try:
            pool = await self._get_pool()
            # asyncio.timeout rather than acquire(timeout=): no task of its own per read.
            async with asyncio.timeout(connect_s):
                conn = await pool.acquire()
        except _DB_ERRORS as exc:
            raise DataFailure(classify(exc, "connect")) from exc
        try:
            # under the pool's command_timeout unless a shorter one is asked for
            return await conn.fetch(sql, *args, timeout=timeout_s)
        except _DB_ERRORS as exc:
            error = classify(exc, "query")
            if error.code == "DB_CONN":
                await pool.expire_connections()  # the others are likely broken too
            raise DataFailure(error) from exc
        finally:
            try:
                await pool.release(conn)
            except _DB_ERRORS:
                pass  # asyncpg has closed that connection; the next acquire opens a new one

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close the pool at shutdown; waits for running statements up to timeout_s."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout_s)
        except (asyncio.TimeoutError, asyncpg.InterfaceError, OSError):
            _terminate(pool)


def _terminate(pool: asyncpg.Pool) -> None:
    """Close every connection now (also callable for a pool of another, maybe closed, loop)."""
    try:
        pool.terminate()
    except RuntimeError:  # its event loop is already closed
        pass
