"""`make demo`: the dashboard on a local PostgreSQL filled by the simulator.

Starts (or reuses) a cluster under KSYS_DATA_DIR (default .ksys/), migrates,
backfills 30 days (only what is missing on a re-run: the simulator gap-fills
the time the demo was down), then runs the live simulator, the worker where no
pg_cron exists, and the dashboard in production mode on KSYS_PORT (default
3000). Ctrl-C stops everything. KSYS_DEMO_EXIT_AFTER_READY=1 exits 0 once `/`
has served data, for CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ksys_app.ops.errors import OpsError
from ksys_app.ops.runtime import frontend
from ksys_app.ops.schema.migrate import migrate
from ksys_app.retry import poll
from ksys_dev.localpg import LocalCluster, free_port, port_in_use

DEMO_DAYS = int(os.environ.get("KSYS_DEMO_DAYS", "30"))
READY_TIMEOUT_S = 600


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


class DemoLock:
    """One demo per data folder; a lock left by a dead process is taken over."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "DemoLock":
        if self.path.exists():
            try:
                pid = int(self.path.read_text().strip() or 0)
            except ValueError:
                pid = 0
            if pid and _alive(pid) and pid != os.getpid():
                raise OpsError(f"another demo (pid {pid}) is using {self.path.parent}; stop it first "
                               "or set KSYS_DATA_DIR to another folder")
            _say(f"removing a stale lock left by pid {pid or '?'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(str(os.getpid()))
        return self

    def __exit__(self, *_exc) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cluster(data: Path) -> LocalCluster:
    port_file = data / "pg.port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    cluster = LocalCluster(data / "pg", port)
    if cluster.running:
        _say(f"reusing the running PostgreSQL on port {port}")
        return cluster
    if port_in_use(port):  # our saved port was taken by something else meanwhile
        cluster.port = free_port()
    if not cluster.initialized:
        if cluster.data_dir.exists():
            _say("the data folder was left half-initialized; starting it afresh")
        _say(f"creating a PostgreSQL cluster in {cluster.data_dir} ({cluster.bin_dir})")
        os.chmod(data, 0o755)
        cluster.init()
    cluster.start()
    port_file.write_text(str(cluster.port))
    _say(f"PostgreSQL {cluster.bin_dir.parent.name} on 127.0.0.1:{cluster.port}")
    return cluster


def _ksys(*args: str) -> list[str]:
    return [sys.executable, "-m", "ksys_app.ops.cli", *args]


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    handle = open(log, "a")
    return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=frontend.PROJECT_ROOT,
                            env=env, start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _check_running(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is not None:
            raise OpsError(f"a demo process exited early ({' '.join(proc.args[3:5])}); see .ksys/logs/")


def _wait_ready(port: int, procs: list[subprocess.Popen], timeout_s: float = READY_TIMEOUT_S) -> dict:
    """Wait until the dashboard's health endpoint reports data for every simulated tag."""
    url = f"http://127.0.0.1:{port}/api/health"
    last = ["no answer yet"]

    def serving() -> dict | None:
        _check_running(procs)
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                health = json.load(resp)
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last[0] = str(exc)
            return None
        if health.get("db") == "ok" and health.get("tags", 0) > 0:
            return health
        last[0] = json.dumps(health)
        return None

    health = poll(serving, timeout_s, every_s=1)
    if not health:
        raise OpsError(f"the dashboard did not serve data within {timeout_s:.0f} s ({last[0]})")
    return health


def _wait_current(dsn: str, procs: list[subprocess.Popen], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until every derived relation is within its lag target (ksys doctor's measure)."""
    from ksys_app.ops.db import connect
    from ksys_app.ops.schema.doctor import measure_freshness

    said = [0.0]
    behind: list[str] = []

    def current() -> bool:
        _check_running(procs)
        with connect(dsn) as conn:
            behind[:] = [f"{f.relation} {f.lag}" for f in measure_freshness(conn)
                         if f.lag is not None and f.lag > f.target]
        if behind and time.monotonic() - said[0] > 5:
            _say("waiting for derived data to catch up: " + ", ".join(behind))
            said[0] = time.monotonic()
        return not behind

    if poll(current, timeout_s, every_s=1):
        return
    raise OpsError(f"derived data did not catch up within {timeout_s:.0f} s: {', '.join(behind)}; "
                   "see `ksys doctor` and .ksys/logs/")


def _check_page(port: int, expected_tags: int) -> int:
    """Load `/` in Chromium when it is available and count the KPI tiles."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return -1
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        return -1
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function(f"document.querySelectorAll('[data-testid=kpi-tile]').length >= {expected_tags}",
                               timeout=60_000)
        tiles = page.locator("[data-testid=kpi-tile]").count()
        browser.close()
    return tiles


def run_demo() -> int:
    data = frontend.data_dir()
    port = int(os.environ.get("KSYS_PORT", "3000"))
    exit_after_ready = os.environ.get("KSYS_DEMO_EXIT_AFTER_READY") == "1"
    if port_in_use(port):
        raise OpsError(f"port {port} is already in use; set KSYS_PORT to a free port (e.g. KSYS_PORT=3001 make demo)")
    started = time.monotonic()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    with DemoLock(data / "demo.lock"):
        cluster = _cluster(data)
        try:
            admin = cluster.dsn()
            result = migrate(admin, out=lambda line: _say(line))
            _say(f"simulating {DEMO_DAYS} days of readings (only what is missing)...")
            backfill = subprocess.run(_ksys("simulate", "--dsn", admin, "--days", str(DEMO_DAYS)),
                                      cwd=frontend.PROJECT_ROOT)
            if backfill.returncode != 0:
                raise OpsError("the simulator's backfill failed (see above)")
            procs.append(_start(_ksys("simulate", "--dsn", admin, "--follow"), logs / "simulator.log"))
            if result.scheduler == "worker":
                procs.append(_start(_ksys("worker", "--dsn", admin), logs / "worker.log"))
            app_env = dict(os.environ, TS_DSN=cluster.dsn(user="eco_ro"))
            frontend.build_frontend(port, out=_say)
            procs.append(_start(_ksys("serve", "--port", str(port)), logs / "dashboard.log", env=app_env))
            health = _wait_ready(port, procs)
            _wait_current(admin, procs)
            _say(f"dashboard ready in {time.monotonic() - started:.1f} s: http://localhost:{port}/ "
                 f"({health['tags']} tags)")
            if exit_after_ready:
                # what README promises right after "ready": verify finds nothing, doctor's lags in target
                from ksys_app.ops.schema.verify import verify

                report: list[str] = []
                if verify(admin, out=report.append) != 0:
                    raise OpsError("ksys verify found differences right after ready:\n" + "\n".join(report))
                _say(f"ksys verify: {report[-1].splitlines()[-1]} (last 7 days, every derived relation)")
                tiles = _check_page(port, health["tags"])
                if tiles >= 0:
                    _say(f"page / shows {tiles} KPI tiles for {health['tags']} tags")
                    if tiles < health["tags"]:
                        raise OpsError(f"page / shows {tiles} tiles for {health['tags']} tags")
                return 0
            _say("live: simulator, dashboard" + (", worker" if result.scheduler == "worker" else "")
                 + " running; Ctrl-C stops everything")
            while all(p.poll() is None for p in procs):
                time.sleep(1)
            raise OpsError("a demo process stopped; see .ksys/logs/")
        except KeyboardInterrupt:
            _say("stopping...")
            return 0
        finally:
            _stop(procs)
            cluster.stop()


def main() -> int:
    try:
        return run_demo()
    except OpsError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
