"""`ksys restore` with a hostile FILE.manifest.json next to a real dump: one line, a documented
exit code, and the target database untouched (not created; a --force target not dropped).

The dump is made once per module by `ksys backup` from a small migrated database; each
case writes its own manifest next to a hard link of it.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest

from ksys_app.ops.dataops.manifest import MAX_BYTES, load, manifest_path
from tests.conftest import drop_database
from tests.dataops.conftest import run_cli, summary
from tests.schema.seed import seed_readings

EXIT_OPERATIONAL = 2   # the restore docstring: a missing, unreadable or malformed manifest


@pytest.fixture(scope="module")
def backup_made(pg_server, migrated_templates, tmp_path_factory) -> Iterator[tuple[Path, dict]]:
    """(dump, the manifest `ksys backup` wrote next to it, as JSON)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    src = migrated_templates.clone("postgres", name)
    try:
        # a day ending before now: every row is in the manifest (none after the backup time)
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
        with psycopg.connect(src, autocommit=True) as conn:
            seed_readings(conn, ["D100", "D200"], start, start + timedelta(hours=23), step_s=300)
        dump = tmp_path_factory.mktemp("manifest") / "plant.dump"
        proc = run_cli("backup", "--dsn", src, "--out", str(dump))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield dump, json.loads(manifest_path(dump).read_text())
    finally:
        drop_database(pg_server, name)


@pytest.fixture
def place(backup_made, tmp_path) -> Callable[[bytes], Path]:
    """Writes the given manifest bytes next to a link of the module's dump; returns the dump."""
    source, _ = backup_made

    def put(raw: bytes) -> Path:
        dump = tmp_path / "plant.dump"
        try:
            os.link(source, dump)
        except OSError:
            shutil.copyfile(source, dump)
        manifest_path(dump).write_bytes(raw)
        return dump
    return put


