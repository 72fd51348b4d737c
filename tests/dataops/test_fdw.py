"""The FDW read path (seed 004, docs/operations.md): a second database reads ksys's rollups as eco_ext."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ksys_app.ops.schema.refresh import refresh_range
from tests.dataops.conftest import dbname
from tests.schema.seed import seed_readings

IMPORTED = ("influx_agg_1m", "influx_agg_10m", "influx_agg_1h", "influx_agg_1d", "features_5m", "tech_ind_1m_mv",
            "influx_latest", "comm_success_1h")


def test_second_database_reads_the_same_rollups_through_postgres_fdw(migrated_dsn, new_database, pg_server):
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        seed_readings(conn, ["D100", "D200", "FEED_FLOW"], start, start + timedelta(hours=26), step_s=60)
        refresh_range(conn, start, start + timedelta(hours=26))
        local = conn.execute("SELECT bucket, tag_name, n, avg, sum, min, max, last, first, diff "
                             "FROM influx_agg_1h ORDER BY tag_name, bucket").fetchall()
    assert len(local) >= 3 * 26

    remote = conninfo_to_dict(pg_server.admin_dsn)
    consumer = new_database()          # the external system's own database (TriFlow-AI in seed 004)
    with psycopg.connect(consumer, autocommit=True) as conn:
        # the recipe of docs/operations.md, "FDW read path"
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        conn.execute(sql.SQL("CREATE SERVER ksys_src FOREIGN DATA WRAPPER postgres_fdw "
                             "OPTIONS (host {}, port {}, dbname {}, fetch_size '10000')").format(
            sql.Literal(str(remote.get("host") or "127.0.0.1")), sql.Literal(str(remote.get("port") or 5432)),
            sql.Literal(dbname(migrated_dsn))))
        conn.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER ksys_src OPTIONS (user 'eco_ext')")
        conn.execute("CREATE SCHEMA ksys_remote")
        conn.execute(sql.SQL("IMPORT FOREIGN SCHEMA public LIMIT TO ({}) FROM SERVER ksys_src INTO ksys_remote")
                     .format(sql.SQL(", ").join(map(sql.Identifier, IMPORTED))))
        imported = {r[0] for r in conn.execute(
            "SELECT foreign_table_name FROM information_schema.foreign_tables "
            "WHERE foreign_table_schema = 'ksys_remote'")}
        assert imported == set(IMPORTED)
        through_fdw = conn.execute("SELECT bucket, tag_name, n, avg, sum, min, max, last, first, diff "
                                   "FROM ksys_remote.influx_agg_1h ORDER BY tag_name, bucket").fetchall()
        assert through_fdw == local
        for name in IMPORTED:
            conn.execute(sql.SQL("SELECT count(*) FROM ksys_remote.{}").format(sql.Identifier(name))).fetchone()

        # eco_ext reads rollups only: raw data and writes are refused on the ksys side
        conn.execute("IMPORT FOREIGN SCHEMA public LIMIT TO (influx_hist, influx_qc_rule) "
                     "FROM SERVER ksys_src INTO ksys_remote")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM ksys_remote.influx_hist")
        with pytest.raises(psycopg.Error, match="read-only transaction|permission denied"):
            conn.execute("DELETE FROM ksys_remote.influx_qc_rule")
