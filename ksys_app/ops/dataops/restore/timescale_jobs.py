"""TimescaleDB after a restore: the background scheduler back, every job kick-started and
scheduled, failures reported, worker settings checked."""

from __future__ import annotations

import os
import time
from typing import Callable

import psycopg

from ksys_app.ops.schema.doctor import PORTAL_BUG
from ksys_app.ops.schema.probe import FIRST_POLICY_JOB_ID
from ksys_app.retry import backoff_s, poll

Out = Callable[[str], None]

SCHEDULER_APP = "TimescaleDB Background Worker Scheduler"
WORKER_MARGIN = 4
SCHEDULER_WAIT_S = 20.0
# run_job meeting a lock of the scheduler's own run: short pauses, then 2 s
LOCK_RETRY_S = (0.1, 0.2, 0.4, 0.8, 1.6, 2.0)


def restart_hint(conn: psycopg.Connection) -> str:
    container = os.environ.get("KSYS_DB_CONTAINER")
    if container:
        return f"docker restart {container}"
    try:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    except psycopg.Error:
        data_dir = None
    if data_dir in ("/var/lib/postgresql/data", "/home/postgres/pgdata/data"):
        return ("docker restart pgai-db   (the database container: pgai-db on the Pi; "
                "set KSYS_DB_CONTAINER to have its name printed here)")
    if data_dir:
        return f"pg_ctl restart -D {data_dir}   (or: systemctl restart postgresql / docker restart <db container>)"
    return "docker restart <db container>   (or: systemctl restart postgresql)"


def _scheduler_running(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = %s "
                        "AND datname = current_database()", (SCHEDULER_APP,)).fetchone()[0]


def _run_job(conn: psycopg.Connection, job_id: int, attempts: int = 20) -> None:
    for attempt in range(attempts):
        try:
            conn.execute("CALL run_job(%s)", (job_id,))
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected,
                psycopg.errors.SerializationFailure):
            if attempt == attempts - 1:
                raise
            time.sleep(backoff_s(attempt + 1, LOCK_RETRY_S))


def activate_timescaledb_jobs(conn: psycopg.Connection, out: Out, wait_s: float = SCHEDULER_WAIT_S) -> bool:
    """Scheduler up, cagg policies kick-started, every job with a next_start. False: restart needed."""
    if not poll(lambda: _scheduler_running(conn), wait_s):
        # one more push before asking for a restart
        conn.execute("SELECT _timescaledb_functions.start_background_workers()")
        if not poll(lambda: _scheduler_running(conn), 10.0):
            return False
    jobs = conn.execute("SELECT job_id, hypertable_name FROM timescaledb_information.jobs "
                        "WHERE proc_name = 'policy_refresh_continuous_aggregate' AND scheduled "
                        "ORDER BY job_id").fetchall()
    for job_id, _target in jobs:
        _run_job(conn, job_id)
    out(f"  kick-started {len(jobs)} continuous-aggregate policies (CALL run_job)")

    def all_scheduled() -> bool:
        return conn.execute("SELECT count(*) = 0 FROM timescaledb_information.jobs "
                            "WHERE job_id >= %s AND scheduled AND next_start IS NULL", (FIRST_POLICY_JOB_ID,)).fetchone()[0]

    if not poll(all_scheduled, 30.0, 1.0):
        missing = conn.execute("SELECT string_agg(job_id::text, ', ') FROM timescaledb_information.jobs "
                               "WHERE job_id >= %s AND scheduled AND next_start IS NULL", (FIRST_POLICY_JOB_ID,)).fetchone()[0]
        out(f"  warning: jobs without next_start: {missing}")
        return False
    # a running job's next_start is '-infinity' (no datetime for the driver): left out
    n, first = conn.execute("SELECT count(*), min(nullif(next_start, '-infinity')) FROM timescaledb_information.jobs "
                            "WHERE job_id >= %s AND scheduled", (FIRST_POLICY_JOB_ID,)).fetchone()
    out(f"  TimescaleDB scheduler running; {n} jobs scheduled"
        + (f", next at {first:%H:%M:%S%z}" if first else ""))
    return True


