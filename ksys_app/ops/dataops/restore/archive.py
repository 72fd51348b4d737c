"""The dump side of a restore: the archive's table of contents (pg_cron left out) and pg_restore."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ksys_app.ops.dataops.pgtools import conninfo_and_env, find_tool, tail
from ksys_app.ops.errors import OpsError

Out = Callable[[str], None]

# pg_cron's TOC entries: the extension, its comment, anything in schema cron.
CRON_TOC_RE = re.compile(
    r"^\s*\d+;\s+\d+\s+\d+\s+(?:[A-Z]+ )+(?:cron |- (?:EXTENSION |SCHEMA )?(?:pg_cron|cron)(?:\s|$))")
EXTENSION_TOC_RE = re.compile(r"^\s*\d+;\s+\d+\s+\d+\s+EXTENSION - (\S+)")


@dataclass
class Toc:
    lines: list[str]
    kept: list[str]
    dropped: list[str]
    extensions: list[str]

    @property
    def has_timescaledb(self) -> bool:
        return "timescaledb" in self.extensions


def parse_toc(text: str) -> Toc:
    lines = text.splitlines()
    kept, dropped, extensions = [], [], []
    for line in lines:
        if line.lstrip().startswith(";") or not line.strip():
            kept.append(line)
            continue
        if CRON_TOC_RE.match(line):
            dropped.append(line)
            continue
        kept.append(line)
        match = EXTENSION_TOC_RE.match(line)
        if match:
            extensions.append(match[1])
    return Toc(lines, kept, dropped, extensions)


def pg_restore(file: Path, dsn: str, toc: Toc, major: int, out: Out) -> None:
    binary, _version = find_tool("pg_restore", major)
    conninfo, env = conninfo_and_env(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(toc.kept) + "\n")
        list_file = f.name
    try:
        proc = subprocess.run(
            [str(binary), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
             f"--use-list={list_file}", f"--dbname={conninfo}", str(file)],
            capture_output=True, text=True, env=env)
    finally:
        os.unlink(list_file)
    if proc.returncode != 0:
        raise OpsError(f"pg_restore failed (nothing was restored): {tail(proc.stderr)}", exit_code=2)


def read_toc(file: Path, major: int) -> Toc:
    binary, _ = find_tool("pg_restore", major)
    proc = subprocess.run([str(binary), "--list", str(file)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OpsError(f"{file} is not a pg_dump custom-format archive this pg_restore can read: "
                       f"{tail(proc.stderr, 2)}")
    return parse_toc(proc.stdout)


