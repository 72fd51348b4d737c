"""Hostile files for `ksys qc sync` and `ksys backfill`: one line, exit 1 or 2, nothing written,
never a traceback; the shared input rules (ksys_app.domain.inputs) decide what a row may hold."""

from __future__ import annotations

import gzip
import os
import resource
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from tests.dataops.conftest import run_cli
from tests.dataops.test_qc import GOOD_ROWS, HEADER, write_csv

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def dsn(new_migrated_database) -> str:
    return new_migrated_database("postgres")


def counts(dsn: str) -> tuple[int, int, int]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM influx_hist), (SELECT count(*) FROM influx_qc_rule),"
                            " (SELECT count(*) FROM influx_latest)").fetchone()


def refused(proc) -> str:
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc.stderr


def readings(path: Path, rows: list[str]) -> Path:
    path.write_text("ts,tag_name,value\n" + "".join(r + "\n" for r in rows))
    return path


GOOD = f"{(NOW - timedelta(minutes=1)).isoformat()},T1,1.5"

ENCODINGS = {
    "latin-1": lambda p: p.write_bytes(("\n".join([HEADER, *GOOD_ROWS]) + "\nZB\xe9,0,1,,,,,,,,,,,,\n").encode("latin-1")),
    "utf-16": lambda p: p.write_bytes(("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode("utf-16")),
    "gzip-truncated": lambda p: p.write_bytes(gzip.compress(("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode())[:40]),
    "random": lambda p: p.write_bytes(os.urandom(4096)),
}


@pytest.mark.parametrize("command", ["qc", "backfill"])
@pytest.mark.parametrize("kind", sorted(ENCODINGS))
def test_files_that_are_not_utf8_csv_are_one_line(dsn, tmp_path, command, kind):
    path = tmp_path / "in.csv"
    ENCODINGS[kind](path)
    args = ("qc", "sync", str(path)) if command == "qc" else ("backfill", str(path))
    err = refused(run_cli(*args, "--dsn", dsn))
    assert str(path) in err
    assert counts(dsn) == (0, 0, 0)


@pytest.mark.parametrize("row, why", [
    ("ZB\x01,0,1,,,,,,,,,,,,", "U+0001"),
    ("X" * 10_240 + ",0,1,,,,,,,,,,,,", "1..128 characters"),
    ("ZB1,1_000,2000,,,,,,,,,,,,", "min_val is not a decimal number"),
    ("ZB1,\u0665,9,,,,,,,,,,,,", "min_val is not a decimal number"),
    ('ZB1,0,1,,,,,"' + '{""a"":' * 5000 + "1" + "}" * 5000 + '",,,,,,,', "meta is"),
    ('ZB1,0,1,,,,,"' + "[" * 3000 + "]" * 3000 + '",,,,,,,', "meta is nested more than"),
])
def test_qc_rows_the_shared_rules_refuse(dsn, tmp_path, row, why):
    path = write_csv(tmp_path / "rules.csv", [*GOOD_ROWS, row])
    err = refused(run_cli("qc", "sync", str(path), "--dsn", dsn))
    assert why in err and "nothing written" in err
    assert counts(dsn) == (0, 0, 0)


@pytest.mark.parametrize("row, why", [
    ("9999-12-31T00:00:00Z,ZB9999,1", "in the future"),
    (f"{(NOW + timedelta(hours=1)).isoformat()},T1,1", "in the future"),
    ("1969-12-31T23:00:00Z,T1,1", "before 1970"),
    (f"{NOW.isoformat()},T1,1_000", "not a decimal number"),
    (f"{NOW.isoformat()},T1,\u0665", "not a decimal number"),
    (f"{NOW.isoformat()},T1,nan", "not a decimal number"),
    (f"{NOW.isoformat()},T\x07,1", "U+0007"),
    (f"{NOW.isoformat()},{'T' * 129},1", "1..128 characters"),
])
def test_backfill_rows_the_shared_rules_refuse(dsn, tmp_path, row, why):
    path = readings(tmp_path / "r.csv", [GOOD, row])
    err = refused(run_cli("backfill", str(path), "--dsn", dsn))
    assert why in err and "nothing was written" in err
    assert counts(dsn) == (0, 0, 0)


def test_a_reading_a_little_ahead_of_the_clock_is_fine_and_the_margin_is_a_flag(dsn, tmp_path):
    ahead = f"{(NOW + timedelta(seconds=60)).isoformat()},T1,2"
    path = readings(tmp_path / "r.csv", [GOOD, ahead])
    proc = run_cli("backfill", str(path), "--dsn", dsn)
    assert proc.returncode == 0, proc.stderr
    later = readings(tmp_path / "later.csv", [f"{(NOW + timedelta(minutes=30)).isoformat()},T2,3"])
    assert "in the future" in refused(run_cli("backfill", str(later), "--dsn", dsn))
    assert run_cli("backfill", str(later), "--dsn", dsn, "--max-future", "3600").returncode == 0


def test_a_file_without_newlines_is_refused_without_reading_it_whole(dsn, tmp_path):
    path = tmp_path / "one-line.csv"
    with open(path, "wb") as f:   # 64 MB on one line
        f.write(b"ts,tag_name,value\n")
        block = b"x" * (1 << 20)
        for _ in range(64):
            f.write(block)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    err = refused(run_cli("backfill", str(path), "--dsn", dsn))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert "line 2 is longer than 1,000,000 characters" in err
    # the child's peak memory stayed far below the file's size (it read a bounded line)
    assert max(peak_kb, before) < 400 * 1024, peak_kb
    assert counts(dsn) == (0, 0, 0)
