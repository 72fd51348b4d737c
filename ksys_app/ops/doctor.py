"""`ksys doctor`: PRD 27.6 checklist plus the restore checks of seed 001.

Each check gives ok / warn / fail, a detail and, when failing, the fix to apply.
Only `fail` makes the command exit 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Callable

import psycopg

from ksys_app.ops import schema_spec
from ksys_app.ops.db import connect, first_line, with_dbname
from ksys_app.ops.migrate import applied_migrations, migrations_dir, plan
from ksys_app.ops.schedule import TICK_COMMAND, cron_job_name
from ksys_app.ops.server import probe

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


Checks = list[Check]


def _setting(conn: psycopg.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM ksys.settings WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


def check_migrations(conn: psycopg.Connection, out: Checks) -> str | None:
    applied = applied_migrations(conn)
    if not applied:
        out.append(Check("migrations", FAIL, "no ksys migrations applied", "ksys migrate --dsn <admin DSN>"))
        return None
    engine = next(iter({e for (_f, e, _c) in applied.values()}))
    files = plan(migrations_dir(), engine)
    pending = [m.path.name for m in files if m.version not in applied]
    edited = [m.path.name for m in files if m.version in applied and applied[m.version][2] != m.checksum]
    if edited:
        out.append(Check("migrations", FAIL, f"applied files edited since: {', '.join(edited)}",
                         "restore those files from version control"))
    elif pending:
        out.append(Check("migrations", FAIL, f"pending: {', '.join(pending)}", "ksys migrate --dsn <admin DSN>"))
    else:
        out.append(Check("migrations", OK, f"{len(applied)} applied, engine {engine}"))
    return engine


def check_objects(conn: psycopg.Connection, out: Checks) -> None:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'").fetchall()
    have: dict[str, set[str]] = {}
    for table, column in rows:
        have.setdefault(table, set()).add(column)
    missing = []
    for relation, columns in schema_spec.PRD_RELATIONS.items():
        lacking = [c for c, _t in columns if c not in have.get(relation, set())]
        if relation not in have:
            missing.append(relation)
        elif lacking:
            missing.append(f"{relation}({', '.join(lacking)})")
    if missing:
        out.append(Check("schema objects", FAIL, f"missing: {'; '.join(missing)}", "ksys migrate --dsn <admin DSN>"))
    else:
        out.append(Check("schema objects", OK, f"{len(schema_spec.PRD_RELATIONS)} PRD relations with their columns"))
    idx = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    lacking_idx = [i for i in schema_spec.PRD_INDEXES if i not in idx]
    out.append(Check("indexes", FAIL if lacking_idx else OK,
                     f"missing: {', '.join(lacking_idx)}" if lacking_idx else f"{len(schema_spec.PRD_INDEXES)} present",
                     "ksys migrate --dsn <admin DSN>" if lacking_idx else ""))


def check_timescaledb(conn: psycopg.Connection, out: Checks) -> None:
    hyper = {r[0] for r in conn.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public'")}
    lacking = [h for h in ("influx_hist", "predictions", "anomalies") if h not in hyper]
    out.append(Check("hypertables", FAIL if lacking else OK,
                     f"not hypertables: {', '.join(lacking)}" if lacking else "influx_hist, predictions, anomalies",
                     "ksys migrate --dsn <admin DSN>" if lacking else ""))
    caggs = {r[0] for r in conn.execute(
        "SELECT view_schema || '.' || view_name FROM timescaledb_information.continuous_aggregates")}
    want = ["public.influx_agg_1m", "public.influx_agg_10m", "public.influx_agg_1h", "public.influx_agg_1d",
            "public.features_5m", "ksys.comm_recv_1h"]
    lacking = [c for c in want if c not in caggs]
    out.append(Check("continuous aggregates", FAIL if lacking else OK,
                     f"missing: {', '.join(lacking)}" if lacking else f"{len(want)} present",
                     "ksys migrate --dsn <admin DSN>" if lacking else ""))

    restoring = conn.execute("SELECT current_setting('timescaledb.restoring', true)").fetchone()[0]
    out.append(Check("timescaledb.restoring", OK if restoring in (None, "off") else FAIL,
                     f"= {restoring}",
                     "" if restoring in (None, "off") else
                     "ALTER DATABASE <db> SET timescaledb.restoring = 'off'; then restart PostgreSQL"))

    # The launcher starts one scheduler per database; without it no policy runs.
    scheduler = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'TimescaleDB Background Worker Scheduler' "
        "AND datname = current_database()").fetchone()[0]
    out.append(Check("timescaledb background workers", OK if scheduler else FAIL,
                     f"scheduler for this database {'running' if scheduler else 'not running'}",
                     "" if scheduler else "restart PostgreSQL (the scheduler does not come back by itself after a "
                     "restore); check timescaledb.max_background_workers >= 8 and max_worker_processes"))

    jobs = conn.execute(
        """SELECT j.job_id, j.proc_name, coalesce(j.hypertable_schema || '.' || j.hypertable_name, ''),
                  j.scheduled, j.next_start, s.last_run_status, coalesce(s.total_runs, 0)
           FROM timescaledb_information.jobs j
           LEFT JOIN timescaledb_information.job_stats s USING (job_id)
           WHERE j.job_id >= 1000 ORDER BY j.job_id""").fetchall()
    for job_id, proc, target, scheduled, next_start, last_status, runs in jobs:
        name = f"job {job_id} {proc} {target}".strip()
        if not scheduled:
            out.append(Check(name, FAIL, "paused (scheduled = false)",
                             f"SELECT alter_job({job_id}, scheduled => true);"))
        elif next_start is None and runs == 0 and scheduler:
            out.append(Check(name, OK, "new, waiting for its first run"))
        elif next_start is None:
            out.append(Check(name, FAIL, "no next_start",
                             f"restart PostgreSQL, then CALL run_job({job_id}); to kick-start it"))
        elif last_status == "Failed":
            out.append(Check(name, FAIL, "last run failed",
                             f"SELECT * FROM timescaledb_information.job_errors WHERE job_id = {job_id}; "
                             f"fix the cause, then CALL run_job({job_id});"))
        else:
            out.append(Check(name, OK, f"next_start {next_start:%Y-%m-%d %H:%M:%S%z}, last {last_status or 'not run yet'}"))


def check_ksys_jobs(conn: psycopg.Connection, out: Checks) -> None:
    rows = conn.execute(
        """SELECT job_name, enabled, nullif(next_start, '-infinity'), last_run_status, last_error, last_successful_finish,
                  schedule_interval, now() - coalesce(last_successful_finish, now()) > schedule_interval * 3 + interval '2 minutes'
           FROM ksys.jobs ORDER BY run_order""").fetchall()
    for name, enabled, next_start, status, error, _finish, _interval, overdue in rows:
        label = f"ksys job {name}"
        if not enabled:
            out.append(Check(label, FAIL, "disabled",
                             f"UPDATE ksys.jobs SET enabled = true WHERE job_name = '{name}';"))
        elif status == "Failed":
            out.append(Check(label, FAIL, f"last run failed: {error}",
                             f"fix the cause; the next tick retries (SELECT ksys.tick(); to run now)"))
        elif overdue:
            out.append(Check(label, FAIL, "has not succeeded for more than three schedule intervals",
                             "the scheduler is not calling ksys.tick(): see the scheduler check"))
        else:
            out.append(Check(label, OK, f"last {status or 'not run yet'}, next {next_start:%H:%M:%S}"
                             if next_start and next_start.year > 1 else f"last {status or 'not run yet'}, due now"))


def check_rollup_lag(conn: psycopg.Connection, engine: str, out: Checks) -> None:
    """Plain PostgreSQL only: the rollup tables must keep up with raw data."""
    if engine != "postgres":
        return
    rows = conn.execute(
        """SELECT j.job_name, d.target::text, j.schedule_interval + d.bucket_width + interval '2 minutes',
                  (SELECT max(ts) FROM public.influx_hist WHERE ts > now() - j.start_offset)
           FROM ksys.rollup_def d JOIN ksys.jobs j USING (job_name) ORDER BY j.run_order""").fetchall()
    for job, target, allowed, raw_max in rows:
        if raw_max is None:
            out.append(Check(f"lag {target}", OK, "no recent raw data"))
            continue
        mat_max = conn.execute(f"SELECT max(bucket) FROM {target}").fetchone()[0]
        lag = raw_max - mat_max if mat_max else None
        if lag is None or lag > allowed:
            out.append(Check(f"lag {target}", FAIL,
                             f"newest bucket {mat_max} behind raw {raw_max:%Y-%m-%d %H:%M:%S}",
                             "check the scheduler; SELECT ksys.tick(); or `ksys worker --once` catches up"))
        else:
            out.append(Check(f"lag {target}", OK, f"{lag} behind raw (allowed {allowed})"))


def check_scheduler(conn: psycopg.Connection, dsn: str, out: Checks) -> None:
    scheduler = _setting(conn, "scheduler")
    database = conn.execute("SELECT current_database()").fetchone()[0]
    if scheduler != "pg_cron":
        last = conn.execute("SELECT max(last_successful_finish) FROM ksys.jobs").fetchone()[0]
        fresh = conn.execute("SELECT %s::timestamptz > now() - interval '3 minutes'", (last,)).fetchone()[0]
        if last is None:
            out.append(Check("scheduler (ksys worker)", WARN, "no tick has run yet",
                             "start `ksys worker` beside the database"))
        elif fresh:
            out.append(Check("scheduler (ksys worker)", OK, f"last tick {last:%Y-%m-%d %H:%M:%S%z}"))
        else:
            out.append(Check("scheduler (ksys worker)", FAIL, f"last tick {last:%Y-%m-%d %H:%M:%S%z}",
                             "start `ksys worker` beside the database (or install pg_cron and re-run ksys migrate)"))
        return
    cron_db = _setting(conn, "cron_database") or database
    try:
        with connect(with_dbname(dsn, cron_db)) as cron:
            job = cron.execute("SELECT jobid, active, command, database FROM cron.job WHERE jobname = %s",
                               (cron_job_name(database),)).fetchone()
            if job is None:
                out.append(Check("pg_cron job", FAIL, f"no job {cron_job_name(database)} in {cron_db}",
                                 "ksys migrate --dsn <admin DSN> (schedules it again)"))
                return
            jobid, active, command, job_db = job
            if not active:
                out.append(Check("pg_cron job", FAIL, f"job {jobid} is inactive",
                                 f"in database {cron_db}: SELECT cron.alter_job({jobid}, active := true);"))
                return
            if command != TICK_COMMAND or job_db != database:
                out.append(Check("pg_cron job", FAIL, f"job {jobid} runs {command!r} in {job_db}",
                                 "ksys migrate --dsn <admin DSN> (re-creates it)"))
                return
            run = cron.execute(
                "SELECT status, return_message, start_time FROM cron.job_run_details WHERE jobid = %s "
                "ORDER BY runid DESC LIMIT 1", (jobid,)).fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding itself
        out.append(Check("pg_cron job", WARN, f"cannot read cron.job in {cron_db}: {first_line(exc)}",
                         "run doctor with a DSN allowed to read the cron schema"))
        return
    if run is None:
        out.append(Check("pg_cron job", OK, f"job {jobid} active in {cron_db}, not run yet"))
    elif run[0] == "failed":
        out.append(Check("pg_cron job", FAIL, f"job {jobid} last run failed: {run[1]}",
                         "fix the cause (see cron.job_run_details); with cron.use_background_workers = off "
                         "pg_cron needs a password-less localhost connection"))
    else:
        out.append(Check("pg_cron job", OK, f"job {jobid} {run[0]} at {run[2]:%Y-%m-%d %H:%M:%S%z}"))


def check_roles(conn: psycopg.Connection, out: Checks) -> None:
    row = conn.execute(
        """SELECT r.rolcanlogin,
                  has_table_privilege('eco_ro', 'public.influx_hist', 'INSERT, UPDATE, DELETE'),
                  has_table_privilege('eco_ro', 'public.influx_latest', 'SELECT')
           FROM pg_roles r WHERE r.rolname = 'eco_ro'""").fetchone()
    if row is None:
        out.append(Check("app role eco_ro", FAIL, "missing", "ksys migrate --dsn <admin DSN>"))
    elif row[1] or not row[2]:
        out.append(Check("app role eco_ro", FAIL, "can write, or cannot read" ,
                         "REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM eco_ro; ksys migrate"))
    else:
        out.append(Check("app role eco_ro", OK, "read-only"))


def run_checks(dsn: str) -> Checks:
    out: Checks = []
    with connect(dsn) as conn:
        info = probe(conn)
        out.append(Check("server", OK, f"PostgreSQL {info.version}; timescaledb {info.describe_timescaledb()}; "
                                        f"pg_cron {info.describe_pg_cron()}"))
        engine = check_migrations(conn, out)
        if engine is None:
            return out
        check_objects(conn, out)
        if engine == "timescaledb":
            check_timescaledb(conn, out)
        check_ksys_jobs(conn, out)
        check_rollup_lag(conn, engine, out)
        check_scheduler(conn, dsn, out)
        check_roles(conn, out)
    return out


def render(checks: Checks, as_json: bool = False) -> str:
    if as_json:
        return json.dumps({"ok": not any(c.status == FAIL for c in checks),
                           "checks": [asdict(c) for c in checks]}, indent=2, default=str)
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():4}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != OK:
            lines.append(f"{'':4}  {'':<{width}}  fix: {c.fix}")
    failed = sum(c.status == FAIL for c in checks)
    lines.append(f"{len(checks)} checks, {failed} failed")
    return "\n".join(lines)


def doctor(dsn: str, as_json: bool = False, out: Callable[[str], None] = print) -> int:
    checks = run_checks(dsn)
    out(render(checks, as_json))
    return 1 if any(c.status == FAIL for c in checks) else 0
