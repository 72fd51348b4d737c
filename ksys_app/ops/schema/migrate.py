"""`ksys migrate`: apply migrations/NNNN_name[.engine].sql in order.

Each file is recorded in ksys.schema_migrations with its SHA-256; an applied file
that was edited stops the run. A session advisory lock serialises concurrent
migrators. A version may come as one file for both engines or as a pair
`NNNN_name.timescaledb.sql` / `NNNN_name.postgres.sql`; the engine is chosen
from what the server offers and then fixed for that database.
A file whose first lines contain `-- ksys:no-transaction` runs outside a
transaction, one statement per `-- ksys:split` section.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psycopg
from psycopg import sql

from ksys_app.config import placeholder_problem
from ksys_app.ops.db import connect, first_line, lacks_rights
from ksys_app.ops.errors import MigrationRefused, OpsError
from ksys_app.ops.schema import schedule
from ksys_app.ops.schema.history import Applied, applied_migrations, compare, recorded_engine
from ksys_app.ops.schema.probe import ServerInfo, probe
from ksys_app.retry import poll

ENGINES = ("timescaledb", "postgres")
MIN_SERVER_VERSION = 140000
# pg_advisory_lock key shared by every migrator ("ksys" in ASCII).
LOCK_KEY = 0x6B737973
FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|postgres))?\.sql$")
NO_TRANSACTION = "-- ksys:no-transaction"
SPLIT = "-- ksys:split"

Out = Callable[[str], None]


def migrations_dir() -> Path:
    override = os.environ.get("KSYS_MIGRATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    engine: str | None
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def no_transaction(self) -> bool:
        return NO_TRANSACTION in self.sql.split("\n", 5)[:5]

    def statements(self) -> list[str]:
        parts = self.sql.split(SPLIT) if self.no_transaction else [self.sql]
        return [p for p in parts if p.strip()]


def discover(directory: Path) -> dict[int, dict[str | None, Migration]]:
    found: dict[int, dict[str | None, Migration]] = {}
    paths = sorted(directory.glob("*.sql"))
    if not paths:
        raise OpsError(f"no migrations in {directory} (set KSYS_MIGRATIONS_DIR, or run from a full checkout)")
    for path in paths:
        match = FILE_RE.match(path.name)
        if not match:
            raise OpsError(f"{path.name}: migration files are named NNNN_name.sql or NNNN_name.<engine>.sql")
        version, name, engine = int(match[1]), match[2], match[3]
        variants = found.setdefault(version, {})
        if engine in variants or (engine is None and variants) or (engine and None in variants):
            raise OpsError(f"{path.name}: version {version:04d} is defined twice")
        variants[engine] = Migration(version, name, engine, path, path.read_text())
    return found


def plan(directory: Path, engine: str) -> list[Migration]:
    """The migrations for `engine` in order. A version may exist for one engine only
    (nothing to do on the other): it is simply not in the other's plan."""
    return [variants.get(None) or variants[engine]
            for _version, variants in sorted(discover(directory).items())
            if None in variants or engine in variants]


def other_engine_only(directory: Path, engine: str) -> set[int]:
    """Versions the checkout defines for the other engine only (history.compare)."""
    return {version for version, variants in discover(directory).items()
            if None not in variants and engine not in variants}


def choose_engine(info: ServerInfo, requested: str | None, recorded: str | None) -> str:
    if recorded:
        if requested and requested != recorded:
            raise OpsError(f"this database was migrated for engine {recorded}; it cannot switch to {requested}")
        return recorded
    if requested == "timescaledb" and not info.timescaledb_usable:
        raise OpsError(f"--engine timescaledb, but the server's timescaledb is {info.describe_timescaledb()}")
    if requested:
        return requested
    return "timescaledb" if info.timescaledb_usable else "postgres"


@dataclass
class MigrateResult:
    engine: str
    applied: list[str]
    scheduler: str


