"""`ksys backup` / `ksys restore` on real clusters, both engines.

The main test backs up the cron database of one fresh cluster (so the dump
holds pg_cron's objects) and restores it into a second fresh cluster under
another database name: counts and checksums equal, doctor passes, and a reading
inserted afterwards reaches influx_agg_1m through the scheduled jobs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from ksys_app.ops.dataops import restore as restore_mod
from ksys_app.ops.dataops.backup import backup
from ksys_app.ops.dataops.manifest import load, manifest_path, write
from ksys_app.ops.dataops.restore import parse_toc, restore
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.doctor import FAIL, run_checks
from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.refresh import refresh_range
from ksys_app.ops.schema.schedule import TICK_COMMAND, cron_job_name
from tests.dataops.conftest import dbname, record_metric, run_cli, summary, write_readings_csv
from tests.schema.seed import seed_readings

PROBE_TAG = "RESTORE_PROBE"
PROBE_VALUE = 42.25


def _load_million(dsn: str, csv_path: Path) -> int:
    """1 M readings straight into influx_hist (COPY) plus a refresh, like a running plant."""
    n = write_readings_csv(csv_path)
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor() as cur, open(csv_path) as f:
            with cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN (FORMAT csv, HEADER)") as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
        start, end = conn.execute("SELECT min(ts), max(ts) FROM influx_hist").fetchone()
        refresh_range(conn, start, end)
        conn.execute("INSERT INTO influx_qc_rule (tag_name, min_val, max_val, enabled) VALUES ('T00', 0, 5000, true)")
        conn.execute("INSERT INTO ingest_expectation (tag_name, exp_per_min) VALUES ('T00', 6)")
    return n


def _materialized_1m(conn: psycopg.Connection, engine: str) -> str:
    """The relation holding influx_agg_1m's materialized rows (not the real-time union)."""
    if engine == "postgres":
        return "public.influx_agg_1m"
    return conn.execute(
        "SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) "
        "FROM timescaledb_information.continuous_aggregates WHERE view_name = 'influx_agg_1m'").fetchone()[0]


