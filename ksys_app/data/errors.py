"""Errors as values: what went wrong with a read, as a code a page can act on.

Pages never see driver exceptions. Every failure of a read becomes a DataError
with one of the PRD's codes (B7) plus INVALID_INPUT for rejected arguments,
CONFIG for a missing/bad TS_DSN and DB_ERROR for any other database error.

Connection errors come in two kinds. Transient ones (server down, restarting,
too many connections, network) clear by themselves and are retried on
RETRY_SCHEDULE_S. Permanent ones (wrong password, unknown role or database,
no CONNECT right, a bad setting) fail the same way on every attempt: they are
marked `permanent`, carry the `fix`, and nothing retries them by itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import asyncpg

from ksys_app.retry import BACKOFF_S, backoff_s

# Backoff between retries of a failed read (PRD B7): 1, 2, 4, then 8 s for good,
# the same schedule as the admin commands and the simulator (ksys_app.retry).
RETRY_SCHEDULE_S: tuple[int, ...] = BACKOFF_S


def retry_delay_s(attempt: int) -> int:
    """Delay before retry number `attempt` (1-based); stays at the last step after that."""
    return int(backoff_s(attempt))


class ErrorCode(StrEnum):
    DB_TIMEOUT = "DB_TIMEOUT"        # statement_timeout or client-side query timeout
    DB_CONN = "DB_CONN"              # cannot connect / connection lost / server restarting
    NO_ROWS = "NO_ROWS"              # the database answered, with nothing to show
    SCHEMA_DRIFT = "SCHEMA_DRIFT"    # relation/column/function missing or not granted
    PAYLOAD_BLOAT = "PAYLOAD_BLOAT"  # result larger than the payload budget (a warning)
    INVALID_INPUT = "INVALID_INPUT"  # rejected before any SQL ran
    CONFIG = "CONFIG"                # TS_DSN missing or unusable
    DB_ERROR = "DB_ERROR"            # any other database error
    NOT_LOGGED_IN = "NOT_LOGGED_IN"  # an operator action without a live session (SQLSTATE KS401)
    LOGIN_LOCKED = "LOGIN_LOCKED"    # too many failed logins (KS429); the message says until when


# Codes worth retrying with RETRY_SCHEDULE_S: the same read may work shortly.
RETRYABLE = frozenset({ErrorCode.DB_TIMEOUT, ErrorCode.DB_CONN})

# Codes that mean the database did not deliver rows (as opposed to "no rows").
FAILURES = frozenset({ErrorCode.DB_TIMEOUT, ErrorCode.DB_CONN, ErrorCode.SCHEMA_DRIFT,
                      ErrorCode.DB_ERROR, ErrorCode.CONFIG})


@dataclass(frozen=True, slots=True)
class DataError:
    code: ErrorCode
    message: str
    sqlstate: str | None = None
    permanent: bool = False  # another attempt with the same settings fails the same way
    fix: str = ""            # what the operator must change (for permanent errors)
    # The driver's own words (hosts, ports, role names, SQL fragments): for the log
    # only. `message` is the plain sentence a page visitor may read.
    detail: str = ""
    # A sentence with values in it: its message id (ksys_app.i18n) and values, so a
    # page can show it in its language; `message` is the English one, for the log.
    key: str = ""
    fields: tuple[tuple[str, Any], ...] = ()

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE and not self.permanent

    @property
    def is_failure(self) -> bool:
        """True when the database could not answer (not for NO_ROWS / warnings / bad input)."""
        return self.code in FAILURES

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class DataFailure(Exception):
    """Carries a DataError through the cache's single-flight task; never leaves the data layer."""

    def __init__(self, error: DataError):
        super().__init__(str(error))
        self.error = error


def invalid_input(message: str) -> DataError:
    return DataError(ErrorCode.INVALID_INPUT, message)


CONFIG_FIX = "correct it in the environment or .env"


def config_error(message: str) -> DataError:
    """A setting is missing or invalid (ksys_app.config): permanent until it is corrected."""
    return DataError(ErrorCode.CONFIG, message, permanent=True, fix=CONFIG_FIX)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_CONN_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,            # class 08, incl. ConnectionDoesNotExistError
    asyncpg.exceptions.CannotConnectNowError,   # 57P03: starting up / shutting down
    asyncpg.exceptions.AdminShutdownError,      # 57P01: server stopped under us
    asyncpg.exceptions.CrashShutdownError,      # 57P02
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
    asyncpg.exceptions.ClientCannotConnectError,
    ConnectionError,
    OSError,
)

