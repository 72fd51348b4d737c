"""`ksys backfill FILE.csv[.gz]`: load readings from a CSV file (PRD 27.5).

Long format, header `ts,tag_name,value[,qc]` (any order). `ts` must carry a
time zone (`2025-01-01T00:00:00Z`, `...+09:00`); naive times are rejected
rather than guessed. Every row is validated in Python with its line number;
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
import gzip
import io
import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, TextIO

import psycopg

from ksys_app.ops.dataops.csvrecords import numbered
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
    def __init__(self, raw, size: int, err: TextIO):
        self.raw, self.size, self.err = raw, size, err
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
        pos = self.size if final else self.raw.tell()
        rate = rows / max(now - self.started, 1e-9)
        line = (f"backfill: {100 * pos / self.size:3.0f}% of {self.size / 1e6:.1f} MB read, "
                f"{rows} rows, {rate:,.0f} rows/s")
        self.err.write(f"\r{line}" if self.tty else f"{line}\n")
        if final and self.tty:
            self.err.write("\n")
        self.err.flush()


def _open(path: Path):
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise OpsError(f"cannot read {path}: {exc.strerror}") from None
    magic = raw.read(2)
    raw.seek(0)
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
    return raw, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


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


def _read_header(reader, path: Path) -> _Columns:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise OpsError(f"{path}: empty file (expected a header ts,tag_name,value[,qc])") from None
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
        raise OpsError(f"{path}: cannot read the header: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise OpsError(f"{path}: line 1: the header must be ts,tag_name,value[,qc] (any order)"
                       + (f"; missing {', '.join(missing)}" if missing else "")
                       + (f"; unknown {', '.join(unknown)}" if unknown else ""), exit_code=EXIT_BAD_ROWS)
    return _Columns(header.index("ts"), header.index("tag_name"), header.index("value"),
                    header.index("qc") if "qc" in header else None, len(header))


class _BadRow(ValueError):
    pass


def _copy_line(line: int, cells: list[str], cols: _Columns) -> str:
    """One validated row as a COPY csv line; raises _BadRow saying what is wrong."""
    if len(cells) != cols.width:
        raise _BadRow(f"{len(cells)} fields, the header has {cols.width}")
    ts_text = cells[cols.ts].strip()
    try:
        ts = datetime.fromisoformat(ts_text)
    except ValueError:
        raise _BadRow(f"ts is not an ISO 8601 time: {ts_text!r}") from None
    if ts.tzinfo is None:
        raise _BadRow(f"ts has no time zone: {ts_text!r} (add Z or an offset such as +09:00)")
    tag = cells[cols.tag]
    if not tag or tag != tag.strip() or not tag.isprintable():
        raise _BadRow(f"tag_name is empty or has surrounding blanks/control characters: {tag!r}")
    try:
        value = float(cells[cols.value])
    except ValueError:
        raise _BadRow(f"value is not a number: {cells[cols.value]!r}") from None
    if not math.isfinite(value):
        raise _BadRow(f"value must be finite: {cells[cols.value]!r}")
    qc = ""
    if cols.qc is not None and cells[cols.qc].strip():
        try:
            qc_int = int(cells[cols.qc])
        except ValueError:
            raise _BadRow(f"qc is not an integer: {cells[cols.qc]!r}") from None
        if not -32768 <= qc_int <= 32767:
            raise _BadRow(f"qc is out of range (smallint): {qc_int}")
        qc = str(qc_int)
    return f"{line},{ts.isoformat()},{_csv_field(tag)},{value!r},{qc}\n"


def _stage(conn: psycopg.Connection, path: Path, err: TextIO) -> tuple[int, list[str], int, bool]:
    """Validate and COPY the good rows; returns (rows read, first bad messages, bad count, has qc)."""
    raw, text = _open(path)
    progress = _Progress(raw, path.stat().st_size, err)
    bad_messages: list[str] = []
    bad = 0

    def reject(line: int, why: str) -> None:
        nonlocal bad
        bad += 1
        if len(bad_messages) < SHOW_BAD:
            bad_messages.append(f"line {line}: {why}")

    with raw, text:
        reader = csv.reader(text)
        cols = _read_header(reader, path)
        rows = 0
        last = reader.line_num
        buf: list[str] = []
        records = numbered(reader)
        with conn.cursor() as cur, cur.copy(
                "COPY pg_temp.ksys_backfill (line, ts, tag_name, value, qc) FROM STDIN (FORMAT csv)") as copy:
            while True:
                try:
                    start, cells = next(records)
                except StopIteration:
                    break
                except (UnicodeDecodeError, OSError, EOFError) as exc:
                    raise OpsError(f"{path}: cannot read past line {last}: {exc}") from None
                last = reader.line_num
                if isinstance(cells, csv.Error):
                    reject(start, f"unreadable CSV: {cells}")
                    continue
                if not cells:
                    continue
                rows += 1
                try:
                    buf.append(_copy_line(start, cells, cols))
                except _BadRow as why:
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
             err: TextIO | None = None) -> BackfillResult:
    path = Path(path)
    err = err or sys.stderr
    if not path.is_file():
        raise OpsError(f"{path}: no such file")
    started = time.monotonic()
    try:
        with connect(dsn, autocommit=False) as conn:
            conn.execute("CREATE TEMP TABLE ksys_backfill (line bigint NOT NULL, ts timestamptz NOT NULL, "
                         "tag_name text NOT NULL, value double precision NOT NULL, qc smallint) ON COMMIT DROP")
            rows, messages, bad_count, has_qc = _stage(conn, path, err)
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