def test_backup_restore_into_a_fresh_cluster(engine, cluster_factory, tmp_path):
    source = cluster_factory()          # its database "ksys" is cron.database_name there
    if engine == "timescaledb":
        with psycopg.connect(source.dsn(), autocommit=True) as conn:
            if "timescaledb" not in conn.execute("SHOW shared_preload_libraries").fetchone()[0]:
                pytest.skip("the fresh cluster does not preload timescaledb")
    src_dsn = source.dsn()
    migrate(src_dsn, engine=engine, out=lambda _l: None)
    rows = _load_million(src_dsn, tmp_path / "readings.csv")
    assert rows == 1_000_000

    dump = tmp_path / "plant.dump"
    t0 = time.monotonic()
    backup(src_dsn, dump, out=lambda _l: None)
    record_metric(f"backup_seconds_1M_{engine}", round(time.monotonic() - t0, 1))
    manifest = load(manifest_path(dump))
    assert manifest.engine == engine and manifest.influx_hist.rows == rows
    with psycopg.connect(src_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM cron.job").fetchone()[0] >= 1   # pg_cron lives in the source

    target = cluster_factory()
    tgt_dsn = target.dsn("ecoanp")       # another name than the source's "ksys", not the cron database
    lines: list[str] = []
    result = restore(dump, tgt_dsn, out=lines.append)
    print("\n".join(lines))
    assert result.exit_code == 0, lines
    assert any("pg_cron entries left out" in line for line in lines)
    record_metric(f"restore_seconds_1M_{engine}", round(result.seconds, 1))
    restored_at = datetime.now(timezone.utc)

    assert summary(tgt_dsn) == summary(src_dsn)
    with psycopg.connect(tgt_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM influx_qc_rule").fetchone()[0] == 1
        assert conn.execute("SELECT sum(n) FROM influx_agg_1d").fetchone()[0] == rows
        assert conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0] == engine
        # grants came back although pg_restore ran with --no-acl
        assert conn.execute("SELECT has_table_privilege('eco_ro', 'public.influx_agg_1h', 'SELECT'), "
                            "has_table_privilege('eco_ext', 'public.influx_agg_1h', 'SELECT'), "
                            "has_table_privilege('eco_ext', 'public.influx_hist', 'SELECT')").fetchone() \
            == (True, True, False)
        if engine == "timescaledb":
            assert conn.execute("SHOW timescaledb.restoring").fetchone()[0] == "off"
            assert conn.execute("SELECT count(*) FROM timescaledb_information.jobs WHERE job_id >= 1000 "
                                "AND next_start IS NULL").fetchone()[0] == 0

    failed = [c for c in run_checks(tgt_dsn) if c.status == FAIL]
    assert failed == [], failed

    # the tick is scheduled for the new name in the target's cron database, never restored
    with psycopg.connect(target.dsn(target.database), autocommit=True) as cron:
        jobid, command, job_db, active = cron.execute(
            "SELECT jobid, command, database, active FROM cron.job WHERE jobname = %s",
            (cron_job_name("ecoanp"),)).fetchone()
        assert (command, job_db, active) == (TICK_COMMAND, "ecoanp", True)

    # a reading after the restore reaches the materialized 1-minute rollup through the scheduled jobs
    with psycopg.connect(tgt_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES "
                     "(date_trunc('minute', now()) - interval '5 minutes' + interval '7 seconds', %s, %s)",
                     (PROBE_TAG, PROBE_VALUE))
        relation = _materialized_1m(conn, engine)
        deadline = time.monotonic() + 150
        seen = None
        while time.monotonic() < deadline:
            seen = conn.execute(f"SELECT last FROM {relation} WHERE tag_name = %s", (PROBE_TAG,)).fetchone()
            ticked = conn.execute("SELECT max(last_successful_finish) > %s FROM ksys.jobs",
                                  (restored_at,)).fetchone()[0]
            if seen and ticked:
                break
            time.sleep(2)
        assert seen == (PROBE_VALUE,), f"probe not materialized in {relation} within 150 s"
        assert ticked, "ksys.tick() did not run from pg_cron after the restore"
    with psycopg.connect(target.dsn(target.database), autocommit=True) as cron:
        # the newest finished run (the next tick may be running right now). pg_cron marks a run
        # finished in its own transaction after the tick's commit, so ksys.jobs can show the tick
        # done a moment before cron.job_run_details does: wait for that record too.
        status = None
        finish_deadline = time.monotonic() + 30
        while status is None and time.monotonic() < finish_deadline:
            status = cron.execute("SELECT status FROM cron.job_run_details WHERE jobid = %s "
                                  "AND status IN ('succeeded', 'failed') ORDER BY runid DESC LIMIT 1",
                                  (jobid,)).fetchone()
            if status is None:
                time.sleep(1)
    assert status == ("succeeded",)


def _small_source(new_migrated_database, engine: str) -> str:
    dsn = new_migrated_database(engine)
    # recent data: the retention policy (365 days) would drop older chunks right after a restore
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        seed_readings(conn, ["D100", "D200"], start, start + timedelta(hours=6), step_s=30)
        refresh_range(conn, start, start + timedelta(hours=6))
    return dsn


def test_restore_refuses_a_non_empty_database_and_force_replaces_it(new_migrated_database, engine, tmp_path):
    src = _small_source(new_migrated_database, engine)
    dump = tmp_path / "small.dump"
    backup(src, dump, out=lambda _l: None)

    occupied = new_migrated_database("postgres")
    with psycopg.connect(occupied, autocommit=True) as conn:
        # within the 365-day retention, so that no tick deletes it while the test looks
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '30 days', 'KEEP_ME', 1)")
    before = summary(occupied)

    proc = run_cli("restore", str(dump), "--target-dsn", occupied)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is not empty" in proc.stderr and "nothing was changed" in proc.stderr and "--force" in proc.stderr
    assert summary(occupied) == before

    proc = run_cli("restore", str(dump), "--target-dsn", occupied, "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dropped and re-created database" in proc.stdout
    assert summary(occupied) == summary(src)
    with psycopg.connect(occupied) as conn:
        assert conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0] == engine


