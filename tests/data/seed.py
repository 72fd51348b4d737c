"""Known telemetry for the data-layer tests.

Every value is a multiple of 0.25, so sums (and sum/n) are exact in binary and
rollups compare with direct SQL over influx_hist by equality. Readings are
placed relative to a fixed `now` taken when the fixture runs and kept at least
30 minutes away from every window edge, so a test that runs a few seconds later
sees the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg

from ksys_app.ops.schema.refresh import refresh_range

UTC = timezone.utc
SEOUL = ZoneInfo("Asia/Seoul")
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # time_bucket / date_bin origin of the rollups

# A tag whose name would break any SQL built by string formatting.
NASTY_TAG = "O'Brien\"; DROP TABLE influx_hist; -- 센서 🌡"

S1_CLUSTERS = [timedelta(days=-300), timedelta(days=-200), timedelta(days=-100),
               timedelta(days=-40), timedelta(days=-31), timedelta(days=-29),
               timedelta(days=-20), timedelta(days=-10), timedelta(days=-8),
               timedelta(hours=-156), timedelta(days=-3), timedelta(hours=-25),
               timedelta(hours=-23), timedelta(hours=-12), timedelta(minutes=-90),
               timedelta(minutes=-30), timedelta(minutes=-5)]
S2_CLUSTERS = [timedelta(days=-250), timedelta(days=-20), timedelta(days=-2),
               timedelta(hours=-6), timedelta(minutes=-10)]

# PRD section 7 test sheet (tests/sheets/kpi_24h.md): (minute offset from the
# current minute, second, value). The last two 1-minute buckets are -10 and -5.
KPI_SHEET = {
    "D100": [(-120, 10, 150.0), (-60, 10, 170.25), (-10, 10, 175.5), (-10, 40, 180.0),
             (-5, 10, 188.0), (-5, 40, 190.0)],
    "D200": [(-120, 10, 12000.0), (-10, 10, 16500.0), (-10, 40, 16000.0),
             (-5, 10, 15750.0), (-5, 40, 15500.0)],
    "D300": [(-120, 10, -20.0), (-10, 10, 90.0), (-10, 40, 100.0),
             (-5, 10, 120.0), (-5, 40, 145.0)],
}

# tag, min, max, warn_min, warn_max, crit_min, crit_max, enabled
QC_RULES = [
    ("D100", 0.0, 200.0, 10.0, 195.0, 5.0, 198.0, True),
    ("D200", 0.0, 20000.0, 1000.0, 15000.0, 500.0, 18000.0, True),
    ("D300", -50.0, 150.0, -30.0, 130.0, -40.0, 140.0, True),
    ("S1", 0.0, 100.0, None, None, None, None, None),   # enabled NULL: counts as enabled
    ("S2", 0.0, 100.0, None, None, None, None, False),
]

# Communication example (tests/data/test_comm.py). Hours are counted from
# COMM_BASE = local midnight of (comm start day + 2 days); readings per hour:
COMM_C1_HOURS = {0: 60, 1: 60, 2: 60, 3: 60, 4: 60, 5: 30, 6: 57, 7: 0, 8: 45, 9: 60}
# C2 expects 2 per minute (120 per hour) and has slo_crit 0.9 in ingest_expectation.
COMM_C2_HOURS = {0: 120, 1: 110, 2: 100, 3: 120}
COMM_START_DAYS_AGO = 40


@dataclass(frozen=True)
class Seeded:
    engine: str
    dbname: str
    admin_dsn: str
    ro_dsn: str
    now: datetime          # the fixed "now" the readings are placed around (UTC)
    minute: datetime       # now floored to the minute
    comm_start: date       # local (Asia/Seoul) start day of the comm heatmap example
    comm_base: datetime    # UTC instant of COMM hour 0


def _cluster(t: datetime, base: float) -> list[tuple[datetime, float]]:
    return [(t, base), (t + timedelta(seconds=10), base + 0.5), (t + timedelta(seconds=20), base - 0.25)]


def readings(now: datetime, comm_start: date) -> list[tuple[datetime, str, float]]:
    minute = now.replace(second=0, microsecond=0)
    rows: list[tuple[datetime, str, float]] = []
    for i, off in enumerate(S1_CLUSTERS):
        rows += [(t, "S1", v) for t, v in _cluster(now + off, 100.0 - 3.25 * i)]
    for i, off in enumerate(S2_CLUSTERS):
        rows += [(t, "S2", v) for t, v in _cluster(now + off, -40.0 + 7.5 * i)]
    # 90 consecutive minutes so the indicators' 10/20/60-row windows fill up.
    start = minute - timedelta(hours=3)
    rows += [(start + timedelta(minutes=k, seconds=30), "S1", 50.0 + 0.25 * (k % 17)) for k in range(90)]
    rows += [(t, NASTY_TAG, v) for t, v in _cluster(now - timedelta(hours=2), 1.25)]
    for tag, points in KPI_SHEET.items():
        rows += [(minute + timedelta(minutes=m, seconds=s), tag, v) for m, s, v in points]

    comm_base = local_midnight(comm_start + timedelta(days=2))
    for hour, count in COMM_C1_HOURS.items():
        h0 = comm_base + timedelta(hours=hour)
        rows += [(h0 + timedelta(minutes=k), "C1", 1.0) for k in range(count)]
    for hour, count in COMM_C2_HOURS.items():
        h0 = comm_base + timedelta(hours=hour)
        rows += [(h0 + timedelta(seconds=30 * k), "C2", 2.0) for k in range(count)]
    # C3: readings on both sides of the grid's local-day edges.
    grid_lo, grid_hi = local_midnight(comm_start), local_midnight(comm_start + timedelta(days=30))
    rows += [(grid_lo - timedelta(seconds=1), "C3", 3.0), (grid_lo - timedelta(seconds=2), "C3", 3.0),
             (grid_lo, "C3", 3.0), (grid_lo + timedelta(seconds=30), "C3", 3.0),
             (grid_lo + timedelta(minutes=2), "C3", 3.0),
             (grid_hi - timedelta(seconds=1), "C3", 3.0), (grid_hi, "C3", 3.0)]
    return rows


def local_midnight(day: date, tz: ZoneInfo = SEOUL) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def insert_readings(conn: psycopg.Connection, rows: list[tuple[datetime, str, float]]) -> None:
    with conn.cursor() as cur:
        with cur.copy("COPY public.influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def refresh_spans(conn: psycopg.Connection, rows: list[tuple[datetime, str, float]]) -> None:
    """refresh_range over each run of consecutive days that holds readings.

    One call over the whole year would make TimescaleDB walk every empty
    bucket range; the runs cover every reading, so no data stays unmaterialized
    below a cagg's watermark.
    """
    runs: list[list[date]] = []
    for day in sorted({ts.astimezone(UTC).date() for ts, _tag, _v in rows}):
        if runs and day - runs[-1][1] <= timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    for first, last in runs:
        refresh_range(conn, datetime.combine(first, time(0), UTC), datetime.combine(last, time(0), UTC))


def pause_timescaledb_policies(conn: psycopg.Connection, timeout_s: float = 30.0) -> None:
    """Unschedule the cagg / compression / retention policies of this database and wait
    until none is running.

    The policies start on the first minute boundary after the migration. A policy
    refresh that overlaps refresh_range over the same buckets can commit a
    materialization computed before the seed rows were visible, leaving the
    1 h / 1 d rollups stale (seen as a rare 30d / 12m mismatch). Real-time
    aggregation still shows every reading, so reads do not need the policies.
    """
    import time as _time

    conn.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
                 "WHERE proc_name IN ('policy_refresh_continuous_aggregate', 'policy_compression', "
                 "'policy_retention')")
    deadline = _time.monotonic() + timeout_s
    while conn.execute("SELECT count(*) FROM timescaledb_information.job_stats "
                       "WHERE job_status = 'Running'").fetchone()[0]:
        if _time.monotonic() > deadline:
            raise TimeoutError("TimescaleDB policies still running")
        _time.sleep(0.1)


def insert_master_data(conn: psycopg.Connection) -> None:
    conn.cursor().executemany(
        "INSERT INTO public.influx_qc_rule (tag_name, min_val, max_val, warn_min, warn_max, "
        "crit_min, crit_max, enabled) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", QC_RULES)
    conn.execute("INSERT INTO public.ingest_expectation (tag_name, exp_per_min, slo_warn, slo_crit) "
                 "VALUES ('C2', 2, 0.97, 0.9)")
