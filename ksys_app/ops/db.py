"""Admin connections for the ops commands (psycopg, synchronous).

The dashboard itself uses asyncpg through ksys_app.data; the CLI needs neither
an event loop nor a pool, so it connects here, once per command.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ksys_app.config import placeholder_problem
from ksys_app.ops.errors import OpsError

CONNECT_TIMEOUT_S = 5


def resolve_dsn(dsn: str | None, env_var: str = "TS_DSN", flag: str = "--dsn") -> str:
    """The DSN from `flag`, else from the environment; validated, never echoed with a password."""
    value = dsn or os.environ.get(env_var)
    if not value:
        raise OpsError(f"no database given: pass --dsn or set {env_var}")
    try:
        conninfo_to_dict(value)
    except (psycopg.ProgrammingError, UnicodeError):
        # libpq's message quotes the offending token, which may be the password
        # ('invalid percent-encoded token: "PW%zz..."'): say what is wrong, not what it read.
        # UnicodeError: a DSN with bytes that are not UTF-8 (argv and the environment decode
        # them to lone surrogates, which psycopg cannot encode), found by tests/fuzz/test_fuzz_dsn.py
        raise OpsError(f"invalid DSN in {flag if dsn else env_var}: not a valid PostgreSQL DSN; expected "
                       "postgresql://user:password@host:port/dbname or key=value pairs "
                       "(the value is not shown: it may hold a password)") from None
    problem = placeholder_problem(conninfo_to_dict(value).get("password"), flag if dsn else env_var)
    if problem:
        raise OpsError(problem)
    return value


def describe(dsn: str) -> str:
    """host:port/dbname as user, for messages (no password)."""
    d = conninfo_to_dict(dsn)
    host = d.get("host") or "localhost"
    return printable(f"{d.get('user') or os.environ.get('USER', '?')}@{host}:{d.get('port') or 5432}/"
                     f"{d.get('dbname') or '?'}")


def printable(text: str) -> str:
    """`text` with control, separator and format characters escaped (\\x85, \\u2028): a user name,
    host or socket path from a DSN is echoed in one-line messages, where a NEL or an ESC would
    break the line or drive the terminal (found by tests/fuzz/test_fuzz_dsn.py)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text)


def with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def first_line(exc: BaseException) -> str:
    # libpq ends its lines with \n; other line breaks in a message come from what it quotes
    text = str(exc).strip()
    return printable(text.split("\n")[0].strip()) if text else exc.__class__.__name__


# "This role may not do that": 42501 insufficient_privilege (also "must be owner of"),
# 25006 read_only_sql_transaction (eco_ro's sessions are read-only by default).
_NO_RIGHTS = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)

ADMIN_FIX = "use the owner/superuser DSN (--dsn or KSYS_ADMIN_DSN), not the dashboard's read-only one"


def lacks_rights(exc: BaseException) -> bool:
    return isinstance(exc, _NO_RIGHTS)


def db_error(exc: psycopg.Error, prefix: str = "database error", role: str | None = None) -> OpsError:
    """One line for a database error; a missing privilege names the role and the DSN to use."""
    if lacks_rights(exc):
        who = f"role {role}" if role else "the role of this DSN"
        return OpsError(f"{who} lacks the rights this command needs ({first_line(exc)}): {ADMIN_FIX}")
    return OpsError(f"{prefix}: {first_line(exc)}")


class NoRights(OpsError):
    """The connected role may not do what the command needs (see db_error)."""


@contextmanager
def connect(dsn: str, autocommit: bool = True, **kwargs) -> Iterator[psycopg.Connection]:
    """Connect or raise OpsError with one line saying where and why. A missing privilege
    that escapes the block becomes NoRights (an OpsError) naming the role and the DSN to use."""
    try:
        conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S, **kwargs)
    except psycopg.OperationalError as exc:
        raise OpsError(f"cannot connect to {describe(dsn)}: {first_line(exc)}") from None
    except UnicodeError:
        # the IDNA encoding of the host name failed (e.g. a label over 63 characters)
        raise OpsError(f"cannot connect to {describe(dsn)}: the host name is not a valid DNS name") from None
    try:
        yield conn
    except _NO_RIGHTS as exc:
        # said here, where the role is known: `role eco_ro lacks the rights ... use the admin DSN`
        raise NoRights(str(db_error(exc, role=_user(conn, dsn)))) from None
    finally:
        conn.close()


def _user(conn: psycopg.Connection, dsn: str) -> str | None:
    try:
        return conn.info.user
    except Exception:  # noqa: BLE001 - a broken connection: fall back to the DSN
        return conninfo_to_dict(dsn).get("user")
