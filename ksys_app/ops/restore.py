"""`ksys restore`: seed 001's restore procedure, done in one command for both engines.

Order of work (each step timed):

1. read the manifest (FILE.manifest.json) and check the dump's checksum and its
   migrations against this checkout; list the archive (pg_restore -l) and drop
   pg_cron's entries (the extension can only exist in cron.database_name, and
   its jobs belong to the server: the tick is re-created by ensure_schedule);
2. target: created when missing; refused when not empty, unless --force, which
   drops and re-creates the database from the maintenance database (for
   cron.database_name, whose drop would stop pg_cron until a restart: empties it
   in place, keeping pg_cron and its jobs);
3. TimescaleDB: CREATE EXTENSION timescaledb, timescaledb_pre_restore();
4. pg_restore --no-owner --no-acl --single-transaction --exit-on-error -L <filtered list>
   (a failure leaves the new database empty);
5. verify against the manifest before anything can write to the database:
   counts and checksums per tag and UTC day of influx_hist up to the backup time;
6. TimescaleDB: timescaledb_post_restore(), ALTER DATABASE .. SET timescaledb.restoring = off;
7. grants again (--no-acl drops them): the role migrations are idempotent and re-run;
   then `ksys migrate` (pending migrations of a newer checkout, tag registry,
   pg_cron schedule for *this* database name, app password) and one ksys.tick();
8. TimescaleDB: the background scheduler of this database must be running and
   every job must have a next_start; where it did not come back (a known
   TimescaleDB issue) the restart to do is printed and `ksys restore --resume`
   finishes later; otherwise the continuous-aggregate policies are kick-started
   with CALL run_job;
9. ANALYZE; warnings when the worker settings are too low for every job to fire at once.

Exit codes: 0 done; 1 refused (non-empty target, dump/checkout mismatch) or the
restored data differ from the manifest; 2 operational errors; 3 restored and
verified, but the TimescaleDB scheduler needs a PostgreSQL restart.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ksys_app.ops import manifest as mf
from ksys_app.ops.doctor import PORTAL_BUG
from ksys_app.ops.db import connect, describe, first_line, with_dbname
from ksys_app.ops.errors import OpsError
from ksys_app.ops.migrate import check_history, migrate, migrations_dir, plan
from ksys_app.ops.pgtools import conninfo_and_env, find_tool, server_major, tail
from ksys_app.ops.refresh import tick
from ksys_app.ops.schedule import TICK_COMMANDS, cron_job_name
from ksys_app.ops.server import ServerInfo, probe

Out = Callable[[str], None]

EXIT_REFUSED = 1
EXIT_MISMATCH = 1
EXIT_RESTART_NEEDED = 3
EXIT_JOBS_FAILED = 1

# Role migrations re-run after the restore: pg_restore --no-acl drops every GRANT.
GRANT_MIGRATIONS = ("0005_roles.sql", "0006_external_reader.sql")
# pg_cron's TOC entries: the extension, its comment, anything in schema cron.
CRON_TOC_RE = re.compile(
    r"^\s*\d+;\s+\d+\s+\d+\s+(?:[A-Z]+ )+(?:cron |- (?:EXTENSION |SCHEMA )?(?:pg_cron|cron)(?:\s|$))")
EXTENSION_TOC_RE = re.compile(r"^\s*\d+;\s+\d+\s+\d+\s+EXTENSION - (\S+)")
SCHEDULER_APP = "TimescaleDB Background Worker Scheduler"
WORKER_MARGIN = 4
SCHEDULER_WAIT_S = 20.0
RETENTION = timedelta(days=365)   # migrations 0002: raw data is kept 365 days


@dataclass
class Toc:
    lines: list[str]
    kept: list[str]
    dropped: list[str]
    extensions: list[str]

    @property
    def has_timescaledb(self) -> bool:
        return "timescaledb" in self.extensions


def parse_toc(text: str) -> Toc:
    lines = text.splitlines()
    kept, dropped, extensions = [], [], []
    for line in lines:
        if line.lstrip().startswith(";") or not line.strip():
            kept.append(line)
            continue
        if CRON_TOC_RE.match(line):
            dropped.append(line)
            continue
        kept.append(line)
        match = EXTENSION_TOC_RE.match(line)
        if match:
            extensions.append(match[1])
    return Toc(lines, kept, dropped, extensions)


@dataclass
class Timer:
    out: Out
    started: float = field(default_factory=time.monotonic)
    steps: list[tuple[str, float]] = field(default_factory=list)

    def step(self, name: str, t0: float, detail: str = "") -> None:
        took = time.monotonic() - t0
        self.steps.append((name, took))
        self.out(f"  [{took:6.1f} s] {name}" + (f": {detail}" if detail else ""))

    @property
    def total(self) -> float:
        return time.monotonic() - self.started


def _dbname(dsn: str) -> str:
    name = conninfo_to_dict(dsn).get("dbname")
    if not name:
        raise OpsError("the target DSN names no database (add /dbname)")
    return str(name)


def _database_exists(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5):
            return True
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise OpsError(f"cannot connect to {describe(dsn)}: {first_line(exc)}") from None
    return False


def _create_database(dsn: str, dbname: str, maintenance_db: str, like: tuple | None = None) -> None:
    with connect(with_dbname(dsn, maintenance_db)) as m:
        parts = [sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(dbname))]
        if like:
            owner, encoding, collate, ctype = like
            parts.append(sql.SQL("OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                sql.Identifier(owner), sql.Literal(encoding), sql.Literal(collate), sql.Literal(ctype)))
        try:
            m.execute(sql.SQL(" ").join(parts))
        except psycopg.Error as exc:
            raise OpsError(f"cannot create database {dbname}: {first_line(exc)}") from None


def contents(conn: psycopg.Connection) -> list[str]:
    """What makes a database non-empty for a restore: a ksys schema, user relations, influx_hist rows."""
    found = []
    schemas = [r[0] for r in conn.execute(
        """SELECT n.nspname FROM pg_namespace n
           WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                             AND d.objid = n.oid AND d.deptype = 'e')
           ORDER BY 1""")]
    if schemas:
        found.append(f"schema {', '.join(schemas)}")
    relations = conn.execute(
        """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')""").fetchone()[0]
    if relations:
        found.append(f"{relations} relations in schema public")
    if conn.execute("SELECT to_regclass('public.influx_hist') IS NOT NULL").fetchone()[0]:
        n = conn.execute("SELECT count(*) FROM (SELECT 1 FROM public.influx_hist LIMIT 1000001) x").fetchone()[0]
        if n:
            found.append(f"{'more than 1000000' if n > 1000000 else n} rows in influx_hist")
    return found


