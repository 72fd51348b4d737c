"""Fixtures of the data-layer tests: a seeded database per engine, repositories as eco_ro."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Iterator

import psycopg
import pytest

from ksys_app.config import Settings
from ksys_app.data.repository import Repository
from tests.conftest import ENGINES, drop_database
from tests.data import seed


def ro_settings(dsn: str, **overrides: Any) -> Settings:
    """Settings for the read-only role, ignoring any .env of the developer's checkout."""
    overrides.setdefault("tz", "Asia/Seoul")  # the tests' expectations are Seoul days and times
    return Settings(_env_file=None, ts_dsn=dsn, **overrides)  # type: ignore[call-arg]


@pytest.fixture(scope="session", params=ENGINES)
def seeded(request, pg_server, migrated_templates) -> Iterator[seed.Seeded]:
    """One migrated, seeded and refreshed database per engine, shared by the data tests."""
    engine = request.param
    if engine == "timescaledb" and not pg_server.has_timescaledb:
        pytest.skip("timescaledb extension not installed on this server")
    name = f"t_seed_{engine[:2]}_{uuid.uuid4().hex[:8]}"
    try:
        admin = migrated_templates.clone(engine, name)
        now = datetime.now(timezone.utc)
        local_today = now.astimezone(seed.SEOUL).date()
        comm_start = local_today - timedelta(days=seed.COMM_START_DAYS_AGO)
        with psycopg.connect(admin, autocommit=True) as conn:
            if engine == "timescaledb":
                seed.pause_timescaledb_policies(conn)
            seed.insert_master_data(conn)
            rows = seed.readings(now, comm_start)
            seed.insert_readings(conn, rows)
            seed.refresh_spans(conn, rows)
        yield seed.Seeded(
            engine=engine, dbname=name, admin_dsn=admin, ro_dsn=pg_server.dsn(name, user="eco_ro"),
            now=now, minute=now.replace(second=0, microsecond=0), comm_start=comm_start,
            comm_base=seed.local_midnight(comm_start + timedelta(days=2)),
        )
    finally:
        drop_database(pg_server, name)


def count_statements(repo: Repository) -> list[str]:
    """The SQL of every statement `repo` sends from now on (Database.fetch still runs each one)."""
    sent: list[str] = []
    fetch = repo.db.fetch

    async def counted(sql: str, args: Any = ()) -> Any:
        sent.append(sql)
        return await fetch(sql, args)

    repo.db.fetch = counted  # type: ignore[method-assign]
    return sent


@pytest.fixture
async def make_repo() -> AsyncIterator[Callable[..., Repository]]:
    """Factory: Repository(ro_settings(dsn, **overrides)); pools are closed after the test."""
    made: list[Repository] = []

    def make(dsn: str, **overrides: Any) -> Repository:
        # Correctness tests get a generous statement timeout: on TimescaleDB the
        # first policy runs (compression, cagg refresh) start on the minute after
        # migration and can hold locks for longer than the app's 900 ms, which is
        # the DB_TIMEOUT path tested on its own in test_failures.py.
        overrides.setdefault("statement_timeout_ms", 10_000)
        repo = Repository(ro_settings(dsn, **overrides))
        made.append(repo)
        return repo

    yield make
    for repo in made:
        await repo.close()


@pytest.fixture
def ksys_events(caplog) -> Callable[[], list[dict]]:
    """Parsed JSON events logged on "ksys" during the test."""
    import json

    caplog.set_level(logging.DEBUG, logger="ksys")

    def events() -> list[dict]:
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == "ksys"]

    return events
