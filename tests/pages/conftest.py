"""The dashboard in production mode over a seeded database, driven by Chromium.

Playwright's Python package drives Debian's /usr/bin/chromium (never a browser
download). Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from ksys_app.ops.schema.refresh import refresh_range
from ksys_dev.localpg import free_port
from tests.schema.seed import seed_readings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
SERVER_LOG = ROOT / "test-output" / "e2e-server.log"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Tags seeded for the pages: D100 has 30 days (for /comm) with a known outage.
UNITS = {"D200": "bar"}  # influx_qc_rule.meta.unit: the charts' tooltip writes it after each value
E2E_TAGS = ["D100", "D200", "D300"]
QC_RULES = [
    # tag, min, max, warn_min, warn_max, crit_min, crit_max
    ("D100", 0.0, 200.0, 20.0, 180.0, 10.0, 190.0),
    ("D200", 0.0, 2000.0, 200.0, 1800.0, 100.0, 1900.0),
    ("D300", 0.0, 20000.0, 2000.0, 18000.0, 1000.0, 19000.0),
]

# The pages' live refresh periods for the test server, short so test_live and
# test_live_pages need not wait minutes: the snapshot period (default 60 s) and the
# cache TTLs the pages refresh on (metrics 30 s: KPI tiles, /trend, /tech;
# features 60 s: /trend's features; comm 300 s: /comm).
LIVE_PERIOD_S = 3
# The tag list too (default 300 s): tests that add a tag (MARK1, SOUND1) open it at once.
SERVER_ENV = {"KSYS_CACHE_TTL_TAGS_S": str(LIVE_PERIOD_S),
              "KSYS_SNAPSHOT_PERIOD_S": str(LIVE_PERIOD_S), "KSYS_CACHE_TTL_METRICS_S": str(LIVE_PERIOD_S),
              "KSYS_CACHE_TTL_FEATURES_S": str(LIVE_PERIOD_S), "KSYS_CACHE_TTL_COMM_S": str(LIVE_PERIOD_S),
              "KSYS_CACHE_TTL_ALARMS_S": "2"}


def operator_dsn(pg_server, dbname: str) -> str:
    """The DSN of eco_operator, the role of the alarm actions, on the test cluster."""
    return pg_server.dsn(dbname, user="eco_operator")


@dataclass
class SeededApp:
    url: str
    admin_dsn: str
    app_dsn: str
    outage_start: datetime     # UTC, whole hour: D100 silent for 3 hours from here
    outage_hours: int
    process: subprocess.Popen


def seed_dashboard(conn: psycopg.Connection) -> tuple[datetime, int]:
    now = datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)
    outage_start = hour - timedelta(days=5, hours=7)
    # D100: one reading a minute for 30 days, silent for 3 hours
    seed_readings(conn, ["D100"], hour - timedelta(days=30), now - timedelta(seconds=5), step_s=60, seed=1,
                  gap=(outage_start, outage_start + timedelta(hours=3)))
    # D200, D300: every 10 s for the last 2 days
    seed_readings(conn, ["D200", "D300"], now - timedelta(days=2), now - timedelta(seconds=5), step_s=10, seed=2)
    conn.execute("INSERT INTO ingest_expectation (tag_name, exp_per_min) VALUES ('D100', 1), ('D200', 6), ('D300', 6)")
    for tag, lo, hi, wlo, whi, clo, chi in QC_RULES:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, min_val, max_val, warn_min, warn_max, crit_min, crit_max, "
                     "enabled, meta) VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s)",
                     (tag, lo, hi, wlo, whi, clo, chi, json.dumps({"unit": UNITS[tag]} if tag in UNITS else {})))
    refresh_range(conn, hour - timedelta(days=31), now)
    return outage_start, 3


def wait_http(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer: {last}")


@contextlib.contextmanager
def app_server(app_dsn: str, log_path: Path, env: dict[str, str],
               port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`ksys serve` on `port` (default: a free one) over app_dsn, its output in log_path:
    (url, process)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "a" if port else "w")
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ksys_app.ops.cli", "serve", "--dsn", app_dsn, "--port", str(port),
                             "--host", "127.0.0.1"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **env}, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", timeout_s=300)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
        except ProcessLookupError:  # the test stopped it itself
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="session")
def seeded_app(pg_server, migrated_templates) -> Iterator[SeededApp]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make system-deps`")
    name = "e2e_dashboard"
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin = migrated_templates.clone("postgres", name)
    with psycopg.connect(admin, autocommit=True) as conn:
        outage_start, outage_hours = seed_dashboard(conn)
    app_dsn = pg_server.dsn(name, user="eco_ro")
    # operator actions as eco_operator (the test cluster trusts local logins: no password)
    env = {**SERVER_ENV, "KSYS_OPERATOR_DSN": operator_dsn(pg_server, name)}
    with app_server(app_dsn, SERVER_LOG, env) as (url, proc):
        yield SeededApp(url, admin, app_dsn, outage_start, outage_hours, proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------- page helpers


@pytest.fixture
def db(seeded_app):
    """Autocommit superuser connection to the seeded database (each statement sees now())."""
    with psycopg.connect(seeded_app.admin_dsn, autocommit=True) as conn:
        yield conn


def wait_loaded(page, timeout: float = 20_000) -> None:
    """Until the page's state is hydrated and no read is in flight."""
    page.wait_for_selector("[data-testid=brand]", timeout=timeout)
    page.wait_for_function("document.querySelector('[data-testid=loading]') === null", timeout=timeout)


