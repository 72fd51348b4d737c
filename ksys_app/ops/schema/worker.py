"""`ksys worker`: call ksys.tick() on a schedule where no pg_cron does it.

Reconnects with backoff when the database goes away; a tick that finds another
tick running (pg_cron, a second worker) does nothing, so running one too many is harmless.
"""

from __future__ import annotations

import signal
from typing import Callable

import psycopg

from ksys_app.ops.db import NoRights, connect, first_line
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.refresh import tick
from ksys_app.retry import backoff_s, sleep_unless


def run_worker(dsn: str, once: bool = False, interval_s: float = 15.0,
               out: Callable[[str], None] = print, should_stop: Callable[[], bool] | None = None) -> int:
    stop = {"now": False}
    if should_stop is None:
        def _handle(_sig, _frame):
            stop["now"] = True
        signal.signal(signal.SIGTERM, _handle)
        signal.signal(signal.SIGINT, _handle)
        should_stop = lambda: stop["now"]  # noqa: E731

    # The first connection must work: a wrong DSN or password is an operator's
    # mistake to report now (exit 2), not an outage to wait out. So is a role that
    # may not run the tick (NoRights, e.g. the dashboard's eco_ro).
    with connect(dsn):
        pass
    failures_in_row = 0
    while True:
        try:
            with connect(dsn) as conn:
                failures_in_row = 0
                while True:
                    failed = tick(conn)
                    if failed > 0:
                        out(f"tick: {failed} job(s) failed; see `ksys doctor`")
                    if once:
                        return 1 if failed > 0 else 0
                    if sleep_unless(interval_s, should_stop):
                        return 0
        except NoRights:
            raise  # a role without the rights stays without them: one line, exit 2
        except (OpsError, psycopg.OperationalError) as exc:
            if once:
                raise OpsError(f"worker: {first_line(exc)}") from None
            failures_in_row += 1
            delay = backoff_s(failures_in_row)
            out(f"worker: database unavailable ({first_line(exc)}); retrying in {delay} s")
            if sleep_unless(delay, should_stop):
                return 0

