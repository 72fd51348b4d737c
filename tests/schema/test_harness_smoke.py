import subprocess
import time

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ksys_app.ops.dataops.pgtools import conninfo_and_env, find_tool, server_major
from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.schedule import cron_job_name


def test_migrated_database_answers(migrated_dsn, engine):
    with psycopg.connect(migrated_dsn) as conn:
        assert conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0] == engine


def _timescaledb_scheduler_runs(conn: psycopg.Connection, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name = 'TimescaleDB Background Worker Scheduler'").fetchone()[0]:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _as_migrated(dsn: str, pg_server) -> dict:
    """What a test can see of a migrated database, its own name replaced by <db>."""
    name = conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        tool, _ = find_tool("pg_dump", server_major(conn))
        conninfo, env = conninfo_and_env(dsn)
        dump = subprocess.run([str(tool), "--schema-only", "--dbname", conninfo], capture_output=True, text=True,
                              env=env, check=True, timeout=120).stdout
        got = {
            "schema": [line for line in dump.replace(name, "<db>").splitlines()
                       if not line.startswith(("\\restrict ", "\\unrestrict "))],   # a random key per run
            "settings": conn.execute("SELECT key, value FROM ksys.settings ORDER BY key").fetchall(),
            "migrations": conn.execute("SELECT version, name, engine, file, checksum "
                                       "FROM ksys.schema_migrations ORDER BY version").fetchall(),
            # as a set: the order of an ACL's items means nothing
            "database acl": conn.execute(
                "SELECT array_agg(a::text ORDER BY a::text) FROM pg_database d, unnest(d.datacl) a "
                "WHERE d.datname = %s", (name,)).fetchone()[0],
            "rows": {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for (table,) in conn.execute(
                "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables "
                "WHERE schemaname IN ('public', 'ksys') ORDER BY 1").fetchall()},
        }
        if conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()[0]:
            got["timescaledb jobs"] = conn.execute(
                "SELECT job_id, application_name, schedule_interval, proc_schema, proc_name, config::text, "
                "scheduled, hypertable_schema, hypertable_name FROM timescaledb_information.jobs "
                "ORDER BY job_id").fetchall()
            got["timescaledb scheduler"] = _timescaledb_scheduler_runs(conn)
            got["failed timescaledb jobs"] = conn.execute(   # e.g. a run cut short in the template
                "SELECT job_id FROM timescaledb_information.job_stats WHERE total_failures > 0 "
                "OR last_run_status = 'Failed' ORDER BY job_id").fetchall()
    if pg_server.has_pg_cron and pg_server.cluster is not None:
        with psycopg.connect(pg_server.dsn(pg_server.cluster.database)) as cron:
            got["pg_cron"] = cron.execute(
                "SELECT schedule, command, database = %s, active FROM cron.job WHERE jobname = %s",
                (name, cron_job_name(name))).fetchall()
    return got


def test_a_cloned_database_is_what_migrate_gives(engine, pg_server, new_database, new_migrated_database):
    """migrated_dsn and new_migrated_database() clone a template migrated once per session:
    nothing a test can see may tell them from a database that migrate() made itself."""
    fresh = new_database()
    migrate(fresh, engine=engine, out=lambda _line: None)
    clone = new_migrated_database(engine)
    want, got = _as_migrated(fresh, pg_server), _as_migrated(clone, pg_server)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key
    if pg_server.has_pg_cron and pg_server.cluster is not None:
        assert len(got["pg_cron"]) == 1