def select_window(page, code: str) -> None:
    page.select_option("[data-testid=window-select]", code)
    page.wait_for_function(
        "c => document.querySelector('[data-testid=window-select]').value === c"
        " && document.querySelector('[data-testid=loading]') === null", arg=code)


def chart_points(page, testid: str) -> list[int]:
    """Points drawn by each line of a recharts chart (M/L commands of its linear path)."""
    return page.eval_on_selector_all(
        f"[data-testid={testid}] .recharts-line-curve",
        "els => els.map(e => ((e.getAttribute('d') || '').match(/[ML]/g) || []).length)")


def table_rows(page, testid: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"[data-testid={testid}] tbody tr",
        "rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(td => td.innerText.trim()))")


def server_events(event: str, log_path: Path = SERVER_LOG) -> list[dict]:
    """JSON event lines of the e2e server log (or another server's) with this event name."""
    out = []
    if not log_path.exists():
        return out
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("event") == event:
                out.append(obj)
    return out


def goto_new_tag(page, url: str, tag: str, timeout_s: float = 4 * LIVE_PERIOD_S) -> None:
    """Open a page for a tag the test has just written: the server's tag list is cached for
    LIVE_PERIOD_S, so until it refreshes the page falls back to the first known tag. Reload
    until the page shows the tag. The tag picker says which tag the page took: the address
    bar still holds the requested one until the page's script rewrites it."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        wait_loaded(page)
        page.wait_for_function("(document.querySelector('[data-testid=tag-select]') || {}).value",
                               timeout=10_000)
        shown = page.locator("[data-testid=tag-select]").input_value()
        if shown == tag or time.monotonic() > deadline:
            break
        # the next load in a new session (Reflex keeps its token in sessionStorage): nothing of
        # the fallback tag's view (its alarm areas, a live loop reading it) carries over
        page.evaluate("window.sessionStorage.clear()")
        page.wait_for_timeout(1000)
    assert shown == tag, f"the tag list never knew {tag}: the page shows {shown} ({page.url})"
    wait_url(page, f"tag={tag}")


def wait_url(page, fragment: str, timeout: float = 10_000) -> None:
    """Until the address bar holds `fragment` (pages rewrite it with history.replaceState)."""
    page.wait_for_function("f => location.href.includes(f)", arg=fragment, timeout=timeout)


def wait_chart(page, testid: str, lines: int | None = None, timeout: float = 15_000) -> None:
    """Until the chart has drawn (`lines` lines, when given) and every line has as many
    points as the chart's data (recharts lays out after the state update arrives)."""
    page.wait_for_function(
        """([t, n]) => {
             const c = document.querySelector(`[data-testid=${t}]`);
             if (!c) return false;
             if (n !== null && c.querySelectorAll('.recharts-line').length !== n) return false;
             const pts = Number(c.getAttribute('data-points'));
             const curves = Array.from(c.querySelectorAll('.recharts-line-curve'));
             return curves.length > 0 && curves.every(
               e => ((e.getAttribute('d') || '').match(/[ML]/g) || []).length === pts);
           }""", arg=[testid, lines], timeout=timeout)
