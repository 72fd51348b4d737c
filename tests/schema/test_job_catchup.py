"""Bounded work per tick: the indicators' look-back (0010) and catching up on
pending changes one day of data time per tick (0013).

- refresh_tech_ind reads each tag's 60 preceding rows from the day before p_from
  when that day holds them and from all history otherwise: results must equal a
  full recompute for dense, sparse, gapped and edge-case tags.
- A bulk load of weeks is worked off one day per tick, newest first; on
  TimescaleDB the virtual-tag upsert into compressed chunks stays under
  timescaledb.max_tuples_decompressed_per_dml_transaction.
"""

from __future__ import annotations

import math
import random
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.ops.schema.refresh import backlog, refresh_range, tick
from ksys_app.ops.schema.verify import RELATIONS, verify_relations
from tests.conftest import unschedule_cron
from tests.data.seed import pause_timescaledb_policies
from tests.schema.seed import PRD_TECH, exact_value

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
    while (failed := tick(conn)) == -1:   # a tick started by pg_cron is still running
        time.sleep(0.1)
    assert failed == 0, conn.execute("SELECT job_name, last_error FROM ksys.jobs "
                                     "WHERE last_run_status = 'Failed'").fetchall()
    failed = conn.execute("SELECT job_name, last_error FROM ksys.jobs WHERE last_run_status = 'Failed'").fetchall()
    assert failed == []


def _pending_span(conn: psycopg.Connection, consumer: str) -> timedelta:
    conn.execute("SELECT ksys.collect_changes()")
    return backlog(conn)[consumer][1]


def _work_off(conn: psycopg.Connection, consumer: str, max_ticks: int) -> int:
    """Tick until `consumer` has nothing left to do; each tick takes at most a day
    of its pending data time. Returns the ticks."""
    for n in range(1, max_ticks + 1):
        before = _pending_span(conn, consumer)
        _tick(conn)
        after = _pending_span(conn, consumer)
        if after == timedelta(0):
            return n
        assert before - after <= DAY + MINUTE and after < before, (before, after)
    raise AssertionError(f"{consumer} still has {_pending_span(conn, consumer)} pending after {max_ticks} ticks")


def _assert_verified(conn: psycopg.Connection, start: datetime, end: datetime, relations: list[str]) -> None:
    results = verify_relations(conn, start, end, relations)
    assert all(r.compared > 0 for r in results), results
    assert [(r.name, r.differ, r.examples) for r in results if r.differ or r.pending] == []


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


# --- catching up one day per tick ---------------------------------------------------------------------

def _own_ticks_only(pg_server, dsn: str) -> None:
    """These tests count ticks: pg_cron's minute tick of the database would add its own."""
    unschedule_cron(pg_server, psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    time.sleep(0.2)  # a cron tick started just before may still hold the lock: tick() waits for it


def test_virtual_tags_catch_up_one_day_per_tick(migrated_dsn, engine, pg_server):
    """24 days of inputs loaded at once. TimescaleDB: chunks older than 7 days
    compressed and the decompression limit lowered to the worst case of one day (a
    fifth of the default), which one statement over the whole span exceeds. Every
    tick succeeds and works off a day; the result is the PRD's computation."""
    _own_ticks_only(pg_server, migrated_dsn)
    now = _now_minute()
    start = now - 24 * DAY
    end = now - 2 * MINUTE
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, _inputs(start, end))
        if engine == "timescaledb":
            # virtual rows already there (as after an earlier run), then compressed: a
            # recompute upserts into compressed batches and must decompress them
            conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start, now))
            compressed = conn.execute("SELECT count(compress_chunk(c)) FROM show_chunks('influx_hist', "
                                      "older_than => interval '7 days') c").fetchone()[0]
            assert compressed >= 2
            conn.execute(f"SET timescaledb.max_tuples_decompressed_per_dml_transaction = {DAY_DECOMPRESSION_BOUND}")
            with pytest.raises(psycopg.Error, match="tuple decompression limit exceeded"):
                conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start, now))  # the whole span at once
            # A generic plan (PostgreSQL may pick one after five calls, by the statistics of the
            # moment) decompressed whole chunks for one day (54,491 tuples): compute_virtual_tags
            # insists on custom plans (0014), whatever the session says.
            conn.execute("SET plan_cache_mode = force_generic_plan")
            for _ in range(6):
                with conn.transaction(force_rollback=True):
                    conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start + 3 * DAY, start + 4 * DAY))
            conn.execute("RESET plan_cache_mode")
        ticks = _work_off(conn, "virtual_tags", max_ticks=30)
        assert 24 <= ticks <= 26  # 24 days and a bit; one more when a minute boundary passed meanwhile
        refresh_range(conn)
        _assert_verified(conn, start, now, ["virtual_tags"])


