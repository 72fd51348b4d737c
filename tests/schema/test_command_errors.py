"""What the `ksys` commands say when the database will not let them work: one line, exit 2, no traceback.

`ksys serve` checks its settings and the database before it builds or starts anything; the
admin commands given the dashboard's read-only role name the DSN they need.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from ksys_dev.localpg import free_port

ROOT = Path(__file__).resolve().parents[2]
QC_FILE = ROOT / "db" / "qc" / "influx_qc_rule.csv"


def ksys(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("KSYS_ADMIN_DSN", "TS_DSN", "TZ")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", *args], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=timeout)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (and no traceback anywhere)."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    print(lines[0])   # pytest -s shows what the user reads
    return lines[0]


@pytest.fixture
def app_db(new_migrated_database, pg_server) -> tuple[str, str]:
    """(admin DSN, eco_ro DSN) of a migrated plain-PostgreSQL database."""
    admin = new_migrated_database("postgres")
    name = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    return admin, pg_server.dsn(name, user="eco_ro")


# ------------------------------------------------------------------ ksys serve


def serve(dsn: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    data = tmp_path / "ksys-data"
    proc = ksys("serve", "--dsn", dsn, "--port", str(free_port()), env={"KSYS_DATA_DIR": str(data), **env},
                timeout=60)
    assert not (data / "web").exists(), "nothing may be built before the checks pass"
    return proc


def test_serve_with_a_wrong_password_exits_2_before_building(app_db, password_role, tmp_path):
    _, ro = app_db
    role, _password = password_role
    proc = serve(make_conninfo(ro, user=role, password="not-the-password"), tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2
    assert line.startswith("ksys serve: ") and "password authentication failed" in line
    assert "password in TS_DSN" in line and "not-the-password" not in line


def test_serve_with_an_unknown_database_exits_2(app_db, tmp_path):
    _, ro = app_db
    proc = serve(make_conninfo(ro, dbname="no_such_database"), tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2 and "does not exist" in line and "database name in TS_DSN" in line


def test_serve_with_an_unreachable_server_exits_2(tmp_path):
    proc = serve(f"postgresql://eco_ro:pw@127.0.0.1:{free_port()}/ksys", tmp_path,
                 KSYS_CONNECT_TIMEOUT_S="3")
    line = one_line(proc)
    assert proc.returncode == 2 and "127.0.0.1" in line and "start the database" in line
    assert ":pw@" not in line


def test_serve_with_a_bad_time_zone_exits_2(app_db, tmp_path):
    _, ro = app_db
    proc = serve(ro, tmp_path, TZ="Mars/Olympus")
    line = one_line(proc)
    assert proc.returncode == 2 and "TZ" in line and "Mars/Olympus" in line


@pytest.mark.parametrize("env, words", [
    ({"KSYS_WORKERS": "4"}, ["KSYS_WORKERS=4 needs KSYS_REDIS_URL"]),
    ({"KSYS_WORKERS": "0", "KSYS_REDIS_URL": "redis://127.0.0.1:1/0"}, ["KSYS_WORKERS"]),
    ({"KSYS_WORKERS": "many"}, ["KSYS_WORKERS"]),
    ({"KSYS_REDIS_URL": "http://127.0.0.1:6379"}, ["KSYS_REDIS_URL", "redis://"]),
])
def test_serve_with_bad_worker_settings_exits_2(app_db, tmp_path, env, words):
    _, ro = app_db
    line = one_line(proc := serve(ro, tmp_path, **env))
    assert proc.returncode == 2 and all(w in line for w in words), line


def test_serve_with_redis_unreachable_exits_2_without_its_password(app_db, tmp_path):
    _, ro = app_db
    proc = serve(ro, tmp_path, KSYS_REDIS_URL=f"redis://:s3cret@127.0.0.1:{free_port()}/0", KSYS_WORKERS="2")
    line = one_line(proc)
    assert proc.returncode == 2 and "cannot use Redis at 127.0.0.1:" in line and "KSYS_REDIS_URL" in line
    assert "s3cret" not in line


# ------------------------------------------------------------------ admin commands as eco_ro


def _backfill_csv(tmp_path: Path) -> Path:
    path = tmp_path / "readings.csv"
    path.write_text("ts,tag_name,value\n2026-11-01T00:00:00+00:00,D100,1.5\n")
    return path


ADMIN_COMMANDS = {
    "migrate": lambda tmp: ["migrate"],
    "doctor": lambda tmp: ["doctor"],
    "worker --once": lambda tmp: ["worker", "--once"],
    "worker": lambda tmp: ["worker", "--interval", "1"],
    "verify": lambda tmp: ["verify"],
    "backup": lambda tmp: ["backup", "--out", str(tmp / "x.dump")],
    "qc sync": lambda tmp: ["qc", "sync", str(QC_FILE)],
    "backfill": lambda tmp: ["backfill", str(_backfill_csv(tmp))],
    "simulate": lambda tmp: ["simulate", "--days", "1"],
}


@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
def test_admin_command_with_the_read_only_role_says_which_dsn(app_db, tmp_path, command):
    _, ro = app_db
    args = ADMIN_COMMANDS[command](tmp_path)
    proc = ksys(*args, "--dsn", ro, timeout=60)
    line = one_line(proc)
    assert proc.returncode == 2, (proc.returncode, line)
    assert line.startswith(f"ksys {command.split(' --')[0]}: ")
    assert "KSYS_ADMIN_DSN" in line and "eco_ro" in line
    assert not (tmp_path / "x.dump").exists()


def test_read_only_role_through_the_environment_too(app_db):
    _, ro = app_db
    proc = ksys("migrate", env={"KSYS_ADMIN_DSN": ro}, timeout=60)
    assert proc.returncode == 2 and "KSYS_ADMIN_DSN" in one_line(proc)


# ------------------------------------------------------------------ secrets in messages

SECRET = "PW%zzLEAK4"   # not valid percent-encoding: libpq's parse error quotes it
MALFORMED = f"postgresql://postgres:{SECRET}@127.0.0.1:1/ksys"
# every command that takes a DSN: its arguments, its flag and the variables it falls back to
ADMIN, APP = ("KSYS_ADMIN_DSN", "TS_DSN"), ("TS_DSN",)
DSN_COMMANDS = [(("migrate",), "--dsn", ADMIN), (("doctor",), "--dsn", ADMIN), (("verify",), "--dsn", ADMIN),
                (("worker",), "--dsn", ADMIN), (("backup",), "--dsn", ADMIN), (("restore",), "--target-dsn", ADMIN),
                (("qc", "sync", str(QC_FILE)), "--dsn", ADMIN), (("qc", "verify", str(QC_FILE)), "--dsn", ADMIN),
                (("backfill", str(QC_FILE)), "--dsn", ADMIN), (("serve",), "--dsn", APP),
                (("simulate",), "--dsn", ADMIN)]
CASES = [(args, flag, source) for args, flag, envs in DSN_COMMANDS for source in (flag, *envs)]


@pytest.mark.parametrize("args, flag, source", CASES, ids=[f"{' '.join(a[:2])}-{s}" for a, _, s in CASES])
def test_a_malformed_dsn_is_refused_without_its_password(args, flag, source, tmp_path):
    env = {"KSYS_DATA_DIR": str(tmp_path)}
    if source == flag:
        proc = ksys(*args, flag, MALFORMED, env=env, timeout=60)
    else:
        proc = ksys(*args, env={**env, source: MALFORMED}, timeout=60)
    line = one_line(proc)
    assert proc.returncode == 2
    assert SECRET not in proc.stdout + proc.stderr and "LEAK4" not in proc.stdout + proc.stderr
    # it names where the DSN came from, so the user knows what to correct
    assert source in line and "DSN" in line, line


def test_a_host_name_libpq_cannot_encode_is_one_line():
    proc = ksys("doctor", "--dsn", f"postgresql://postgres:x@{'a' * 70}:5432/ksys")
    assert "the host name is not a valid DNS name" in one_line(proc)
    assert proc.returncode == 2


@pytest.mark.parametrize("args, env", [
    (("doctor", "--dsn", "postgresql://postgres:change-me@127.0.0.1:1/ksys"), {}),
    (("migrate",), {"KSYS_ADMIN_DSN": "postgresql://postgres:change-me@127.0.0.1:1/ksys"}),
    (("serve", "--dsn", "postgresql://eco_ro:change-me-too@127.0.0.1:1/ksys"), {}),
])
def test_the_env_example_placeholders_are_refused(args, env, tmp_path):
    proc = ksys(*args, env={**env, "KSYS_DATA_DIR": str(tmp_path)}, timeout=60)
    assert "is the placeholder from .env.example; set a real one" in one_line(proc)
    assert proc.returncode == 2


def test_migrate_refuses_the_placeholder_role_password_before_applying_anything(new_database, pg_server):
    dsn = new_database()
    proc = ksys("migrate", "--dsn", dsn, env={"KSYS_APP_ROLE_PASSWORD": "change-me-too"})
    assert "KSYS_APP_ROLE_PASSWORD is the placeholder" in one_line(proc)
    assert proc.returncode == 2
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('influx_hist')").fetchone()[0] is None
