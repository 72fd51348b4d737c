"""Tag groups: from the QC CSV (`ksys qc sync`, meta "group") and `ksys tags group | list | groups`."""

from __future__ import annotations

import psycopg
import pytest

from tests.dataops.conftest import run_cli
from tests.dataops.test_qc import HEADER, write_csv


@pytest.fixture
def tags_dsn(new_migrated_database) -> str:
    dsn = new_migrated_database("postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO ksys.tag_registry (tag_name) VALUES ('D100'), ('D101'), ('FEED_FLOW'), ('SEEN_ONLY')")
    return dsn


def groups_in_db(dsn: str) -> dict[str, str | None]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT tag_name, meta->>'group' FROM influx_qc_rule ORDER BY 1").fetchall())


def test_groups_from_the_csv_and_the_cli(tags_dsn, tmp_path):
    path = write_csv(tmp_path / "rules.csv", [
        'D100,0,200,,,,,"{""group"":""Boiler"",""unit"":""bar""}",,,,,,,',
        'D101,0,200,,,,,"{""group"":""Boiler""}",,,,,,,',
        "FEED_FLOW,0,50,,,,,{},,,,,,,",
    ])
    proc = run_cli("qc", "sync", str(path), "--dsn", tags_dsn)
    assert proc.returncode == 0, proc.stderr
    assert groups_in_db(tags_dsn) == {"D100": "Boiler", "D101": "Boiler", "FEED_FLOW": None}

    proc = run_cli("tags", "list", "--group", "Boiler", "--dsn", tags_dsn)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["tag\tgroup\tunit", "D100\tBoiler\tbar", "D101\tBoiler\t-"]

    # a tag with a rule keeps its limits; a seen tag without one gets a limit-free rule row
    proc = run_cli("tags", "group", "FEED_FLOW", "SEEN_ONLY", "--group", " Feed ", "--dsn", tags_dsn)
    assert proc.returncode == 0, proc.stderr
    assert "2 tag(s) in group Feed" in proc.stdout and "SEEN_ONLY" in proc.stdout
    assert groups_in_db(tags_dsn) == {"D100": "Boiler", "D101": "Boiler", "FEED_FLOW": "Feed", "SEEN_ONLY": "Feed"}
    with psycopg.connect(tags_dsn) as conn:
        assert conn.execute("SELECT max_val FROM influx_qc_rule WHERE tag_name = 'FEED_FLOW'").fetchone() == (50.0,)
    proc = run_cli("tags", "groups", "--dsn", tags_dsn)
    assert proc.stdout.splitlines() == ["Boiler\t2", "Feed\t2"]

    # the CSV stays the file of record: verify names the group set outside it
    proc = run_cli("qc", "verify", str(path), "--dsn", tags_dsn)
    assert proc.returncode == 1 and "FEED_FLOW" in proc.stdout

    proc = run_cli("tags", "group", "D101", "--clear", "--dsn", tags_dsn)
    assert proc.returncode == 0 and "1 tag(s) taken out" in proc.stdout
    assert groups_in_db(tags_dsn)["D101"] is None


def test_refusals_change_nothing(tags_dsn, tmp_path):
    before = groups_in_db(tags_dsn)
    proc = run_cli("tags", "group", "D100", "NO_SUCH_TAG", "--group", "Boiler", "--dsn", tags_dsn)
    assert proc.returncode == 2 and "unknown tag(s), nothing changed: NO_SUCH_TAG" in proc.stderr
    for args in (["--group", "x" * 41], ["--group", "a\tb"], [], ["--group", "G", "--clear"]):
        proc = run_cli("tags", "group", "D100", *args, "--dsn", tags_dsn)
        assert proc.returncode == 2, (args, proc.stdout)
    assert groups_in_db(tags_dsn) == before
    bad = write_csv(tmp_path / "bad.csv", ['D100,0,200,,,,,"{""group"":17}",,,,,,,'], HEADER)
    proc = run_cli("qc", "sync", str(bad), "--dsn", tags_dsn)
    assert proc.returncode == 1 and "meta.group: group must be a string" in proc.stderr
    assert groups_in_db(tags_dsn) == before
