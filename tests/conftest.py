"""Shared fixtures: one throwaway PostgreSQL cluster per test run, a fresh database per test.

KSYS_TEST_DSN=postgresql://admin@host:port/postgres points the suite at an existing
server instead (it must allow CREATE DATABASE). Tests marked `timescaledb` run only
where the extension is installed; everything else runs on plain PostgreSQL.

Migrated databases are clones: each engine's migrations run once per session, into
a template database nobody connects to, and every test gets `CREATE DATABASE ..
TEMPLATE` of it plus what a clone does not inherit from its template (see
`MigratedTemplates.clone`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.probe import probe
from ksys_app.ops.schema.schedule import cron_job_name, ensure_schedule
from ksys_dev.localpg import LocalCluster, free_port

STOPS_DATABASE = "stops_database"

# Hypothesis (the fuzz tests: tests/fuzz, tests/pages/test_fuzz_*.py): seeded, so a run is
# reproducible and a failure comes back on the next run; no deadline (a page load or a
# database round trip is slow next to a pure function, and timings are not asserted); no
# example database written into the work tree (what Hypothesis still keeps, a cache of the
# source's constants, goes to test-output/, which git ignores). Each test bounds its own examples with
# fuzz_settings(n); KSYS_FUZZ_SCALE multiplies them for a deeper run (`KSYS_FUZZ_SCALE=10`).
settings.register_profile(
    "ksys", derandomize=True, deadline=None, database=None, max_examples=50, print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.load_profile("ksys")
set_hypothesis_home_dir(Path(__file__).resolve().parents[1] / "test-output" / "hypothesis")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{STOPS_DATABASE}: stops the session's shared cluster; runs after every other test")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked stops_database go last, in their collected order: every other test
    (and every session fixture, such as the e2e app) expects the shared cluster to be up."""
    items[:] = ([i for i in items if i.get_closest_marker(STOPS_DATABASE) is None]
                + [i for i in items if i.get_closest_marker(STOPS_DATABASE) is not None])


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


def _quiet(_line: str) -> None:
    pass


@dataclass
class MigratedTemplates:
    """One migrated template database per engine, made on first use, dropped with the session."""

    server: TestServer
    names: dict[str, str] = field(default_factory=dict)

    def template(self, engine: str) -> str:
        if engine not in self.names:
            self.names[engine] = self._make(engine)
        return self.names[engine]

    def _make(self, engine: str) -> str:
        name = f"t_template_{engine}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsn = self.server.dsn(name)
        try:
            migrate(dsn, engine=engine, out=_quiet)
            with psycopg.connect(dsn, autocommit=True) as conn:
                info = probe(conn)
            if info.pg_cron_usable:
                # migrate() scheduled pg_cron's minute tick here: a template must stay idle
                with psycopg.connect(self.server.dsn(info.cron_database), autocommit=True) as cron:
                    cron.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = %s",
                                 (cron_job_name(name),))
            self._freeze(name)
        except BaseException:
            self.drop(name)
            raise
        return name

    def _freeze(self, name: str) -> None:
        """No new sessions (TimescaleDB's scheduler, pg_cron), then none left: a template must be idle.

        A session inside a transaction (a pg_cron tick, a TimescaleDB policy run that started
        before the lock-out) is let finish, so that the template records no half-done job run."""
        with psycopg.connect(self.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
            deadline = time.monotonic() + 60
            while True:
                sessions = conn.execute(
                    "SELECT pid, xact_start IS NOT NULL FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type <> 'autovacuum worker'", (name,)).fetchall()
                if not sessions:
                    return
                if not any(in_transaction for _pid, in_transaction in sessions) or time.monotonic() > deadline:
                    for pid, _in_transaction in sessions:
                        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                time.sleep(0.1)

    def clone(self, engine: str, name: str) -> str:
        """CREATE DATABASE name TEMPLATE (engine's template), then what a clone does not inherit:
        the database's ACL (migrations GRANT CONNECT on it), the pg_cron job of the database
        that migrate() schedules in the cron database, and TimescaleDB's job scheduler.
        Returns the clone's superuser DSN; tests/schema/test_harness_smoke.py compares a clone
        with a database migrate() made."""
        template = self.template(engine)
        with psycopg.connect(self.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                          sql.Identifier(template)))
            grants = conn.execute(
                "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
                "  FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee"
                " WHERE d.datname = %s ORDER BY a.grantee <> 0, a.grantee, a.privilege_type", (template,)).fetchall()
            # a new database starts with the default ACL (PUBLIC may CONNECT and TEMP): start
            # from nothing, so the clone's ACL is exactly the template's
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
            for grantee, privilege in grants:
                conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                    sql.SQL(privilege), sql.Identifier(name),
                    sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)))
        dsn = self.server.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            ensure_schedule(conn, dsn, probe(conn), _quiet)   # the last step of migrate()
            # TimescaleDB's launcher starts a database's job scheduler on CREATE EXTENSION,
            # never for a database that comes with the extension already in it
            starter = conn.execute(
                "SELECT coalesce(to_regprocedure('_timescaledb_functions.start_background_workers()'),"
                "                to_regprocedure('_timescaledb_internal.start_background_workers()'))::text "
                "WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')").fetchone()
            if starter and starter[0]:
                conn.execute(f"SELECT {starter[0]}")
        return dsn

    def drop(self, name: str) -> None:
        with psycopg.connect(self.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def drop_all(self) -> None:
        for name in self.names.values():
            self.drop(name)
        self.names.clear()


@pytest.fixture(scope="session")
def migrated_templates(pg_server: TestServer) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(pg_server)
    yield templates
    templates.drop_all()


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


@pytest.fixture
def new_migrated_database(pg_server: TestServer, migrated_templates: MigratedTemplates) -> Iterator[Callable[[str], str]]:
    """Factory: each call returns the superuser DSN of a new database as
    `migrate(dsn, engine=engine)` leaves it (a clone of the engine's template)."""
    created: list[str] = []

    def make(engine: str) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        created.append(name)
        return migrated_templates.clone(engine, name)

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
def migrated_dsn(new_migrated_database, engine) -> str:
    return new_migrated_database(engine)


PASSWORD_ROLE = "ksys_pw_login"
PASSWORD = "right-password"


@pytest.fixture(scope="session")
def password_role(pg_server: TestServer) -> tuple[str, str]:
    """(role, password) of a role that must give its password over TCP (scram-sha-256), for
    tests of a wrong password: the session cluster trusts every other login."""
    if pg_server.cluster is None:
        pytest.skip("needs the test run's own cluster, whose pg_hba.conf it edits")
    from ksys_app.retry import poll

    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(PASSWORD_ROLE), sql.Literal(PASSWORD)))
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        line = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if line not in text:
            hba.write_text(line + text)  # first match wins: before the trust lines
        conn.execute("SELECT pg_reload_conf()")

    def refused() -> bool:  # the reload is asynchronous
        try:
            psycopg.connect(make_conninfo(pg_server.admin_dsn, user=PASSWORD_ROLE, password="wrong"),
                            connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            return "password authentication failed" in str(exc)
        return False

    assert poll(refused, timeout_s=10, every_s=0.2), "pg_hba.conf reload did not take effect"
    return PASSWORD_ROLE, PASSWORD