def test_tech_catch_up_one_day_per_tick_equals_full_recompute(migrated_dsn, engine, pg_server):
    rng = random.Random(30)
    now = _now_minute()
    start = now - 4 * DAY - timedelta(hours=7)
    end = now - 3 * MINUTE
    rows = _every("T1", start, end, MINUTE, rng) + _every("T2", start, end, MINUTE, rng)
    rows += _every("T3", start, end, timedelta(minutes=45), rng)  # sparse: look-back beyond a day
    _own_ticks_only(pg_server, migrated_dsn)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, rows)
        _tick(conn)  # the newest day first
        got = _tech(conn)
        assert min(r[0] for r in got) >= end - DAY - timedelta(hours=1)
        assert _work_off(conn, "derived", max_ticks=8) in (4, 5)  # 3 days 7 h left
        _assert_rows_match(_tech(conn), conn.execute(PRD_TECH).fetchall())
        _assert_verified(conn, start, now, ["tech_ind_1m_mv", "influx_agg_1m"])


def test_late_reading_reaches_every_relation_in_one_tick(migrated_dsn, engine):
    """Settled data for three days; then a reading three days late, a corrected
    value and a deleted reading. One tick later every relation agrees with raw."""
    now = _now_minute()
    start = now - 3 * DAY
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _pause_policies(conn, engine)
        _copy(conn, _inputs(start, now - 2 * MINUTE) + _every("D100", start, now - 2 * MINUTE, MINUTE,
                                                               random.Random(4)))
        refresh_range(conn)
        late = start + timedelta(hours=5, seconds=44)
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, 'FEED_FLOW', 0.25), "
                     "(%s, 'D100', 12345.5)", (late, late))
        # alone in its statement and exactly on a minute: TimescaleDB 2.28.3's own invalidation
        # processing would leave that bucket stale (0013_change_tracking.sql, run_tick)
        on_minute = start + timedelta(hours=6)
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, 'D100', 777.25)", (on_minute,))
        conn.execute("UPDATE influx_hist SET value = value + 7 WHERE tag_name = 'PRODUCT_FLOW' "
                     "AND ts >= %s AND ts < %s", (start + DAY, start + DAY + 3 * MINUTE))
        conn.execute("DELETE FROM influx_hist WHERE tag_name = 'INLET_PRESSURE' AND ts >= %s AND ts < %s",
                     (start + 2 * DAY, start + 2 * DAY + 2 * MINUTE))
        _tick(conn)
        _assert_verified(conn, start, now, list(RELATIONS))
        assert conn.execute("SELECT n FROM influx_agg_1m WHERE tag_name = 'D100' AND bucket = %s",
                            (late.replace(second=0),)).fetchone() == (2,)
        assert conn.execute("SELECT n, max FROM influx_agg_1m WHERE tag_name = 'D100' AND bucket = %s",
                            (on_minute,)).fetchone() == (2, 777.25)
        assert conn.execute("SELECT count(*) FROM influx_hist WHERE tag_name = 'PRESSURE_DIFF' AND ts >= %s "
                            "AND ts < %s", (start + 2 * DAY, start + 2 * DAY + 2 * MINUTE)).fetchone() == (0,)
