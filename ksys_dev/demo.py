"""`make demo`: the dashboard on a local PostgreSQL filled by the simulator.

Starts (or reuses) a cluster under KSYS_DATA_DIR (default .ksys/), migrates,
backfills 30 days (only what is missing on a re-run: the simulator gap-fills
the time the demo was down), then runs the live simulator, the worker where no
pg_cron exists, and the dashboard in production mode on KSYS_PORT (default
3000). Ctrl-C, SIGTERM and SIGHUP stop everything it started (the children run
in sessions of their own, so each is stopped here, then PostgreSQL); SIGHUP is
left alone under nohup. A step that prints nothing for 5 s gets a progress
line. KSYS_DEMO_EXIT_AFTER_READY=1 exits 0 once `/` has served data, for CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ksys_app.ops.errors import OpsError
from ksys_app.ops.runtime import frontend
from ksys_app.ops.schema.migrate import migrate
from ksys_app.retry import poll
from ksys_dev.localpg import LocalCluster, free_port, port_in_use

DEMO_DAYS = int(os.environ.get("KSYS_DEMO_DAYS", "30"))
READY_TIMEOUT_S = 600


QUIET_S = 5.0      # a step silent for this long gets a progress line...
REPEAT_S = 10.0    # ...and another one after each further silence this long
STOP_WAIT_S = 15   # per child: SIGTERM, then SIGKILL after this long


class Progress:
    """Prints the demo's lines; while a step runs, says it is still running when
    nothing was printed for QUIET_S (a month's refresh can be silent for a minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._step: str | None = None
        self._step_t0 = 0.0
        self._last = time.monotonic()
        self._quiet_for = QUIET_S
        self._thread: threading.Thread | None = None

    def line(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)
            self._last, self._quiet_for = time.monotonic(), QUIET_S

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        with self._lock:
            self._step, self._step_t0 = what, time.monotonic()
            self._last, self._quiet_for = self._step_t0, QUIET_S
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="demo-progress", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._step = None

    def _watch(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                now = time.monotonic()
                if self._step is None or now - self._last < self._quiet_for:
                    continue
                print(f"[demo] {self._step}: still running ({now - self._step_t0:.0f} s)", flush=True)
                self._last, self._quiet_for = now, REPEAT_S


PROGRESS = Progress()


def _say(message: str) -> None:
    PROGRESS.line(f"[demo] {message}")


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop like Ctrl-C does."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame) -> None:
    raise Stopped(signum)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Stopped (a KeyboardInterrupt) in the main thread, so
    the same cleanup runs as for Ctrl-C. SIGHUP ignored at start (nohup) stays ignored."""
    previous = {}
    for sig in STOP_SIGNALS:
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        previous[sig] = signal.signal(sig, _raise_stopped)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def no_interruptions() -> Iterator[None]:
    """While stopping: a second Ctrl-C or SIGTERM must not cut the cleanup short."""
    sigs = (signal.SIGINT, *STOP_SIGNALS)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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


def _cluster_of(data: Path) -> LocalCluster:
    """The demo's cluster (not started): its folder and the port it used last."""
    port_file = data / "pg.port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    return LocalCluster(data / "pg", port)


def _start_cluster(cluster: LocalCluster, data: Path) -> LocalCluster:
    port_file = data / "pg.port"
    port = cluster.port
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
    port_file.write_text(str(cluster.port))
    cluster.start()
    _say(f"PostgreSQL {cluster.bin_dir.parent.name} on 127.0.0.1:{cluster.port}")
    return cluster


def _ksys(*args: str) -> list[str]:
    return [sys.executable, "-m", "ksys_app.ops.cli", *args]


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A long-running child in a session of its own: only the demo stops it (and its children)."""
    with open(log, "a") as handle:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=frontend.PROJECT_ROOT,
                                env=env, start_new_session=True)


def _run_shown(cmd: list[str], procs: list[subprocess.Popen]) -> int:
    """Run a child to its end, its output shown as demo lines (so the progress line knows it spoke).
    It is in `procs` while it runs: a stop in the meantime stops it too."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1, cwd=frontend.PROJECT_ROOT,
                            start_new_session=True)
    procs.append(proc)
    assert proc.stdout is not None
    for line in proc.stdout:
        PROGRESS.line(line.rstrip("\n"))
    code = proc.wait()
    procs.remove(proc)
    proc.stdout.close()
    return code


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to each child's process group, then SIGKILL to any still there after STOP_WAIT_S."""
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc, signal.SIGKILL)  # the group's stragglers (a worker of the dashboard)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    procs.clear()


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


