"""Small helpers shared by the bench steps: percentiles, timers, machine facts, RSS via /proc."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
Out = Callable[[str], None]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in 0..1."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary_ms(samples_s: list[float]) -> dict:
    """p50 / p95 / min / max / mean in milliseconds of durations in seconds."""
    ms = [s * 1000.0 for s in samples_s]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50": round(percentile(ms, 0.5), 3), "p95": round(percentile(ms, 0.95), 3),
            "min": round(min(ms), 3), "max": round(max(ms), 3), "mean": round(sum(ms) / len(ms), 3)}


class Stopwatch:
    def __enter__(self) -> "Stopwatch":
        self.t0 = time.perf_counter()
        self.s = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.s = time.perf_counter() - self.t0


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def mem_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def git_facts() -> dict:
    """Commit and whether the work tree differs from it (read-only git commands)."""
    def run(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
            return r.stdout.strip() if r.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            return None
    status = run("status", "--porcelain")
    return {"commit": run("rev-parse", "--short", "HEAD"),
            "dirty": None if status is None else bool(status)}


def machine_facts() -> dict:
    return {"nproc": os.cpu_count(), "mem_total_mb": mem_total_mb(), "python": sys.version.split()[0],
            "platform": platform.platform(), "kernel": platform.release(), **git_facts()}


# ---------------------------------------------------------------------- process memory

def _ppid_map() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, split after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        out[int(entry.name)] = int(fields[1])
    return out


def process_tree(root: int) -> list[int]:
    parents = _ppid_map()
    tree, frontier = [root], [root]
    while frontier:
        nxt = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += nxt
        frontier = nxt
    return [p for p in tree if Path(f"/proc/{p}").exists()]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def tree_rss(root: int) -> dict:
    """RSS of a process tree: total MB and each process (pid, MB, command)."""
    procs = [(pid, rss_kb(pid)) for pid in process_tree(root)]
    return {"total_mb": round(sum(kb for _, kb in procs) / 1024, 1),
            "processes": [{"pid": pid, "rss_mb": round(kb / 1024, 1), "cmd": cmdline(pid)[:120]}
                          for pid, kb in procs]}
