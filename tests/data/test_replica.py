"""The dashboard on a streaming replica (issue 19): a hot standby made with pg_basebackup
from the test cluster, read as eco_ro. The health probe says it is a replica and how far
its replay is behind; reads answer from it; a pause of its replay shows as lag and the
resume brings the primary's new reading to the page's read.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql

from ksys_app.domain.live import replica_note
from ksys_dev.localpg import temporary_replica

TAG = "REPL1"


@pytest.fixture(scope="module")
def replica(pg_server):
    if pg_server.cluster is None:
        pytest.skip("KSYS_TEST_DSN names an external server: no cluster to make a replica of")
    with temporary_replica(pg_server.cluster) as standby:
        yield standby


def _wait_on_replica(replica, dbname: str, sql: str, args=(), timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(replica.dsn(dbname), autocommit=True) as conn:
                row = conn.execute(sql, args).fetchone()
                if row and row[0]:
                    return row
        except psycopg.OperationalError:
            pass  # the database is not there yet (the primary made it after the base backup)
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica never answered {sql!r} with a truthy value")
        time.sleep(0.2)


async def _probe_until(repo, check, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while True:
        result = await repo._probe_once()
        if check(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


async def test_the_dashboard_reads_a_replica_and_shows_its_lag(pg_server, replica, new_migrated_database, make_repo):
    admin = new_migrated_database("postgres")
    dbname = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    # the database was made after the base backup: it reaches the replica by streaming
    _wait_on_replica(replica, dbname, "SELECT to_regclass('public.influx_hist') IS NOT NULL")
    repo = make_repo(replica.dsn(dbname, user="eco_ro"))

    first = await _probe_until(repo, lambda r: r is not None and r.lag_s == 0.0)
    assert first is not None and first.lag_s == 0.0, first
    assert replica_note(first) == "replica, up to date"
    # the primary answers the same probe as a primary
    primary = make_repo(pg_server.dsn(dbname, user="eco_ro"))
    assert await primary._probe_once() is None

    with psycopg.connect(replica.dsn(dbname), autocommit=True) as standby, \
            psycopg.connect(admin, autocommit=True) as conn:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            time.sleep(1.5)  # the last transaction the replica replayed is now older than this
            now = datetime.now(timezone.utc)
            conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, 42.0)", (now, TAG))
            behind = await _probe_until(repo, lambda r: r is not None and (r.lag_s or 0) >= 1.5)
            assert behind is not None and behind.lag_s >= 1.5, behind
            # the insert's WAL is received and waits to be replayed
            assert behind.receiving and behind.behind_bytes > 0, behind
            assert replica_note(behind).startswith("replica, ") and replica_note(behind).endswith(" s behind")
            # the read answers from the replica: the new reading is not there yet
            with psycopg.connect(replica.dsn(dbname, user="eco_ro")) as ro:
                assert ro.execute("SELECT count(*) FROM influx_hist WHERE tag_name = %s", (TAG,)).fetchone()[0] == 0
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
        caught_up = await _probe_until(repo, lambda r: r is not None and r.lag_s == 0.0)
        assert caught_up is not None and caught_up.lag_s == 0.0, caught_up
        _wait_on_replica(replica, dbname, "SELECT count(*) FROM influx_hist WHERE tag_name = %s", (TAG,))
        rows = await repo.latest()
        assert not rows.failed
        conn.execute("DELETE FROM influx_hist WHERE tag_name = %s AND ts > %s", (TAG, now - timedelta(minutes=1)))


async def test_a_replica_cut_off_from_its_primary_says_so(pg_server, replica, new_migrated_database, make_repo):
    """With its primary gone a replica has replayed all it received, so its lag reads 0: the
    note says it receives nothing (and how old its newest change is), and "up to date" again
    once it is fed. The primary is cut off by pointing the replica's primary_conninfo at a
    port that refuses connections (a reload restarts the WAL receiver with it)."""
    admin = new_migrated_database("postgres")
    dbname = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    _wait_on_replica(replica, dbname, "SELECT to_regclass('public.influx_hist') IS NOT NULL")
    repo = make_repo(replica.dsn(dbname, user="eco_ro"))
    assert (await _probe_until(repo, lambda r: r is not None and r.receiving and r.lag_s == 0.0)).receiving

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))  # bound, never listening: connections to it are refused
    with psycopg.connect(replica.dsn(dbname), autocommit=True) as standby:
        conninfo = standby.execute("SHOW primary_conninfo").fetchone()[0]
        standby.execute(f"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port={holder.getsockname()[1]}'")
        standby.execute("SELECT pg_reload_conf()")
        try:
            cut = await _probe_until(repo, lambda r: r is not None and not r.receiving)
            assert cut is not None and not cut.receiving, cut
            assert cut.lag_s == 0.0, cut  # what made it look current before
            assert replica_note(cut).startswith("replica, not receiving from the primary"), replica_note(cut)
        finally:
            standby.execute(sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo)))
            standby.execute("SELECT pg_reload_conf()")
            holder.close()
    fed = await _probe_until(repo, lambda r: r is not None and r.receiving and r.lag_s == 0.0)
    assert fed is not None and fed.receiving, fed
    assert replica_note(fed) == "replica, up to date"