def test_restore_names_the_first_differing_tag_day(new_database, new_migrated_database, tmp_path):
    src = _small_source(new_migrated_database, "postgres")
    dump = tmp_path / "small.dump"
    backup(src, dump, out=lambda _l: None)
    manifest = json.loads(manifest_path(dump).read_text())
    day = manifest["influx_hist"]["days"][1]
    day["rows"] += 1
    manifest["influx_hist"]["rows"] += 1      # still adds up: only the restore's recount can tell
    write(manifest_path(dump), manifest)

    proc = run_cli("restore", str(dump), "--target-dsn", new_database())
    assert proc.returncode == 1
    assert f"tag {day['tag']} day {day['day']}: {day['rows']} rows in the backup, {day['rows'] - 1} restored" \
        in proc.stderr


def test_restore_refuses_a_damaged_dump(new_database, new_migrated_database, tmp_path):
    src = _small_source(new_migrated_database, "postgres")
    dump = tmp_path / "small.dump"
    backup(src, dump, out=lambda _l: None)
    with open(dump, "r+b") as f:
        f.seek(2000)
        f.write(b"\x00garbage\x00")
    target = new_database()
    proc = run_cli("restore", str(dump), "--target-dsn", target)
    assert proc.returncode == 1 and "does not match its manifest" in proc.stderr
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('ksys.settings')").fetchone()[0] is None


