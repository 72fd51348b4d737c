"""Current minute visibility, virtual tags, idempotence and gap filling."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

INPUTS = {"INLET_PRESSURE": 5.5, "OUTLET_PRESSURE": 2.25, "FEED_FLOW": 10.0, "PRODUCT_FLOW": 7.5}


def test_reading_inserted_now_is_in_current_minute(migrated_dsn, engine):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now(), 'D100', 42.5)")
        query = ("SELECT n, last FROM influx_agg_1m WHERE tag_name = 'D100' "
                 "AND bucket = date_bin('1 minute', now(), ksys.bucket_origin())")
        if engine == "postgres":
            assert conn.execute(query).fetchone() is None  # tables: visible after a tick
            assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        assert conn.execute(query).fetchone() == (1, 42.5)
        assert conn.execute("SELECT value FROM influx_latest WHERE tag_name = 'D100'").fetchone() == (42.5,)


def _seed_inputs(conn: psycopg.Connection, start: datetime, minutes: int, feed: float | None = None) -> None:
    rows = []
    for m in range(minutes):
        minute = start + timedelta(minutes=m)
        for tag, value in INPUTS.items():
            if tag == "FEED_FLOW" and feed is not None:
                value = feed
            rows += [(minute + timedelta(seconds=10), tag, value), (minute + timedelta(seconds=40), tag, value)]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)", rows)


def _virtual(conn: psycopg.Connection) -> dict[tuple[datetime, str], float]:
    return {(r[0], r[1]): r[2] for r in conn.execute(
        "SELECT ts, tag_name, value FROM influx_hist WHERE meta ? 'virtual'")}


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def test_virtual_tags_exact_values_and_idempotent(migrated_dsn):
    start = _minute(datetime.now(timezone.utc)) - timedelta(minutes=30)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _seed_inputs(conn, start, 20)
        assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        first = _virtual(conn)
        assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        conn.execute("SELECT ksys.compute_virtual_tags(%s, %s)", (start, start + timedelta(minutes=20)))
        again = _virtual(conn)
    assert first == again  # re-running writes the same rows, no duplicates (PK ts, tag_name)
    assert len(first) == 20 * 4
    for m in range(20):
        minute = start + timedelta(minutes=m)
        assert first[(minute, "PRESSURE_DIFF")] == 3.25
        assert first[(minute, "RECOVERY_RATE")] == 75.0
        assert first[(minute, "OPERATING_TIME")] == 1.0
        # 7.5 m3/h for each of the (m + 1) minutes so far in the trailing hour
        assert first[(minute, "TOTAL_PRODUCT_VOLUME_1H")] == pytest.approx(0.125 * (m + 1), abs=1e-12)


def test_zero_feed_flow_has_no_division_error(migrated_dsn):
    start = _minute(datetime.now(timezone.utc)) - timedelta(minutes=10)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _seed_inputs(conn, start, 5, feed=0.0)
        assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        values = _virtual(conn)
    assert not any(tag == "RECOVERY_RATE" for (_ts, tag) in values)
    assert values[(start, "OPERATING_TIME")] == 0.0
    assert values[(start, "PRESSURE_DIFF")] == 3.25


def test_missed_minutes_are_filled_by_the_next_run(migrated_dsn):
    now_minute = _minute(datetime.now(timezone.utc))
    start = now_minute - timedelta(minutes=45)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        # readings kept arriving for 45 minutes while no tick ran
        _seed_inputs(conn, start, 45)
        assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        minutes = {ts for (ts, tag) in _virtual(conn) if tag == "PRESSURE_DIFF"}
        dup = conn.execute("SELECT count(*) FROM (SELECT ts, tag_name FROM influx_hist "
                           "GROUP BY 1, 2 HAVING count(*) > 1) d").fetchone()[0]
    expected = {now_minute - timedelta(minutes=k) for k in range(1, 41)}
    assert expected <= minutes  # every minute written while down, not just the trailing 10
    assert dup == 0
