"""The one asyncpg pool of the process: created on first use, closed on shutdown.

Every connection starts with the session guards of PRD B9 as startup
parameters (statement_timeout, idle_in_transaction_session_timeout) and
default_transaction_read_only=on, so even a DSN with a writing role cannot
write from the app. Nothing outside ksys_app.data opens connections.

Recovery after a server restart needs no process restart: a connection the
server closed is replaced when it is next acquired, and after a connection
error the pool expires all its connections so none of them is reused.
"""

from __future__ import annotations

import asyncio
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


class Database:
    """Lazily created asyncpg pool plus the one function that runs a statement."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self.round_trips = 0  # statements sent to the server (for tests and metrics)

    @property
    def client_timeout_s(self) -> float:
        return self.settings.statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_S

    async def _get_pool(self) -> asyncpg.Pool:
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
                pool = asyncpg.create_pool(
                    min_size=self.settings.pool_min_size,
                    max_size=self.settings.pool_max_size,
                    command_timeout=self.client_timeout_s,
                    max_inactive_connection_lifetime=300.0,
                    **connect_kwargs(self.settings),
                )
                try:
                    await pool
                except BaseException:
                    pool.terminate()
                    raise
                self._pool = pool
        return self._pool

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[asyncpg.Record]:
        """Run one statement; DataFailure with a classified DataError on any DB problem."""
        try:
            pool = await self._get_pool()
            conn = await pool.acquire(timeout=self.settings.connect_timeout_s)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as exc:
            raise DataFailure(classify(exc, "connect")) from exc
        try:
            self.round_trips += 1
            return await conn.fetch(sql, *args, timeout=self.client_timeout_s)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as exc:
            error = classify(exc, "query")
            if error.code == "DB_CONN":
                await pool.expire_connections()
            raise DataFailure(error) from exc
        finally:
            try:
                await pool.release(conn)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                pass  # a dead connection is dropped by the pool; the read already has its outcome

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
