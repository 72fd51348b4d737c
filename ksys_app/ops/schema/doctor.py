"""`ksys doctor`: PRD 27.6 checklist plus the restore checks of seed 001.

Each check gives ok / warn / fail, a detail and, when failing, the fix to apply.
Only `fail` makes the command exit 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Callable

import psycopg

from ksys_app.ops.db import connect, first_line, with_dbname
from ksys_app.ops.schema import spec as schema_spec
from ksys_app.ops.schema.checks import FAIL, OK, WARN, Check, Checks  # noqa: F401 - re-exported
from ksys_app.ops.schema.history import applied_migrations, compare, recorded_engine
from ksys_app.ops.schema.ingest_checks import check_ingest
from ksys_app.ops.schema.migrate import migrations_dir, other_engine_only, plan
from ksys_app.ops.schema.probe import FIRST_POLICY_JOB_ID, probe
from ksys_app.ops.schema.role_checks import check_app_roles
from ksys_app.ops.schema.schedule import TICK_COMMAND, cron_job_name


def _setting(conn: psycopg.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM ksys.settings WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


def check_migrations(conn: psycopg.Connection, out: Checks) -> str | None:
    applied = applied_migrations(conn)
    if not applied:
        out.append(Check("migrations", FAIL, "no ksys migrations applied", "ksys migrate --dsn <admin DSN>"))
        return None
    engine = recorded_engine(applied)
    found = compare(plan(migrations_dir(), engine), applied, other_engine_only(migrations_dir(), engine))
    if found.unknown:
        out.append(Check("migrations", FAIL, f"applied but not in this checkout: {', '.join(found.unknown)}",
                         "run a checkout at least as new as the database"))
    elif found.edited:
        out.append(Check("migrations", FAIL, f"applied files edited since: {', '.join(found.edited)}",
                         "restore those files from version control"))
    elif found.pending:
        out.append(Check("migrations", FAIL, f"pending: {', '.join(m.path.name for m in found.pending)}",
                         "ksys migrate --dsn <admin DSN>"))
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


# PostgreSQL 15.20 changed portal handling in a way TimescaleDB 2.28.x's job
# runner trips over: every background job fails with this error (15.18 works;
# TimescaleDB 2.29 no longer supports PostgreSQL 15).
PORTAL_BUG = 'cannot drop portal "" while it is being set up'


def _failed_job_check(conn: psycopg.Connection, name: str, job_id: int, server_version: str) -> Check:
    row = conn.execute("SELECT sqlerrcode, err_message FROM timescaledb_information.job_errors "
                       "WHERE job_id = %s ORDER BY finish_time DESC NULLS LAST LIMIT 1", (job_id,)).fetchone()
    code, message = row if row else (None, None)
    # CALL run_job() runs the job in this session and leaves job_stats as they are: only a
    # run by the scheduler clears "Failed", so the fix asks the scheduler to run it now.
    rerun = f"SELECT alter_job({job_id}, next_start => now());"
    if message and PORTAL_BUG in message:
        return Check(name, FAIL, f"last run failed: {message} (SQLSTATE {code}): PostgreSQL {server_version} with "
                                 "TimescaleDB 2.28.x fails every background job this way",
                     "run PostgreSQL 15.19 or older (15.18 works; e.g. pin the image's PostgreSQL minor version), "
                     "or upgrade to PostgreSQL 16/17 with a current TimescaleDB; then " + rerun)
    return Check(name, FAIL, f"last run failed: {message or 'no error recorded'}" + (f" (SQLSTATE {code})" if code else ""),
                 f"fix the cause (SELECT * FROM timescaledb_information.job_errors WHERE job_id = {job_id};), "
                 f"then {rerun} — its next successful run clears the Failed status")


def check_timescaledb(conn: psycopg.Connection, out: Checks, info_version: str = "") -> None:
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
                  j.scheduled, nullif(j.next_start, '-infinity'), j.next_start = '-infinity',
                  s.last_run_status, coalesce(s.total_runs, 0)
           FROM timescaledb_information.jobs j
           LEFT JOIN timescaledb_information.job_stats s USING (job_id)
           WHERE j.job_id >= %s ORDER BY j.job_id""", (FIRST_POLICY_JOB_ID,)).fetchall()
    # A job the scheduler has started has next_start '-infinity' until it finishes
    # (TimescaleDB marks the start that way to spot crashed runs); the driver has no
    # datetime for it, so the query turns it into a flag.
    for job_id, proc, target, scheduled, next_start, running, last_status, runs in jobs:
        name = f"job {job_id} {proc} {target}".strip()
        if running and scheduled:
            out.append(Check(name, OK, f"running now, last {last_status or 'not run yet'}"))
        elif not scheduled:
            out.append(Check(name, FAIL, "paused (scheduled = false)",
                             f"SELECT alter_job({job_id}, scheduled => true);"))
        elif next_start is None and runs == 0 and scheduler:
            out.append(Check(name, OK, "new, waiting for its first run"))
        elif next_start is None:
            out.append(Check(name, FAIL, "no next_start",
                             f"restart PostgreSQL, then CALL run_job({job_id}); to kick-start it"))
        elif last_status == "Failed":
            out.append(_failed_job_check(conn, name, job_id, info_version))
        else:
            out.append(Check(name, OK, f"next_start {next_start:%Y-%m-%d %H:%M:%S%z}, last {last_status or 'not run yet'}"))


