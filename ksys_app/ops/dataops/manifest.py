"""The manifest written next to a backup, and the comparison a restore makes with it.

influx_hist is summarised per tag and UTC day: a row count and the md5 of every
row (ts, value, qc, meta) in time order, for rows up to the backup time. The
backup computes it inside the snapshot pg_dump then uses, so dump and manifest
describe exactly the same rows; the restore recomputes it before anything (the
scheduler, ingest) can write to the restored database.

`load` reads a manifest back for a restore: size-capped, strict UTF-8 JSON, then
every field the restore uses validated (manifest_model), so that a bad file is
refused before the target database is touched.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from ksys_app.ops.dataops.manifest_model import Manifest, shown, validate
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.history import applied_migrations, recorded_engine

FORMAT = 1

# One text line per row; hist_summary pins TimeZone, DateStyle and extra_float_digits
# so the text (and the md5) is the same on every server and session.
_ROW_TEXT = "concat_ws('|', ts::text, value::text, coalesce(qc::text, ''), coalesce(meta::text, ''))"

HIST_SQL = f"""
SELECT tag_name, (ts AT TIME ZONE 'UTC')::date AS day, count(*),
       md5(string_agg({_ROW_TEXT}, E'\\n' ORDER BY ts))
FROM public.influx_hist
WHERE ts <= %s
GROUP BY 1, 2
ORDER BY 1, 2
"""

# Row counts of the other relations worth comparing (those that exist).
COUNTED = ("public.influx_qc_rule", "public.ingest_expectation", "public.predictions", "public.anomalies",
           "public.influx_agg_1m", "public.influx_agg_10m", "public.influx_agg_1h", "public.influx_agg_1d",
           "public.features_5m", "public.tech_ind_1m_mv", "ksys.tag_registry")


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hist_summary(conn: psycopg.Connection, upto: datetime) -> list[dict[str, Any]]:
    for setting in ("TimeZone = 'UTC'", "DateStyle = 'ISO, YMD'", "extra_float_digits = 1"):
        conn.execute(f"SET {setting}")
    rows = conn.execute(HIST_SQL, (upto,)).fetchall()
    return [{"tag": t, "day": d.isoformat(), "rows": n, "md5": h} for t, d, n, h in rows]


def relation_counts(conn: psycopg.Connection) -> dict[str, int]:
    counts = {}
    for name in COUNTED:
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]:
            counts[name] = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return counts


def database_facts(conn: psycopg.Connection) -> dict[str, Any]:
    """Engine, versions and migrations of a ksys database."""
    if not conn.execute("SELECT to_regclass('ksys.settings') IS NOT NULL "
                        "AND to_regclass('public.influx_hist') IS NOT NULL").fetchone()[0]:
        raise OpsError("not a ksys database (no ksys.settings / influx_hist): run `ksys migrate` first")
    row = conn.execute(
        """SELECT current_database(), current_setting('server_version'), current_setting('server_version_num')::int,
                  current_setting('server_encoding'),
                  (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
                  (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb_toolkit')""").fetchone()
    applied = applied_migrations(conn)
    return {
        "database": row[0],
        "server_version": row[1].split()[0],
        "server_version_num": row[2],
        "encoding": row[3],
        "engine": recorded_engine(applied),
        "timescaledb_version": row[4],
        "timescaledb_toolkit_version": row[5],
        "migrations": [{"version": v, "file": f, "engine": e, "checksum": c}
                       for v, (f, e, c) in sorted(applied.items())],
    }


def write(path: Path, manifest: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


# A 90-day, 500-tag database's manifest is about 5 MB (45,000 tag-days of ~110 bytes); a year
# of 1,000 tags about 40 MB. Anything past 64 MB is not a manifest ksys wrote, and is refused
# before it is read into memory.
MAX_BYTES = 64 * 1024 * 1024


def load(path: Path) -> Manifest:
    """The manifest, checked whole (manifest_model); any problem is one OpsError line naming the field."""
    data = _parse(_read(path), path)
    if not isinstance(data, dict):
        raise OpsError(f"{path}: is a JSON {_json_kind(data)}, not an object (not a manifest written by `ksys backup`)")
    fmt = data.get("format")
    if fmt is None:
        raise OpsError(f"{path}: format is missing (not a manifest written by `ksys backup`)")
    if type(fmt) is not int or fmt != FORMAT:   # type(): JSON true must not pass as 1
        raise OpsError(f"{path}: unknown manifest format {shown(fmt)} (this ksys reads {FORMAT})")
    return validate(data, path)


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise OpsError(f"{path}: {path.stat().st_size} bytes, more than a manifest can be "
                           f"({MAX_BYTES // (1024 * 1024)} MB): not a manifest written by `ksys backup`")
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)   # the size may lie (a pipe, a file still growing)
    except FileNotFoundError:
        raise OpsError(f"no manifest {path} next to the dump (made by `ksys backup`); "
                       "pass --no-verify to restore a dump without one") from None
    except OSError as exc:
        raise OpsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise OpsError(f"{path}: more than {MAX_BYTES // (1024 * 1024)} MB: not a manifest written by `ksys backup`")
    return raw


def _parse(raw: bytes, path: Path) -> Any:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise OpsError(f"{path}: is UTF-16 (it starts with a UTF-16 byte order mark); a manifest is UTF-8 "
                       "as `ksys backup` writes it: copy the file unchanged, or convert it back to UTF-8")
    try:
        # utf-8-sig: a UTF-8 byte order mark (some editors add one) is harmless; anything else must be UTF-8
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OpsError(f"{path}: is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); a manifest "
                       "is UTF-8 JSON as `ksys backup` writes it") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise OpsError(f"{path}: is not a manifest (JSON nested too deeply to read)") from None
    except ValueError as exc:   # JSONDecodeError, and int() refusing a number of thousands of digits
        raise OpsError(f"{path}: is not valid JSON: {str(exc).splitlines()[0][:200]}") from None


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def first_difference(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> str | None:
    """None when equal, else a sentence naming the first differing tag/day (ordered by tag, day)."""
    want = {(r["tag"], r["day"]): r for r in expected}
    have = {(r["tag"], r["day"]): r for r in actual}
    for key in sorted(want.keys() | have.keys()):
        tag, day = key
        w, h = want.get(key), have.get(key)
        if h is None:
            return f"influx_hist tag {tag} day {day}: {w['rows']} rows in the backup, none restored"
        if w is None:
            return f"influx_hist tag {tag} day {day}: {h['rows']} rows restored that the backup does not have"
        if w["rows"] != h["rows"]:
            return f"influx_hist tag {tag} day {day}: {w['rows']} rows in the backup, {h['rows']} restored"
        if w["md5"] != h["md5"]:
            return (f"influx_hist tag {tag} day {day}: same row count ({w['rows']}) but different content "
                    f"(md5 {w['md5'][:12]} in the backup, {h['md5'][:12]} restored)")
    return None


def count_differences(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    return [f"{name}: {n} rows in the backup, {actual.get(name)} restored"
            for name, n in sorted(expected.items()) if actual.get(name) != n]
