"""db/schema.<engine>.sql: the schema the migrations build, as one file per engine.

The migrations read as a change log (a function redefined in a later file, a
view replaced); this is what a database looks like after all of them, so "what
does ksys.run_job do now" is one search. tests/schema/test_schema_snapshot.py keeps
the files current; after changing a migration, regenerate them:

    .venv/bin/python -m ksys_dev.schema_snapshot        # both engines where TimescaleDB is installed
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg

from ksys_app.ops.dataops.pgtools import conninfo_and_env, find_tool, server_major
from ksys_app.ops.runtime.frontend import PROJECT_ROOT
from ksys_app.ops.schema.migrate import ENGINES, migrate

SNAPSHOT_DIR = PROJECT_ROOT / "db"
SCHEMAS = ("public", "ksys")
# Lines that differ between runs or pg_dump builds without saying anything about the schema.
NOISE = re.compile(r"^(-- Dumped (from|by) |\\restrict |\\unrestrict |SET |SELECT pg_catalog\.set_config)")


def snapshot_path(engine: str) -> Path:
    return SNAPSHOT_DIR / f"schema.{engine}.sql"


def dump_schema(dsn: str) -> str:
    """pg_dump --schema-only of the ksys schemas, without owners and run-specific lines."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        major = server_major(conn)
    pg_dump, _version = find_tool("pg_dump", major)
    conninfo, env = conninfo_and_env(dsn)
    args = [str(pg_dump), "--schema-only", "--no-owner", "--no-comments", f"--dbname={conninfo}"]
    args += [f"--schema={s}" for s in SCHEMAS]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    lines = [line for line in proc.stdout.splitlines() if not NOISE.match(line)]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def main() -> int:
    from ksys_dev.localpg import available_libraries, find_bin_dir, temporary_cluster

    engines = [e for e in ENGINES if e != "timescaledb" or "timescaledb" in available_libraries(find_bin_dir())]
    with temporary_cluster("ksys-schema-") as cluster:
        for engine in engines:
            with psycopg.connect(cluster.dsn(dbname="postgres"), autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE snapshot_{engine}")
            dsn = cluster.dsn(dbname=f"snapshot_{engine}")
            migrate(dsn, engine=engine, out=lambda _line: None)
            snapshot_path(engine).write_text(dump_schema(dsn))
            print(f"wrote {snapshot_path(engine).relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
