"""What a PostgreSQL server offers: version, TimescaleDB, toolkit, pg_cron."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# TimescaleDB numbers its own internal jobs below 1000; policies and user jobs from here.
FIRST_POLICY_JOB_ID = 1000


@dataclass(frozen=True)
class ServerInfo:
    version: str                 # e.g. "15.18"
    version_num: int             # e.g. 150018
    database: str
    preload: tuple[str, ...]     # shared_preload_libraries
    timescaledb_available: str | None   # default version offered, if any
    timescaledb_installed: str | None   # version installed in this database
    toolkit_available: bool
    pg_cron_available: bool
    cron_database: str | None    # cron.database_name when pg_cron is preloaded

    @property
    def timescaledb_usable(self) -> bool:
        return bool(self.timescaledb_available) and "timescaledb" in self.preload

    @property
    def pg_cron_usable(self) -> bool:
        return self.pg_cron_available and "pg_cron" in self.preload and bool(self.cron_database)

    def describe_timescaledb(self) -> str:
        if self.timescaledb_installed:
            return f"installed {self.timescaledb_installed}"
        if self.timescaledb_usable:
            return f"available {self.timescaledb_available}"
        if self.timescaledb_available:
            return "available but not in shared_preload_libraries"
        return "not available"

    def describe_pg_cron(self) -> str:
        if self.pg_cron_usable:
            return f"preloaded, cron.database_name={self.cron_database}"
        if self.pg_cron_available:
            return "available but not in shared_preload_libraries"
        return "not available"


def probe(conn: psycopg.Connection) -> ServerInfo:
    row = conn.execute(
        """
        SELECT current_setting('server_version'),
               current_setting('server_version_num')::int,
               current_database(),
               current_setting('shared_preload_libraries'),
               (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'),
               (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
               EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb_toolkit'),
               EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron'),
               current_setting('cron.database_name', true)
        """
    ).fetchone()
    preload = tuple(p.strip() for p in (row[3] or "").split(",") if p.strip())
    return ServerInfo(
        version=row[0].split()[0],
        version_num=row[1],
        database=row[2],
        preload=preload,
        timescaledb_available=row[4],
        timescaledb_installed=row[5],
        toolkit_available=row[6],
        pg_cron_available=row[7],
        cron_database=row[8] or None,
    )
