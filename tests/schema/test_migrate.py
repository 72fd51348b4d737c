"""`ksys migrate`: every PRD object with its columns, idempotent, guarded history."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from ksys_app.ops.errors import MigrationRefused, OpsError
from ksys_app.ops.schema.migrate import LOCK_KEY, migrate, migrations_dir

D = "double precision"
TS = "timestamp with time zone"
AGG = [("bucket", TS), ("tag_name", "text"), ("n", "bigint"), ("avg", D), ("sum", D), ("min", D),
       ("max", D), ("last", D), ("first", D), ("diff", D)]

# The PRD's objects and columns (12.1, 27.3, 28.1), written out here on purpose:
# the test must fail if the migrations drift from the PRD.
EXPECTED = {
    "influx_hist": [("ts", TS), ("tag_name", "text"), ("value", D), ("qc", "smallint"), ("meta", "jsonb")],
    "influx_qc_rule": [("tag_name", "text"), ("min_val", D), ("max_val", D), ("max_step", D),
                       ("max_gap_seconds", "integer"), ("allow_negative", "boolean"), ("enabled", "boolean"),
                       ("meta", "jsonb"), ("warn_min", D), ("warn_max", D), ("crit_min", D), ("crit_max", D),
                       ("roc_max_per_min", D), ("spike_zscore", D), ("deadband_pct", D),
                       ("alarm_on_delay_s", "integer"), ("alarm_off_delay_s", "integer")],  # resolution 28
    "influx_agg_1m": AGG, "influx_agg_10m": AGG, "influx_agg_1h": AGG, "influx_agg_1d": AGG,
    "features_5m": [("bucket", TS), ("tag_name", "text"), ("mean_5m", D), ("std_5m", D), ("min_5m", D),
                    ("max_5m", D), ("p10_5m", D), ("p90_5m", D), ("n_5m", "bigint")],
    "tech_ind_1m_mv": [("bucket", TS), ("tag_name", "text"), ("avg", D), ("sma_10", D), ("sma_60", D),
                       ("bb_top", D), ("bb_bot", D), ("slope_60", D)],
    "influx_latest": [("tag_name", "text"), ("value", D), ("ts", TS)],
    "predictions": [("ts", TS), ("tag_name", "text"), ("horizon", "interval"), ("yhat", D), ("pi_low", D),
                    ("pi_high", D), ("model_id", "text"), ("version", "text"), ("features", "jsonb")],
    "anomalies": [("ts", TS), ("tag_name", "text"), ("score", D), ("level", "text"), ("context", "jsonb")],
    "ingest_expectation": [("tag_name", "text"), ("exp_per_min", "integer"), ("slo_warn", "numeric"),
                           ("slo_crit", "numeric"), ("updated_at", TS)],
    "comm_success_1h": [("bucket", TS), ("tag_name", "text"), ("recv_msgs", "bigint"), ("exp_msgs", "bigint"),
                        ("success_rate", "numeric"), ("missing_msgs", "bigint"), ("last_seen_min", TS)],
}
EXPECTED_INDEXES = {"influx_hist_pkey", "idx_hist_tag_ts", "predictions_pkey",
                    "idx_pred_tag_ts", "predictions_ts_idx", "anomalies_pkey", "anomalies_ts_idx",
                    "anomalies_tag_ts_desc"}


def test_every_prd_object_has_its_columns_and_types(migrated_dsn):
    with psycopg.connect(migrated_dsn) as conn:
        for relation, columns in EXPECTED.items():
            rows = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                (relation,)).fetchall()
            assert rows == columns, relation
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert EXPECTED_INDEXES <= indexes


def test_influx_hist_indexes_append_in_time_order(migrated_dsn):
    """0009: both secondary indexes of influx_hist ran newest-first, which halves COPY
    speed; the tag index is ascending now and the PK (ts, tag_name) serves time ranges."""
    with psycopg.connect(migrated_dsn) as conn:
        defs = dict(conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'influx_hist'").fetchall())
    assert set(defs) == {"influx_hist_pkey", "idx_hist_tag_ts"}
    assert defs["idx_hist_tag_ts"].endswith("(tag_name, ts)")
    assert defs["influx_hist_pkey"].endswith("(ts, tag_name)")


def test_influx_latest_is_each_tags_newest_reading(migrated_dsn):
    """Registered tags that sort next to each other, a tag silent for weeks, a registered
    tag with no readings left, and an unregistered tag seen in the last 5 minutes."""
    with psycopg.connect(migrated_dsn) as conn:
        conn.execute("""
            INSERT INTO influx_hist (ts, tag_name, value) VALUES
              (now() - interval '40 days',  'A',   1), (now() - interval '30 days', 'A',   2),
              (now() - interval '2 minutes', 'A_1', 3), (now() - interval '1 minute', 'A_1', 4),
              (now() - interval '1 hour',   'B',   5), (now() - interval '1 minute', 'C_NEW', 6)""")
        conn.execute("INSERT INTO ksys.tag_registry (tag_name) VALUES ('A'), ('A_1'), ('AA_GONE'), ('B')")
        latest = dict(conn.execute("SELECT tag_name, value FROM influx_latest").fetchall())
        assert latest == {"A": 2, "A_1": 4, "B": 5, "C_NEW": 6}
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT * FROM influx_latest WHERE tag_name = 'A'").fetchall())
        assert "idx_hist_tag_ts" in plan


def test_timescaledb_objects(new_database, pg_server):
    if not pg_server.has_timescaledb:
        pytest.skip("timescaledb extension not installed on this server")
    dsn = new_database()
    migrate(dsn, out=lambda _l: None)  # chooses timescaledb by itself
    with psycopg.connect(dsn) as conn:
        hyper = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
        assert {"influx_hist", "predictions", "anomalies"} <= hyper
        caggs = dict(conn.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates").fetchall())
        for name in ("influx_agg_1m", "influx_agg_10m", "influx_agg_1h", "influx_agg_1d", "features_5m"):
            assert caggs[name] is False, f"{name} must use real-time aggregation"
        policies = {(r[0], r[1]) for r in conn.execute(
            "SELECT hypertable_name, proc_name FROM timescaledb_information.jobs WHERE job_id >= 1000")}
        assert ("influx_hist", "policy_compression") in policies
        assert ("influx_hist", "policy_retention") in policies
        offsets = dict(conn.execute(
            """SELECT c.view_name, j.config->>'start_offset' FROM timescaledb_information.jobs j
               JOIN timescaledb_information.continuous_aggregates c
                 ON j.hypertable_name IN (c.view_name, c.materialization_hypertable_name)
               WHERE j.proc_name = 'policy_refresh_continuous_aggregate'""").fetchall())
        assert offsets["influx_agg_1m"] == "02:00:00"
        assert offsets["influx_agg_1d"] == "730 days"


def test_second_run_changes_nothing(migrated_dsn, engine):
    lines: list[str] = []
    with psycopg.connect(migrated_dsn) as conn:
        before = conn.execute("SELECT version, checksum, applied_at FROM ksys.schema_migrations ORDER BY 1").fetchall()
    result = migrate(migrated_dsn, out=lines.append)
    with psycopg.connect(migrated_dsn) as conn:
        after = conn.execute("SELECT version, checksum, applied_at FROM ksys.schema_migrations ORDER BY 1").fetchall()
    assert result.applied == [] and result.engine == engine
    assert before == after and len(before) >= 5
    assert any("nothing to apply" in line for line in lines)


def test_edited_applied_migration_is_refused(new_database, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    dsn = new_database()
    migrate(dsn, engine="postgres", out=lambda _l: None, directory=directory)
    target = directory / "0001_core_tables.sql"
    target.write_text(target.read_text() + "\n-- edited later\n")
    with pytest.raises(MigrationRefused, match="0001_core_tables.sql was edited"):
        migrate(dsn, out=lambda _l: None, directory=directory)


def test_concurrent_migrator_waits_for_the_lock(new_database):
    dsn = new_database()
    lines: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        worker = threading.Thread(target=migrate, kwargs=dict(dsn=dsn, engine="postgres", out=lines.append))
        worker.start()
        time.sleep(1.5)
        assert worker.is_alive(), "the second migrator must wait while the lock is held"
        assert any("waiting" in line for line in lines)
        assert not any(line.startswith("applied") for line in lines)
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert any(line.startswith("applied 0005") for line in lines)


@pytest.mark.parametrize("dsn, expected", [
    ("not a dsn at all", "invalid DSN"),
    ("postgresql://nobody@127.0.0.1:1/nothing", "cannot connect to nobody@127.0.0.1:1/nothing"),
])
def test_bad_dsn_is_one_line_and_exit_2(dsn, expected):
    for command in ("migrate", "doctor", "worker"):
        proc = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", command, "--dsn", dsn],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (command, proc.stderr)
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_privileges_is_one_line(new_database, pg_server):
    dsn = new_database()
    proc = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", "migrate", "--dsn",
                           pg_server.dsn(dsn.rsplit("/", 1)[-1].split("?")[0], user="eco_nobody")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_version_for_one_engine_only_and_history_the_checkout_lacks(new_database, tmp_path, monkeypatch):
    """A version may exist for one engine only; a database's record of a deleted no-op
    twin of such a version is accepted, a file the checkout does not know is not."""
    from ksys_app.ops.schema.doctor import run_checks

    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    (directory / "0099_only_on_timescaledb.timescaledb.sql").write_text("SELECT 1;\n")
    dsn = new_database()
    result = migrate(dsn, engine="postgres", out=lambda _l: None, directory=directory)
    assert "0099_only_on_timescaledb.timescaledb.sql" not in result.applied
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO ksys.schema_migrations (version, name, engine, file, checksum, duration_ms) "
                     "VALUES (99, 'only_on_timescaledb', 'postgres', '0099_only_on_timescaledb.postgres.sql', "
                     "'0', 0)")
    assert migrate(dsn, out=lambda _l: None, directory=directory).applied == []   # a retired twin
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO ksys.schema_migrations (version, name, engine, file, checksum, duration_ms) "
                     "VALUES (9998, 'from_the_future', 'postgres', '9998_from_the_future.sql', '0', 0)")
    with pytest.raises(MigrationRefused, match="9998_from_the_future.sql which this checkout does not have"):
        migrate(dsn, out=lambda _l: None, directory=directory)
    # doctor reads the same history: it names the file instead of calling the database up to date
    monkeypatch.setenv("KSYS_MIGRATIONS_DIR", str(directory))
    checks = {c.name: c for c in run_checks(dsn)}
    assert checks["migrations"].status == "fail" and "9998_from_the_future.sql" in checks["migrations"].detail


def test_a_lock_held_by_the_read_only_role_is_named_and_does_not_hang_migrate(new_migrated_database, pg_server,
                                                                              monkeypatch):
    """Any role can take an advisory lock: eco_ro holding migrate's makes migrate give up
    after KSYS_MIGRATE_LOCK_TIMEOUT_S, naming the session, instead of waiting forever."""
    dsn = new_migrated_database("postgres")
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    monkeypatch.setenv("KSYS_MIGRATE_LOCK_TIMEOUT_S", "2")
    with psycopg.connect(pg_server.dsn(name, user="eco_ro"), autocommit=True,
                         application_name="squatter") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        pid = holder.info.backend_pid
        t0 = time.monotonic()
        with pytest.raises(OpsError) as err:
            migrate(dsn, out=lambda _l: None)
        assert time.monotonic() - t0 < 30
    assert f"pid {pid} (role eco_ro, application squatter" in str(err.value)
    assert "pg_terminate_backend" in str(err.value)
