"""Shared fixtures: one throwaway PostgreSQL cluster per test run, a fresh database per test.

KSYS_TEST_DSN=postgresql://admin@host:port/postgres points the suite at an existing
server instead (it must allow CREATE DATABASE). Tests marked `timescaledb` run only
where the extension is installed; everything else runs on plain PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from ksys_dev.localpg import LocalCluster, available_libraries, free_port
from ksys_app.ops.schema.migrate import migrate


@dataclass
class TestServer:
    admin_dsn: str                       # superuser DSN to the maintenance database
    cluster: LocalCluster | None         # None when KSYS_TEST_DSN is used
    has_timescaledb: bool
    has_pg_cron: bool

    def dsn(self, dbname: str, user: str | None = None) -> str:
        extra = {"user": user} if user else {}
        return make_conninfo(self.admin_dsn, dbname=dbname, **extra)


def _probe(admin_dsn: str) -> tuple[bool, bool]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        avail = {r[0] for r in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name IN ('timescaledb', 'pg_cron')")}
    return ("timescaledb" in preload and "timescaledb" in avail,
            "pg_cron" in preload and "pg_cron" in avail)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    external = os.environ.get("KSYS_TEST_DSN")
    if external:
        yield TestServer(external, None, *_probe(external))
        return
    base = Path(tempfile.mkdtemp(prefix="ksys-test-pg-"))
    os.chmod(base, 0o755)  # the server runs as an unprivileged account when we are root
    cluster = LocalCluster(base / "data", free_port(), fast=True)
    cluster.init()
    cluster.start()
    try:
        admin = cluster.dsn(dbname="postgres")
        yield TestServer(admin, cluster, *_probe(admin))
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def unschedule_cron(server: TestServer, name: str) -> None:
    """Remove pg_cron's tick of database `name` (tests that count their own ticks)."""
    if server.has_pg_cron and server.cluster is not None:
        with psycopg.connect(server.dsn(server.cluster.database), autocommit=True) as cron:
            if cron.execute("SELECT to_regclass('cron.job') IS NOT NULL").fetchone()[0]:
                cron.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE database = %s", (name,))


def drop_database(server: TestServer, name: str) -> None:
    unschedule_cron(server, name)
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_database(pg_server: TestServer) -> Iterator[Callable[[], str]]:
    """Factory: each call creates an empty database and returns its superuser DSN."""
    created: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return pg_server.dsn(name)

    yield make
    for name in created:
        drop_database(pg_server, name)


ENGINES = ["postgres", "timescaledb"]


@pytest.fixture(params=ENGINES)
def engine(request, pg_server: TestServer) -> str:
    if request.param == "timescaledb" and not pg_server.has_timescaledb:
        pytest.skip("timescaledb extension not installed on this server")
    return request.param


@pytest.fixture
def migrated_dsn(new_database, engine) -> str:
    dsn = new_database()
    migrate(dsn, engine=engine, out=lambda _line: None)
    return dsn
