"""Failure handling against a real server: timeouts, a stopped server, recovery, single flight."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.data.errors import ErrorCode
from ksys_app.data.queries import Query
from ksys_app.ops.schema.refresh import refresh_range
from tests.data.conftest import count_statements

SLEEP = Query("test_sleep", "SELECT pg_sleep($1)::text AS slept LIMIT $2")


def seed_latest(dsn: str) -> None:
    now = datetime.now(timezone.utc)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES "
                     "(%s, 'D100', 190.0), (%s, 'D200', 15500.0)", (now - timedelta(seconds=5), now))
        refresh_range(conn, now, now)


@pytest.fixture
def plain_db(new_migrated_database, pg_server) -> tuple[str, str]:
    """(superuser DSN, eco_ro DSN) of a migrated plain-PostgreSQL database with two readings."""
    admin = new_migrated_database("postgres")
    seed_latest(admin)
    dbname = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    return admin, pg_server.dsn(dbname, user="eco_ro")


async def test_slow_statement_is_db_timeout(plain_db, make_repo, ksys_events):
    _, ro = plain_db
    repo = make_repo(ro, statement_timeout_ms=200)
    got = await repo.run(SLEEP, (2.0, 2), kind="metrics", convert=tuple, limit=1)
    assert got.error.code == ErrorCode.DB_TIMEOUT
    assert "statement timeout" in got.error.detail and got.error.message == "the database did not answer in time"
    assert got.retryable and got.failed and got.rows == () and not got.stale
    fail = [e for e in ksys_events() if e["event"] == "db_fail"]
    assert len(fail) == 1 and fail[0]["code"] == "DB_TIMEOUT"

    ok = await repo.latest()
    assert ok.error is None and [r.tag_name for r in ok.rows] == ["D100", "D200"]
    recover = [e for e in ksys_events() if e["event"] == "db_recover"]
    assert len(recover) == 1
    for e in fail + recover:
        assert {"range", "tag", "view", "rowcount", "dur_ms", "cache_hit"} <= set(e)


async def test_timeout_serves_last_good_value_stale(plain_db, make_repo):
    admin, ro = plain_db
    repo = make_repo(ro, statement_timeout_ms=300)
    # Same text and parameters every time (one cache key); the delay comes from the data.
    q = Query("test_delay", "SELECT tag_name, pg_sleep(coalesce((SELECT max(value) FROM influx_hist "
                            "WHERE tag_name = 'DELAY'), 0))::text AS s FROM influx_latest "
                            "ORDER BY tag_name LIMIT $1")
    fresh = await repo.run(q, (10,), kind="snapshot", convert=tuple, limit=9)
    assert fresh.error is None and len(fresh.rows) == 2
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '1 day', 'DELAY', 2)")
    slow = await repo.run(q, (10,), kind="snapshot", convert=tuple, limit=9)
    assert slow.error.code == ErrorCode.DB_TIMEOUT
    assert slow.stale is True and slow.rows == fresh.rows and slow.fetched_at == fresh.fetched_at


async def test_stopped_server_gives_db_conn_and_stale_then_recovers(plain_db, make_repo, pg_server,
                                                                    ksys_events):
    if pg_server.cluster is None:
        pytest.skip("needs the test run's own cluster (KSYS_TEST_DSN points elsewhere)")
    _, ro = plain_db
    repo = make_repo(ro)
    fresh = await repo.latest()
    assert fresh.error is None and len(fresh.rows) == 2

    pg_server.cluster.stop()
    try:
        down = await repo.latest()
        assert down.error.code == ErrorCode.DB_CONN
        assert down.stale is True and down.rows == fresh.rows
        assert down.fetched_at == fresh.fetched_at
        never_read = await repo.tags()
        assert never_read.error.code == ErrorCode.DB_CONN
        assert never_read.rows == () and never_read.stale is False
        assert not repo.db_healthy
    finally:
        pg_server.cluster.start()

    back = await repo.latest()
    assert back.error is None and back.stale is False and back.rows == fresh.rows
    assert repo.db_healthy
    events = [e["event"] for e in ksys_events() if e["event"] in ("db_fail", "db_recover")]
    assert events == ["db_fail", "db_recover"]


async def test_pool_created_while_server_down_recovers(plain_db, make_repo, pg_server):
    if pg_server.cluster is None:
        pytest.skip("needs the test run's own cluster (KSYS_TEST_DSN points elsewhere)")
    _, ro = plain_db
    repo = make_repo(ro)
    pg_server.cluster.stop()
    try:
        first = await repo.latest()
        assert first.error.code == ErrorCode.DB_CONN and first.rows == ()
    finally:
        pg_server.cluster.start()
    assert (await repo.latest()).error is None


async def test_fifty_identical_reads_make_one_round_trip(plain_db, make_repo):
    _, ro = plain_db
    repo = make_repo(ro)
    sent = count_statements(repo)
    results = await asyncio.gather(*(repo.series("D100", "24h") for _ in range(50)))
    assert len(sent) == 1
    stats = repo.cache.stats()
    assert (stats["misses"], stats["coalesced"], stats["hits"]) == (1, 49, 0)
    assert all(r.rows == results[0].rows and r.error is None for r in results)
    assert sum(not r.cache_hit for r in results) == 1


async def test_fifty_identical_snapshot_reads_share_one_round_trip(plain_db, make_repo):
    # TTL 0 (always fresh) still shares a statement that is already running.
    _, ro = plain_db
    repo = make_repo(ro)
    sent = count_statements(repo)
    results = await asyncio.gather(*(repo.latest() for _ in range(50)))
    assert len(sent) == 1 and repo.cache.stats()["misses"] == 1
    assert len({r.rows for r in results}) == 1
    await repo.latest()
    assert len(sent) == 2  # nothing kept fresh for the next read


async def test_concurrent_slow_reads_share_one_statement(plain_db, make_repo):
    _, ro = plain_db
    repo = make_repo(ro)
    sent = count_statements(repo)
    results = await asyncio.gather(*(repo.run(SLEEP, (0.3, 2), kind="metrics", convert=tuple, limit=1)
                                     for _ in range(50)))
    assert len(sent) == 1
    assert all(r.error is None and r.rows == (("",),) for r in results)


async def test_truncation_is_flagged(plain_db, make_repo):
    _, ro = plain_db
    repo = make_repo(ro)
    q = Query("test_series", "SELECT g FROM generate_series(1, 10) g ORDER BY g DESC LIMIT $1")
    got = await repo.run(q, (5 + 1,), kind="metrics", convert=lambda r: r["g"], limit=5, newest_first=True)
    assert got.truncated is True and got.rows == (6, 7, 8, 9, 10)
    whole = await repo.run(q, (10 + 1,), kind="metrics", convert=lambda r: r["g"], limit=10,
                           newest_first=True)
    assert whole.truncated is False and whole.rows == tuple(range(1, 11))


async def test_missing_relation_is_schema_drift(new_database, pg_server, make_repo):
    admin = new_database()  # not migrated: no influx_latest
    dbname = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    repo = make_repo(pg_server.dsn(dbname))
    got = await repo.latest()
    assert got.error.code == ErrorCode.SCHEMA_DRIFT and "influx_latest" in got.error.detail
    assert not got.retryable


async def test_payload_budget_warns(plain_db, make_repo, ksys_events):
    _, ro = plain_db
    repo = make_repo(ro, payload_warn_bytes=100)
    got = await repo.latest()
    assert got.error is None and got.warning.code == ErrorCode.PAYLOAD_BLOAT
    assert len(got.rows) == 2  # warned, not cut
    assert [e["event"] for e in ksys_events()].count("payload_bloat") == 1


async def test_unconfigured_repository_reports_config(monkeypatch, tmp_path):
    from ksys_app.data import repository

    monkeypatch.delenv("TS_DSN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setattr(repository, "_default", None)
    repo = repository.get_repository()
    assert isinstance(repo, repository.UnconfiguredRepository)
    got = await repo.latest()
    assert got.error.code == ErrorCode.CONFIG and "TS_DSN is not set" in got.error.message
    await repository.close_repository()


PID = Query("test_pid", "SELECT pg_backend_pid() AS pid LIMIT $1")


def app_connections(admin: str, where: str = "true") -> int:
    dbname = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            f"AND application_name = 'ksys-dashboard' AND {where}", (dbname,)).fetchone()[0]


async def test_pool_keeps_to_its_size_and_queues_reads(plain_db, make_repo):
    admin, ro = plain_db
    repo = make_repo(ro, pool_max_size=2)
    sent = count_statements(repo)
    # Six different statements (six cache keys), each holding its connection a while.
    results = await asyncio.gather(*(repo.run(SLEEP, (0.2, n), kind="metrics", convert=tuple, limit=n - 1)
                                     for n in range(2, 8)))
    assert all(r.error is None and r.rows == (("",),) for r in results)
    assert len(sent) == 6
    assert app_connections(admin) == 2


async def test_busy_pool_gives_db_conn_after_the_connect_timeout_then_recovers(plain_db, make_repo):
    admin, ro = plain_db
    repo = make_repo(ro, pool_max_size=1, connect_timeout_s=1.0)
    slow = asyncio.create_task(repo.run(SLEEP, (3.0, 2), kind="metrics", convert=tuple, limit=1))
    while not app_connections(admin, "state = 'active' AND position('pg_sleep' in query) > 0"):
        await asyncio.sleep(0.02)  # until the slow read holds the only connection
    busy = await repo.latest()
    assert busy.error.code == ErrorCode.DB_CONN and "connect timeout" in busy.error.message
    assert (await slow).error is None
    again = await repo.latest()  # the slot came back: no leak
    assert again.error is None and len(again.rows) == 2


async def test_connection_is_reused_after_server_errors(plain_db, make_repo):
    # The pool's reset hook sends nothing (see ksys_app.data.pool): a statement the server
    # refused or cancelled leaves the connection usable, and it is used again.
    _, ro = plain_db
    repo = make_repo(ro, statement_timeout_ms=200, pool_max_size=1)
    first = await repo.run(PID, (2,), kind="snapshot", convert=tuple, limit=1)
    failed = await repo.run(Query("test_div", "SELECT 1 / 0 AS x LIMIT $1"), (2,), kind="snapshot",
                            convert=tuple, limit=1)
    assert failed.error.code == ErrorCode.DB_ERROR
    timed_out = await repo.run(SLEEP, (2.0, 2), kind="snapshot", convert=tuple, limit=1)
    assert timed_out.error.code == ErrorCode.DB_TIMEOUT
    after = await repo.run(PID, (2,), kind="snapshot", convert=tuple, limit=1)
    assert after.rows == first.rows and after.error is None


async def test_idle_connections_above_min_size_are_closed(plain_db, make_repo, monkeypatch):
    from ksys_app.data import pool

    monkeypatch.setattr(pool, "MAX_INACTIVE_S", 0.3)
    admin, ro = plain_db
    repo = make_repo(ro, pool_min_size=1, pool_max_size=3)
    await asyncio.gather(*(repo.run(SLEEP, (0.2, n), kind="metrics", convert=tuple, limit=n - 1)
                           for n in range(2, 5)))
    assert app_connections(admin) == 3
    for _ in range(100):
        if app_connections(admin) == 1:
            break
        await asyncio.sleep(0.05)
    assert app_connections(admin) == 1  # min_size stays open
    assert (await repo.latest()).error is None


def _with(dsn: str, **parts: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, **parts)


async def test_wrong_password_is_permanent_with_its_fix_and_not_retried(plain_db, make_repo, password_role,
                                                                        ksys_events):
    from ksys_app.data.pool import check_connection
    from ksys_app.states.outcomes import outcome, page_outcome
    from tests.data.conftest import ro_settings

    _, ro = plain_db
    role, _password = password_role
    dsn = _with(ro, user=role, password="wrong")
    repo = make_repo(dsn)
    got = await repo.latest()
    assert got.error.code == ErrorCode.DB_CONN and got.error.sqlstate == "28P01"
    assert "password authentication failed" in got.error.detail and "refused" in got.error.message
    assert got.error.permanent and got.failed and not got.retryable
    assert "password in TS_DSN" in got.error.fix
    # what the page makes of it (states.base): shown with the fix, no retry scheduled
    view = page_outcome({"all": outcome(got)}, "all")
    assert view.failed and view.permanent and not view.retry and view.error_fix == got.error.fix
    # `ksys serve` classifies it the same way before it starts
    checked = await check_connection(ro_settings(dsn))
    assert checked is not None and checked.permanent and checked.sqlstate == "28P01"
    # the same read again makes one more attempt (Retry), and logs db_fail only once
    again = await repo.latest()
    assert again.error.permanent
    assert [e["event"] for e in ksys_events()].count("db_fail") == 1


@pytest.mark.parametrize("parts, sqlstate, words", [
    ({"user": "no_such_role"}, "28000", "user in TS_DSN"),
    ({"dbname": "no_such_database"}, "3D000", "database name in TS_DSN"),
])
async def test_unknown_role_or_database_is_permanent(plain_db, make_repo, parts, sqlstate, words):
    _, ro = plain_db
    got = await make_repo(_with(ro, **parts)).latest()
    assert got.error.code == ErrorCode.DB_CONN and got.error.sqlstate == sqlstate
    assert got.error.permanent and not got.retryable and words in got.error.fix


async def test_unreachable_server_is_transient_and_retried(make_repo):
    from ksys_app.states.outcomes import outcome, page_outcome
    from ksys_dev.localpg import free_port

    closed = f"postgresql://eco_ro@127.0.0.1:{free_port()}/ksys"   # nothing listens there
    got = await make_repo(closed, connect_timeout_s=2).latest()
    assert got.error.code == ErrorCode.DB_CONN and not got.error.permanent and got.retryable
    view = page_outcome({"all": outcome(got)}, "all")
    assert view.retry and not view.permanent


async def test_unconfigured_repository_is_permanent(monkeypatch, tmp_path):
    from ksys_app.data import repository

    monkeypatch.setenv("TS_DSN", "postgresql://eco_ro@127.0.0.1:5432/ksys")
    monkeypatch.setenv("TZ", "Mars/Olympus")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(repository, "_default", None)
    got = await repository.get_repository().latest()
    assert got.error.code == ErrorCode.CONFIG and "TZ" in got.error.message
    assert got.error.permanent and not got.retryable and ".env" in got.error.fix
    await repository.close_repository()
