"""Who calls ksys.run_tick() every minute: pg_cron where it is preloaded, else `ksys worker`.

pg_cron's extension can only be created in the database named by
cron.database_name; when the app lives in another database the job is created
from there with cron.schedule_in_database.
"""

from __future__ import annotations

from typing import Callable

import psycopg

from ksys_app.ops.db import connect, first_line, with_dbname
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.probe import ServerInfo

TICK_SCHEDULE = "* * * * *"
# A procedure: on TimescaleDB it refreshes continuous aggregates, which commit
# by themselves (migration 0013). pg_cron runs a lone CALL outside a transaction block.
TICK_COMMAND = "CALL ksys.run_tick()"
TICK_COMMANDS = (TICK_COMMAND, "SELECT ksys.tick()")   # the current one and the one before 0013


def cron_job_name(database: str) -> str:
    return f"ksys_tick_{database}"


def _set(conn: psycopg.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO ksys.settings (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def _schedule_in(cron_conn: psycopg.Connection, database: str) -> None:
    cron_conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    name = cron_job_name(database)
    row = cron_conn.execute(
        "SELECT jobid, schedule, command, database, active FROM cron.job WHERE jobname = %s",
        (name,)).fetchone()
    if row and (row[1], row[2], row[3]) == (TICK_SCHEDULE, TICK_COMMAND, database):
        return  # already there; an operator may have paused it on purpose (doctor reports it)
    if row:
        cron_conn.execute("SELECT cron.unschedule(%s)", (row[0],))
    cron_conn.execute("SELECT cron.schedule_in_database(%s, %s, %s, %s)",
                      (name, TICK_SCHEDULE, TICK_COMMAND, database))


def ensure_schedule(conn: psycopg.Connection, dsn: str, info: ServerInfo,
                    out: Callable[[str], None]) -> str:
    """Schedule ksys.run_tick(); returns 'pg_cron' or 'worker'."""
    if info.pg_cron_usable:
        try:
            if info.cron_database == info.database:
                _schedule_in(conn, info.database)
            else:
                with connect(with_dbname(dsn, info.cron_database)) as cron_conn:
                    _schedule_in(cron_conn, info.database)
        except (psycopg.Error, OpsError) as exc:
            out(f"scheduler: pg_cron could not be set up ({first_line(exc)}); "
                "falling back to `ksys worker`")
        else:
            _set(conn, "scheduler", "pg_cron")
            _set(conn, "cron_database", info.cron_database)
            out(f"scheduler: pg_cron job {cron_job_name(info.database)} in database "
                f"{info.cron_database}, every minute")
            return "pg_cron"
    _set(conn, "scheduler", "worker")
    out("scheduler: none in the database; run `ksys worker` beside it to refresh rollups and virtual tags")
    return "worker"
