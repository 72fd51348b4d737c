"""The dashboard served from a streaming replica (issue 19): the pages read the hot standby,
and the navbar says it is a replica and how far behind the primary it is, within a few
seconds of its replay pausing and of it catching up again."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg
import pytest

from ksys_dev.localpg import temporary_replica
from tests.pages.conftest import ROOT, SERVER_ENV, app_server, screenshot, wait_loaded

pytestmark = pytest.mark.e2e

TAG = "REPLPAGE"
LOG = ROOT / "test-output" / "e2e-replica.log"


@pytest.fixture(scope="module")
def replica_app(pg_server, seeded_app):
    if pg_server.cluster is None:
        pytest.skip("KSYS_TEST_DSN names an external server: no cluster to make a replica of")
    dbname = psycopg.conninfo.conninfo_to_dict(seeded_app.app_dsn)["dbname"]
    with temporary_replica(pg_server.cluster) as standby, \
            app_server(standby.dsn(dbname, user="eco_ro"), LOG, SERVER_ENV) as (url, _proc):
        yield url, standby, dbname


def _note(page) -> str:
    loc = page.locator("[data-testid=db-replica]")
    return loc.inner_text().strip(" ·") if loc.count() else ""


def test_the_navbar_shows_the_replicas_lag(seeded_app, page, replica_app):
    url, standby, dbname = replica_app
    page.goto(url + "/")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=kpi-tile]")  # the reads answer from the replica
    page.wait_for_function("() => (document.querySelector('[data-testid=db-replica]') || {}).innerText"
                           "?.includes('up to date')", timeout=15_000)
    assert page.get_attribute("[data-testid=db-status]", "data-status") == "ok"
    with psycopg.connect(standby.dsn(dbname), autocommit=True) as replica, \
            psycopg.connect(seeded_app.admin_dsn, autocommit=True) as primary:
        # a transaction the replica has replayed, so its replay has a time to be behind from
        # (a replica that replayed none since it started says "lag unknown" while behind)
        primary.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, 0.0)",
                        (datetime(2020, 1, 1, tzinfo=timezone.utc), TAG))
        deadline = time.monotonic() + 30
        while not replica.execute("SELECT count(*) FROM influx_hist WHERE tag_name = %s", (TAG,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the replica never replayed the primary's write"
            time.sleep(0.2)
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            time.sleep(1.5)
            primary.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, 1.0)",
                            (datetime.now(timezone.utc), TAG))
            t0 = time.monotonic()
            page.wait_for_function("() => / s behind/.test((document.querySelector('[data-testid=db-replica]')"
                                   " || {}).innerText || '')", timeout=15_000)
            shown_after_s = time.monotonic() - t0
            screenshot(page, "replica-behind")
            assert shown_after_s < 5, f"the lag showed {shown_after_s:.1f} s after the replay paused"
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
            page.wait_for_function("() => (document.querySelector('[data-testid=db-replica]') || {}).innerText"
                                   "?.includes('up to date')", timeout=15_000)
            primary.execute("DELETE FROM influx_hist WHERE tag_name = %s", (TAG,))
    assert "Traceback" not in LOG.read_text(errors="replace")


def test_a_primary_shows_no_replica_note(seeded_app, page):
    page.goto(seeded_app.url + "/")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=kpi-tile]")
    page.wait_for_timeout(3000)  # a probe or two
    assert _note(page) == ""