def test_restore_prints_the_restart_when_the_scheduler_does_not_come_back(new_database, new_migrated_database,
                                                                           pg_server, tmp_path, monkeypatch):
    if not pg_server.has_timescaledb:
        pytest.skip("timescaledb extension not installed on this server")
    src = _small_source(new_migrated_database, "timescaledb")
    dump = tmp_path / "small.dump"
    backup(src, dump, out=lambda _l: None)
    monkeypatch.setattr(restore_mod, "activate_timescaledb_jobs", lambda conn, out: False)
    monkeypatch.setenv("KSYS_DB_CONTAINER", "pgai-db")
    lines: list[str] = []
    target = new_database()
    result = restore(dump, target, out=lines.append)
    assert result.exit_code == restore_mod.EXIT_RESTART_NEEDED
    assert any("restart PostgreSQL: docker restart pgai-db" in line for line in lines), lines
    assert any("ksys restore --resume" in line for line in lines)
    monkeypatch.undo()
    proc = run_cli("restore", "--resume", "--target-dsn", target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kick-started" in proc.stdout and "scheduler running" in proc.stdout


def test_backup_and_restore_scripts(new_database, new_migrated_database, tmp_path):
    src = _small_source(new_migrated_database, "postgres")
    dump = tmp_path / "dir with space" / "x.dump"
    dump.parent.mkdir()
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("KSYS_ADMIN_DSN", "TS_DSN")}
    proc = subprocess.run(["sh", str(root / "scripts/backup.sh"), str(dump)], capture_output=True, text=True,
                          env={**env, "KSYS_ADMIN_DSN": src}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert dump.exists() and (dump.parent / "x.dump.manifest.json").exists()
    target = new_database()
    proc = subprocess.run(["sh", str(root / "scripts/restore.sh"), str(dump)], capture_output=True, text=True,
                          env={**env, "KSYS_ADMIN_DSN": target}, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary(target) == summary(src)
    proc = subprocess.run(["sh", str(root / "scripts/restore.sh"), str(dump)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 2 and "KSYS_ADMIN_DSN" in proc.stderr


TOC = """;
; Archive created at 2025-01-01 00:00:00 UTC
;
4306; 0 0 ACL - SCHEMA public pg_database_owner
3; 3079 16484 EXTENSION - timescaledb
2; 3079 17338 EXTENSION - pg_cron
4308; 0 0 COMMENT - EXTENSION pg_cron
4309; 0 0 ACL - SCHEMA cron postgres
7; 2615 16385 SCHEMA - ksys postgres
226; 1259 16395 TABLE public influx_hist postgres
227; 1259 16396 TABLE public cron postgres
3879; 0 17341 TABLE DATA cron job postgres
3881; 0 17360 TABLE DATA cron job_run_details postgres
4356; 0 0 SEQUENCE SET cron jobid_seq postgres
4276; 0 16395 TABLE DATA public influx_hist postgres
"""


def test_toc_filter_drops_only_pg_cron():
    toc = parse_toc(TOC)
    assert len(toc.dropped) == 6
    assert all("cron" in line for line in toc.dropped)
    assert any("TABLE public cron" in line for line in toc.kept)      # a table named cron is ours
    assert toc.extensions == ["timescaledb"] and toc.has_timescaledb


def test_restore_of_a_missing_file_is_one_line(tmp_path):
    proc = run_cli("restore", str(tmp_path / "nope.dump"), "--target-dsn", "postgresql://x@127.0.0.1:1/y")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(OpsError):
        restore(tmp_path / "nope.dump", "postgresql://x@127.0.0.1:1/y")


class _FakeConn:
    """Answers worker_warnings' two queries with fixed settings."""

    def __init__(self, mwp: int, tsbw: int, jobs: int):
        self.rows = [(1,), (mwp, tsbw, jobs)]

    def execute(self, _query, *_args):
        row = self.rows.pop(0)
        return type("R", (), {"fetchone": lambda _self: (row[0] > 0,) if len(row) == 1 else row})()


def test_worker_settings_below_jobs_plus_margin_are_warned():
    assert restore_mod.worker_warnings(_FakeConn(32, 16, 10)) == []
    warnings = restore_mod.worker_warnings(_FakeConn(8, 8, 10))
    assert len(warnings) == 2
    assert warnings[0].startswith("timescaledb.max_background_workers = 8 is below 14 (10 jobs + 4)")
    assert warnings[1].startswith("max_worker_processes = 8 is below 18")


def test_backup_as_the_read_only_role_says_which_dsn(migrated_dsn, pg_server, tmp_path):
    proc = run_cli("backup", "--dsn", pg_server.dsn(dbname(migrated_dsn), user="eco_ro"),
                   "--out", str(tmp_path / "x.dump"))
    assert proc.returncode == 2 and "KSYS_ADMIN_DSN" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.dump").exists()


def test_force_on_the_cron_database_empties_it_in_place(engine, new_migrated_database, cluster_factory, tmp_path):
    """On the Pi the app database is cron.database_name: dropping it would stop pg_cron until a restart."""
    src = _small_source(new_migrated_database, engine)
    dump = tmp_path / "small.dump"
    backup(src, dump, out=lambda _l: None)
    cluster = cluster_factory()
    cron_dsn = cluster.dsn()                       # "ksys" = cron.database_name of that cluster
    migrate(cron_dsn, engine=engine, out=lambda _l: None)
    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE other")
    with psycopg.connect(cron_dsn, autocommit=True) as conn:
        conn.execute("SELECT cron.schedule_in_database('keep_me', '0 3 * * *', 'SELECT 1', 'other')")

    lines: list[str] = []
    with pytest.raises(OpsError, match="is not empty"):
        restore(dump, cron_dsn, out=lines.append)
    result = restore(dump, cron_dsn, force=True, out=lines.append)
    assert result.exit_code == 0, lines
    assert any("emptied ksys in place" in line for line in lines), lines
    assert summary(cron_dsn) == summary(src)
    with psycopg.connect(cron_dsn, autocommit=True) as conn:
        jobs = dict(conn.execute("SELECT jobname, database FROM cron.job").fetchall())
        assert jobs == {"keep_me": "other", cron_job_name("ksys"): "ksys"}
        # pg_cron's launcher is still there (a fresh cluster starts it a second after its database exists)
        deadline = time.monotonic() + 15
        while not conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cron scheduler' "
                               "AND datname = 'ksys'").fetchone()[0]:
            assert time.monotonic() < deadline, "pg_cron's launcher is gone"
            time.sleep(0.5)
    assert [c for c in run_checks(cron_dsn) if c.status == FAIL] == []
