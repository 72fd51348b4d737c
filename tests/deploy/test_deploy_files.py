"""What can be checked of the deployment files without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.rpi-pgcron.yml"]
DOCKERFILES = ["Dockerfile.rpi-pgcron", "docker/Dockerfile"]
SHELL_SCRIPTS = sorted(p for p in ROOT.glob("scripts/*.sh")) + sorted(ROOT.glob("db/**/*.sh"))


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_compose_file_parses(compose_file):
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose (Debian package) is not installed: run `make system-deps`")
    proc = subprocess.run([exe, "--env-file", str(ROOT / ".env.example"), "--profile", "demo", "--profile", "scale",
                           "-f", str(ROOT / compose_file), "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_compose_needs_secrets_from_env(tmp_path):
    """No password is written in a compose file: each comes from .env and is required."""
    for name in COMPOSE_FILES:
        text = (ROOT / name).read_text()
        assert re.search(r"PASSWORD:\s*\$\{POSTGRES_PASSWORD:\?", text), name
        assert "change-me" not in text
    empty = tmp_path / "empty.env"
    empty.write_text("")
    proc = subprocess.run([shutil.which("docker-compose") or "docker-compose", "--env-file", str(empty),
                           "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and "POSTGRES_PASSWORD" in proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_copies_existing_files(dockerfile):
    for line in (ROOT / dockerfile).read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            for src in [p for p in parts[1:-1] if not p.startswith("--")]:
                assert (ROOT / src).exists(), f"{dockerfile}: COPY {src} does not exist"


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_scripts_parse(script):
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0
    if shutil.which("shellcheck"):
        proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_image_init_sql_runs_in_the_cron_database(pg_server, new_database):
    """The Pi image's init script creates both extensions in cron.database_name."""
    if not (pg_server.has_timescaledb and pg_server.has_pg_cron) or pg_server.cluster is None:
        pytest.skip("needs timescaledb and pg_cron installed on this server")
    sql = (ROOT / "db/rpi-pgcron/10-ksys-extensions.sql").read_text()
    # a fresh database named like the cron database is not possible on a shared
    # cluster, so run it in the cron database itself (idempotent) and in a new one
    with psycopg.connect(pg_server.dsn(pg_server.cluster.database), autocommit=True) as conn:
        conn.execute(sql)
        have = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert {"timescaledb", "pg_cron"} <= have
    with psycopg.connect(new_database(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="can only create extension in database"):
            conn.execute(sql)
