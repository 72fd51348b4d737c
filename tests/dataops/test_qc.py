"""`ksys qc sync` / `ksys qc verify` against a real database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ksys_app.ops.dataops.qc import read_db
from tests.dataops.conftest import run_cli

HEADER = ("tag_name,min_val,max_val,max_step,max_gap_seconds,allow_negative,enabled,meta,warn_min,warn_max,"
          "crit_min,crit_max,roc_max_per_min,spike_zscore,deadband_pct")
GOOD_ROWS = [
    'D100,0,200,20,30,false,true,"{""source"":""plc""}",65,135,45,155,50,4,0.5',
    "D200,0,2000,200,30,false,true,,650,1350,450,1550,500,4,0.5",
    "FEED_FLOW,0,50,5,60,no,yes,{},5,45,2,48,10,3.5,1",
    "NOTES_ONLY,,,,,,,,,,,,,,",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def qc_dsn(new_migrated_database) -> str:
    return new_migrated_database("postgres")


def test_good_file_syncs_and_verifies_clean(qc_dsn, tmp_path):
    path = write_csv(tmp_path / "rules.csv", GOOD_ROWS)
    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 0, proc.stderr
    assert "4 rules: 4 inserted, 0 updated, 0 unchanged" in proc.stdout
    with psycopg.connect(qc_dsn) as conn:
        rules = read_db(conn)
    assert rules["D100"]["meta"] == {"source": "plc"} and rules["D100"]["warn_max"] == 135.0
    assert rules["FEED_FLOW"]["allow_negative"] is False and rules["FEED_FLOW"]["enabled"] is True
    assert rules["NOTES_ONLY"]["min_val"] is None and rules["NOTES_ONLY"]["meta"] == {}

    proc = run_cli("qc", "verify", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no drift" in proc.stdout

    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn)   # again: nothing to do
    assert proc.returncode == 0 and "0 inserted, 0 updated, 4 unchanged" in proc.stdout


def test_shipped_rule_file_is_valid(qc_dsn):
    shipped = Path(__file__).resolve().parents[2] / "db/qc/influx_qc_rule.csv"
    if not shipped.exists():
        pytest.skip("db/qc/influx_qc_rule.csv not present")
    proc = run_cli("qc", "sync", str(shipped), "--dsn", qc_dsn)
    assert proc.returncode == 0, proc.stderr
    assert run_cli("qc", "verify", str(shipped), "--dsn", qc_dsn).returncode == 0


BAD = {
    "non-numeric": ("D300,0,abc,20,30,false,true,{},1,2,0,3,5,4,0.5", "max_val is not a decimal number"),
    "min above max": ("D300,10,5,20,30,false,true,{},6,7,6,8,5,4,0.5", "min_val 10 > max_val 5"),
    "warn outside": ("D300,0,100,20,30,false,true,{},10,120,5,95,5,4,0.5", "warn_max 120 is outside"),
    "crit outside": ("D300,0,100,20,30,false,true,{},10,90,-5,95,5,4,0.5", "crit_min -5 is outside"),
    "unknown boolean": ("D300,0,100,20,30,maybe,true,{},10,90,5,95,5,4,0.5", "allow_negative is not a boolean"),
    "duplicate tag": ("D100,0,100,20,30,false,true,{},10,90,5,95,5,4,0.5", "duplicate tag D100 (first on line 2)"),
    "bad json": ('D300,0,100,20,30,false,true,"{""a"":",10,90,5,95,5,4,0.5', "meta is not valid JSON"),
    "json not an object": ("D300,0,100,20,30,false,true,[1],10,90,5,95,5,4,0.5", "meta must be a JSON object"),
    "too few fields": ("D300,0,100", "3 fields, the header has 15"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_row_fails_the_whole_file_with_its_line(qc_dsn, tmp_path, kind):
    good = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert run_cli("qc", "sync", str(good), "--dsn", qc_dsn).returncode == 0
    with psycopg.connect(qc_dsn) as conn:
        before = read_db(conn)
    bad_row, message = BAD[kind]
    # a change to a good row and a new good row too: neither may be written
    rows = [GOOD_ROWS[0].replace(",135,", ",136,"), *GOOD_ROWS[1:], "NEW_TAG,0,1,,,,,,,,,,,,", bad_row]
    bad_line = len(rows) + 1          # header is line 1
    path = write_csv(tmp_path / "bad.csv", rows)
    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 1, proc.stdout
    assert f"line {bad_line}: {message}" in proc.stderr, proc.stderr
    assert "nothing written" in proc.stderr
    with psycopg.connect(qc_dsn) as conn:
        assert read_db(conn) == before


def test_missing_column_is_reported_on_line_1(qc_dsn, tmp_path):
    header = HEADER.replace(",deadband_pct", "")
    path = write_csv(tmp_path / "bad.csv", [r.rsplit(",", 1)[0] for r in GOOD_ROWS], header=header)
    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 1
    assert "line 1: missing column(s): deadband_pct" in proc.stderr
    with psycopg.connect(qc_dsn) as conn:
        assert read_db(conn) == {}


def test_every_bad_line_is_listed(qc_dsn, tmp_path):
    rows = [*GOOD_ROWS, BAD["non-numeric"][0], BAD["unknown boolean"][0].replace("D300", "D301")]
    proc = run_cli("qc", "sync", str(write_csv(tmp_path / "bad.csv", rows)), "--dsn", qc_dsn)
    assert proc.returncode == 1
    assert "line 6:" in proc.stderr and "line 7:" in proc.stderr


def test_verify_reports_drift_and_exits_1(qc_dsn, tmp_path):
    path = write_csv(tmp_path / "rules.csv", GOOD_ROWS)
    assert run_cli("qc", "sync", str(path), "--dsn", qc_dsn).returncode == 0
    with psycopg.connect(qc_dsn, autocommit=True) as conn:
        conn.execute("UPDATE influx_qc_rule SET warn_max = 140, meta = '{\"edited\": true}' WHERE tag_name = 'D100'")
        conn.execute("DELETE FROM influx_qc_rule WHERE tag_name = 'D200'")
        conn.execute("INSERT INTO influx_qc_rule (tag_name, min_val) VALUES ('ROGUE', 1)")
    proc = run_cli("qc", "verify", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 1
    out = proc.stdout
    assert "changed D100.warn_max: database 140 -> file 135" in out
    assert 'changed D100.meta: database {"edited": true} -> file {"source": "plc"}' in out
    assert "added (in the file, not in the database): D200" in out
    assert "removed (in the database, not in the file): ROGUE" in out
    assert f"`ksys qc sync --prune {path}`" in out  # plain sync keeps ROGUE: verify names the one that clears it

    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn)   # without --prune: ROGUE stays, and is named
    assert proc.returncode == 0 and "kept 1 rule(s) that are not in the file: ROGUE" in proc.stdout
    proc = run_cli("qc", "verify", str(path), "--dsn", qc_dsn)
    assert proc.returncode == 1 and "0 added, 1 removed, 0 changed" in proc.stdout and "--prune" in proc.stdout

    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn, "--prune")
    assert proc.returncode == 0 and "0 inserted, 0 updated, 4 unchanged, 1 deleted" in proc.stdout
    assert "deleted (--prune; in the database, not in the file): ROGUE" in proc.stdout
    assert run_cli("qc", "verify", str(path), "--dsn", qc_dsn).returncode == 0


def test_prune_lists_what_it_deletes_all_or_nothing(qc_dsn, tmp_path):
    """The rules --prune deletes are listed from the DELETE itself; a failing upsert of the same
    sync writes nothing, the prune included."""
    assert run_cli("qc", "sync", str(write_csv(tmp_path / "three.csv", GOOD_ROWS[1:])), "--dsn", qc_dsn).returncode == 0
    with psycopg.connect(qc_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, min_val) VALUES ('ROGUE', 1), ('STRAY', 2)")
        conn.execute("ALTER TABLE influx_qc_rule ADD CONSTRAINT no_d100 CHECK (tag_name <> 'D100')")
    path = write_csv(tmp_path / "rules.csv", GOOD_ROWS)
    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn, "--prune")   # inserting D100 fails
    assert proc.returncode == 2 and "nothing written" in proc.stderr and "deleted" not in proc.stdout
    with psycopg.connect(qc_dsn, autocommit=True) as conn:
        assert {"ROGUE", "STRAY"} <= set(read_db(conn)) and "D100" not in read_db(conn)
        conn.execute("ALTER TABLE influx_qc_rule DROP CONSTRAINT no_d100")
    proc = run_cli("qc", "sync", str(path), "--dsn", qc_dsn, "--prune")
    assert proc.returncode == 0 and "1 inserted, 0 updated, 3 unchanged, 2 deleted (--prune)" in proc.stdout
    assert [x for x in proc.stdout.splitlines() if x.startswith("deleted")] == [
        "deleted (--prune; in the database, not in the file): ROGUE",
        "deleted (--prune; in the database, not in the file): STRAY"]
    with psycopg.connect(qc_dsn) as conn:
        assert set(read_db(conn)) == {"D100", "D200", "FEED_FLOW", "NOTES_ONLY"}
