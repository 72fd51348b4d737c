"""`ksys backfill` against a real database, both engines."""

from __future__ import annotations

import gzip
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from ksys_app.ops.dataops.backfill import backfill
from tests.dataops.conftest import record_metric, run_cli, summary, write_readings_csv


def _count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM influx_hist").fetchone()[0]


def test_million_rows_gzip_then_again_changes_nothing(migrated_dsn, engine, tmp_path):
    path = tmp_path / "readings.csv.gz"
    n = write_readings_csv(path)          # 20 tags x 50 000 rows, every 10 s, ending 30 min ago
    assert n == 1_000_000
    err = io.StringIO()
    first = backfill(migrated_dsn, path, out=print, err=err)
    assert (first.rows_read, first.bad, first.inserted, first.updated) == (n, 0, n, 0)
    record_metric(f"backfill_rows_per_s_1M_{engine}", round(first.rows_per_s))
    record_metric(f"backfill_refresh_seconds_1M_{engine}", round(first.refresh_seconds, 1))
    assert "backfill:" in err.getvalue()       # a progress line for a file over a few MB
    count, days = summary(migrated_dsn)
    assert count == n
    with psycopg.connect(migrated_dsn) as conn:
        # rollups cover the loaded range (refreshed over the whole days it spans)
        assert conn.execute("SELECT sum(n) FROM influx_agg_1d").fetchone()[0] == n
        assert conn.execute("SELECT sum(n) FROM influx_agg_1h WHERE tag_name = 'T07'").fetchone()[0] == 50_000

    again = backfill(migrated_dsn, path, out=print, err=io.StringIO())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)
    assert summary(migrated_dsn) == (count, days)


def _small_csv(path: Path, rows: int = 1000, bad: dict[int, str] | None = None, header: str = "ts,tag_name,value",
               start: datetime | None = None) -> list[str]:
    """rows data lines; bad maps a file line number (header = 1) to a replacement line."""
    start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    lines = [header]
    for i in range(rows):
        lines.append(f"{(start + timedelta(seconds=10 * i)).isoformat()},D{100 + i % 3},{i / 4}")
    for line_no, text in (bad or {}).items():
        lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return lines


BAD_LINES = {
    17: "2025-01-01 00:00:00,D100,1.5",              # no time zone
    345: "2025-01-01T00:00:00Z,D100,not-a-number",
    900: "2025-01-01T00:00:00Z,D100",                # a field missing
}


def test_file_with_three_bad_rows_is_rejected_then_skip_bad_loads_the_rest(migrated_dsn, tmp_path):
    path = tmp_path / "bad.csv"
    _small_csv(path, bad=BAD_LINES)
    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for line_no in BAD_LINES:
        assert f"line {line_no}:" in proc.stderr
    assert "line 17: ts has no time zone" in proc.stderr
    assert "3 bad row(s); nothing was written" in proc.stderr
    assert _count(migrated_dsn) == 0

    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn, "--skip-bad")
    assert proc.returncode == 0, proc.stderr
    assert "1000 rows read, 3 bad (skipped), 997 inserted" in proc.stdout
    assert "skipped line 345: value is not a decimal number" in proc.stdout
    assert "rows/s" in proc.stdout
    assert _count(migrated_dsn) == 997


def test_first_20_bad_rows_and_the_count(migrated_dsn, tmp_path):
    path = tmp_path / "many.csv"
    bad = {line: f"x{line},D100,1" for line in range(10, 35)}   # 25 bad rows
    _small_csv(path, bad=bad)
    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn)
    assert proc.returncode == 1
    listed = [x for x in proc.stderr.splitlines() if x.startswith("line ")]
    assert len(listed) == 20 and listed[0].startswith("line 10:") and listed[-1].startswith("line 29:")
    assert "... and 5 more bad row(s)" in proc.stderr and "25 bad row(s)" in proc.stderr


def test_changed_values_update_and_rollups_follow(migrated_dsn, tmp_path):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    path = tmp_path / "a.csv"
    lines = _small_csv(path, rows=300, header="ts,tag_name,value,qc", start=start,
                       bad={})
    lines = [lines[0]] + [f"{x},0" for x in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    assert backfill(migrated_dsn, path, out=lambda _l: None).inserted == 300
    changed = list(lines)
    changed[1] = changed[1].rsplit(",", 2)[0] + ",1000.5,0"      # value of the first reading (D100)
    changed[2] = changed[2].rsplit(",", 1)[0] + ",2"             # qc only
    path.write_text("\n".join(changed) + "\n")
    result = backfill(migrated_dsn, path, out=lambda _l: None)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 298)
    with psycopg.connect(migrated_dsn) as conn:
        assert conn.execute("SELECT max(max) FROM influx_agg_1m WHERE tag_name = 'D100'").fetchone()[0] == 1000.5
        assert conn.execute("SELECT qc FROM influx_hist ORDER BY ts LIMIT 1 OFFSET 1").fetchone()[0] == 2


def test_duplicates_identical_count_once_conflicting_are_bad(migrated_dsn, tmp_path):
    ts = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    path = tmp_path / "dup.csv"
    path.write_text(f"ts,tag_name,value\n{ts},D100,1\n{ts},D100,1\n{ts},D200,1\n{ts},D200,2\n")
    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn)
    assert proc.returncode == 1
    assert "line 5: same ts and tag_name as line 4 with a different value/qc" in proc.stderr
    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn, "--skip-bad")
    assert proc.returncode == 0, proc.stderr
    with psycopg.connect(migrated_dsn) as conn:
        assert conn.execute("SELECT tag_name, value FROM influx_hist ORDER BY 1").fetchall() == [("D100", 1.0),
                                                                                                ("D200", 1.0)]


def test_offsets_and_gzip_are_read(migrated_dsn, tmp_path):
    path = tmp_path / "kst.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("\ufefftag_name,value,ts\nD100,1.25,2026-01-01T09:00:00+09:00\nD100,2.5,2026-01-01T00:00:01Z\n")
    result = backfill(migrated_dsn, path, out=lambda _l: None)
    assert result.inserted == 2
    with psycopg.connect(migrated_dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        assert [r[0].isoformat() for r in conn.execute("SELECT ts FROM influx_hist ORDER BY ts")] == \
            ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00"]


@pytest.mark.parametrize("header, message", [
    ("time,tag_name,value", "missing ts; unknown time"),
    ("ts,tag_name,value,meta", "unknown meta"),
])
def test_bad_header_is_refused(migrated_dsn, tmp_path, header, message):
    path = tmp_path / "h.csv"
    path.write_text(f"{header}\n")
    proc = run_cli("backfill", str(path), "--dsn", migrated_dsn)
    assert proc.returncode == 1 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