def _cron_conn_dsn(dsn: str, info: ServerInfo) -> str | None:
    if not info.pg_cron_usable:
        return None
    return with_dbname(dsn, info.cron_database)


def _unschedule_stale(dsn: str, info: ServerInfo, dbname: str, out: Out) -> None:
    """A cron job left for this database name would call ksys.tick() in the middle of the restore."""
    cron_dsn = _cron_conn_dsn(dsn, info)
    if cron_dsn is None:
        return
    try:
        with connect(cron_dsn) as cron:
            if not cron.execute("SELECT to_regclass('cron.job') IS NOT NULL").fetchone()[0]:
                return
            rows = cron.execute("SELECT jobid FROM cron.job WHERE jobname = %s OR (database = %s AND command = ANY(%s))",
                                (cron_job_name(dbname), dbname, list(TICK_COMMANDS))).fetchall()
            for (jobid,) in rows:
                cron.execute("SELECT cron.unschedule(%s::bigint)", (jobid,))
            if rows:
                out(f"  removed {len(rows)} pg_cron job(s) left for {dbname}; the tick is scheduled again at the end")
    except psycopg.Error as exc:
        out(f"  warning: could not check pg_cron jobs in {info.cron_database}: {first_line(exc)}")


def _clean_in_place(dsn: str, dbname: str, out: Out) -> None:
    """--force on cron.database_name: empty it without dropping it.

    Dropping that database stops pg_cron's launcher for good (it does not come
    back until PostgreSQL restarts) and would lose other databases' jobs, so
    every schema but public and cron, every extension but plpgsql and pg_cron,
    and every object of ours in public are dropped instead.
    """
    ext_dep = ("EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{cat}'::regclass "
               "AND d.objid = {oid} AND d.deptype = 'e')")
    with connect(dsn) as conn:
        try:
            schemas = conn.execute(
                f"""SELECT n.nspname FROM pg_namespace n
                    WHERE n.nspname NOT IN ('public', 'cron', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                      AND NOT {ext_dep.format(cat='pg_namespace', oid='n.oid')}""").fetchall()
            for (name,) in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            extensions = conn.execute(
                "SELECT extname FROM pg_extension WHERE extname NOT IN ('plpgsql', 'pg_cron')").fetchall()
            for (name,) in extensions:
                conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE",
                     "S": "SEQUENCE"}
            relations = conn.execute(
                f"""SELECT c.oid::regclass::text, c.relkind FROM pg_class c
                    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                      AND NOT {ext_dep.format(cat='pg_class', oid='c.oid')}""").fetchall()
            for name, kind in relations:
                conn.execute(f"DROP {kinds[kind]} IF EXISTS {name} CASCADE")
            routines = conn.execute(
                f"""SELECT p.oid::regprocedure::text FROM pg_proc p
                    WHERE p.pronamespace = 'public'::regnamespace
                      AND NOT {ext_dep.format(cat='pg_proc', oid='p.oid')}""").fetchall()
            for (name,) in routines:
                conn.execute(f"DROP ROUTINE IF EXISTS {name} CASCADE")
            types = conn.execute(
                f"""SELECT t.oid::regtype::text FROM pg_type t
                    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
                      AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
                      AND NOT {ext_dep.format(cat='pg_type', oid='t.oid')}""").fetchall()
            for (name,) in types:
                conn.execute(f"DROP TYPE IF EXISTS {name} CASCADE")
        except psycopg.Error as exc:
            raise OpsError(f"cannot empty database {dbname}: {first_line(exc)}") from None
        left = contents(conn)
    if left:
        raise OpsError(f"database {dbname} still holds {'; '.join(left)} after --force; empty it by hand")
    out(f"  --force: emptied {dbname} in place (it is cron.database_name: dropping it would stop pg_cron "
        "until a restart); pg_cron and its jobs are kept")


