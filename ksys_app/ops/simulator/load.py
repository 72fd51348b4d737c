"""Database side of the simulator: COPY loads, live inserts, rules, last readings, gaps.

Bulk rows go in with binary COPY built by hand (struct, one bytes object per
hour of readings, timestamp-major so the primary key grows at its right edge).
Measured against write_row (text and binary) and hand-built text COPY: the
fastest client side (~0.25 us per row to encode), so the server's index
maintenance is what limits the rate. A span that is known to be empty (it
starts after each tag's last reading) is copied straight into influx_hist;
otherwise, or when a concurrent writer got there first (unique violation), the
rows go through a temporary staging table and `INSERT ... ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

import psycopg
from psycopg.types.json import Jsonb

from ksys_app.ops.simulator import tags as tagdefs
from ksys_app.ops.simulator.signals import to_datetime

META = {"source": "simulator"}
_META_JSON = json.dumps(META, separators=(",", ":")).encode()
COPY_COLUMNS = "(ts, tag_name, value, qc, meta)"
COPY_SQL = f"COPY influx_hist {COPY_COLUMNS} FROM STDIN (FORMAT BINARY)"

_PG_EPOCH = 946684800  # 2000-01-01 UTC, the origin of binary timestamptz
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_TS = struct.Struct(">hiq")          # field count, ts length, ts (microseconds since 2000)
_VALUE = struct.Struct(">id")        # value length, float8
# qc = 0 (int2), meta (jsonb: version byte 1 + text)
_TAIL = struct.pack(">ih", 2, 0) + struct.pack(">iB", len(_META_JSON) + 1, 1) + _META_JSON


def _tag_part(tag: str) -> bytes:
    raw = tag.encode()
    return struct.pack(">i", len(raw)) + raw


def binary_block(ts: Sequence[int], block: dict[str, list[float | None]]) -> tuple[bytes, int]:
    """COPY BINARY rows (no header) for one generated hour, timestamp-major; returns (bytes, rows)."""
    parts: list[bytes] = []
    add = parts.append
    pack_ts, pack_v = _TS.pack, _VALUE.pack
    cols = [(_tag_part(tag), vals) for tag, vals in block.items()]
    n = 0
    for i, t in enumerate(ts):
        head = pack_ts(5, 8, (t - _PG_EPOCH) * 1_000_000)
        for tag_part, vals in cols:
            v = vals[i]
            if v is None:
                continue
            add(head)
            add(tag_part)
            add(pack_v(8, v))
            add(_TAIL)
            n += 1
    return b"".join(parts), n


def copy_blocks(conn: psycopg.Connection, blocks: Iterable[tuple[Sequence[int], dict]],
                staging: bool = False) -> tuple[int, int]:
    """Load generated blocks in one transaction; returns (rows inserted, rows generated).

    staging=False: binary COPY straight into influx_hist (the span must be empty).
    staging=True: COPY into a temp table, then INSERT ... ON CONFLICT DO NOTHING.
    """
    target = "influx_hist"
    generated = 0
    with conn.transaction():
        if staging:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS ksys_sim_stage "
                         "(ts timestamptz, tag_name text, value float8, qc smallint, meta jsonb) "
                         "ON COMMIT DELETE ROWS")
            target = "ksys_sim_stage"
        with conn.cursor() as cur:
            with cur.copy(f"COPY {target} {COPY_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(_SIGNATURE)
                for ts, block in blocks:
                    data, n = binary_block(ts, block)
                    generated += n
                    if n:
                        copy.write(data)
                copy.write(_TRAILER)
            if not staging:
                return generated, generated
            cur.execute("INSERT INTO influx_hist (ts, tag_name, value, qc, meta) "
                        "SELECT ts, tag_name, value, qc, meta FROM ksys_sim_stage "
                        "ON CONFLICT (ts, tag_name) DO NOTHING")
            inserted = cur.rowcount
    return inserted, generated


def insert_rows(conn: psycopg.Connection, ts: Sequence[int], block: dict[str, list[float | None]]) -> int:
    """Live path: INSERT ... ON CONFLICT DO NOTHING of a few readings in one statement."""
    t_col, tag_col, v_col = [], [], []
    for i, t in enumerate(ts):
        dt = to_datetime(t)
        for tag, vals in block.items():
            if vals[i] is not None:
                t_col.append(dt)
                tag_col.append(tag)
                v_col.append(vals[i])
    if not t_col:
        return 0
    cur = conn.execute(
        "INSERT INTO influx_hist (ts, tag_name, value, qc, meta) "
        "SELECT ts, tag_name, value, 0, %s FROM unnest(%s::timestamptz[], %s::text[], %s::float8[]) "
        "AS r(ts, tag_name, value) ON CONFLICT (ts, tag_name) DO NOTHING",
        (Jsonb(META), t_col, tag_col, v_col))
    return cur.rowcount


def last_readings(conn: psycopg.Connection, tags: Sequence[str], not_before: datetime,
                  not_after: datetime) -> dict[str, datetime | None]:
    """Each tag's newest reading in [not_before, not_after] (one index probe per tag)."""
    out: dict[str, datetime | None] = {}
    for tag in tags:
        out[tag] = conn.execute(
            "SELECT max(ts) FROM influx_hist WHERE tag_name = %s AND ts >= %s AND ts <= %s",
            (tag, not_before, not_after)).fetchone()[0]
    return out


