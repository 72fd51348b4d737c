"""`python -m ksys_dev.demo` stopped by SIGTERM or SIGHUP stops everything it started, as Ctrl-C does.

The demo runs with a data folder and ports of its own; the signal comes while a step has children
running (the backfill, the frontend build with its bun/node processes). Afterwards no process the
demo started may be left, the PostgreSQL server included, and its ports are free.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from ksys_dev.localpg import free_port, port_in_use

ROOT = Path(__file__).resolve().parents[2]
RUN_DEMO = ("import runpy, signal; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
            "runpy.run_module('ksys_dev.demo', run_name='__main__')")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (by parent pid, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def listen_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port` (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.rsplit(":", 1)
            if state != "0A" or int(hexport, 16) != port:   # 0A: LISTEN
                continue
            if len(addr) == 8:   # IPv4, little-endian hex
                found.add(".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0)))
            else:
                found.add("::" if set(addr) == {"0"} else addr)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Demo:
    """The demo as a child process, its output collected line by line."""

    def __init__(self, data: Path):
        self.data = data
        self.port = free_port()
        env = dict(os.environ, KSYS_DATA_DIR=str(data), KSYS_PORT=str(self.port), KSYS_DEMO_DAYS="1")
        env.pop("KSYS_DEMO_EXIT_AFTER_READY", None)
        # `python -m ksys_dev.demo`, with SIGHUP as a terminal leaves it even when this run is under nohup
        self.proc = subprocess.Popen([sys.executable, "-c", RUN_DEMO], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, f"the demo exited early:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout_s:.0f} s:\n{self.output[-3000:]}"
            time.sleep(0.2)

    def postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the demo's PostgreSQL from its postmaster.pid."""
        try:
            lines = (self.data / "pg" / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return int(lines[0]), int(lines[3])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def data_dir():
    base = Path(tempfile.mkdtemp(prefix="ksys-demo-signal-"))
    os.chmod(base, 0o755)   # the server runs as the postgres account when the tests run as root
    yield base / "ksys"
    shutil.rmtree(base, ignore_errors=True)


def stop_and_check(demo: Demo, sig: int, started_by_step: str) -> None:
    postmaster = demo.postmaster()
    assert postmaster is not None, demo.output[-3000:]
    started = descendants(demo.proc.pid)
    assert started, f"{started_by_step}: the demo has no children to stop"
    demo.proc.send_signal(sig)
    try:
        code = demo.proc.wait(timeout=90)
    finally:
        demo.kill()
    left = sorted(p for p in started | {postmaster[0]} if alive(p))
    assert code == 0, demo.output[-3000:]
    assert "stopping (" + signal.Signals(sig).name + ")" in demo.output
    assert left == [], f"still running after {signal.Signals(sig).name}: {left}"
    assert not port_in_use(postmaster[1]) and not port_in_use(demo.port)
    assert not (demo.data / "demo.lock").exists()
    assert "Traceback" not in demo.output


def test_sigterm_during_the_backfill_stops_it_and_postgresql(data_dir):
    demo = Demo(data_dir)
    try:
        demo.wait_for("simulating 1 days of readings", timeout_s=120)
        time.sleep(1)   # the backfill child is running
        stop_and_check(demo, signal.SIGTERM, "backfill")
    finally:
        demo.kill()


def test_sighup_during_the_frontend_build_stops_the_build_and_postgresql(data_dir):
    demo = Demo(data_dir)
    try:
        demo.wait_for("building the frontend", timeout_s=150)
        time.sleep(3)   # reflex export and its bun / node children are running
        stop_and_check(demo, signal.SIGHUP, "frontend build")
    finally:
        demo.kill()


def test_sigterm_once_live_stops_simulator_dashboard_worker_and_postgresql(data_dir):
    """The whole demo: the live simulator, Mosquitto and ingest, the dashboard (and the
    worker where no pg_cron runs)."""
    demo = Demo(data_dir)
    try:
        demo.wait_for("[demo] live: simulator, Mosquitto, ingest, dashboard", timeout_s=300)
        assert port_in_use(demo.port)   # the dashboard listens
        assert listen_addresses(demo.port) == {"127.0.0.1"}, "the demo listens on this machine only"
        stop_and_check(demo, signal.SIGTERM, "live demo")
    finally:
        demo.kill()
