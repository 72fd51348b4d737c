"""`ksys simulate` on the command line: validation, a real run, SIGTERM in live mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.ops import cli


@pytest.mark.parametrize("argv, message", [
    (["--interval", "7"], "'--interval': must be one of"),
    (["--interval", "abc"], "'abc' is not a valid integer"),
    (["--days", "-1"], "-1.0 is not in the range 0<x<=365"),
    (["--days", "400"], "400.0 is not in the range 0<x<=365"),
    (["--days", "x"], "'x' is not a valid float"),
    (["--seed", "1.5"], "'1.5' is not a valid integer"),
    (["--tags", "D100,NOPE"], "'--tags': unknown tag(s) NOPE"),
    (["--gaps", "--follow"], "cannot be combined"),
])
def test_bad_values_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(["simulate", "--dsn", "postgresql://nobody@127.0.0.1:1/x", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ksys simulate: ") and message in err, err


def test_unreachable_database_and_unmigrated_database(new_database, capsys):
    assert cli.main(["simulate", "--dsn", "postgresql://nobody@127.0.0.1:1/x", "--days", "1"]) == 2
    assert "cannot connect" in capsys.readouterr().err
    assert cli.main(["simulate", "--dsn", new_database(), "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `ksys migrate` first" in err


def test_cli_backfill_then_live_until_sigterm(new_migrated_database):
    dsn = new_migrated_database("postgres")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KSYS_ADMIN_DSN", None)
    proc = subprocess.Popen([sys.executable, "-m", "ksys_app.ops.cli", "simulate", "--dsn", dsn, "--days", "0.02",
                             "--interval", "1", "--tags", "D100,INLET_PRESSURE", "--follow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 20
        started = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("live:"):
                started = datetime.now(timezone.utc)
                break
        assert started is not None, proc.stderr.read() if proc.poll() is not None else "no live line"
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped:" in out
    with psycopg.connect(dsn, autocommit=True) as conn:
        live = conn.execute("SELECT count(DISTINCT ts) FROM influx_hist WHERE ts > %s - interval '1 second'",
                            (started,)).fetchone()[0]
        first = conn.execute("SELECT min(ts) FROM influx_hist WHERE tag_name = 'D100'").fetchone()[0]
    assert live >= 2
    assert first > datetime.now(timezone.utc) - timedelta(days=0.02, minutes=1)
