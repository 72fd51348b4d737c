"""Helpers of the operations tests: extra throwaway clusters, CSV files, the CLI, measured numbers."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest

from ksys_app.ops.dataops.manifest import hist_summary
from ksys_dev.localpg import LocalCluster, free_port

ROOT = Path(__file__).resolve().parents[2]
METRICS = ROOT / "test-output" / "opsdb-metrics.json"
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)


def record_metric(key: str, value) -> None:
    """Measured numbers (rows/s, restore seconds) for the report: test-output/opsdb-metrics.json."""
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(METRICS.read_text()) if METRICS.exists() else {}
    data[key] = value
    METRICS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"\nmetric {key} = {value}")


@pytest.fixture
def cluster_factory() -> Iterator[Callable[[], LocalCluster]]:
    """Start extra LocalClusters (fsync off); every one is destroyed afterwards."""
    started: list[tuple[LocalCluster, Path]] = []

    def start() -> LocalCluster:
        base = Path(tempfile.mkdtemp(prefix="ksys-opsdb-"))
        os.chmod(base, 0o755)  # the server runs as the postgres account when the tests run as root
        cluster = LocalCluster(base / "data", free_port(), fast=True)
        started.append((cluster, base))
        cluster.init()
        cluster.start()
        return cluster

    yield start
    for cluster, base in started:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def write_readings_csv(path: Path, tags: int = 20, per_tag: int = 50_000, step_s: int = 10,
                       end: datetime | None = None, with_qc: bool = False) -> int:
    """Long-format readings, values multiples of 1/4 (exact sums); gzip when path ends in .gz."""
    end = end or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    start = end - timedelta(seconds=step_s * per_tag)
    names = [f"T{t:02d}" for t in range(tags)]
    parts = ["ts,tag_name,value,qc\n" if with_qc else "ts,tag_name,value\n"]
    qc = ",0" if with_qc else ""
    for i in range(per_tag):
        ts = (start + timedelta(seconds=i * step_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.extend(f"{ts},{name},{((i * 7 + t * 13) % 20000) / 4}{qc}\n" for t, name in enumerate(names))
    data = "".join(parts).encode()
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return tags * per_tag


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    for var in ("KSYS_ADMIN_DSN", "TS_DSN"):
        if env is None or var not in env:
            full_env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=ROOT)


def summary(dsn: str) -> tuple[int, list[dict]]:
    """(influx_hist rows, per tag/day counts and checksums) of a database."""
    with psycopg.connect(dsn) as conn:
        days = hist_summary(conn, FAR_FUTURE)
    return sum(d["rows"] for d in days), days


def dbname(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