# Connection errors no retry can fix, with what to change. Checked in order:
# InvalidPasswordError (28P01) is a subclass of InvalidAuthorizationSpecificationError.
_PERMANENT_CONN_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (asyncpg.exceptions.InvalidPasswordError,
     "check the user and password in TS_DSN (or the role's password on the server)"),
    (asyncpg.exceptions.InvalidAuthorizationSpecificationError,   # 28000: unknown role, pg_hba.conf rejects
     "check the user in TS_DSN and that pg_hba.conf lets it connect from this host"),
    (asyncpg.exceptions.InvalidCatalogNameError,                  # 3D000
     "check the database name in TS_DSN (a new server needs `ksys migrate` first)"),
)

# While connecting, a missing privilege is the database's CONNECT right (42501).
_CONNECT_PRIVILEGE_FIX = "GRANT CONNECT ON DATABASE <db> TO <role> (`ksys migrate` grants it to eco_ro)"

_DRIFT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.UndefinedTableError,
    asyncpg.exceptions.UndefinedColumnError,
    asyncpg.exceptions.UndefinedFunctionError,
    asyncpg.exceptions.UndefinedObjectError,
    asyncpg.exceptions.InvalidSchemaNameError,
    asyncpg.exceptions.InsufficientPrivilegeError,  # grants no longer match the schema
)

Phase = Literal["connect", "query"]


def classify(exc: BaseException, phase: Phase = "query") -> DataError:
    """Map a driver/OS exception to a DataError: a plain message for the page, the
    driver's text in `detail` for the log.

    A client-side timeout while connecting or waiting for a pooled connection is
    DB_CONN; while a statement runs it is DB_TIMEOUT, like the server's
    statement_timeout (QueryCanceledError).
    """
    state = getattr(exc, "sqlstate", None)
    detail = _first_line(exc)
    for kind, fix in _PERMANENT_CONN_ERRORS:
        if isinstance(exc, kind):
            return DataError(ErrorCode.DB_CONN, "the database refused the dashboard's login", state,
                             permanent=True, fix=fix, detail=detail)
    if phase == "connect" and isinstance(exc, asyncpg.exceptions.InsufficientPrivilegeError):
        return DataError(ErrorCode.DB_CONN, "the dashboard's role may not connect to this database", state,
                         permanent=True, fix=_CONNECT_PRIVILEGE_FIX, detail=detail)
    if isinstance(exc, asyncpg.QueryCanceledError):
        return DataError(ErrorCode.DB_TIMEOUT, "the database did not answer in time", state, detail=detail)
    if isinstance(exc, asyncpg.exceptions.ClientConfigurationError):
        return DataError(ErrorCode.CONFIG, "TS_DSN cannot be used as it is (the dashboard's log says why)",
                         permanent=True, fix=CONFIG_FIX, detail=f"TS_DSN: {detail}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        if phase == "connect":
            return DataError(ErrorCode.DB_CONN,
                             "no database connection within the connect timeout "
                             "(server unreachable or every pooled connection busy)", detail=detail)
        return DataError(ErrorCode.DB_TIMEOUT, "the database did not answer in time", detail=detail)
    if isinstance(exc, _DRIFT_ERRORS):
        return DataError(ErrorCode.SCHEMA_DRIFT, "the database schema does not match the dashboard", state,
                         detail=detail)
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, asyncpg.exceptions.DataError):
        if "closed" in detail or "closing" in detail:  # "connection is closed", pool closing
            return DataError(ErrorCode.DB_CONN, "the database connection was lost", detail=detail)
    if isinstance(exc, _CONN_ERRORS):
        return DataError(ErrorCode.DB_CONN, "the database is unreachable", state, detail=detail)
    if isinstance(exc, asyncpg.PostgresError):
        return DataError(ErrorCode.DB_ERROR, "the database reported an error", state, detail=detail)
    return DataError(ErrorCode.DB_ERROR, "the database reported an error", detail=f"{type(exc).__name__}: {detail}")
