"""`ksys backup`: pg_dump (custom format) plus FILE.manifest.json.

The manifest (row counts and checksums per tag and UTC day of influx_hist,
migrations, engine, versions, backup time) is computed in a REPEATABLE READ
transaction whose snapshot pg_dump then uses (--snapshot), so dump and manifest
describe the same rows even while readings keep arriving.

pg_cron's schema is left out of the dump (--exclude-schema=cron): its jobs
belong to the server, can only live in cron.database_name, and `ksys restore`
re-creates the tick with `ksys.ensure_schedule` instead. The extension's own
entry stays in the archive's table of contents; restore filters it out.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import psycopg

from ksys_app.ops.dataops import manifest as mf
from ksys_app.ops.dataops.pgtools import conninfo_and_env, find_tool, server_major, tail, tool_major
from ksys_app.ops.db import connect, db_error, lacks_rights
from ksys_app.ops.errors import OpsError

Out = Callable[[str], None]


def default_path(database: str, now: datetime | None = None) -> Path:
    now = now or datetime.now(timezone.utc)
    directory = Path(os.environ.get("KSYS_BACKUP_DIR") or ".")
    return directory / f"ksys_{database}_{now:%Y%m%dT%H%M%SZ}.dump"


def _human(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e5 else f"{n_bytes} bytes"


def _target(out_file: Path | None, database: str) -> Path:
    out_file = Path(out_file) if out_file is not None else default_path(database)
    if out_file.exists():
        raise OpsError(f"{out_file} already exists; choose another --out")
    if not out_file.parent.is_dir():
        raise OpsError(f"directory {out_file.parent} does not exist")
    return out_file


def _pg_dump(pg_dump: Path, dsn: str, snapshot: str, partial: Path) -> None:
    """The dump of the exported snapshot: exactly what the manifest describes."""
    conninfo, env = conninfo_and_env(dsn)
    proc = subprocess.run(
        [str(pg_dump), "--format=custom", f"--snapshot={snapshot}", "--exclude-schema=cron",
         f"--file={partial}", f"--dbname={conninfo}"],
        capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise OpsError(f"pg_dump failed: {tail(proc.stderr)}")


def backup(dsn: str, out_file: Path | None = None, out: Out = print) -> Path:
    """Manifest and dump read the same exported snapshot (REPEATABLE READ), so the
    manifest's counts and checksums are those of the dump."""
    started = time.monotonic()
    with connect(dsn, autocommit=False) as conn:
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            major = server_major(conn)
            pg_dump, dump_major = find_tool("pg_dump", major)
            snapshot, backup_time = conn.execute("SELECT pg_export_snapshot(), clock_timestamp()").fetchone()
            facts = mf.database_facts(conn)
            out_file = _target(out_file, facts["database"])
            t0 = time.monotonic()
            hist = mf.hist_summary(conn, backup_time)
            counts = mf.relation_counts(conn)
            later = conn.execute("SELECT count(*) FROM public.influx_hist WHERE ts > %s",
                                 (backup_time,)).fetchone()[0]
            manifest_s = time.monotonic() - t0
            out(f"backup of {facts['database']} (engine {facts['engine']}, PostgreSQL {facts['server_version']}"
                + (f", TimescaleDB {facts['timescaledb_version']}" if facts["timescaledb_version"] else "")
                + f") at {backup_time:%Y-%m-%d %H:%M:%S%z}")
            out(f"  manifest: {sum(r['rows'] for r in hist)} influx_hist rows in {len(hist)} tag-days "
                f"({manifest_s:.1f} s)")

            partial = out_file.with_name(out_file.name + ".partial")
            t0 = time.monotonic()
            _pg_dump(pg_dump, dsn, snapshot, partial)
            dump_s = time.monotonic() - t0
        except psycopg.Error as exc:
            if lacks_rights(exc):
                raise  # ops.db.connect names the role and the DSN to use
            raise db_error(exc) from None
        finally:
            conn.rollback()

    partial.replace(out_file)
    size = out_file.stat().st_size
    out(f"  pg_dump {dump_major} -> {out_file} ({_human(size)}, {dump_s:.1f} s)")
    manifest = {
        "format": mf.FORMAT,
        "file": out_file.name,
        "size_bytes": size,
        "sha256": mf.sha256_file(out_file),
        "backup_time": backup_time.isoformat(),
        **facts,
        "pg_dump_version": tool_major(str(pg_dump)),
        "excluded": ["pg_cron (schema cron and the extension): re-created by ksys restore"],
        "influx_hist": {
            "rows": sum(r["rows"] for r in hist),
            "rows_after_backup_time": later,
            "days": hist,
        },
        "relation_counts": counts,
    }
    mf.write(mf.manifest_path(out_file), manifest)
    out(f"  manifest -> {mf.manifest_path(out_file)}")
    out(f"backup done in {time.monotonic() - started:.1f} s")
    return out_file