def _check_page(port: int, expected_tags: int, operator: tuple[str, str] | None = None) -> int:
    """Load `/` in Chromium when it is available and count the KPI tiles; with an operator,
    also log in as it and acknowledge one alarm on /alarms (README's promise of the demo)."""
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
        if operator is not None:
            _acknowledge_one(page, port, *operator)
        browser.close()
    return tiles


def _acknowledge_one(page, port: int, name: str, password: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/login?next=/alarms")
    page.fill("[data-testid=login-name]", name)
    page.fill("[data-testid=login-password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector(f"[data-testid=auth-operator][data-operator={name}]", timeout=30_000)
    page.wait_for_selector("[data-testid=ack-btn]", timeout=30_000)
    page.locator("[data-testid=ack-btn]").first.click()
    page.wait_for_selector("[data-testid=action-message-text]", timeout=30_000)
    said = page.inner_text("[data-testid=action-message-text]")
    if "acknowledged" not in said:
        raise OpsError(f"acknowledging an alarm on /alarms as {name} said: {said}")
    _say(f"/alarms: logged in as {name} and acknowledged an alarm ({said})")


def _start_broker(data: Path):
    """The demo's own Mosquitto (persistent in the data folder, a free port on 127.0.0.1),
    or None where mosquitto is not installed: then the simulator writes the database itself."""
    from ksys_dev.mosquitto import Mosquitto, find_mosquitto

    if find_mosquitto() is None:
        _say("mosquitto is not installed: live readings go straight to the database (scripts/install-system-deps.sh)")
        return None
    (data / "mqtt").mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(base=data / "mqtt").start()
    _say(f"Mosquitto on {broker.url}: live readings go simulator -> MQTT -> ksys ingest -> database")
    return broker


DEMO_OPERATOR = "demo"


def ensure_demo_operator(admin: str, data: Path) -> tuple[str, str]:
    """The demo's one operator and its password, kept in the data folder (mode 600) so a
    second run logs in with the same one; made anew if the file was lost."""
    import secrets

    from ksys_app.ops.alarmops import operators

    saved = data / "demo-operator.txt"
    password = saved.read_text().strip() if saved.exists() else ""
    names = {row.name for row in operators.listing(admin)}
    if DEMO_OPERATOR in names and password:
        return DEMO_OPERATOR, password
    password = secrets.token_urlsafe(9)
    if DEMO_OPERATOR in names:
        operators.set_password(admin, DEMO_OPERATOR, password)
    else:
        operators.add(admin, DEMO_OPERATOR, "Demo operator", password)
    saved.write_text(password + "\n")
    saved.chmod(0o600)
    return DEMO_OPERATOR, password


def run_demo() -> int:
    data = frontend.data_dir()
    port = int(os.environ.get("KSYS_PORT", "3000"))
    # this machine only: a demo has no reason to be reachable from the network
    # (KSYS_HOST=0.0.0.0 opens it to the LAN, README "Two commands")
    host = os.environ.get("KSYS_HOST", "127.0.0.1")
    exit_after_ready = os.environ.get("KSYS_DEMO_EXIT_AFTER_READY") == "1"
    if port_in_use(port):
        raise OpsError(f"port {port} is already in use; set KSYS_PORT to a free port (e.g. KSYS_PORT=3001 make demo)")
    started = time.monotonic()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    broker = None
    with stop_signals(), DemoLock(data / "demo.lock"):
        cluster = _cluster_of(data)
        try:
            with PROGRESS.step("starting PostgreSQL"):
                _start_cluster(cluster, data)
            admin = cluster.dsn()
            with PROGRESS.step("migrating"):
                result = migrate(admin, out=lambda line: _say(line))
            _say(f"simulating {DEMO_DAYS} days of readings (only what is missing)...")
            with PROGRESS.step(f"simulating {DEMO_DAYS} days and recomputing the derived data"):
                code = _run_shown(_ksys("simulate", "--dsn", admin, "--days", str(DEMO_DAYS)), procs)
            if code != 0:
                raise OpsError("the simulator's backfill failed (see above)")
            broker = _start_broker(data)
            if broker is None:
                procs.append(_start(_ksys("simulate", "--dsn", admin, "--follow"), logs / "simulator.log"))
            else:  # the plant's path: simulator -> Mosquitto -> ksys ingest (as eco_writer) -> influx_hist
                procs.append(_start(_ksys("ingest", "--dsn", cluster.dsn(user="eco_writer"), "--broker", broker.url,
                                          "--topic", "ksys/#", "--client-id", "ksys-demo-ingest",
                                          "--spool-dir", str(data / "ingest-spool")), logs / "ingest.log"))
                procs.append(_start(_ksys("simulate", "--dsn", admin, "--follow", "--mqtt", broker.url),
                                    logs / "simulator.log"))
            if result.scheduler == "worker":
                procs.append(_start(_ksys("worker", "--dsn", admin), logs / "worker.log"))
            operator, password = ensure_demo_operator(admin, data)
            # the pages read as eco_ro and act for logged-in operators as eco_operator
            app_env = dict(os.environ, TS_DSN=cluster.dsn(user="eco_ro"),
                           KSYS_OPERATOR_DSN=cluster.dsn(user="eco_operator"))
            with PROGRESS.step("building the frontend"):
                frontend.build_frontend(port, out=_say)
            procs.append(_start(_ksys("serve", "--port", str(port), "--host", host), logs / "dashboard.log", env=app_env))
            with PROGRESS.step("starting the dashboard"):
                health = _wait_ready(port, procs)
            with PROGRESS.step("waiting for the derived data to catch up"):
                _wait_current(admin, procs)
            where = (f"http://localhost:{port}/" if host in ("127.0.0.1", "localhost") else
                     f"http://<this machine's address>:{port}/ (listening on {host})")
            _say(f"dashboard ready in {time.monotonic() - started:.1f} s: {where} ({health['tags']} tags)")
            _say(f"alarms: {where}alarms; log in as {operator} with password {password} "
                 f"(kept in {data / 'demo-operator.txt'}; `ksys operator add` makes more)")
            if exit_after_ready:
                _check_after_ready(admin, port, health, (operator, password), through_mqtt=broker is not None)
                return 0
            _say("live: simulator, " + ("Mosquitto, ingest, " if broker is not None else "") + "dashboard"
                 + (", worker" if result.scheduler == "worker" else "")
                 + " running; Ctrl-C (or SIGTERM, SIGHUP) stops everything")
            while all(p.poll() is None for p in procs):
                time.sleep(1)
            raise OpsError("a demo process stopped; see .ksys/logs/")
        except KeyboardInterrupt as exc:   # Ctrl-C, or Stopped by SIGTERM / SIGHUP
            _say(f"stopping ({exc.args[0] if isinstance(exc, Stopped) else 'Ctrl-C'})...")
            return 0
        finally:
            with no_interruptions(), PROGRESS.step("stopping"):
                _stop(procs)
                if broker is not None:
                    broker.stop()
                cluster.stop()


def _alarm_summary(admin: str) -> str:
    """What the alarm system holds after the backfill: the simulator's excursions as alarms."""
    from datetime import datetime, timezone

    from ksys_app.ops.alarmops import alarms

    k = alarms.report(admin, None, None, now=datetime.now(timezone.utc))
    standing = [r for r in alarms.states(admin) if r.state != "normal"]
    return (f"alarms: {k.activations} announced in the last 30 days ({k.per_10min:.2f} per 10 minutes), "
            f"{len(standing)} standing now, chattering: {', '.join(f'{t} {lim}' for t, lim in k.chattering) or 'none'}")


def _check_ingest(admin: str) -> None:
    """Live readings arrive through Mosquitto and ksys ingest (within a few grid steps)."""
    from ksys_app.ops.db import connect

    def written() -> tuple | None:
        with connect(admin) as conn:
            row = conn.execute("SELECT readings, lag_s FROM ksys.ingest_status WHERE client_id = 'ksys-demo-ingest'"
                               ).fetchone()
        return row if row and row[0] > 0 else None

    found = poll(written, timeout_s=90, every_s=1.0)
    if not found:
        raise OpsError("no reading came through MQTT and ksys ingest within 90 s (see .ksys/logs/ingest.log)")
    _say(f"ingest: {found[0]} readings written from MQTT so far (lag {found[1] or 0:.1f} s)")


def _check_after_ready(admin: str, port: int, health: dict, operator: tuple[str, str] | None = None,
                       through_mqtt: bool = False) -> None:
    """What README promises right after "ready": verify finds nothing, `/` shows every tile."""
    from ksys_app.ops.schema.verify import verify

    if through_mqtt:
        _check_ingest(admin)

    report: list[str] = []
    with PROGRESS.step("ksys verify"):
        if verify(admin, out=report.append) != 0:
            raise OpsError("ksys verify found differences right after ready:\n" + "\n".join(report))
    _say(f"ksys verify: {report[-1].splitlines()[-1]} (last 7 days, every derived relation)")
    _say(_alarm_summary(admin))
    with PROGRESS.step("loading / and /alarms in Chromium"):
        tiles = _check_page(port, health["tags"], operator)
    if tiles >= 0:
        _say(f"page / shows {tiles} KPI tiles for {health['tags']} tags")
        if tiles < health["tags"]:
            raise OpsError(f"page / shows {tiles} tiles for {health['tags']} tags")


def main() -> int:
    try:
        return run_demo()
    except KeyboardInterrupt:  # before anything was started
        return 0
    except OpsError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
