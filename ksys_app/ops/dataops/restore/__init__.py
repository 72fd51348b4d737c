"""`ksys restore`: seed 001's restore procedure, done in one command for both engines.

Order of work (each step timed):

1. read the manifest (FILE.manifest.json) and validate every field used later
   (manifest_model: encoding, JSON, types, hex digests, times with a zone), then
   check the dump's size and checksum and its migrations against this checkout;
   list the archive (pg_restore -l) and drop pg_cron's entries (the extension
   can only exist in cron.database_name, and its jobs belong to the server: the
   tick is re-created by ensure_schedule);
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
restored data differ from the manifest; 2 operational errors, among them a missing,
unreadable or malformed manifest (nothing was changed); 3 restored and verified,
but the TimescaleDB scheduler needs a PostgreSQL restart.
"""


from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import psycopg
from psycopg import sql

from ksys_app.ops.dataops import manifest as mf
from ksys_app.ops.dataops.pgtools import server_major
from ksys_app.ops.dataops.restore.archive import Toc, parse_toc, pg_restore, read_toc
from ksys_app.ops.dataops.restore.target import (
    contents,
    create_database,
    database_exists,
    drop_and_recreate,
    target_dbname,
    unschedule_stale,
)
from ksys_app.ops.dataops.restore.timescale_jobs import (
    activate_timescaledb_jobs,
    failed_timescaledb_jobs,
    restart_hint,
    worker_warnings,
)
from ksys_app.ops.db import connect, describe, with_dbname
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.history import database_engine
from ksys_app.ops.schema.migrate import check_history, migrate, migrations_dir, other_engine_only, plan
from ksys_app.ops.schema.probe import ServerInfo, probe
from ksys_app.ops.schema.refresh import tick

__all__ = ["restore", "resume", "RestoreResult", "parse_toc", "worker_warnings", "EXIT_RESTART_NEEDED"]

Out = Callable[[str], None]

EXIT_REFUSED = 1
EXIT_MISMATCH = 1
EXIT_RESTART_NEEDED = 3
EXIT_JOBS_FAILED = 1

# Role migrations re-run after the restore: pg_restore --no-acl drops every GRANT.
GRANT_MIGRATIONS = ("0005_roles.sql", "0006_external_reader.sql", "0015_app_role_hardening.sql",
                    "0020_operator_role.sql", "0021_ingest.sql")
RETENTION = timedelta(days=365)   # migrations 0002: raw data is kept 365 days


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


def _reapply_grants(conn: psycopg.Connection, engine: str) -> list[str]:
    applied = {r[0] for r in conn.execute("SELECT version FROM ksys.schema_migrations")}
    done = []
    for m in plan(migrations_dir(), engine):
        if m.path.name in GRANT_MIGRATIONS and m.version in applied:
            conn.execute(m.sql)
            done.append(m.path.name)
    # ROUTINES, not FUNCTIONS: the procedures too (ksys.run_tick was executable by PUBLIC
    # after a restore, found by doctor's check of eco_operator's functions)
    conn.execute("REVOKE ALL ON ALL ROUTINES IN SCHEMA ksys FROM PUBLIC")
    return done


@dataclass
class RestoreResult:
    exit_code: int
    database: str
    seconds: float
    steps: list[tuple[str, float]]
    mismatch: str | None = None


@dataclass
class _Checked:
    """What step 1 learned about the dump and the target, before anything changed."""
    manifest: mf.Manifest | None
    toc: Toc
    exists: bool
    found: list[str]
    info: ServerInfo
    major: int


