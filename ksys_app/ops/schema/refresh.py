"""Scheduler ticks, and bringing derived data up to date after a bulk load.

Every write to influx_hist records the time it touched (migration 0013); each
tick recomputes what is pending, at most a day of data time per consumer. A
bulk load (simulator backfill, CSV backfill) ticks here until everything it
wrote is reflected in every derived relation, so the command returns with
current pages instead of leaving a month to the next thirty ticks.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

import psycopg

TICK_SQL = "CALL ksys.run_tick(NULL)"
MAX_SETTLE_TICKS = 2000          # a year of backlog is ~370 ticks; this only stops a runaway loop
BUSY_WAIT_S = 0.2


def tick(conn: psycopg.Connection) -> int:
    """One scheduler tick; returns the number of failed jobs (-1: another tick was running).

    `conn` must be in autocommit mode: the tick commits between its steps.
    """
    try:
        return conn.execute(TICK_SQL).fetchone()[0]
    except psycopg.Error:
        # the tick's session lock outlives an error that escaped the procedure
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute("SELECT pg_advisory_unlock_all()")
        raise


def backlog(conn: psycopg.Connection, before: datetime | None = None) -> dict[str, tuple[int, object]]:
    """consumer -> (pending ranges that may be worked on now, their span)."""
    rows = conn.execute("SELECT consumer, ranges, span FROM ksys.backlog(coalesce(%s, 'infinity'::timestamptz))",
                        (before,)).fetchall()
    return {consumer: (int(ranges), span) for consumer, ranges, span in rows}


def settle(conn: psycopg.Connection, out: Callable[[str], None] | None = None,
           max_ticks: int = MAX_SETTLE_TICKS) -> int:
    """Tick until every change logged before now is reflected; returns the ticks run.

    Live writers may go on meanwhile: only what was pending when this started is
    waited for. Raises RuntimeError when a job fails (its error is in ksys.jobs).
    """
    started = conn.execute("SELECT now()").fetchone()[0]
    ticks = 0
    last_report = time.monotonic()
    while ticks < max_ticks:
        pending = backlog(conn, started)
        if not any(n for n, _span in pending.values()):
            return ticks
        failed = tick(conn)
        if failed == -1:            # pg_cron or a worker is ticking: let it, then look again
            time.sleep(BUSY_WAIT_S)
            continue
        ticks += 1
        if failed > 0:
            errors = conn.execute("SELECT job_name, last_error FROM ksys.jobs WHERE last_run_status = 'Failed'"
                                  ).fetchall()
            raise RuntimeError("; ".join(f"{job}: {error}" for job, error in errors) or f"{failed} job(s) failed")
        if out and time.monotonic() - last_report > 5:
            left = ", ".join(f"{c} {span}" for c, (n, span) in sorted(pending.items()) if n)
            out(f"  still to recompute: {left}")
            last_report = time.monotonic()
    raise RuntimeError(f"derived data not settled after {max_ticks} ticks")


def refresh_range(conn: psycopg.Connection, start: datetime | None = None, end: datetime | None = None,
                  out: Callable[[str], None] | None = None) -> int:
    """Recompute virtual tags, rollups, indicators and the tag registry after a bulk load.

    The span the caller wrote is already in the change log (start and end are
    kept for the callers' readability and the tag registry); this ticks until
    it is worked off. `conn` must be in autocommit mode.
    """
    if start is not None and end is not None:
        conn.execute("SELECT ksys.register_tags_in(%s, %s + interval '1 microsecond')", (start, end))
    return settle(conn, out=out)