def _drop_and_recreate(dsn: str, dbname: str, maintenance_db: str, info: ServerInfo, out: Out) -> None:
    if info.pg_cron_usable and info.cron_database == dbname:
        _clean_in_place(dsn, dbname, out)
        return
    if maintenance_db == dbname:
        raise OpsError(f"--maintenance-db must differ from the target database {dbname}")
    with connect(with_dbname(dsn, maintenance_db)) as m:
        like = m.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype "
                         "FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        try:
            m.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        except psycopg.Error as exc:
            raise OpsError(f"cannot drop database {dbname}: {first_line(exc)}") from None
    _create_database(dsn, dbname, maintenance_db, like)
    out(f"  --force: dropped and re-created database {dbname} (same owner, encoding and locale)")


def _pg_restore(file: Path, dsn: str, toc: Toc, major: int, out: Out) -> None:
    pg_restore, _version = find_tool("pg_restore", major)
    conninfo, env = conninfo_and_env(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(toc.kept) + "\n")
        list_file = f.name
    try:
        proc = subprocess.run(
            [str(pg_restore), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
             f"--use-list={list_file}", f"--dbname={conninfo}", str(file)],
            capture_output=True, text=True, env=env)
    finally:
        os.unlink(list_file)
    if proc.returncode != 0:
        raise OpsError(f"pg_restore failed (nothing was restored): {tail(proc.stderr)}", exit_code=2)