JOB_RUN_WAIT_S = 120.0


def failed_timescaledb_jobs(conn: psycopg.Connection, out: Out, wait_s: float = JOB_RUN_WAIT_S) -> list[str]:
    """Have the scheduler run every scheduled job now and wait for each outcome.

    A next_start only says a job is planned; after a restore every run can still
    fail (PostgreSQL 15.20 with TimescaleDB 2.28: `cannot drop portal`). Returns
    one line per job that failed or did not finish, with its error; empty: all ran.
    """
    started = conn.execute("SELECT now()").fetchone()[0]
    jobs = [r[0] for r in conn.execute("SELECT job_id FROM timescaledb_information.jobs "
                                       "WHERE job_id >= %s AND scheduled ORDER BY job_id", (FIRST_POLICY_JOB_ID,))]
    for job_id in jobs:
        conn.execute("SELECT alter_job(%s, next_start => now())", (job_id,))
    if not jobs:
        out("  no scheduled TimescaleDB jobs (all paused): nothing to run")
        return []

    def outcomes() -> dict[int, tuple]:
        return {r[0]: r[1:] for r in conn.execute(
            """SELECT s.job_id, s.last_run_status, s.last_run_started_at >= %s AND s.job_status <> 'Running',
                      j.proc_name, coalesce(j.hypertable_schema || '.' || j.hypertable_name, '')
               FROM timescaledb_information.job_stats s JOIN timescaledb_information.jobs j USING (job_id)
               WHERE s.job_id = ANY(%s)""", (started, jobs))}

    poll(lambda: all(done for _status, done, *_ in outcomes().values()) and len(outcomes()) == len(jobs),
          wait_s, 1.0)
    problems = []
    for job_id, (status, done, proc, target) in sorted(outcomes().items()):
        name = f"job {job_id} {proc} {target}".strip()
        if not done:
            problems.append(f"{name}: did not run to the end within {wait_s:.0f} s")
        elif status != "Success":
            err = conn.execute("SELECT coalesce(sqlerrcode, '?'), coalesce(err_message, 'no error recorded') "
                               "FROM timescaledb_information.job_errors WHERE job_id = %s "
                               "ORDER BY finish_time DESC NULLS LAST LIMIT 1", (job_id,)).fetchone()
            line = f"{name}: {status}" + (f": {err[1]} (SQLSTATE {err[0]})" if err else "")
            if err and PORTAL_BUG in err[1]:
                line += (" — PostgreSQL 15.20 with TimescaleDB 2.28.x fails every background job this way; run "
                         "PostgreSQL 15.19 or older (15.18 works) or PostgreSQL 16/17 with a current TimescaleDB")
            problems.append(line)
    if not problems:
        out(f"  every TimescaleDB job ran successfully after the restore ({len(jobs)} jobs)")
    return problems


def worker_warnings(conn: psycopg.Connection) -> list[str]:
    """Many jobs fire at once after a restore: the worker pools must hold them all."""
    if not conn.execute("SELECT count(*) > 0 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()[0]:
        return []
    mwp, tsbw, jobs = conn.execute(
        """SELECT current_setting('max_worker_processes')::int,
                  current_setting('timescaledb.max_background_workers', true)::int,
                  (SELECT count(*) FROM timescaledb_information.jobs WHERE scheduled)""").fetchone()
    need_ts = jobs + WORKER_MARGIN
    need_mwp = need_ts + WORKER_MARGIN
    warnings = []
    if tsbw is not None and tsbw < need_ts:
        warnings.append(f"timescaledb.max_background_workers = {tsbw} is below {need_ts} ({jobs} jobs + "
                        f"{WORKER_MARGIN}); jobs will queue after a restore: set 16 (docs/operations.md) and restart")
    if mwp < need_mwp:
        warnings.append(f"max_worker_processes = {mwp} is below {need_mwp}; set 32 (docs/operations.md) and restart")
    return warnings


