"""Every rollup equals the same aggregation computed directly over influx_hist."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.ops.schema.refresh import refresh_range
from tests.schema.seed import PRD_TECH, seed_readings

TAGS = ["D100", "D200", "D300"]

# Buckets computed independently of date_bin/time_bucket: seconds since the epoch
# floored to the width (TimescaleDB's origin 2000-01-03 is a whole number of days
# after the epoch, so for widths dividing a day the boundaries agree).
DIRECT = """
WITH b AS (
  SELECT to_timestamp(floor(extract(epoch FROM ts) / %(w)s) * %(w)s) AS bucket, tag_name, ts, value
  FROM influx_hist WHERE tag_name = ANY(%(tags)s)
)
SELECT DISTINCT bucket, tag_name,
       count(*) OVER p, sum(value) OVER p, min(value) OVER p, max(value) OVER p,
       first_value(value) OVER (p ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
       last_value(value)  OVER (p ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
FROM b
WINDOW p AS (PARTITION BY bucket, tag_name)
ORDER BY tag_name, bucket
"""

WIDTHS = {"influx_agg_1m": 60, "influx_agg_10m": 600, "influx_agg_1h": 3600, "influx_agg_1d": 86400}


@pytest.fixture
def seeded(migrated_dsn):
    now = datetime.now(timezone.utc)
    start = (now - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=5)
    end = now - timedelta(minutes=5)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        seed_readings(conn, TAGS, start, end, step_s=20,
                      gap=(start + timedelta(hours=3), start + timedelta(hours=4, minutes=17)))
        refresh_range(conn, start, end)
    return migrated_dsn


def assert_rollup_matches(conn: psycopg.Connection, view: str) -> int:
    direct = conn.execute(DIRECT, {"w": WIDTHS[view], "tags": TAGS}).fetchall()
    rollup = conn.execute(
        f"SELECT bucket, tag_name, n, sum, min, max, first, last, avg, diff FROM {view} "
        "WHERE tag_name = ANY(%s) ORDER BY tag_name, bucket", (TAGS,)).fetchall()
    assert [r[:8] for r in rollup] == direct, view
    for row in rollup:
        assert math.isclose(row[8], row[3] / row[2], rel_tol=1e-9, abs_tol=1e-9)
        assert row[9] == row[7] - row[6]
    return len(rollup)


@pytest.mark.parametrize("view", list(WIDTHS))
def test_rollup_equals_direct_aggregation(seeded, view):
    with psycopg.connect(seeded) as conn:
        assert assert_rollup_matches(conn, view) > 0


def test_features_5m_equals_direct(seeded):
    with psycopg.connect(seeded) as conn:
        direct = conn.execute(
            """SELECT to_timestamp(floor(extract(epoch FROM ts) / 300) * 300) b, tag_name, avg(value),
                      stddev_samp(value), min(value), max(value),
                      percentile_cont(0.1) WITHIN GROUP (ORDER BY value),
                      percentile_cont(0.9) WITHIN GROUP (ORDER BY value), count(*)
               FROM influx_hist GROUP BY 1, 2 ORDER BY 2, 1""").fetchall()
        rollup = conn.execute("SELECT * FROM features_5m ORDER BY tag_name, bucket").fetchall()
    assert len(rollup) == len(direct) > 0
    for got, want in zip(rollup, direct):
        assert got[:2] == want[:2] and got[4:6] == want[4:6] and got[8] == want[8]
        for i in (2, 3, 6, 7):
            assert (got[i] is None and want[i] is None) or math.isclose(got[i], want[i], rel_tol=1e-9, abs_tol=1e-9)


def test_comm_success_equals_direct_counts(seeded):
    with psycopg.connect(seeded, autocommit=True) as conn:
        conn.execute("INSERT INTO ingest_expectation (tag_name, exp_per_min) VALUES ('D100', 3)")
        direct = conn.execute(
            """SELECT to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600) b, tag_name, count(*),
                      max(to_timestamp(floor(extract(epoch FROM ts) / 60) * 60))
               FROM influx_hist WHERE tag_name = 'D100' GROUP BY 1, 2 ORDER BY 1""").fetchall()
        rows = conn.execute(
            """SELECT bucket, tag_name, recv_msgs, last_seen_min, exp_msgs, success_rate, missing_msgs,
                      extract(epoch FROM now() - bucket)::float8 AS age_s
               FROM comm_success_1h WHERE tag_name = 'D100' ORDER BY bucket""").fetchall()
    assert [r[:4] for r in rows] == direct
    for _b, _t, recv, _seen, exp, rate, missing, age_s in rows:
        # 3 a minute; the hour in progress expects only its elapsed minutes
        want = 180 if age_s >= 3600 else 3 * max(1, int(age_s // 60))
        assert exp == want
        assert float(rate) == pytest.approx(min(1.0, recv / want))
        assert missing == max(0, want - recv)


def _assert_tech_matches(conn: psycopg.Connection) -> None:
    want = conn.execute(PRD_TECH).fetchall()
    got = conn.execute("SELECT * FROM tech_ind_1m_mv ORDER BY tag_name, bucket").fetchall()
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert g[:2] == w[:2]
        for a, b in zip(g[2:], w[2:]):
            assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (g, w)


def test_tech_indicators_equal_prd_definition_after_incremental_refresh(seeded):
    with psycopg.connect(seeded, autocommit=True) as conn:
        _assert_tech_matches(conn)
        # new readings in the newest minutes and a late one 30 minutes back
        conn.execute("""INSERT INTO influx_hist (ts, tag_name, value)
                        VALUES (now() - interval '2 minutes', 'D100', 123.25),
                               (now() - interval '30 minutes', 'D200', 999.5)
                        ON CONFLICT DO NOTHING""")
        now = datetime.now(timezone.utc)
        refresh_range(conn, now - timedelta(hours=1), now)  # rollups only over the last hour...
        conn.execute("SELECT ksys.refresh_tech_ind(now() - interval '2 hours')")  # ...and the tech job's window
        _assert_tech_matches(conn)