def check_ksys_jobs(conn: psycopg.Connection, out: Checks) -> None:
    rows = conn.execute(
        """SELECT job_name, enabled, nullif(next_start, '-infinity'), last_run_status, last_error,
                  now() - coalesce(last_successful_finish, now()) > schedule_interval * 3 + interval '2 minutes'
           FROM ksys.jobs ORDER BY run_order""").fetchall()
    for name, enabled, next_start, status, error, overdue in rows:
        label = f"ksys job {name}"
        if not enabled:
            out.append(Check(label, FAIL, "disabled",
                             f"UPDATE ksys.jobs SET enabled = true WHERE job_name = '{name}';"))
        elif status == "Failed":
            out.append(Check(label, FAIL, f"last run failed: {error}",
                             "fix the cause; the next tick retries (CALL ksys.run_tick(); to run now)"))
        elif overdue:
            out.append(Check(label, FAIL, "has not succeeded for more than three schedule intervals",
                             "the scheduler is not calling ksys.run_tick(): see the scheduler check"))
        else:
            out.append(Check(label, OK, f"last {status or 'not run yet'}, next {next_start:%H:%M:%S}"
                             if next_start and next_start.year > 1 else f"last {status or 'not run yet'}, due now"))


# Derived relation -> (target lag, bucket width, consumer of the change log).
# Targets: one minute where the tick recomputes every minute; otherwise the
# TimescaleDB policy period of that relation (PRD.md section 2).
FRESHNESS: dict[str, tuple[timedelta, timedelta, str]] = {
    "virtual tags": (timedelta(minutes=1), timedelta(minutes=1), "virtual_tags"),
    "influx_agg_1m": (timedelta(minutes=1), timedelta(minutes=1), "derived"),
    "tech_ind_1m_mv": (timedelta(minutes=1), timedelta(minutes=1), "derived"),
    "features_5m": (timedelta(minutes=5), timedelta(minutes=5), "derived"),
    "influx_agg_10m": (timedelta(minutes=10), timedelta(minutes=10), "derived"),
    "comm_success_1h": (timedelta(minutes=15), timedelta(hours=1), "derived"),
    "influx_agg_1h": (timedelta(hours=1), timedelta(hours=1), "derived"),
    "influx_agg_1d": (timedelta(days=1), timedelta(days=1), "derived"),
}


@dataclass
class Freshness:
    relation: str
    lag: timedelta | None        # None: no recent raw data to be behind
    target: timedelta
    pending: int                 # pending change ranges of its consumer
    detail: str


def measure_freshness(conn: psycopg.Connection) -> list[Freshness]:
    """Lag of each derived relation: how far its newest bucket is behind the newest raw
    reading, or how long its oldest pending change has waited, whichever is more."""
    now, raw_max, inputs_max = conn.execute(
        "SELECT now(), max(ts) FILTER (WHERE NOT tag_name = ANY (ksys.virtual_tag_names())), "
        "max(ts) FILTER (WHERE tag_name = ANY (ksys.virtual_inputs())) FROM public.influx_latest").fetchone()
    backlog = {c: (n, oldest) for c, n, oldest in conn.execute("SELECT consumer, ranges, oldest FROM ksys.backlog()")}
    out = []
    for relation, (target, width, consumer) in FRESHNESS.items():
        n_pending, oldest = backlog.get(consumer, (0, None))
        waited = max(timedelta(0), now - oldest) if oldest else timedelta(0)
        newest_raw = inputs_max if relation == "virtual tags" else raw_max
        if newest_raw is None:
            out.append(Freshness(relation, None, target, n_pending, "no raw readings"))
            continue
        look = 4 * target + 2 * width
        if relation == "virtual tags":
            newest = conn.execute(
                "SELECT max(ts) FROM public.influx_hist WHERE tag_name = ANY (ksys.virtual_tag_names()) "
                "AND ts > %s - %s", (newest_raw, look)).fetchone()[0]
            # the minute in progress is not complete, so it has no virtual rows yet
            due = newest_raw.replace(second=0, microsecond=0)
        else:
            newest = conn.execute(f"SELECT max(bucket) FROM public.{relation} WHERE bucket > %s - %s",
                                  (newest_raw, look)).fetchone()[0]
            due = newest_raw
        behind = max(timedelta(0), due - (newest + width)) if newest else look
        lag = max(behind, waited)
        detail = (f"newest bucket {newest:%Y-%m-%d %H:%M}" if newest else f"no bucket in the last {look}") + \
                 f", newest reading {newest_raw:%H:%M:%S}; {n_pending} pending change range(s)" + \
                 (f", oldest waiting {_span(waited)}" if n_pending else "")
        out.append(Freshness(relation, lag, target, n_pending, detail))
    return out


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def check_freshness(conn: psycopg.Connection, out: Checks) -> None:
    for f in measure_freshness(conn):
        name = f"lag {f.relation}"
        if f.lag is None:
            out.append(Check(name, OK, f.detail))
        elif f.lag > 2 * f.target:
            out.append(Check(name, FAIL, f"{_span(f.lag)} behind (target {_span(f.target)}): {f.detail}",
                             "check the scheduler and the ksys jobs above; `ksys worker --once` (or "
                             "CALL ksys.run_tick();) works off one day of pending changes per tick"))
        else:
            out.append(Check(name, OK, f"{_span(f.lag)} behind (target {_span(f.target)}): {f.detail}"))


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
            check_timescaledb(conn, out, info.version)
        check_ksys_jobs(conn, out)
        check_freshness(conn, out)
        check_scheduler(conn, dsn, out)
        check_app_roles(conn, out)
        check_ingest(conn, out)
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