def _read_toc(file: Path, major: int) -> Toc:
    pg_restore, _ = find_tool("pg_restore", major)
    proc = subprocess.run([str(pg_restore), "--list", str(file)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OpsError(f"{file} is not a pg_dump custom-format archive this pg_restore can read: "
                       f"{tail(proc.stderr, 2)}")
    return parse_toc(proc.stdout)


def _reapply_grants(conn: psycopg.Connection, engine: str) -> list[str]:
    applied = {r[0] for r in conn.execute("SELECT version FROM ksys.schema_migrations")}
    done = []
    for m in plan(migrations_dir(), engine):
        if m.path.name in GRANT_MIGRATIONS and m.version in applied:
            conn.execute(m.sql)
            done.append(m.path.name)
    conn.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC")
    return done


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


def _wait(predicate: Callable[[], bool], timeout_s: float, every_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)


def _run_job(conn: psycopg.Connection, job_id: int, attempts: int = 20) -> None:
    for attempt in range(attempts):
        try:
            conn.execute("CALL run_job(%s)", (job_id,))
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected,
                psycopg.errors.SerializationFailure):
            if attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.1 * 2 ** attempt))


def activate_timescaledb_jobs(conn: psycopg.Connection, out: Out, wait_s: float = SCHEDULER_WAIT_S) -> bool:
    """Scheduler up, cagg policies kick-started, every job with a next_start. False: restart needed."""
    if not _wait(lambda: _scheduler_running(conn), wait_s):
        # one more push before asking for a restart
        conn.execute("SELECT _timescaledb_functions.start_background_workers()")
        if not _wait(lambda: _scheduler_running(conn), 10.0):
            return False
    jobs = conn.execute("SELECT job_id, hypertable_name FROM timescaledb_information.jobs "
                        "WHERE proc_name = 'policy_refresh_continuous_aggregate' AND scheduled "
                        "ORDER BY job_id").fetchall()
    for job_id, _target in jobs:
        _run_job(conn, job_id)
    out(f"  kick-started {len(jobs)} continuous-aggregate policies (CALL run_job)")

    def all_scheduled() -> bool:
        return conn.execute("SELECT count(*) = 0 FROM timescaledb_information.jobs "
                            "WHERE job_id >= 1000 AND scheduled AND next_start IS NULL").fetchone()[0]

    if not _wait(all_scheduled, 30.0, 1.0):
        missing = conn.execute("SELECT string_agg(job_id::text, ', ') FROM timescaledb_information.jobs "
                               "WHERE job_id >= 1000 AND scheduled AND next_start IS NULL").fetchone()[0]
        out(f"  warning: jobs without next_start: {missing}")
        return False
    n, first = conn.execute("SELECT count(*), min(next_start) FROM timescaledb_information.jobs "
                            "WHERE job_id >= 1000 AND scheduled").fetchone()
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
                                       "WHERE job_id >= 1000 AND scheduled ORDER BY job_id")]
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

    _wait(lambda: all(done for _status, done, *_ in outcomes().values()) and len(outcomes()) == len(jobs),
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


@dataclass
class RestoreResult:
    exit_code: int
    database: str
    seconds: float
    steps: list[tuple[str, float]]
    mismatch: str | None = None


def restore(file: Path, target_dsn: str, force: bool = False, maintenance_db: str = "postgres",
            verify: bool = True, out: Out = print) -> RestoreResult:
    file = Path(file)
    if not file.is_file():
        raise OpsError(f"{file}: no such file")
    timer = Timer(out)
    dbname = _dbname(target_dsn)

    # 1. the dump and its manifest
    t0 = time.monotonic()
    manifest = mf.load(mf.manifest_path(file)) if verify else None
    if manifest:
        digest = mf.sha256_file(file)
        if digest != manifest["sha256"]:
            raise OpsError(f"{file} does not match its manifest (sha256 {digest[:12]}, manifest "
                           f"{manifest['sha256'][:12]}): damaged, or another backup's manifest",
                           exit_code=EXIT_MISMATCH)
        applied = {m["version"]: (m["file"], m["engine"], m["checksum"]) for m in manifest["migrations"]}
        check_history(plan(migrations_dir(), manifest["engine"]), applied)
    # Everything is checked before the target is created or touched.
    exists = _database_exists(target_dsn)
    with connect(target_dsn if exists else with_dbname(target_dsn, maintenance_db)) as conn:
        info = probe(conn)
        major = server_major(conn)
        found = contents(conn) if exists else []
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
    toc = _read_toc(file, major)   # with the pg_restore for the target's major version
    if manifest:
        out(f"restore {file.name}: backup of {manifest['database']} at {manifest['backup_time']}, engine "
            f"{manifest['engine']}, {manifest['influx_hist']['rows']} influx_hist rows "
            f"({manifest['size_bytes'] / 1e6:.1f} MB)")
    else:
        out(f"restore {file.name} (no manifest: not verified)")
    out(f"target: {describe(target_dsn)}" + ("" if exists else " (does not exist yet: created)"))
    missing = [e for e in toc.extensions if e not in available]
    if missing:
        raise OpsError(f"the target server lacks extension(s) the dump needs: {', '.join(missing)}")
    if toc.has_timescaledb:
        want = manifest and manifest.get("timescaledb_version")
        if not info.timescaledb_usable:
            raise OpsError(f"the dump uses TimescaleDB but the target's is {info.describe_timescaledb()}: "
                           "add timescaledb to shared_preload_libraries and restart")
        have = (info.timescaledb_installed if exists else None) or info.timescaledb_available
        if want and have != want:
            raise OpsError(f"the dump was made with TimescaleDB {want}, the target has {have}: restore on "
                           f"{want}, then ALTER EXTENSION timescaledb UPDATE")
    if manifest:
        horizon = (datetime.now(timezone.utc) - RETENTION).date().isoformat()
        old_rows = sum(d["rows"] for d in manifest["influx_hist"]["days"] if d["day"] < horizon)
        if old_rows:
            out(f"  warning: {old_rows} influx_hist rows are from before {horizon}, older than the 365-day "
                "retention: the retention job deletes them right after the restore (docs/operations.md)")
    timer.step("checked dump and manifest", t0,
               f"{len(toc.dropped)} pg_cron entries left out (the schedule is re-created, never restored)")

    # 2. target database
    t0 = time.monotonic()
    if not exists:
        _create_database(target_dsn, dbname, maintenance_db)
    if found:
        if not force:
            raise OpsError(f"target database {dbname} is not empty ({'; '.join(found)}); nothing was changed. "
                           "Restore into a new database name, or pass --force to drop and re-create "
                           f"{dbname} first", exit_code=EXIT_REFUSED)
        _drop_and_recreate(target_dsn, dbname, maintenance_db, info, out)
    _unschedule_stale(target_dsn, info, dbname, out)
    timer.step("target ready", t0, "cleared by --force" if found else "empty" if exists else "created")

    # 3-4. restore
    t0 = time.monotonic()
    with connect(target_dsn) as conn:
        if toc.has_timescaledb:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.execute("SELECT timescaledb_pre_restore()")
        try:
            _pg_restore(file, target_dsn, toc, major, out)
        except OpsError:
            if toc.has_timescaledb:
                conn.execute("SELECT timescaledb_post_restore()")
            raise
        timer.step("pg_restore", t0, "--no-owner --no-acl --single-transaction" +
                   (", between timescaledb_pre_restore() and _post_restore()" if toc.has_timescaledb else ""))

        # 5. verify before any job or ingest can write
        mismatch = None
        if manifest:
            t0 = time.monotonic()
            if toc.has_timescaledb:
                # In restore mode the planner leaves compressed chunk data out of every
                # query: the counts would miss it. Only this session leaves the mode;
                # the database stays in it (no background job runs) until step 6.
                conn.execute("SET timescaledb.restoring = off")
            upto = datetime.fromisoformat(manifest["backup_time"])
            actual = mf.hist_summary(conn, upto)
            mismatch = mf.first_difference(manifest["influx_hist"]["days"], actual)
            if mismatch is None:
                diffs = mf.count_differences(manifest.get("relation_counts", {}), mf.relation_counts(conn))
                mismatch = diffs[0] if diffs else None
            timer.step("verified against the manifest", t0,
                       f"MISMATCH: {mismatch}" if mismatch else
                       f"{sum(r['rows'] for r in actual)} rows in {len(actual)} tag-days: counts and checksums match")

        # 6. leave restore mode
        if toc.has_timescaledb:
            t0 = time.monotonic()
            conn.execute("SELECT timescaledb_post_restore()")
            conn.execute(sql.SQL("ALTER DATABASE {} SET timescaledb.restoring = off").format(sql.Identifier(dbname)))
            timer.step("timescaledb_post_restore()", t0, "timescaledb.restoring = off for the database")

        # 7. grants, migrations, schedule, one tick
        t0 = time.monotonic()
        engine = None
        if conn.execute("SELECT to_regclass('ksys.schema_migrations') IS NOT NULL").fetchone()[0]:
            engine = conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0]
            regranted = _reapply_grants(conn, engine)
            timer.step("grants re-applied", t0, ", ".join(regranted))
            t0 = time.monotonic()
            lines: list[str] = []
            migrate(target_dsn, out=lines.append)
            for line in lines:
                if line.startswith(("applied", "scheduler", "eco_ro")):
                    out(f"    {line}")
            tick(conn)
            timer.step("migrate + schedule + first tick", t0)
        else:
            out("  not a ksys database: no grants, schedule or tick (run `ksys migrate` on it)")

    # 8-9. jobs, statistics, settings
    code = EXIT_MISMATCH if mismatch else 0
    with connect(target_dsn) as conn:
        if toc.has_timescaledb:
            t0 = time.monotonic()
            if not activate_timescaledb_jobs(conn, out):
                out(f"  the TimescaleDB scheduler for {dbname} did not come back (a known TimescaleDB issue after "
                    f"a restore); restart PostgreSQL: {restart_hint(conn)}")
                out(f"  then run: ksys restore --resume --target-dsn <this DSN>   (kick-starts the jobs)")
                code = code or EXIT_RESTART_NEEDED
            else:
                for problem in failed_timescaledb_jobs(conn, out):
                    out(f"  FAILED {problem}")
                    code = code or EXIT_JOBS_FAILED
            timer.step("TimescaleDB jobs", t0)
        t0 = time.monotonic()
        conn.execute("ANALYZE")
        timer.step("ANALYZE", t0)
        for warning in worker_warnings(conn):
            out(f"  warning: {warning}")
    if mismatch:
        out(f"restore FAILED verification: {mismatch}")
    out(f"restore {'done' if code == 0 else 'finished with problems'} in {timer.total:.1f} s")
    return RestoreResult(code, dbname, timer.total, timer.steps, mismatch)


