"""Operator logins and alarm actions: the second, small pool, as eco_operator (KSYS_OPERATOR_DSN).

That role may call the SECURITY DEFINER functions of migration 0019 and nothing
else, so every statement here is one function call (data/queries.py, OP_*).
Reads of alarms go through the read-only repository like every other read; this
module only acts. Each call returns an `Outcome`: the value, or a DataError with
a code. The database's own refusals keep their words:

  KS401  NOT_LOGGED_IN  the session ended or expired
  KS429  LOGIN_LOCKED   too many failed logins; the message says until when
  22023  INVALID_INPUT  a bad argument; the message is the database's sentence

Connection problems are classified as for reads (data/errors.py), with the
variable to fix named KSYS_OPERATOR_DSN; passwords are never shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any, NamedTuple, Sequence

import asyncpg

from ksys_app.config import ConfigError, Settings, load_settings
from ksys_app.data import queries as q
from ksys_app.data.errors import DataError, ErrorCode, classify
from ksys_app.data.pool import CLIENT_TIMEOUT_MARGIN_S, MAX_INACTIVE_S, _keep_session, connect_kwargs
from ksys_app.data.queries import Query

APPLICATION_NAME = "ksys-operator"
# The role's own statement_timeout (0020): an action replays its alarms' journals.
STATEMENT_TIMEOUT_MS = 5000
POOL_MAX_SIZE = 3
MAX_ALARMS = 1000  # what one call may name (ksys.operator_check_alarms)

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
_OWN_STATES = {"KS401": ErrorCode.NOT_LOGGED_IN, "KS429": ErrorCode.LOGIN_LOCKED, "22023": ErrorCode.INVALID_INPUT}


class Outcome(NamedTuple):
    value: Any = None
    error: DataError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Session(NamedTuple):
    operator: str
    display_name: str
    expires_at: datetime


def classify_operator(exc: BaseException, phase: str = "query") -> DataError:
    """The DataError of a failed call: the functions' own SQLSTATEs with their sentence,
    anything else as data/errors.classify says, its fix naming KSYS_OPERATOR_DSN."""
    state = getattr(exc, "sqlstate", None)
    if isinstance(exc, asyncpg.PostgresError) and state in _OWN_STATES:
        text = (getattr(exc, "message", None) or str(exc)).strip().splitlines()
        return DataError(_OWN_STATES[state], text[0] if text else state, state)
    error = classify(exc, phase)  # type: ignore[arg-type]
    return dataclasses.replace(error, fix=error.fix.replace("TS_DSN", "KSYS_OPERATOR_DSN"),
                               detail=error.detail.replace("TS_DSN", "KSYS_OPERATOR_DSN"))


def pool_kwargs(settings: Settings) -> dict[str, Any]:
    parts = settings.operator_dsn_parts()
    assert parts is not None
    kwargs = connect_kwargs(settings, parts, read_only=False)
    kwargs["server_settings"] = {**kwargs["server_settings"],
                                 "application_name": parts.get("application_name") or APPLICATION_NAME,
                                 "statement_timeout": str(STATEMENT_TIMEOUT_MS)}
    return {**kwargs, "min_size": 0, "max_size": POOL_MAX_SIZE,
            "max_inactive_connection_lifetime": MAX_INACTIVE_S,
            "command_timeout": STATEMENT_TIMEOUT_MS / 1000 + CLIENT_TIMEOUT_MARGIN_S, "reset": _keep_session}


def _pairs(alarms: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [str(t) for t, _k in alarms], [str(k) for _t, k in alarms]


class OperatorClient:
    """The operators' pool (created on first use) and one method per function of 0019."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def _get_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._pool is not None:
                try:
                    self._pool.terminate()
                except RuntimeError:
                    pass
            self._pool, self._loop, self._lock = None, loop, asyncio.Lock()
        if self._pool is None:
            assert self._lock is not None
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(**pool_kwargs(self.settings))
        return self._pool

    async def call(self, query: Query, args: Sequence[Any]) -> Outcome:
        """Run one function call; its records, or the classified error."""
        try:
            pool = await self._get_pool()
            async with asyncio.timeout(self.settings.connect_timeout_s):
                conn = await pool.acquire()
        except _DB_ERRORS as exc:
            return Outcome(error=classify_operator(exc, "connect"))
        try:
            return Outcome(await conn.fetch(query.sql, *args))
        except _DB_ERRORS as exc:
            error = classify_operator(exc)
            if error.code is ErrorCode.DB_CONN:
                await pool.expire_connections()
            return Outcome(error=error)
        finally:
            try:
                await pool.release(conn)
            except _DB_ERRORS:
                pass

    async def _scalar(self, query: Query, args: Sequence[Any]) -> Outcome:
        out = await self.call(query, args)
        return out if out.error else Outcome(out.value[0][0] if out.value else None)

    async def begin_login(self, name: str, client: str) -> Outcome:
        """The operator's password hash, None for an unknown or disabled name (never tell
        the two apart), or LOGIN_LOCKED."""
        return await self._scalar(q.OP_BEGIN_LOGIN, (name, client))

    async def finish_login(self, name: str, client: str, ok: bool) -> Outcome:
        """Records the attempt; on success the new session's token, else None."""
        return await self._scalar(q.OP_FINISH_LOGIN, (name, client, bool(ok)))

    async def whoami(self, token: str) -> Outcome:
        """The Session of a token, or NOT_LOGGED_IN."""
        out = await self.call(q.OP_WHOAMI, (token,))
        if out.error:
            return out
        if not out.value:
            return Outcome(error=DataError(ErrorCode.NOT_LOGGED_IN, "not logged in", "KS401"))
        r = out.value[0]
        return Outcome(Session(r["operator"], r["display_name"], r["expires_at"]))

    async def logout(self, token: str) -> Outcome:
        return await self.call(q.OP_LOGOUT, (token,))

    async def ack(self, token: str, alarms: Sequence[tuple[str, str]], note: str | None) -> Outcome:
        """How many of the alarms were acknowledged."""
        return await self._scalar(q.OP_ACK, (token, *_pairs(alarms), note))

    async def shelve(self, token: str, alarms: Sequence[tuple[str, str]], minutes: int,
                     note: str | None) -> Outcome:
        return await self._scalar(q.OP_SHELVE, (token, *_pairs(alarms), int(minutes), note))

    async def unshelve(self, token: str, alarms: Sequence[tuple[str, str]], note: str | None) -> Outcome:
        return await self._scalar(q.OP_UNSHELVE, (token, *_pairs(alarms), note))

    async def close(self, timeout_s: float = 5.0) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout_s)
        except (asyncio.TimeoutError, asyncpg.InterfaceError, OSError, RuntimeError):
            try:
                pool.terminate()
            except RuntimeError:
                pass


_default: OperatorClient | None = None
_loaded = False


def get_operator_client() -> OperatorClient | None:
    """The process's operator client, or None when KSYS_OPERATOR_DSN is not set (or the
    settings do not load: every page shows that error already)."""
    global _default, _loaded
    if not _loaded:
        try:
            settings = load_settings()
        except ConfigError:
            settings = None
        _default = OperatorClient(settings) if settings is not None and settings.operator_dsn else None
        _loaded = True
    return _default
