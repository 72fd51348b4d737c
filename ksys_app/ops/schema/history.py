"""What a database's migration history says against the checkout's files: read
once here for `ksys migrate` (which refuses to run on a disagreement), `ksys
doctor` (which reports it) and `ksys restore` (which checks a dump's manifest)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# version -> (file, engine, checksum) as recorded in ksys.schema_migrations
Applied = dict[int, tuple[str, str, str]]


def applied_migrations(conn: psycopg.Connection) -> Applied:
    """Empty when the history table does not exist yet."""
    if not conn.execute("SELECT to_regclass('ksys.schema_migrations') IS NOT NULL").fetchone()[0]:
        return {}
    rows = conn.execute("SELECT version, file, engine, checksum FROM ksys.schema_migrations").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def recorded_engine(applied: Applied) -> str | None:
    """The engine the database was migrated for; None before the first migration."""
    engines = {engine for (_file, engine, _checksum) in applied.values()}
    if len(engines) > 1:
        from ksys_app.ops.errors import MigrationRefused

        raise MigrationRefused(f"migration history mixes engines {sorted(engines)}")
    return next(iter(engines), None)


def database_engine(conn: psycopg.Connection) -> str | None:
    """The one engine lookup of the admin commands."""
    return recorded_engine(applied_migrations(conn))


@dataclass(frozen=True)
class Comparison:
    pending: list              # Migration objects of the checkout not applied yet
    edited: list[str]          # applied files whose content changed since
    unknown: list[str]         # applied files this checkout does not have (a newer checkout made them)

    @property
    def agrees(self) -> bool:
        return not self.edited and not self.unknown


def compare(files: list, applied: Applied, versions_elsewhere: set[int] = frozenset()) -> Comparison:
    """`files`: the checkout's migrations for the database's engine (migrate.plan).
    `versions_elsewhere`: versions the checkout has for the other engine only. A
    recorded file of such a version is a retired no-op twin (the runner once
    demanded a file per engine; comment-only twins were deleted), not unknown."""
    by_version = {m.version: m for m in files}
    edited, unknown = [], []
    for version, (file, _engine, checksum) in sorted(applied.items()):
        m = by_version.get(version)
        if m is None:
            if version not in versions_elsewhere:
                unknown.append(file)
        elif m.checksum != checksum:
            edited.append(m.path.name)
    return Comparison([m for m in files if m.version not in applied], edited, unknown)