def resume(target_dsn: str, out: Out = print) -> int:
    """After a PostgreSQL restart: scheduler up, jobs kick-started and scheduled."""
    timer = Timer(out)
    t0 = time.monotonic()
    with connect(target_dsn) as conn:
        if not conn.execute("SELECT count(*) > 0 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()[0]:
            out("no TimescaleDB in this database: nothing to resume")
            return 0
        restoring = conn.execute("SELECT current_setting('timescaledb.restoring', true)").fetchone()[0]
        if restoring == "on":
            dbname = conn.execute("SELECT current_database()").fetchone()[0]
            conn.execute("SELECT timescaledb_post_restore()")
            conn.execute(sql.SQL("ALTER DATABASE {} SET timescaledb.restoring = off").format(sql.Identifier(dbname)))
        ok = activate_timescaledb_jobs(conn, out, wait_s=60.0)
        problems = failed_timescaledb_jobs(conn, out) if ok else []
        for problem in problems:
            out(f"  FAILED {problem}")
        timer.step("TimescaleDB jobs", t0)
        for warning in worker_warnings(conn):
            out(f"  warning: {warning}")
        if not ok:
            out(f"the TimescaleDB scheduler is still not running; restart PostgreSQL: {restart_hint(conn)}")
            return EXIT_RESTART_NEEDED
        if problems:
            out("resume finished, but TimescaleDB jobs fail (see above; `ksys doctor` shows the fix)")
            return EXIT_JOBS_FAILED
    out(f"resume done in {timer.total:.1f} s")
    return 0
