"""App role, doctor, pg_cron schedule and the worker."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from ksys_app.ops.schema.doctor import FAIL, run_checks
from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.schedule import TICK_COMMAND

WRITES = [
    "INSERT INTO influx_hist (ts, tag_name, value) VALUES (now(), 'X', 1)",
    "UPDATE influx_qc_rule SET min_val = 0",
    "DELETE FROM ingest_expectation",
    "INSERT INTO tech_ind_1m_mv (bucket, tag_name) VALUES (now(), 'X')",
    "DELETE FROM influx_agg_1m",
    "TRUNCATE influx_hist",
    "SELECT ksys.tick()",
    "CALL ksys.run_tick()",
    "SELECT ksys.collect_changes()",
    "CREATE TABLE public.sneaky (x int)",
]


def _dbname(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]


@pytest.mark.parametrize("statement", WRITES)
def test_app_role_cannot_write(migrated_dsn, pg_server, statement):
    with psycopg.connect(pg_server.dsn(_dbname(migrated_dsn), user="eco_ro"), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM influx_latest").fetchone()[0] == 0  # reads work
        conn.execute("SET default_transaction_read_only = off")  # privileges alone must stop it
        # On TimescaleDB the rollups are continuous aggregates, which nobody can write.
        refused = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState)
        with pytest.raises(refused if "influx_agg" in statement else psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_doctor_passes_on_fresh_database(migrated_dsn):
    failed = [c for c in run_checks(migrated_dsn) if c.status == FAIL]
    assert failed == []


def test_doctor_measures_each_relations_lag(migrated_dsn, engine):
    """Current after a tick; a change left pending for 20 minutes fails the relations
    with a one-minute target, not those with an hourly or daily one."""
    from ksys_app.ops.schema.refresh import settle

    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) SELECT now() - g * interval '10 seconds', t, g "
                     "FROM generate_series(0, 400) g, unnest(ARRAY['D100', 'FEED_FLOW', 'PRODUCT_FLOW', "
                     "'INLET_PRESSURE', 'OUTLET_PRESSURE']) t")
        settle(conn)
        lags = {c.name: c for c in run_checks(migrated_dsn) if c.name.startswith("lag ")}
        assert len(lags) == 8 and all(c.status != FAIL for c in lags.values()), lags
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '2 hours', 'D100', 1)")
        conn.execute("UPDATE ksys.hist_changes SET logged_at = now() - interval '20 minutes'")
    lags = {c.name: c for c in run_checks(migrated_dsn) if c.name.startswith("lag ")}
    failed = {name for name, c in lags.items() if c.status == FAIL}
    assert {"lag influx_agg_1m", "lag tech_ind_1m_mv", "lag features_5m"} <= failed
    assert "lag influx_agg_1h" not in failed and "lag influx_agg_1d" not in failed
    assert "pending change range" in lags["lag influx_agg_1m"].detail and "ksys worker --once" in lags["lag influx_agg_1m"].fix


def test_doctor_names_the_fix_for_a_disabled_job(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("UPDATE ksys.jobs SET enabled = false WHERE job_name = 'virtual_tags'")
    proc = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", "doctor", "--dsn", migrated_dsn],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "UPDATE ksys.jobs SET enabled = true WHERE job_name = 'virtual_tags'" in proc.stdout


def test_doctor_names_the_fix_for_a_paused_timescaledb_job(migrated_dsn, engine):
    if engine != "timescaledb":
        pytest.skip("TimescaleDB policies only")
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        job = conn.execute("SELECT job_id FROM timescaledb_information.jobs "
                           "WHERE proc_name = 'policy_refresh_continuous_aggregate' LIMIT 1").fetchone()[0]
        conn.execute("SELECT alter_job(%s, scheduled => false)", (job,))
    failed = [c for c in run_checks(migrated_dsn) if c.status == FAIL]
    assert any(f"alter_job({job}, scheduled => true)" in c.fix for c in failed)


def test_pg_cron_job_is_scheduled_in_the_right_database_and_runs(migrated_dsn, pg_server):
    if not pg_server.has_pg_cron or pg_server.cluster is None:
        pytest.skip("pg_cron not installed on this server")
    database = _dbname(migrated_dsn)
    cron_db = pg_server.cluster.database
    with psycopg.connect(pg_server.dsn(cron_db), autocommit=True) as cron:
        jobid, command, job_db, active = cron.execute(
            "SELECT jobid, command, database, active FROM cron.job WHERE jobname = %s",
            (f"ksys_tick_{database}",)).fetchone()
        assert (command, job_db, active) == (TICK_COMMAND, database, True)
        deadline = time.monotonic() + 130
        status = None
        while time.monotonic() < deadline:
            row = cron.execute("SELECT status, return_message FROM cron.job_run_details WHERE jobid = %s "
                               "AND status IN ('succeeded', 'failed') ORDER BY runid DESC LIMIT 1",
                               (jobid,)).fetchone()
            if row:
                status = row
                break
            time.sleep(2)
    assert status and status[0] == "succeeded", status
    with psycopg.connect(migrated_dsn) as conn:
        assert conn.execute("SELECT total_runs FROM ksys.jobs WHERE job_name = 'virtual_tags'").fetchone()[0] >= 1


def test_pg_cron_in_its_own_database(pg_server):
    """The app database may also be cron.database_name: the extension is created there."""
    if not pg_server.has_pg_cron or pg_server.cluster is None:
        pytest.skip("pg_cron not installed on this server")
    dsn = pg_server.dsn(pg_server.cluster.database)
    result = migrate(dsn, engine="postgres", out=lambda _l: None)
    assert result.scheduler == "pg_cron"
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT database, command FROM cron.job WHERE jobname = %s",
                           (f"ksys_tick_{pg_server.cluster.database}",)).fetchone()
    assert row == (pg_server.cluster.database, TICK_COMMAND)


def test_worker_once_refreshes(new_migrated_database):
    dsn = new_migrated_database("postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now(), 'D300', 7.25)")
    proc = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", "worker", "--once", "--dsn", dsn],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT last FROM influx_agg_1m WHERE tag_name = 'D300'").fetchone() == (7.25,)