def _check_dump(file: Path, target_dsn: str, verify: bool, maintenance_db: str, out: Out) -> _Checked:
    """Step 1: the dump, its manifest and the target server are checked before the
    target is created or touched."""
    manifest = mf.load(mf.manifest_path(file)) if verify else None
    if manifest is not None:
        size = file.stat().st_size
        if size != manifest.size_bytes:
            raise OpsError(f"{file} is {size} bytes, its manifest says {manifest.size_bytes}: a truncated copy, "
                           "or another backup's manifest", exit_code=EXIT_MISMATCH)
        digest = mf.sha256_file(file)
        if digest != manifest.sha256:
            raise OpsError(f"{file} does not match its manifest (sha256 {digest[:12]}, manifest "
                           f"{manifest.sha256[:12]}): damaged, or another backup's manifest",
                           exit_code=EXIT_MISMATCH)
        applied = {m.version: (m.file, m.engine, m.checksum) for m in manifest.migrations}
        check_history(plan(migrations_dir(), manifest.engine), applied,
                      other_engine_only(migrations_dir(), manifest.engine))
    exists = database_exists(target_dsn)
    with connect(target_dsn if exists else with_dbname(target_dsn, maintenance_db)) as conn:
        info = probe(conn)
        major = server_major(conn)
        found = contents(conn) if exists else []
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
    toc = read_toc(file, major)   # with the pg_restore for the target's major version
    if manifest is not None:
        out(f"restore {file.name}: backup of {manifest.database} at {manifest.backup_time.isoformat()}, engine "
            f"{manifest.engine}, {manifest.influx_hist.rows} influx_hist rows "
            f"({manifest.size_bytes / 1e6:.1f} MB)")
    else:
        out(f"restore {file.name} (no manifest: not verified)")
    out(f"target: {describe(target_dsn)}" + ("" if exists else " (does not exist yet: created)"))
    missing = [e for e in toc.extensions if e not in available]
    if missing:
        raise OpsError(f"the target server lacks extension(s) the dump needs: {', '.join(missing)}")
    if toc.has_timescaledb:
        _check_timescaledb(info, exists, manifest)
    if manifest is not None:
        _warn_beyond_retention(manifest, out)
    return _Checked(manifest, toc, exists, found, info, major)


def _check_timescaledb(info: ServerInfo, exists: bool, manifest: mf.Manifest | None) -> None:
    want = manifest.timescaledb_version if manifest is not None else None
    if not info.timescaledb_usable:
        raise OpsError(f"the dump uses TimescaleDB but the target's is {info.describe_timescaledb()}: "
                       "add timescaledb to shared_preload_libraries and restart")
    have = (info.timescaledb_installed if exists else None) or info.timescaledb_available
    if want and have != want:
        raise OpsError(f"the dump was made with TimescaleDB {want}, the target has {have}: restore on "
                       f"{want}, then ALTER EXTENSION timescaledb UPDATE")


def _warn_beyond_retention(manifest: mf.Manifest, out: Out) -> None:
    horizon = (datetime.now(timezone.utc) - RETENTION).date().isoformat()
    old_rows = sum(d.rows for d in manifest.influx_hist.days if d.day < horizon)
    if old_rows:
        out(f"  warning: {old_rows} influx_hist rows are from before {horizon}, older than the 365-day "
            "retention: the retention job deletes them right after the restore (docs/operations.md)")


def _prepare_target(target_dsn: str, dbname: str, checked: _Checked, force: bool, maintenance_db: str,
                    out: Out) -> str:
    """Step 2: the target exists and is empty (created, or cleared by --force)."""
    if not checked.exists:
        create_database(target_dsn, dbname, maintenance_db)
    if checked.found:
        if not force:
            raise OpsError(f"target database {dbname} is not empty ({'; '.join(checked.found)}); nothing was "
                           "changed. Restore into a new database name, or pass --force to drop and re-create "
                           f"{dbname} first", exit_code=EXIT_REFUSED)
        drop_and_recreate(target_dsn, dbname, maintenance_db, checked.info, out)
    unschedule_stale(target_dsn, checked.info, dbname, out)
    return "cleared by --force" if checked.found else "empty" if checked.exists else "created"


def _restore_archive(conn: psycopg.Connection, file: Path, target_dsn: str, toc: Toc, major: int,
                     out: Out) -> None:
    """Steps 3-4: pg_restore, between TimescaleDB's pre- and post-restore."""
    if toc.has_timescaledb:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        conn.execute("SELECT timescaledb_pre_restore()")
    try:
        pg_restore(file, target_dsn, toc, major, out)
    except OpsError:
        if toc.has_timescaledb:
            conn.execute("SELECT timescaledb_post_restore()")
        raise