def upsert_rules(conn: psycopg.Connection, tags: Sequence[str], interval_s: int) -> None:
    """QC rules and ingest expectations for the simulated tags (rewritten only when different)."""
    cols = tagdefs.QC_COLUMNS
    col_list = ", ".join(cols)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "tag_name")
    with conn.transaction():
        for rule in tagdefs.qc_rules(tuple(tags), interval_s):
            params = [Jsonb(rule[c]) if c == "meta" else rule[c] for c in cols]
            conn.execute(
                f"INSERT INTO influx_qc_rule AS r ({col_list}) VALUES ({', '.join(['%s'] * len(cols))}) "
                f"ON CONFLICT (tag_name) DO UPDATE SET {updates} "
                f"WHERE (r.*) IS DISTINCT FROM (excluded.*)", params)
        for tag in tags:
            e = tagdefs.expectation(tag, interval_s)
            conn.execute(
                "INSERT INTO ingest_expectation AS e (tag_name, exp_per_min, slo_warn, slo_crit, updated_at) "
                "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (tag_name) DO UPDATE "
                "SET exp_per_min = excluded.exp_per_min, slo_warn = excluded.slo_warn, "
                "slo_crit = excluded.slo_crit, updated_at = now() "
                "WHERE (e.exp_per_min, e.slo_warn, e.slo_crit) IS DISTINCT FROM "
                "(excluded.exp_per_min, excluded.slo_warn, excluded.slo_crit)",
                (e["tag_name"], e["exp_per_min"], e["slo_warn"], e["slo_crit"]))


@dataclass(frozen=True)
class Gap:
    tag_name: str
    after: datetime            # last reading before the gap
    before: datetime | None    # first reading after it (None: open, up to now)
    missing: int               # grid points missing
    seconds: float


GAPS_SQL = """
SELECT prev_ts, ts FROM (
  SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev_ts
  FROM influx_hist
  WHERE tag_name = %(tag)s AND ts > %(start)s AND ts <= %(end)s
) s
WHERE ts - prev_ts > %(max_gap)s
ORDER BY prev_ts
"""


def find_gaps(conn: psycopg.Connection, tags: Sequence[str], start: datetime, end: datetime,
              interval_s: int) -> tuple[list[Gap], list[str]]:
    """Gaps (consecutive readings more than 2 intervals apart) per tag in (start, end].

    One bounded query per tag (idx_hist_tag_ts), plus the open gap from the last
    reading to `end`. Returns (gaps, tags with no readings in the range).
    """
    max_gap = timedelta(seconds=2 * interval_s)
    gaps: list[Gap] = []
    silent: list[str] = []
    for tag in tags:
        for prev_ts, ts in conn.execute(GAPS_SQL, {"tag": tag, "start": start, "end": end, "max_gap": max_gap}):
            secs = (ts - prev_ts).total_seconds()
            gaps.append(Gap(tag, prev_ts, ts, int(secs // interval_s) - 1, secs))
        last = conn.execute("SELECT max(ts) FROM influx_hist WHERE tag_name = %s AND ts > %s AND ts <= %s",
                            (tag, start, end)).fetchone()[0]
        if last is None:
            silent.append(tag)
        elif end - last > max_gap:
            secs = (end - last).total_seconds()
            gaps.append(Gap(tag, last, None, int(secs // interval_s), secs))
    return gaps, silent
