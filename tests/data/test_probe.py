"""The health probe: one light round trip, shared by every caller, at most one in flight."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from ksys_app.data.errors import DataError, ErrorCode
from ksys_app.data.probe import HealthProbe


@pytest.fixture
def ro_dsn(new_migrated_database, pg_server) -> str:
    """eco_ro DSN of a migrated plain-PostgreSQL database (the probe reads no relation)."""
    dbname = psycopg.conninfo.conninfo_to_dict(new_migrated_database("postgres"))["dbname"]
    return pg_server.dsn(dbname, user="eco_ro")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_callers_share_one_probe():
    calls = 0

    async def check():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return None

    probe = HealthProbe(check)
    results = await asyncio.gather(*[probe.result() for _ in range(50)])
    assert calls == 1 and probe.probes == 1
    assert all(r.ok for r in results) and len({id(r) for r in results}) == 1


async def test_an_outcome_stands_for_max_age_then_a_new_probe_runs():
    clock = Clock()
    answers = [None, DataError(ErrorCode.DB_CONN, "down")]

    async def check():
        return answers.pop(0)

    probe = HealthProbe(check, max_age_s=2.0, timer=clock)
    assert (await probe.result()).ok
    clock.now += 1.9
    assert (await probe.result()).ok and probe.probes == 1  # cached: no round trip
    clock.now += 0.2
    down = await probe.result()
    assert not down.ok and down.error.code == ErrorCode.DB_CONN and probe.probes == 2


async def test_a_cancelled_caller_leaves_the_probe_to_the_others():
    started = asyncio.Event()

    async def check():
        started.set()
        await asyncio.sleep(0.1)
        return None

    probe = HealthProbe(check)
    first = asyncio.create_task(probe.result())
    await started.wait()
    second = asyncio.create_task(probe.result())
    first.cancel()
    assert (await second).ok and probe.probes == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_repository_probe_answers_and_is_shared(ro_dsn, make_repo):
    repo = make_repo(ro_dsn)
    sent = []
    fetch = repo.db.fetch

    async def counted(sql, args=(), timeout_s=None):
        sent.append(sql)
        return await fetch(sql, args, timeout_s=timeout_s)

    repo.db.fetch = counted
    results = await asyncio.gather(*[repo.probe() for _ in range(20)])
    assert all(r.ok for r in results)
    assert len(sent) == 1 and "SELECT 1" in sent[0]


async def test_repository_probe_of_a_stopped_server_is_db_conn_then_recovers(ro_dsn, make_repo, pg_server,
                                                                               ksys_events):
    if pg_server.cluster is None:
        pytest.skip("needs the test run's own cluster (KSYS_TEST_DSN points elsewhere)")
    repo = make_repo(ro_dsn)
    assert (await repo.probe()).ok
    pg_server.cluster.stop()
    try:
        repo._probe._last = None  # the outcome stands ~2 s; a test need not wait for it
        down = await repo.probe()
        assert down.error is not None and down.error.code == ErrorCode.DB_CONN and not down.error.permanent
        assert not repo.db_healthy
    finally:
        pg_server.cluster.start()
    repo._probe._last = None
    assert (await repo.probe()).ok and repo.db_healthy
    events = [e["event"] for e in ksys_events() if e["event"] in ("db_fail", "db_recover")]
    assert events == ["db_fail", "db_recover"]


async def test_repository_probe_of_an_unreachable_server_fails_within_its_timeout(make_repo):
    from ksys_dev.localpg import free_port

    closed = f"postgresql://eco_ro@127.0.0.1:{free_port()}/ksys"   # nothing listens there
    got = await make_repo(closed).probe()
    assert got.error is not None and got.error.code == ErrorCode.DB_CONN


async def test_unconfigured_repository_gives_no_verdict():
    from ksys_app.data.repository import UnconfiguredRepository

    assert await UnconfiguredRepository("TS_DSN is not set").probe() is None
