"""Migration 0010: the indicators' bounded look-back and catch-up in bounded spans.

- refresh_tech_ind reads each tag's 60 preceding rows from the day before p_from
  when that day holds them and from all history otherwise: results must equal a
  full recompute for dense, sparse, gapped and edge-case tags.
- virtual_tags and tech_ind_1m_mv catch up from a watermark far behind one day
  per tick. On TimescaleDB the virtual-tag upsert into compressed chunks must
  stay under timescaledb.max_tuples_decompressed_per_dml_transaction.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.ops.refresh import refresh_range
from tests.data.seed import pause_timescaledb_policies
from tests.db.seed import PRD_TECH, exact_value

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
INPUTS = ("INLET_PRESSURE", "OUTLET_PRESSURE", "FEED_FLOW", "PRODUCT_FLOW")
VIRTUAL = ("PRESSURE_DIFF", "RECOVERY_RATE", "OPERATING_TIME", "TOTAL_PRODUCT_VOLUME_1H")

# Worst case of one day's virtual-tag upsert, reasoned in 0010_job_catchup.sql:
# 4 tags x (1 440 rows + 2 partial batches of 1 000 at each end of two chunks).
DAY_DECOMPRESSION_BOUND = 4 * (1440 + 4 * 1000)


def _now_minute() -> datetime:
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def _copy(conn: psycopg.Connection, rows: list[tuple[datetime, str, float]]) -> None:
    with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _every(tag: str, start: datetime, end: datetime, step: timedelta,
           rng: random.Random) -> list[tuple[datetime, str, float]]:
    """One reading 17 s into each step-th minute in [start, end)."""
    rows = []
    t = start
    while t < end:
        rows.append((t + timedelta(seconds=17), tag, exact_value(rng)))
        t += step
    return rows


def _pause_policies(conn: psycopg.Connection, engine: str) -> None:
    if engine == "timescaledb":
        pause_timescaledb_policies(conn)  # no compression or cagg refresh beside the test


def _tech(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT * FROM tech_ind_1m_mv ORDER BY tag_name, bucket").fetchall()


def _assert_rows_match(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert g[:2] == w[:2]
        for a, b in zip(g[2:], w[2:]):
            assert (a is None and b is None) or (
                a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)), (g, w)


def _tick(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
    failed = conn.execute("SELECT job_name, last_error FROM ksys.jobs WHERE last_run_status = 'Failed'").fetchall()
    assert failed == []


def _watermark(conn: psycopg.Connection, job: str) -> datetime:
    return conn.execute("SELECT watermark FROM ksys.jobs WHERE job_name = %s", (job,)).fetchone()[0]


def _catch_up(conn: psycopg.Connection, job: str, max_ticks: int) -> int:
    """Tick until `job` is caught up: every tick advances its watermark by one day
    while behind, the last one by less, to the current minute. Returns the ticks."""
    before = _watermark(conn, job)
    for n in range(1, max_ticks + 1):
        _tick(conn)
        after = _watermark(conn, job)
        if after - before != DAY:  # less than a day left: up to the tick's current minute
            current = conn.execute("SELECT date_bin('1 minute', now(), ksys.bucket_origin())").fetchone()[0]
            assert timedelta(0) <= after - before < DAY and current - MINUTE <= after <= current, (before, after)
            return n
        before = after
    raise AssertionError(f"{job} not caught up after {max_ticks} ticks (watermark {before})")


# --- refresh_tech_ind: exact with a one-day look-back -------------------------------------------------

def test_tech_lookback_equals_full_recompute_for_sparse_and_gapped_tags(migrated_dsn, engine):
    """Each tag's 60 rows before p_from: within the day before (DENSE, EDGE60 whose 60th
    is exactly p_from - 1 day), or further back (SPARSE: one bucket per 40 min; GAP:
    silent for two days, resumed 30 min before p_from; EDGE59: 59 in the day; FEW:
    10 in all; NEW: none)."""
    rng = random.Random(10)
    now = _now_minute()
    p_from = now - timedelta(hours=3)
    p_mid = p_from + timedelta(hours=1)
    end = now - timedelta(minutes=5)
    every_24 = timedelta(minutes=24)  # 60 buckets a day
    rows = []
    rows += _every("DENSE", p_from - 3 * DAY, end, MINUTE, rng)
    rows += _every("SPARSE", p_from - 4 * DAY, p_from, timedelta(minutes=40), rng)
    rows += _every("SPARSE", p_from, end, MINUTE, rng)
    rows += _every("GAP", p_from - 4 * DAY, p_from - 2 * DAY, MINUTE, rng)
    rows += _every("GAP", p_from - timedelta(minutes=30), end, MINUTE, rng)
    rows += _every("EDGE60", p_from - 3 * DAY, p_from - DAY, MINUTE, rng)
    rows += _every("EDGE60", p_from - DAY, p_from, every_24, rng)
    rows += _every("EDGE60", p_from, end, MINUTE, rng)
    rows += _every("EDGE59", p_from - 3 * DAY, p_from - DAY, MINUTE, rng)
    rows += _every("EDGE59", p_from - DAY + every_24, p_from, every_24, rng)
    rows += _every("EDGE59", p_from, end, MINUTE, rng)
    rows += _every("FEW", p_from - 5 * DAY, p_from - 5 * DAY + 10 * MINUTE, MINUTE, rng)
    rows += _every("FEW", p_from, end, MINUTE, rng)
    rows += _every("NEW", p_from, end, MINUTE, rng)
    rows += _every("OLD", p_from - 2 * DAY, p_from - DAY, MINUTE, rng)  # nothing from p_from on

    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, rows)
        refresh_range(conn, p_from - 5 * DAY, end)  # rollups and a full indicator computation
        want = conn.execute(PRD_TECH).fetchall()
        _assert_rows_match(_tech(conn), want)
        edge = dict(conn.execute(
            "SELECT tag_name, count(*) FROM influx_agg_1m WHERE bucket >= %s AND bucket < %s GROUP BY 1",
            (p_from - DAY, p_from)).fetchall())
        assert (edge["EDGE60"], edge["EDGE59"], edge["SPARSE"], edge["GAP"]) == (60, 59, 36, 30)

        # wreck every row from p_from on, and add one whose source does not exist
        conn.execute("UPDATE tech_ind_1m_mv SET avg = -1, sma_10 = -1, sma_60 = -1, bb_top = -1, bb_bot = -1, "
                     "slope_60 = -1 WHERE bucket >= %s", (p_from,))
        conn.execute("INSERT INTO tech_ind_1m_mv (bucket, tag_name, avg) VALUES (%s, 'GHOST', 1)",
                     (p_from + 5 * MINUTE,))

        conn.execute("SELECT ksys.refresh_tech_ind(%s, %s)", (p_from, p_mid))
        got = _tech(conn)
        assert not any(r[1] == "GHOST" for r in got)
        _assert_rows_match([r for r in got if r[0] < p_mid], [w for w in want if w[0] < p_mid])
        assert all(r[3] == -1 for r in got if r[0] >= p_mid)  # the span's end bounds the refresh

        conn.execute("SELECT ksys.refresh_tech_ind(%s)", (p_mid,))
        _assert_rows_match(_tech(conn), want)


# --- virtual tags: bounded catch-up, compressed chunks on TimescaleDB ---------------------------------

def _inputs(start: datetime, end: datetime) -> list[tuple[datetime, str, float]]:
    """One reading a minute per input tag; FEED_FLOW is sometimes 0 or below 1."""
    rng = random.Random(20)
    rows = []
    t = start
    while t < end:
        ts = t + timedelta(seconds=20)
        rows += [(ts, "INLET_PRESSURE", 5 + rng.randrange(0, 20) / 4),
                 (ts, "OUTLET_PRESSURE", 1 + rng.randrange(0, 8) / 4),
                 (ts, "FEED_FLOW", rng.choice([0.0, 0.5, 1.0]) if rng.random() < 0.1 else 1 + rng.randrange(0, 80) / 4),
                 (ts, "PRODUCT_FLOW", rng.randrange(0, 60) / 4)]
        t += MINUTE
    return rows


def _virtual(conn: psycopg.Connection) -> dict[tuple[datetime, str], float]:
    return {(r[0], r[1]): r[2] for r in conn.execute(
        "SELECT ts, tag_name, value FROM influx_hist WHERE tag_name = ANY(%s)", (list(VIRTUAL),))}


def test_virtual_tags_catch_up_one_day_per_tick(migrated_dsn, engine):
    """24 days of inputs with their virtual tags; some virtual rows missing or wrong,
    the watermark at the start. TimescaleDB: chunks older than 7 days compressed and
    the decompression limit lowered to the worst case of one day (a fifth of the
    default), which one statement over the whole span exceeds. Every tick succeeds
    and advances the watermark by a day; the end result is the direct computation
    over the uncompressed data."""
    now = _now_minute()
    start = now - 24 * DAY
    end = now - 2 * MINUTE
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, _inputs(start, end))
        conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start, now))
        want = _virtual(conn)
        assert len(want) > 4 * 23 * 1440 * 0.9

        # missing minutes (old and recent) and stale values inside what gets compressed
        conn.execute("DELETE FROM influx_hist WHERE tag_name = ANY(%s) AND ((ts >= %s AND ts < %s) OR ts >= %s)",
                     (list(VIRTUAL), start + 3 * DAY, start + 6 * DAY, now - 2 * DAY))
        conn.execute("UPDATE influx_hist SET value = value + 1000 WHERE tag_name = ANY(%s) AND ts >= %s AND ts < %s",
                     (list(VIRTUAL), start + 8 * DAY, start + 11 * DAY))
        assert _virtual(conn) != want

        if engine == "timescaledb":
            compressed = conn.execute("SELECT count(compress_chunk(c)) FROM show_chunks('influx_hist', "
                                      "older_than => interval '7 days') c").fetchone()[0]
            assert compressed >= 2
            conn.execute(f"SET timescaledb.max_tuples_decompressed_per_dml_transaction = {DAY_DECOMPRESSION_BOUND}")
            with pytest.raises(psycopg.Error, match="tuple decompression limit exceeded"):
                conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start, now))  # 0004's single catch-up

        conn.execute("UPDATE ksys.jobs SET watermark = %s, next_start = '-infinity' WHERE job_name = 'virtual_tags'",
                     (start,))
        conn.execute("UPDATE ksys.jobs SET watermark = %s WHERE job_name = 'tech_ind_1m_mv'", (now,))
        ticks = _catch_up(conn, "virtual_tags", max_ticks=30)
        assert 24 <= ticks <= 26  # 24 days; one more when a minute boundary passed meanwhile
        assert _virtual(conn) == want

        # caught up: the trailing start_offset again, up to the current minute
        _tick(conn)
        current = conn.execute("SELECT date_bin('1 minute', now(), ksys.bucket_origin())").fetchone()[0]
        assert current - MINUTE <= _watermark(conn, "virtual_tags") <= current
        assert _virtual(conn) == want


def test_virtual_tags_null_watermark_starts_at_the_oldest_input(migrated_dsn, engine):
    """A job that never ran starts at the oldest input reading, one day per tick."""
    now = _now_minute()
    start = now - 2 * DAY - timedelta(hours=5)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, _inputs(start, now - 2 * MINUTE))
        conn.execute("UPDATE ksys.jobs SET watermark = NULL WHERE job_name = 'virtual_tags'")
        _tick(conn)
        assert _watermark(conn, "virtual_tags") == start + DAY
        minutes = {ts for (ts, tag) in _virtual(conn) if tag == "PRESSURE_DIFF"}
        assert min(minutes) == start and max(minutes) == start + DAY - MINUTE
        assert _catch_up(conn, "virtual_tags", max_ticks=5) in (2, 3)  # 1 day 5 h left
        minutes = {ts for (ts, tag) in _virtual(conn) if tag == "PRESSURE_DIFF"}
        assert len(minutes) == (now - 2 * MINUTE - start) // MINUTE


# --- tech_ind_1m_mv: bounded catch-up ------------------------------------------------------------------

def test_tech_catch_up_one_day_per_tick_equals_full_recompute(migrated_dsn, engine):
    rng = random.Random(30)
    now = _now_minute()
    start = now - 4 * DAY - timedelta(hours=7)
    end = now - 3 * MINUTE
    rows = _every("T1", start, end, MINUTE, rng) + _every("T2", start, end, MINUTE, rng)
    rows += _every("T3", start, end, timedelta(minutes=45), rng)  # sparse: look-back beyond a day
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, rows)
        refresh_range(conn, start, end)
        want = conn.execute(PRD_TECH).fetchall()
        conn.execute("DELETE FROM tech_ind_1m_mv")
        conn.execute("UPDATE ksys.jobs SET watermark = %s, next_start = '-infinity' WHERE job_name = 'tech_ind_1m_mv'",
                     (start - 3 * DAY,))
        conn.execute("UPDATE ksys.jobs SET watermark = %s WHERE job_name = 'virtual_tags'", (now,))

        _tick(conn)  # three days without readings skipped, then the first day of data
        assert _watermark(conn, "tech_ind_1m_mv") == start + DAY
        got = _tech(conn)
        assert max(r[0] for r in got) == start + DAY - MINUTE
        _assert_rows_match(got, [w for w in want if w[0] < start + DAY])

        assert _catch_up(conn, "tech_ind_1m_mv", max_ticks=8) in (4, 5)  # 3 days 7 h left
        _assert_rows_match(_tech(conn), want)


def test_catch_up_skips_time_without_readings(migrated_dsn, engine):
    """As after restoring a backup ten days old: readings up to ten days ago, the
    watermarks there, ingest back for the last 90 minutes. One tick brings both
    jobs up to the current minute, with the same rows as computing everything."""
    now = _now_minute()
    old_start, old_end = now - 12 * DAY, now - 10 * DAY
    new_start, end = now - timedelta(minutes=90), now - 2 * MINUTE
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, _inputs(old_start, old_end))
        refresh_range(conn, old_start, old_end)
        conn.execute("UPDATE ksys.jobs SET watermark = %s, next_start = '-infinity' "
                     "WHERE job_name IN ('virtual_tags', 'tech_ind_1m_mv')", (old_end,))
        conn.execute("UPDATE ksys.jobs SET next_start = '-infinity'")
        _copy(conn, _inputs(new_start, end))

        _tick(conn)
        current = conn.execute("SELECT date_bin('1 minute', now(), ksys.bucket_origin())").fetchone()[0]
        for job in ("virtual_tags", "tech_ind_1m_mv"):
            assert current - MINUTE <= _watermark(conn, job) <= current
        minutes = sorted(ts for (ts, tag) in _virtual(conn) if tag == "PRESSURE_DIFF" and ts >= old_end)
        assert minutes == [new_start + k * MINUTE for k in range(88)]
        got = _virtual(conn)
        conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (old_start, current))
        assert _virtual(conn) == got
        _assert_rows_match(_tech(conn), conn.execute(PRD_TECH).fetchall())
