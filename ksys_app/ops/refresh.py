"""Bring every derived relation up to date for a span of raw data.

Used after bulk loads (simulator backfill, CSV backfill, restore) whose rows are
older than the policies' trailing windows, so no scheduled run would see them.
Order matters: virtual tags are raw rows, rollups build on each other, and the
indicators read the 1-minute rollup.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import psycopg

# Continuous aggregates in dependency order (TimescaleDB engine).
CAGGS = ("public.influx_agg_1m", "public.features_5m", "public.influx_agg_10m",
         "public.influx_agg_1h", "public.influx_agg_1d", "ksys.comm_recv_1h")


def engine_of(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0]


def refresh_range(conn: psycopg.Connection, start: datetime, end: datetime) -> None:
    """Recompute virtual tags, rollups, indicators and the tag registry over [start, end).

    `conn` must be in autocommit mode: refresh_continuous_aggregate cannot run
    inside a transaction block.
    """
    # whole days, so every bucket width (up to 1 day) is recomputed in full
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    conn.execute("SELECT ksys.compute_virtual_tags(%s, least(%s, date_bin('1 minute', now(), ksys.bucket_origin())))",
                 (start, end))
    if engine_of(conn) == "timescaledb":
        for cagg in CAGGS:
            _refresh_cagg(conn, cagg, start, end)
    else:
        jobs = conn.execute("SELECT d.job_name FROM ksys.rollup_def d JOIN ksys.jobs j USING (job_name) "
                            "ORDER BY j.run_order").fetchall()
        for (job,) in jobs:
            conn.execute("SELECT ksys.refresh_rollup(%s, %s, %s)", (job, start, end))
    conn.execute("SELECT ksys.refresh_tech_ind(%s)", (start,))
    conn.execute("SELECT ksys.register_all_tags()")
    # Jobs that never ran would otherwise recompute the whole span just done (and,
    # on TimescaleDB, upsert into compressed chunks): start them at its end.
    conn.execute("UPDATE ksys.jobs SET watermark = least(%s, date_bin('1 minute', now(), ksys.bucket_origin())) "
                 "WHERE job_name IN ('virtual_tags', 'tech_ind_1m_mv') AND watermark IS NULL", (end,))


def _refresh_cagg(conn: psycopg.Connection, cagg: str, start: datetime, end: datetime,
                  attempts: int = 30) -> None:
    """Refresh one continuous aggregate, waiting out a policy run on the same window."""
    for attempt in range(attempts):
        try:
            conn.execute(f"CALL refresh_continuous_aggregate('{cagg}', %s::timestamptz, %s::timestamptz)",
                         (start, end))
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.1 * 2 ** attempt))


def tick(conn: psycopg.Connection) -> int:
    """One scheduler tick; returns the number of failed jobs (-1: another tick was running)."""
    return conn.execute("SELECT ksys.tick()").fetchone()[0]
