"""`ksys operator add | password | disable | enable | list`: operator accounts in ksys.operators.

Passwords are hashed here (domain/operators.py, argon2id) and only the hash is
stored. Disabling an operator ends their open sessions at once (the database's
operator_of checks `enabled` on every action) and keeps their name in the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from ksys_app.domain import operators as rules
from ksys_app.domain.inputs import InputError
from ksys_app.ops.db import connect
from ksys_app.ops.errors import OpsError


def _checked(check, value):
    try:
        return check(value)
    except InputError as exc:
        raise OpsError(str(exc)) from None


def add(dsn: str, name: str, display: str | None, password: str) -> None:
    name = _checked(rules.operator_name, name)
    display = _checked(rules.display_name, display or name)
    stored = _checked(rules.hash_password, password)
    with connect(dsn) as conn:
        try:
            conn.execute("INSERT INTO ksys.operators (name, display_name, password_hash) VALUES (%s, %s, %s)",
                         (name, display, stored))
        except psycopg.errors.UniqueViolation:
            raise OpsError(f"operator {name} exists (`ksys operator password {name}` sets a new password)") from None


def set_password(dsn: str, name: str, password: str) -> None:
    name = _checked(rules.operator_name, name)
    stored = _checked(rules.hash_password, password)
    with connect(dsn) as conn, conn.transaction():
        if conn.execute("UPDATE ksys.operators SET password_hash = %s WHERE name = %s", (stored, name)).rowcount == 0:
            raise OpsError(f"no operator {name} (`ksys operator list` shows them)")
        conn.execute("UPDATE ksys.operator_sessions SET closed_at = now() WHERE operator = %s AND closed_at IS NULL",
                     (name,))


def set_enabled(dsn: str, name: str, enabled: bool) -> int:
    """Enable or disable; returns the number of open sessions a disable closed."""
    name = _checked(rules.operator_name, name)
    with connect(dsn) as conn, conn.transaction():
        found = conn.execute(
            "UPDATE ksys.operators SET enabled = %s, disabled_at = CASE WHEN %s THEN NULL ELSE now() END "
            "WHERE name = %s", (enabled, enabled, name)).rowcount
        if not found:
            raise OpsError(f"no operator {name} (`ksys operator list` shows them)")
        if enabled:
            return 0
        return conn.execute("UPDATE ksys.operator_sessions SET closed_at = now() "
                            "WHERE operator = %s AND closed_at IS NULL", (name,)).rowcount


@dataclass(frozen=True)
class OperatorRow:
    name: str
    display_name: str
    enabled: bool
    created_at: datetime
    last_login: datetime | None
    open_sessions: int
    failed_logins_24h: int


def listing(dsn: str) -> list[OperatorRow]:
    with connect(dsn) as conn:
        rows = conn.execute(
            """SELECT o.name, o.display_name, o.enabled, o.created_at,
                      (SELECT max(l.at) FROM ksys.operator_logins l WHERE l.operator = o.name AND l.ok),
                      (SELECT count(*) FROM ksys.operator_sessions s
                        WHERE s.operator = o.name AND s.closed_at IS NULL AND s.expires_at > now()),
                      (SELECT count(*) FROM ksys.operator_logins l
                        WHERE l.operator = o.name AND NOT l.ok AND l.at > now() - interval '24 hours')
               FROM ksys.operators o ORDER BY o.name""").fetchall()
    return [OperatorRow(*r) for r in rows]