def _bootstrap(conn: psycopg.Connection) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS ksys")
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS ksys.schema_migrations (
          version     integer PRIMARY KEY,
          name        text        NOT NULL,
          engine      text        NOT NULL,
          file        text        NOT NULL,
          checksum    text        NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now(),
          duration_ms integer     NOT NULL
        )
        """
    )


def check_history(migrations: list[Migration], applied: Applied,
                  versions_elsewhere: set[int] = frozenset()) -> list[Migration]:
    """Pending migrations; raises MigrationRefused when history and files disagree."""
    found = compare(migrations, applied, versions_elsewhere)
    if found.unknown:
        raise MigrationRefused(
            f"the database has migration {found.unknown[0]} which this checkout does not have; "
            "run a checkout at least as new as the database")
    if found.edited:
        name = found.edited[0]
        recorded = next(c for (f, _e, c) in applied.values() if f == name)
        on_disk = next(m.checksum for m in migrations if m.path.name == name)
        raise MigrationRefused(
            f"{name} was edited after it was applied (checksum {recorded[:12]} recorded, "
            f"{on_disk[:12]} on disk); restore the file and put the change in a new migration")
    return found.pending


def _apply(conn: psycopg.Connection, m: Migration, engine: str) -> int:
    started = time.monotonic()
    try:
        if m.no_transaction:
            for statement in m.statements():
                conn.execute(statement)
            _record(conn, m, engine, started)
        else:
            with conn.transaction():
                conn.execute(m.sql)
                _record(conn, m, engine, started)
    except psycopg.Error as exc:
        if lacks_rights(exc):
            raise  # ops.db.connect names the role and the DSN to use
        raise OpsError(f"{m.path.name} failed: {first_line(exc)}", exit_code=1) from None
    return int((time.monotonic() - started) * 1000)


def _record(conn: psycopg.Connection, m: Migration, engine: str, started: float) -> None:
    conn.execute(
        "INSERT INTO ksys.schema_migrations (version, name, engine, file, checksum, duration_ms) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (m.version, m.name, engine, m.path.name, m.checksum, int((time.monotonic() - started) * 1000)),
    )


# role -> the variable `ksys migrate` takes its password from
ROLE_PASSWORD_VARS = {"eco_ro": "KSYS_APP_ROLE_PASSWORD", "eco_operator": "KSYS_OPERATOR_ROLE_PASSWORD"}


def _set_app_password(conn: psycopg.Connection, out: Out) -> None:
    """Deployments pass the app roles' passwords in the environment, never in a file."""
    for role, var in ROLE_PASSWORD_VARS.items():
        password = os.environ.get(var)
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
            out(f"{role}: password set from {var}")


def lock_timeout_s() -> float:
    return float(os.environ.get("KSYS_MIGRATE_LOCK_TIMEOUT_S", "120"))


def _lock_holder(conn: psycopg.Connection) -> str:
    """Who holds the migration lock, for the message: pid, role, application, since when."""
    row = conn.execute(
        """SELECT a.pid, a.usename, coalesce(nullif(a.application_name, ''), '-'), a.backend_start
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (LOCK_KEY,)).fetchone()
    if row is None:
        return "a session that has since let go"
    pid, user, app, since = row
    return f"pid {pid} (role {user}, application {app}, connected {since:%Y-%m-%d %H:%M:%S%z})"


def _take_lock(conn: psycopg.Connection, out: Out) -> None:
    """The session advisory lock every migrator takes; waits up to KSYS_MIGRATE_LOCK_TIMEOUT_S.
    Any role can take an advisory lock, the read-only one too, so a holder that never lets
    go is named rather than waited for forever."""
    def take() -> bool:
        return conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]

    if take():
        return
    out(f"another session holds the migration lock: {_lock_holder(conn)}; waiting up to "
        f"{lock_timeout_s():g} s (KSYS_MIGRATE_LOCK_TIMEOUT_S)")
    if not poll(take, lock_timeout_s(), every_s=0.5):
        raise OpsError(f"the migration lock is still held by {_lock_holder(conn)} after {lock_timeout_s():g} s; "
                       "let that migration finish, or end the session with SELECT pg_terminate_backend(<pid>)")


def migrate(dsn: str, engine: str | None = None, out: Out = print,
            directory: Path | None = None) -> MigrateResult:
    directory = directory or migrations_dir()
    for var in ROLE_PASSWORD_VARS.values():
        problem = placeholder_problem(os.environ.get(var), var)
        if problem:
            raise OpsError(problem)   # before anything is applied
    with connect(dsn) as conn:
        info = probe(conn)
        if info.version_num < MIN_SERVER_VERSION:
            raise OpsError(f"PostgreSQL {info.version} is too old: ksys needs 14 or newer")
        out(f"server: PostgreSQL {info.version}, database {info.database}")
        out(f"  timescaledb: {info.describe_timescaledb()}")
        out(f"  timescaledb_toolkit: {'available' if info.toolkit_available else 'not available'}")
        out(f"  pg_cron: {info.describe_pg_cron()}")

        _take_lock(conn, out)
        try:
            applied = applied_migrations(conn)
            recorded = recorded_engine(applied)
            chosen = choose_engine(info, engine, recorded)
            why = "recorded for this database" if recorded else (
                "requested" if engine else "timescaledb is usable" if chosen == "timescaledb"
                else "no usable timescaledb: rollups are tables refreshed by ksys.tick()")
            out(f"mode: {chosen} ({why})")
            pending = check_history(plan(directory, chosen), applied, other_engine_only(directory, chosen))
            _bootstrap(conn)
            done = []
            for m in pending:
                ms = _apply(conn, m, chosen)
                out(f"applied {m.path.name} ({ms} ms)")
                done.append(m.path.name)
            if not pending:
                out("nothing to apply: the database is up to date")
            conn.execute("SELECT ksys.register_all_tags()")
            scheduler = schedule.ensure_schedule(conn, dsn, info, out)
            _set_app_password(conn, out)
            return MigrateResult(chosen, done, scheduler)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
