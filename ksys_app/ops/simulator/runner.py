"""`ksys simulate`: backfill, start-up gap-fill, live writes and the gap report.

Time comes from an injectable clock (`now`: a callable returning an aware UTC
datetime), so tests move time instead of waiting for it.

Backfill and gap-fill are one code path (`fill`): per tag, the span after its
last reading (not older than `days`, default GAP_FILL_MAX_DAYS) up to now is
generated and loaded with binary COPY, one transaction per day of data, oldest
first, so an interrupted load resumes where it stopped. Because the values are
pure functions of (seed, tag, ts), re-filling a span writes exactly the rows a
continuous run would have written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator, Sequence

import psycopg

from ksys_app.domain.timefmt import format_local
from ksys_app.ops.db import first_line
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.refresh import refresh_range
from ksys_app.ops.simulator import load, signals
from ksys_app.ops.simulator.signals import epoch, grid_floor, to_datetime
from ksys_app.ops.simulator.tags import DEFAULT_INTERVAL_S, TAG_NAMES, parse_tags, validate_interval
from ksys_app.retry import backoff_s

Clock = Callable[[], datetime]
Out = Callable[[str], None]

GAP_FILL_MAX_DAYS = 30          # start-up gap-fill looks back at most this far without --days
MAX_DAYS = 365                  # raw retention
DEFAULT_GAP_DAYS = 7
HOURS_PER_TRANSACTION = 24
# Spans starting within this much of now are left to the scheduler (ksys.tick and the
# TimescaleDB policies cover at least the last 2 hours); older spans get refresh_range.
SCHEDULER_COVERS = timedelta(hours=1)
LIVE_CATCHUP_INTERVALS = 60     # further behind than this, live mode refills with COPY


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SimConfig:
    seed: int = 42
    interval_s: int = DEFAULT_INTERVAL_S
    tags: tuple[str, ...] = TAG_NAMES

    def __post_init__(self) -> None:
        validate_interval(self.interval_s)
        parse_tags(",".join(self.tags))


@dataclass
class FillResult:
    start: datetime | None      # exclusive lower bound of the filled span (oldest tag)
    end: datetime               # inclusive upper bound (grid point at or before now)
    rows: int = 0               # rows inserted
    seconds: float = 0.0        # generation + COPY
    refresh_seconds: float | None = None
    staged_chunks: int = 0      # transactions that fell back to the staging table
    interrupted: bool = False

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class FollowStats:
    ticks: int = 0
    rows: int = 0
    reconnects: int = 0
    last_written: datetime | None = None   # newest grid timestamp written
    fills: list[FillResult] = field(default_factory=list)


def ensure_schema(conn: psycopg.Connection) -> None:
    missing = conn.execute(
        "SELECT array_remove(ARRAY[CASE WHEN to_regclass('public.influx_hist') IS NULL THEN 'influx_hist' END, "
        "CASE WHEN to_regclass('public.influx_qc_rule') IS NULL THEN 'influx_qc_rule' END, "
        "CASE WHEN to_regclass('public.ingest_expectation') IS NULL THEN 'ingest_expectation' END, "
        "CASE WHEN to_regclass('ksys.settings') IS NULL THEN 'ksys.settings' END], NULL)").fetchone()[0]
    if missing:
        raise OpsError(f"database is not migrated ({', '.join(missing)} missing): run `ksys migrate` first")


def prepare(conn: psycopg.Connection, cfg: SimConfig) -> None:
    """Schema check plus QC rules and ingest expectations of the simulated tags."""
    ensure_schema(conn)
    load.upsert_rules(conn, cfg.tags, cfg.interval_s)


def _windows(start: float, end: int, hours: int) -> Iterator[tuple[float, int]]:
    """(lower_excl, upper_incl] windows of `hours` UTC hours covering (start, end]."""
    step = hours * 3600
    lo = start
    while lo < end:
        hi = min(end, (int(lo) // step + 1) * step)
        yield lo, hi
        lo = hi


def fill(conn: psycopg.Connection, cfg: SimConfig, *, days: float | None = None, now: Clock = utc_now,
         out: Out = print, stop: threading.Event | None = None, refresh: bool = True,
         staging: bool = False, verb: str = "backfilled") -> FillResult:
    """Fill each tag from its last reading (or now - days) up to now; then refresh_range.

    days=None: gap-fill only (tags with readings in the last GAP_FILL_MAX_DAYS).
    staging=True forces the staging-table path (for measurements).
    """
    t_now = now()
    end = grid_floor(t_now, cfg.interval_s)
    horizon = t_now - timedelta(days=days if days is not None else GAP_FILL_MAX_DAYS)
    last = load.last_readings(conn, cfg.tags, horizon, t_now)
    lower: dict[str, float] = {}
    for tag in cfg.tags:
        if last[tag] is not None:
            lower[tag] = epoch(last[tag])
        elif days is not None:
            lower[tag] = epoch(horizon)
    result = FillResult(None, to_datetime(end))
    skipped = [t for t in cfg.tags if t not in lower]
    if skipped and lower:
        out(f"no readings of {', '.join(skipped)} in the last {GAP_FILL_MAX_DAYS} days: "
            f"not filled (pass --days N to backfill them)")
    if not lower or min(lower.values()) >= end:
        out("nothing to fill: every tag is up to date" if lower else
            "nothing to fill: no readings of these tags yet (pass --days N to backfill)")
        return result
    start = min(lower.values())
    result.start = to_datetime(start)
    tags = [t for t in cfg.tags if t in lower]
    t0 = time.perf_counter()
    for lo, hi in _windows(start, end, HOURS_PER_TRANSACTION):
        # generated lazily while COPY streams, so Python and the server work in parallel
        def blocks():
            return signals.generate(cfg.seed, tags, lo, hi, cfg.interval_s, lower_excl=lower)
        try:
            inserted, _ = load.copy_blocks(conn, blocks(), staging=staging)
        except psycopg.errors.UniqueViolation:
            # a concurrent writer filled part of the span: insert what is missing
            inserted, _ = load.copy_blocks(conn, blocks(), staging=True)
            result.staged_chunks += 1
        result.rows += inserted
        if stop is not None and stop.is_set():
            result.interrupted = True
            break
    result.seconds = time.perf_counter() - t0
    out(f"{verb} {result.rows} rows in {result.seconds:.2f} s ({result.rows_per_s:,.0f} rows/s), "
        f"{_plural(len(tags), 'tag')}, {format_local(result.start)} .. {format_local(result.end)}"
        + (" (interrupted)" if result.interrupted else ""))
    if refresh and result.rows:
        if result.start < t_now - SCHEDULER_COVERS:
            t1 = time.perf_counter()
            refresh_range(conn, result.start, result.end, out=out)
            result.refresh_seconds = time.perf_counter() - t1
            out(f"refreshed rollups, virtual tags and indicators in {result.refresh_seconds:.2f} s")
        else:
            out("span within the last hour: rollups are left to the scheduler (ksys.tick)")
    return result


# 61 lines: one loop, because reconnecting, gap-filling and live writes share the
# connection, the written mark and the failure count.
def follow(dsn: str, cfg: SimConfig, *, now: Clock = utc_now, stop: threading.Event | None = None,
           wait: Callable[[float], bool] | None = None, out: Out = print,
           connect: Callable[[str], psycopg.Connection] | None = None,
           last_written: datetime | None = None) -> FollowStats:
    """Write one reading per tag at every grid timestamp until `stop` is set.

    wait(seconds) sleeps and returns True when stopping (default: stop.wait).
    A lost connection is retried after 1, 2, 4, 8, 8 ... s; after reconnecting
    the missed span is gap-filled with COPY before live writes resume.
    """
    stop = stop or threading.Event()
    wait = wait or stop.wait
    connect = connect or (lambda d: psycopg.connect(d, autocommit=True, connect_timeout=5))
    stats = FollowStats()
    interval = cfg.interval_s
    written = grid_floor(last_written or now(), interval)
    conn: psycopg.Connection | None = None
    failures = 0
    need_fill = last_written is None
    try:
        while not stop.is_set():
            try:
                if conn is None:
                    conn = connect(dsn)
                    if failures:
                        stats.reconnects += 1
                        out("database reachable again")
                    failures = 0
                if need_fill:
                    r = fill(conn, cfg, now=now, out=out, stop=stop, verb="gap-filled")
                    stats.fills.append(r)
                    stats.rows += r.rows
                    written = max(written, epoch(r.end))
                    need_fill = False
                t = grid_floor(now(), interval)
                if t - written > LIVE_CATCHUP_INTERVALS * interval:
                    need_fill = True
                    continue
                if t > written:
                    for ts, block in signals.generate(cfg.seed, cfg.tags, written, t, interval):
                        stats.rows += load.insert_rows(conn, ts, block)
                    written = t
                    stats.ticks += 1
                delay = t + interval - epoch(now())
                if wait(max(0.0, delay) + 0.005):
                    break
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                failures += 1
                delay = backoff_s(failures)
                need_fill = True
                out(f"database unavailable ({first_line(exc)}); retrying in {delay} s")
                if wait(delay):
                    break
    finally:
        if conn is not None:
            conn.close()
    stats.last_written = to_datetime(written)
    return stats


def run(dsn: str, cfg: SimConfig, *, days: float | None = None, live: bool = False, now: Clock = utc_now,
        stop: threading.Event | None = None, wait: Callable[[float], bool] | None = None,
        out: Out = print) -> tuple[FillResult, FollowStats | None]:
    """One start of the simulator: rules, backfill / gap-fill, then live writes if `live`."""
    from ksys_app.ops.db import connect

    with connect(dsn) as conn:
        prepare(conn, cfg)
        result = fill(conn, cfg, days=days, now=now, out=out, stop=stop,
                      verb="backfilled" if days is not None else "gap-filled")
    if not live or (stop is not None and stop.is_set()):
        return result, None
    out(f"live: {_plural(len(cfg.tags), 'tag')} every {cfg.interval_s} s (Ctrl-C or SIGTERM stops)")
    stats = follow(dsn, cfg, now=now, stop=stop, wait=wait, out=out, last_written=result.end)
    out(f"stopped: {stats.rows} rows in {stats.ticks} ticks, {stats.reconnects} reconnects")
    return result, stats


def list_gaps(conn: psycopg.Connection, cfg: SimConfig, *, days: float = DEFAULT_GAP_DAYS,
              now: Clock = utc_now) -> tuple[list[load.Gap], list[str]]:
    ensure_schema(conn)
    end = now()
    return load.find_gaps(conn, cfg.tags, end - timedelta(days=days), end, cfg.interval_s)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def format_gaps(gaps: Sequence[load.Gap], silent: Sequence[str], days: float) -> str:
    """A plain-text table, times in Asia/Seoul."""
    header = ("TAG", "LAST BEFORE", "NEXT AFTER", "DURATION", "MISSING")
    rows = [(g.tag_name, format_local(g.after), format_local(g.before) if g.before else "(now)",
             _duration(g.seconds), str(g.missing)) for g in gaps]
    lines = []
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        fmt = "  ".join(f"{{:<{w}}}" if i < 3 else f"{{:>{w}}}" for i, w in enumerate(widths))
        lines = [fmt.format(*header), *(fmt.format(*r) for r in rows)]
    tags = sorted({g.tag_name for g in gaps})
    lines.append(f"{_plural(len(gaps), 'gap')} in {_plural(len(tags), 'tag')} over the last {days:g} days"
                 + (f"; no readings at all: {', '.join(silent)}" if silent else ""))
    return "\n".join(lines)
