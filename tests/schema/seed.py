"""Deterministic raw readings for database tests, and the PRD reference query they compare with.

Values are multiples of 1/4 below 2**20, so every sum is exact in binary floating
point whatever order a server adds them in: rollup sums compare with ==.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg

# The PRD's definition of tech_ind_1m_mv (12.1 #4), evaluated over all history.
PRD_TECH = """
SELECT bucket, tag_name, avg,
       avg(avg) OVER w10 AS sma_10, avg(avg) OVER w60 AS sma_60,
       avg + 2*stddev_samp(avg) OVER w20 AS bb_top, avg - 2*stddev_samp(avg) OVER w20 AS bb_bot,
       (avg - lag(avg, 60) OVER (PARTITION BY tag_name ORDER BY bucket)) AS slope_60
FROM public.influx_agg_1m
WINDOW
  w10 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 9  PRECEDING AND CURRENT ROW),
  w20 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
  w60 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)
ORDER BY tag_name, bucket
"""


def exact_value(rng: random.Random) -> float:
    return rng.randrange(0, 4 * 5000) / 4


def seed_readings(conn: psycopg.Connection, tags: list[str], start: datetime, end: datetime,
                  step_s: int = 10, seed: int = 7, gap: tuple[datetime, datetime] | None = None) -> int:
    """Readings every step_s (with jitter) for each tag in [start, end); returns the row count."""
    rng = random.Random(seed)
    rows = []
    t = start
    while t < end:
        for tag in tags:
            ts = t + timedelta(milliseconds=rng.randrange(0, step_s * 1000 - 1))
            if gap and gap[0] <= ts < gap[1]:
                continue
            rows.append((ts, tag, exact_value(rng)))
        t += timedelta(seconds=step_s)
    with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
