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
    # what PostgreSQL lets any role do unless taken away (migration 0015)
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
    "CREATE TEMP TABLE sneaky (x int)",
    "CREATE FUNCTION pg_temp.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
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


def test_app_role_limits_hold_for_any_client(migrated_dsn, pg_server):
    with psycopg.connect(pg_server.dsn(_dbname(migrated_dsn), user="eco_ro"), autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "10s"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'eco_ro'").fetchone()[0] == 64


@pytest.mark.parametrize("tamper, untamper, expect", [
    # by the role itself: PostgreSQL allows it, doctor must see it
    (("eco_ro", "SET default_transaction_read_only = off", "ALTER ROLE eco_ro SET default_transaction_read_only = off"),
     ("postgres", "ALTER ROLE eco_ro SET default_transaction_read_only = on"),
     "default_transaction_read_only=off (expected on)"),
    (("eco_ro", "SET default_transaction_read_only = off", "ALTER ROLE eco_ro SET statement_timeout = 0"),
     ("postgres", "ALTER ROLE eco_ro SET statement_timeout = '10s'"), "statement_timeout=0 (expected 10s)"),
    # by an owner, by mistake
    (("postgres", "GRANT INSERT ON public.influx_qc_rule TO eco_ro"),
     ("postgres", "REVOKE INSERT ON public.influx_qc_rule FROM eco_ro"), "may write 1 relation(s): public.influx_qc_rule"),
    (("postgres", "GRANT TEMPORARY ON DATABASE {db} TO eco_ext"),
     ("postgres", "REVOKE TEMPORARY ON DATABASE {db} FROM eco_ext"), "may use temporary tables"),
    (("postgres", "SELECT lo_create(4242)", "ALTER LARGE OBJECT 4242 OWNER TO eco_ro"),
     ("postgres", "SELECT lo_unlink(4242)"), "owns 1 large object(s)"),
    (("postgres", "GRANT EXECUTE ON FUNCTION ksys.alarm_apply(text, text[], text[], text, text, timestamptz) TO eco_operator"),
     ("postgres", "REVOKE EXECUTE ON FUNCTION ksys.alarm_apply(text, text[], text[], text, text, timestamptz) "
                  "FROM eco_operator"), "may call 1 other ksys function(s): ksys.alarm_apply("),
    (("postgres", "GRANT SELECT ON ksys.operators TO eco_operator"),
     ("postgres", "REVOKE SELECT ON ksys.operators FROM eco_operator"), "may read 1 relation(s): ksys.operators"),
], ids=["self-read-write", "self-timeout", "grant-insert", "grant-temp", "owned-lo", "operator-function",
        "operator-select"])
def test_doctor_sees_what_the_roles_may_do_not_what_the_migrations_meant(migrated_dsn, pg_server, tamper,
                                                                           untamper, expect):
    db = _dbname(migrated_dsn)

    def run(who: str, *statements: str) -> None:
        with psycopg.connect(pg_server.dsn(db, user=who), autocommit=True) as conn:
            for statement in statements:   # each its own transaction (the SET then applies to the next)
                conn.execute(statement.format(db=f'"{db}"'))

    assert [c for c in run_checks(migrated_dsn) if c.status == FAIL] == []
    run(*tamper)
    try:
        failed = [c for c in run_checks(migrated_dsn) if c.status == FAIL]
    finally:
        run(*untamper)   # role settings are the cluster's: other tests' databases share them
    assert len(failed) == 1 and expect in failed[0].detail, failed
    assert failed[0].fix
    assert [c for c in run_checks(migrated_dsn) if c.status == FAIL] == []


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


def test_doctor_reports_a_timescaledb_job_that_is_running_now(migrated_dsn, engine):
    """While the scheduler runs a job, TimescaleDB shows its next_start as '-infinity',
    which has no Python datetime: doctor must say "running", not crash."""
    if engine != "timescaledb":
        pytest.skip("TimescaleDB jobs only")
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("CREATE PROCEDURE public.ksys_test_nap(job_id int, config jsonb) "
                     "LANGUAGE sql AS 'SELECT pg_sleep(20)'")
        job = conn.execute("SELECT add_job('public.ksys_test_nap', '1 hour', initial_start => now())").fetchone()[0]
        try:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT job_status FROM timescaledb_information.job_stats WHERE job_id = %s",
                               (job,)).fetchone() != ("Running",):
                assert time.monotonic() < deadline, "the scheduler did not start the job within 60 s"
                time.sleep(0.2)
            checks = {c.name: c for c in run_checks(migrated_dsn)}
            mine = next(c for name, c in checks.items() if name.startswith(f"job {job} "))
            assert mine.status != FAIL and "running now" in mine.detail
        finally:
            conn.execute("SELECT delete_job(%s)", (job,))
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(20)%%' "
                         "AND pid <> pg_backend_pid()")
            conn.execute("DROP PROCEDURE public.ksys_test_nap")


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