def _verify(conn: psycopg.Connection, manifest: mf.Manifest, toc: Toc) -> tuple[str | None, list[dict]]:
    """Step 5, before any job or ingest can write: counts and checksums per tag and
    day, then the derived relations' counts. Returns (first mismatch, summary)."""
    if toc.has_timescaledb:
        # In restore mode the planner leaves compressed chunk data out of every
        # query: the counts would miss it. Only this session leaves the mode;
        # the database stays in it (no background job runs) until step 6.
        conn.execute("SET timescaledb.restoring = off")
    actual = mf.hist_summary(conn, manifest.backup_time)   # validated in step 1, like every field used here
    mismatch = mf.first_difference([d.row() for d in manifest.influx_hist.days], actual)
    if mismatch is None:
        diffs = mf.count_differences(dict(manifest.relation_counts), mf.relation_counts(conn))
        mismatch = diffs[0] if diffs else None
    return mismatch, actual


def _leave_restore_mode(conn: psycopg.Connection, dbname: str) -> None:
    """Step 6 (TimescaleDB)."""
    conn.execute("SELECT timescaledb_post_restore()")
    conn.execute(sql.SQL("ALTER DATABASE {} SET timescaledb.restoring = off").format(sql.Identifier(dbname)))


def _rejoin(conn: psycopg.Connection, target_dsn: str, timer: Timer, out: Out) -> None:
    """Step 7: grants (--no-acl dropped them), pending migrations, this database's
    pg_cron schedule, one tick."""
    t0 = time.monotonic()
    if not conn.execute("SELECT to_regclass('ksys.schema_migrations') IS NOT NULL").fetchone()[0]:
        out("  not a ksys database: no grants, schedule or tick (run `ksys migrate` on it)")
        return
    engine = database_engine(conn)
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


def _start_jobs(conn: psycopg.Connection, dbname: str, out: Out) -> int:
    """Step 8 (TimescaleDB): the exit code of the jobs' state."""
    if not activate_timescaledb_jobs(conn, out):
        out(f"  the TimescaleDB scheduler for {dbname} did not come back (a known TimescaleDB issue after "
            f"a restore); restart PostgreSQL: {restart_hint(conn)}")
        out("  then run: ksys restore --resume --target-dsn <this DSN>   (kick-starts the jobs)")
        return EXIT_RESTART_NEEDED
    code = 0
    for problem in failed_timescaledb_jobs(conn, out):
        out(f"  FAILED {problem}")
        code = EXIT_JOBS_FAILED
    return code


def restore(file: Path, target_dsn: str, force: bool = False, maintenance_db: str = "postgres",
            verify: bool = True, out: Out = print) -> RestoreResult:
    """The steps of the module docstring, each timed."""
    file = Path(file)
    if not file.is_file():
        raise OpsError(f"{file}: no such file")
    timer = Timer(out)
    dbname = target_dbname(target_dsn)

    t0 = time.monotonic()
    checked = _check_dump(file, target_dsn, verify, maintenance_db, out)
    toc, manifest = checked.toc, checked.manifest
    timer.step("checked dump and manifest", t0,
               f"{len(toc.dropped)} pg_cron entries left out (the schedule is re-created, never restored)")

    t0 = time.monotonic()
    state = _prepare_target(target_dsn, dbname, checked, force, maintenance_db, out)
    timer.step("target ready", t0, state)

    mismatch = None
    with connect(target_dsn) as conn:
        t0 = time.monotonic()
        _restore_archive(conn, file, target_dsn, toc, checked.major, out)
        timer.step("pg_restore", t0, "--no-owner --no-acl --single-transaction" +
                   (", between timescaledb_pre_restore() and _post_restore()" if toc.has_timescaledb else ""))
        if manifest is not None:
            t0 = time.monotonic()
            mismatch, actual = _verify(conn, manifest, toc)
            timer.step("verified against the manifest", t0,
                       f"MISMATCH: {mismatch}" if mismatch else
                       f"{sum(r['rows'] for r in actual)} rows in {len(actual)} tag-days: counts and checksums match")
        if toc.has_timescaledb:
            t0 = time.monotonic()
            _leave_restore_mode(conn, dbname)
            timer.step("timescaledb_post_restore()", t0, "timescaledb.restoring = off for the database")
        _rejoin(conn, target_dsn, timer, out)

    code = EXIT_MISMATCH if mismatch else 0
    with connect(target_dsn) as conn:
        if toc.has_timescaledb:
            t0 = time.monotonic()
            code = code or _start_jobs(conn, dbname, out)
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
