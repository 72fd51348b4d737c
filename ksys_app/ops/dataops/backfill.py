"""`ksys backfill FILE.csv[.gz]`: load readings from a CSV file (PRD 27.5).

Long format, header `ts,tag_name,value[,qc]` (any order). `ts` must carry a
time zone (`2025-01-01T00:00:00Z`, `...+09:00`); naive times are rejected
rather than guessed, and so are times before 1970 or more than --max-future
(300 s) ahead of the clock. Tags, numbers (ASCII decimals) and qc follow the
shared input rules (ksys_app.domain.inputs); the file must be UTF-8 (or gzip of
it) and is read a bounded line at a time. Every row is validated in Python with its line number;
good rows stream into a temporary staging table with COPY. By default a file
with any bad row is rejected (first 20 line numbers + the count) and nothing is
written; --skip-bad loads the rest. Rows that repeat a (ts, tag_name) with the
same value count once; with a different value they are bad rows.

The staging table is upserted into influx_hist: ON CONFLICT (ts, tag_name) DO
UPDATE only where value/qc differ, so loading the same file again changes
nothing. Rollups, virtual tags and indicators are then refreshed over the days
the changed rows cover (ksys_app.ops.schema.refresh.refresh_range).
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, TextIO

import psycopg

from ksys_app.domain import inputs
from ksys_app.domain.inputs import InputError
from ksys_app.ops.dataops.csvrecords import CsvFile
from ksys_app.ops.db import connect, db_error
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.refresh import refresh_range

Out = Callable[[str], None]

REQUIRED = ("ts", "tag_name", "value")
OPTIONAL = ("qc",)
SHOW_BAD = 20
PROGRESS_MIN_BYTES = 4 * 1024 * 1024
CHUNK_ROWS = 20000
EXIT_BAD_ROWS = 1


@dataclass
class BackfillResult:
    rows_read: int
    bad: int
    loaded: int            # distinct good rows sent to influx_hist
    inserted: int
    updated: int
    unchanged: int
    load_seconds: float
    refresh_seconds: float
    rows_per_s: float
    first_ts: datetime | None = None
    last_ts: datetime | None = None


class BadRows(OpsError):
    def __init__(self, path: Path, messages: list[str], total: int):
        self.messages = messages
        self.total = total
        super().__init__(f"{path}: {total} bad row(s); nothing was written (--skip-bad loads the other rows)",
                         exit_code=EXIT_BAD_ROWS)


class _Progress:
    def __init__(self, source: CsvFile, size: int, err: TextIO):
        self.source, self.size, self.err = source, size, err
        self.enabled = size >= PROGRESS_MIN_BYTES
        self.tty = err.isatty()
        self.started = self.last = time.monotonic()

    def tick(self, rows: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < (1.0 if self.tty else 5.0):
            return
        self.last = now
        pos = self.size if final else self.source.position()
        rate = rows / max(now - self.started, 1e-9)
        line = (f"backfill: {100 * pos / self.size:3.0f}% of {self.size / 1e6:.1f} MB read, "
                f"{rows} rows, {rate:,.0f} rows/s")
        self.err.write(f"\r{line}" if self.tty else f"{line}\n")
        if final and self.tty:
            self.err.write("\n")
        self.err.flush()


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


@dataclass(frozen=True)
class _Columns:
    ts: int
    tag: int
    value: int
    qc: int | None
    width: int


def _read_header(source: CsvFile, path: Path) -> _Columns:
    first = source.header()
    if first is None:
        raise OpsError(f"{path}: empty file (expected a header ts,tag_name,value[,qc])")
    header = [h.strip() for h in first]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise OpsError(f"{path}: line 1: the header must be ts,tag_name,value[,qc] (any order)"
                       + (f"; missing {', '.join(missing)}" if missing else "")
                       + (f"; unknown {', '.join(unknown)}" if unknown else ""), exit_code=EXIT_BAD_ROWS)
    return _Columns(header.index("ts"), header.index("tag_name"), header.index("value"),
                    header.index("qc") if "qc" in header else None, len(header))



def _copy_line(line: int, cells: list[str], cols: _Columns, now: datetime, margin: timedelta) -> str:
    """One validated row as a COPY csv line; raises InputError saying what is wrong
    (the rules of ksys_app.domain.inputs, shared with the dashboard and ingest)."""
    if len(cells) != cols.width:
        raise InputError(f"{len(cells)} fields, the header has {cols.width}")
    ts = inputs.timestamp(cells[cols.ts], now, margin)
    tag = inputs.tag_name(cells[cols.tag])
    value = inputs.decimal(cells[cols.value])
    qc = ""
    if cols.qc is not None and cells[cols.qc].strip():
        qc = str(inputs.integer(cells[cols.qc], "qc", -32768, 32767))
    return f"{line},{ts.isoformat()},{_csv_field(tag)},{value!r},{qc}\n"


def _stage(conn: psycopg.Connection, path: Path, err: TextIO,
           margin: timedelta) -> tuple[int, list[str], int, bool]:
    """Validate and COPY the good rows; returns (rows read, first bad messages, bad count, has qc)."""
    bad_messages: list[str] = []
    bad = 0
    now = datetime.now(timezone.utc)   # one clock for the whole file: "in the future" means after the start

    def reject(line: int, why: str) -> None:
        nonlocal bad
        bad += 1
        if len(bad_messages) < SHOW_BAD:
            bad_messages.append(f"line {line}: {why}")

    with CsvFile(path) as source:
        progress = _Progress(source, path.stat().st_size, err)
        cols = _read_header(source, path)
        rows = 0
        buf: list[str] = []
        with conn.cursor() as cur, cur.copy(
                "COPY pg_temp.ksys_backfill (line, ts, tag_name, value, qc) FROM STDIN (FORMAT csv)") as copy:
            for start, cells in source.records():
                if isinstance(cells, csv.Error):
                    reject(start, f"unreadable CSV: {cells}")
                    continue
                if not cells:
                    continue
                rows += 1
                try:
                    buf.append(_copy_line(start, cells, cols, now, margin))
                except InputError as why:
                    reject(start, str(why))
                    continue
                if len(buf) >= CHUNK_ROWS:
                    copy.write("".join(buf))
                    buf.clear()
                    progress.tick(rows)
            if buf:
                copy.write("".join(buf))
    progress.tick(rows, final=True)
    return rows, bad_messages, bad, cols.qc is not None


def _duplicates(conn: psycopg.Connection, reject: Callable[[int, str], None]) -> int:
    """Repeated (ts, tag_name): identical repeats are dropped, conflicting ones are bad rows."""
    dup = conn.execute("SELECT count(*) FROM (SELECT 1 FROM pg_temp.ksys_backfill GROUP BY ts, tag_name "
                       "HAVING count(*) > 1) d").fetchone()[0]
    if not dup:
        return 0
    rows = conn.execute(
        """SELECT s.line, f.line, (s.value, s.qc) IS DISTINCT FROM (f.value, f.qc)
           FROM pg_temp.ksys_backfill s
           JOIN LATERAL (SELECT line, value, qc FROM pg_temp.ksys_backfill f
                          WHERE f.ts = s.ts AND f.tag_name = s.tag_name ORDER BY line LIMIT 1) f ON f.line < s.line
           ORDER BY s.line""").fetchall()
    for line, first, conflicting in rows:
        if conflicting:
            reject(line, f"same ts and tag_name as line {first} with a different value/qc")
    conn.execute("""DELETE FROM pg_temp.ksys_backfill s USING pg_temp.ksys_backfill f
                    WHERE f.ts = s.ts AND f.tag_name = s.tag_name AND f.line < s.line""")
    return len(rows)


def backfill(dsn: str, path: Path, skip_bad: bool = False, out: Out = print,
             err: TextIO | None = None, future_margin: timedelta = inputs.DEFAULT_FUTURE_MARGIN) -> BackfillResult:
    path = Path(path)
    err = err or sys.stderr
    if not path.is_file():
        raise OpsError(f"{path}: no such file")
    started = time.monotonic()
    try:
        with connect(dsn, autocommit=False) as conn:
            conn.execute("CREATE TEMP TABLE ksys_backfill (line bigint NOT NULL, ts timestamptz NOT NULL, "
                         "tag_name text NOT NULL, value double precision NOT NULL, qc smallint) ON COMMIT DROP")
            rows, messages, bad_count, has_qc = _stage(conn, path, err, future_margin)
            bad = [bad_count]

            def reject(line: int, why: str) -> None:
                bad[0] += 1
                if len(messages) < SHOW_BAD:
                    messages.append(f"line {line}: {why}")

            _duplicates(conn, reject)
            if bad[0] and not skip_bad:
                conn.rollback()
                raise BadRows(path, sorted(messages, key=lambda m: int(m.split()[1].rstrip(":"))), bad[0])
            loaded = conn.execute("SELECT count(*) FROM pg_temp.ksys_backfill").fetchone()[0]
            set_clause = ("SET value = excluded.value, qc = excluded.qc "
                          "WHERE (h.value, h.qc) IS DISTINCT FROM (excluded.value, excluded.qc)") if has_qc else \
                         ("SET value = excluded.value WHERE h.value IS DISTINCT FROM excluded.value")
            inserted, updated, first_ts, last_ts = conn.execute(f"""
                WITH up AS (
                  INSERT INTO public.influx_hist AS h (ts, tag_name, value, qc)
                  SELECT ts, tag_name, value, coalesce(qc, 0) FROM pg_temp.ksys_backfill
                  ON CONFLICT (ts, tag_name) DO UPDATE {set_clause}
                  RETURNING h.ts, (xmax = 0) AS ins)
                SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins), min(ts), max(ts) FROM up
            """).fetchone()
            conn.commit()
    except psycopg.Error as exc:
        raise db_error(exc, "database error (nothing written)") from None
    load_s = time.monotonic() - started
    rate = rows / max(load_s, 1e-9)
    out(f"backfill {path.name}: {rows} rows read, {bad[0]} bad{' (skipped)' if bad[0] else ''}, "
        f"{inserted} inserted, {updated} updated, {loaded - inserted - updated} unchanged "
        f"in {load_s:.1f} s ({rate:,.0f} rows/s)")
    for message in (sorted(messages, key=lambda m: int(m.split()[1].rstrip(":"))) if bad[0] else []):
        out(f"  skipped {message}")
    if bad[0] > len(messages):
        out(f"  ... and {bad[0] - len(messages)} more")
    refresh_s = 0.0
    if inserted or updated:
        t0 = time.monotonic()
        with connect(dsn) as conn:
            refresh_range(conn, first_ts, last_ts, out=out)
        refresh_s = time.monotonic() - t0
        out(f"  rollups, virtual tags and indicators refreshed for {first_ts:%Y-%m-%d} .. {last_ts:%Y-%m-%d} "
            f"in {refresh_s:.1f} s")
    else:
        out("  nothing changed: no refresh needed")
    return BackfillResult(rows, bad[0], loaded, inserted, updated, loaded - inserted - updated, load_s, refresh_s,
                          rate, first_ts, last_ts)