@pytest.fixture
def missing_target(pg_server) -> Iterator[tuple[str, str]]:
    """(name, DSN) of a database that does not exist; dropped afterwards if a restore made it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name, pg_server.dsn(name)
    drop_database(pg_server, name)


def _exists(pg_server, name: str) -> bool:
    with psycopg.connect(pg_server.admin_dsn) as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 1


def _edited(change: Callable[[dict], None]) -> Callable[[dict], bytes]:
    def make(good: dict) -> bytes:
        manifest = copy.deepcopy(good)
        change(manifest)
        return json.dumps(manifest, indent=1).encode()
    return make


def _raw(data: bytes) -> Callable[[dict], bytes]:
    return lambda _good: data


def _without(*keys: str | int) -> Callable[[dict], bytes]:
    def change(m: dict) -> None:
        for key in keys[:-1]:
            m = m[key]
        del m[keys[-1]]
    return _edited(change)


def _set(value, *keys: str | int) -> Callable[[dict], bytes]:
    def change(m: dict) -> None:
        for key in keys[:-1]:
            m = m[key]
        m[keys[-1]] = value
    return _edited(change)


def _first_day_twice(m: dict) -> None:
    m["influx_hist"]["days"].append(dict(m["influx_hist"]["days"][0]))
    m["influx_hist"]["rows"] += m["influx_hist"]["days"][0]["rows"]


REQUIRED = ["format", "sha256", "size_bytes", "backup_time", "database", "engine", "migrations", "influx_hist"]

CASES = [
    ("utf16", lambda good: json.dumps(good).encode("utf-16"), "is UTF-16"),
    ("latin1", _raw('{"format": 1, "database": "Pohang-\u00e9"}'.encode("latin-1")), "is not UTF-8 (byte 0xe9"),
    ("random bytes", _raw(random.Random(15).randbytes(4096)), "is not UTF-8"),
    ("empty file", _raw(b""), "is not valid JSON"),
    ("truncated", lambda good: json.dumps(good).encode()[:300], "is not valid JSON"),
    ("array", _raw(b"[]"), "is a JSON array, not an object"),
    ("string", _raw(b'"x"'), "is a JSON string, not an object"),
    ("empty object", _raw(b"{}"), "format is missing"),
    ("5000 deep", _raw(b"[" * 5000 + b"]" * 5000), "nested too deeply"),
    ("deep in a field", lambda good: json.dumps(good).encode()[:-1] + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "nested too deeply"),
    ("huge number", lambda good: json.dumps(good).encode().replace(b'"size_bytes": ', b'"size_bytes": 1' + b"0" * 5000),
     "is not valid JSON"),
    ("format 2", _set(2, "format"), "unknown manifest format 2"),
    ("format true", _set(True, "format"), "unknown manifest format true"),
    *[(f"no {key}", _without(key), f"{key} is missing") for key in REQUIRED],
    ("no influx_hist.rows", _without("influx_hist", "rows"), "influx_hist.rows is missing"),
    ("no influx_hist.days", _without("influx_hist", "days"), "influx_hist.days is missing"),
    ("size_bytes '12'", _set("12", "size_bytes"), "size_bytes is a string ('12'), not an integer"),
    ("size_bytes -1", _set(-1, "size_bytes"), "size_bytes -1 is below 0"),
    ("size_bytes 1.5", _set(1.5, "size_bytes"), "size_bytes is the number 1.5, not an integer"),
    ("backup_time yesterday", _set("yesterday", "backup_time"),
     "backup_time 'yesterday' is not an ISO 8601 time with a zone"),
    ("backup_time without zone", _set("2026-12-01T00:00:00", "backup_time"),
     "backup_time '2026-12-01T00:00:00' is not an ISO 8601 time with a zone"),
    ("backup_time a number", _set(1767225600, "backup_time"), "backup_time is the number 1767225600, not a string"),
    ("sha256 short", _set("abc123", "sha256"), "sha256 'abc123' is not a SHA-256 (64 hex digits)"),
    ("engine unknown", _set("oracle", "engine"), "engine 'oracle' is not an engine"),
    ("database null", _set(None, "database"), "database is null, not a string"),
    ("database two lines", _set("ecoanp\nrm -rf", "database"), "contains a control character"),
    ("timescaledb_version a number", _set(2.17, "timescaledb_version"), "timescaledb_version is the number 2.17"),
    ("migrations an object", _set({}, "migrations"), "migrations is an object, not a list"),
    ("migration a string", _set(["0001_init.sql"], "migrations"), "migrations[0] is a string ('0001_init.sql')"),
    ("migration without checksum", _without("migrations", 0, "checksum"), "migrations[0].checksum is missing"),
    ("migration without version", _without("migrations", 0, "version"), "migrations[0].version is missing"),
    ("migration of another engine", _set("timescaledb", "migrations", 0, "engine"),
     "migrations[0].engine 'timescaledb' differs from engine 'postgres'"),
    ("influx_hist a list", _set([], "influx_hist"), "influx_hist is a list, not an object"),
    ("day without md5", _without("influx_hist", "days", 0, "md5"), "influx_hist.days[0].md5 is missing"),
    ("day without rows", _without("influx_hist", "days", 0, "rows"), "influx_hist.days[0].rows is missing"),
    ("day rows '5'", _set("5", "influx_hist", "days", 0, "rows"), "influx_hist.days[0].rows is a string ('5')"),
    ("day not ISO", _set("30/01/2026", "influx_hist", "days", 0, "day"),
     "influx_hist.days[0].day '30/01/2026' is not an ISO 8601 date"),
    ("md5 not hex", _set("z" * 32, "influx_hist", "days", 0, "md5"), "is not an md5 (32 hex digits)"),
    ("day twice", _edited(_first_day_twice), "appears twice"),
    ("rows do not add up", _set(1, "influx_hist", "rows"), "influx_hist.rows 1 is not the sum of its days' rows"),
    ("relation count '3'", _set({"public.influx_agg_1m": "3"}, "relation_counts"),
     "relation_counts['public.influx_agg_1m'] is a string ('3'), not an integer"),
]


@pytest.mark.parametrize(("make", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_manifest_is_one_line_and_the_target_is_not_created(backup_made, place, missing_target,
                                                                       pg_server, make, says):
    name, dsn = missing_target
    dump = place(make(backup_made[1]))
    proc = run_cli("restore", str(dump), "--target-dsn", dsn)
    output = proc.stdout + proc.stderr
    assert proc.returncode == EXIT_OPERATIONAL, output
    assert "Traceback" not in output
    assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, output
    assert str(manifest_path(dump)) in proc.stderr
    assert not _exists(pg_server, name)


def test_a_manifest_over_the_cap_is_refused_unread(place, missing_target, pg_server):
    name, dsn = missing_target
    dump = place(b"")
    with open(manifest_path(dump), "r+b") as f:
        f.truncate(MAX_BYTES + 1)    # sparse: nothing written, nothing read
    proc = run_cli("restore", str(dump), "--target-dsn", dsn)
    assert proc.returncode == EXIT_OPERATIONAL and "Traceback" not in proc.stdout + proc.stderr
    assert "more than a manifest can be (64 MB)" in proc.stderr
    assert not _exists(pg_server, name)


def test_force_does_not_drop_the_target_for_a_bad_manifest(backup_made, place, new_migrated_database):
    """Before this check, a naive backup_time failed only after --force had dropped the target."""
    occupied = new_migrated_database("postgres")
    with psycopg.connect(occupied, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '1 day', 'KEEP_ME', 1)")
    before = summary(occupied)
    dump = place(_set("2026-12-01T00:00:00", "backup_time")(backup_made[1]))
    proc = run_cli("restore", str(dump), "--target-dsn", occupied, "--force")
    assert proc.returncode == EXIT_OPERATIONAL, proc.stdout + proc.stderr
    assert "is not an ISO 8601 time with a zone" in proc.stderr
    assert summary(occupied) == before


def test_a_dump_shorter_than_its_manifest_says_is_refused(backup_made, place, missing_target, pg_server):
    name, dsn = missing_target
    dump = place(json.dumps(backup_made[1]).encode())
    dump.unlink()                               # a link: write a truncated copy instead
    dump.write_bytes(backup_made[0].read_bytes()[:-100])
    proc = run_cli("restore", str(dump), "--target-dsn", dsn)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "a truncated copy" in proc.stderr
    assert not _exists(pg_server, name)


def test_the_manifest_backup_writes_is_valid_and_restores(backup_made, place, missing_target, pg_server):
    source, written = backup_made
    manifest = load(manifest_path(source))
    assert (manifest.sha256, manifest.size_bytes, manifest.engine) == \
        (written["sha256"], written["size_bytes"], written["engine"])
    assert manifest.backup_time.isoformat() == written["backup_time"]
    assert [d.row() for d in manifest.influx_hist.days] == written["influx_hist"]["days"]
    assert dict(manifest.relation_counts) == written["relation_counts"]

    name, dsn = missing_target
    # a UTF-8 byte order mark (added by some editors) is accepted
    dump = place(b"\xef\xbb\xbf" + manifest_path(source).read_bytes())
    proc = run_cli("restore", str(dump), "--target-dsn", dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "counts and checksums match" in proc.stdout
    assert summary(dsn)[0] == written["influx_hist"]["rows"]
