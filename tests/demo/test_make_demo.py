"""`make demo` from the project's own files, as CI runs it: exits once `/` served data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from ksys_dev.localpg import free_port

ROOT = Path(__file__).resolve().parents[2]


def _demo(data_dir: Path, port: int, days: int = 30, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, KSYS_DATA_DIR=str(data_dir), KSYS_PORT=str(port), KSYS_DEMO_EXIT_AFTER_READY="1",
               KSYS_DEMO_DAYS=str(days))
    return subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo_dir():
    path = Path(tempfile.mkdtemp(prefix="ksys-demo-"))
    os.chmod(path, 0o755)
    yield path
    subprocess.run(["pkill", "-f", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def first_run(demo_dir):
    proc = _demo(demo_dir, free_port())
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "demo-first-run.log").write_text(proc.stdout + proc.stderr)  # backfill rows/s, time to ready
    return proc


def test_demo_serves_tiles_for_every_simulated_tag(first_run):
    assert first_run.returncode == 0, first_run.stdout[-3000:] + first_run.stderr[-3000:]
    out = first_run.stdout
    assert "dashboard ready in" in out
    assert "ksys verify: no differences" in out  # right after ready: every derived relation equals raw
    assert "KPI tiles for" in out, "the page check must have run (Chromium and Playwright are installed by make test)"
    line = next(x for x in out.splitlines() if "KPI tiles for" in x)
    tiles, tags = int(line.split("shows ")[1].split()[0]), int(line.split("for ")[1].split()[0])
    assert tiles >= tags >= 13  # 13 simulated tags (+ 4 virtual tags)
    # the simulator's excursions are alarms, and the demo's operator can log in
    alarms = next(x for x in out.splitlines() if x.startswith("[demo] alarms: ") and "announced" in x)
    announced = int(alarms.split("alarms: ")[1].split()[0])
    assert announced > 100 and "D102 warn_" in alarms, alarms  # D102 has no deadband: it chatters
    assert "log in as demo with password" in out
    assert "/alarms: logged in as demo and acknowledged an alarm (1 alarm acknowledged)" in out
    # the live part takes the plant's path: simulator -> Mosquitto -> ksys ingest -> database
    assert "live readings go simulator -> MQTT -> ksys ingest -> database" in out
    assert "readings written from MQTT so far" in out


def test_second_run_reuses_data_and_recovers_a_stale_lock(first_run, demo_dir):
    (demo_dir / "demo.lock").write_text("999999")  # a demo killed without cleaning up
    proc = _demo(demo_dir, free_port())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "stale lock" in proc.stdout
    assert "creating a PostgreSQL cluster" not in proc.stdout  # the data folder was reused
    assert "nothing to apply" in proc.stdout
    # the same operator and password as the first run, kept in the data folder (mode 600)
    saved = demo_dir / "demo-operator.txt"
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    line = f"log in as demo with password {saved.read_text().strip()} "
    assert line in first_run.stdout and line in proc.stdout


def test_port_in_use_is_a_clear_message(demo_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        proc = _demo(demo_dir, s.getsockname()[1], timeout=120)
    assert proc.returncode != 0
    assert "already in use" in proc.stderr and "Traceback" not in proc.stderr


def test_half_initialized_folder_is_recovered():
    base = Path(tempfile.mkdtemp(prefix="ksys-demo-half-"))
    os.chmod(base, 0o755)
    data = base / "ksys"
    (data / "pg").mkdir(parents=True)
    (data / "pg" / "PG_VERSION").write_text("15\n")  # initdb interrupted: no config written
    proc = _demo(data, free_port(), days=1)
    try:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "half-initialized" in proc.stdout
    finally:
        subprocess.run(["pkill", "-f", str(data)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_unreachable_data_folder_is_a_clear_message(tmp_path):
    """As root the server runs as `postgres`; pytest's private tmp folder is out of its reach."""
    if os.geteuid() != 0:
        pytest.skip("only root hands the server to another account")
    proc = _demo(tmp_path / "ksys", free_port(), days=1, timeout=300)
    assert proc.returncode == 2
    assert "KSYS_DATA_DIR" in proc.stderr and "Traceback" not in proc.stderr
