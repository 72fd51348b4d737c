"""The process-wide database health probe: is the server answering right now?

Pages learn of an outage from their reads, and a page reads only when its
refresh period or a retry is due: minutes on /comm. The probe is how every open
page learns within seconds, without re-reading its data. It is one light round
trip (queries.PROBE through the pool, under a short timeout) whose outcome is
shared:

* at most one probe is in flight: callers that arrive meanwhile await it;
* its outcome is kept for MAX_AGE_S, so N open tabs asking every tick cause
  one probe per MAX_AGE_S, not N.

HealthProbe only caches and coalesces; what a probe does is the `check`
callable it is given (Repository._probe_once: the round trip and the
db_fail / db_recover bookkeeping).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from ksys_app.data.errors import DataError

# How long one probe's outcome stands. With pages asking every second, an outage
# (or the recovery) shows on every page within MAX_AGE_S + one tick + a probe.
MAX_AGE_S = 2.0
# The most a probe may take. A server that accepts but does not answer counts as
# down after this long; below the 5 s in which an outage must show.
TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Standby:
    """The server answered as a streaming replica: seconds its replay is behind the
    primary (0.0: it has replayed everything it received; None: not known), whether a
    WAL receiver is connected to the primary, the WAL it received and has not replayed
    yet (bytes), and how long ago it replayed its last transaction (None: none since it
    started)."""
    lag_s: float | None
    receiving: bool = True
    behind_bytes: float | None = None
    replay_age_s: float | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    error: DataError | None  # None: the server answered
    dur_ms: float
    checked_at: float  # monotonic time the probe finished
    standby: Standby | None = None  # the server is a replica (and its lag)

    @property
    def ok(self) -> bool:
        return self.error is None


class HealthProbe:
    """Caches and coalesces `check` (None or a Standby when healthy, else the DataError)."""

    def __init__(self, check: Callable[[], Awaitable[DataError | Standby | None]],
                 max_age_s: float = MAX_AGE_S, timer: Callable[[], float] = time.monotonic):
        self._check = check
        self._max_age_s = max_age_s
        self._timer = timer
        self._last: ProbeResult | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.probes = 0  # probes actually run (for tests and benchmarks)

    @property
    def last(self) -> ProbeResult | None:
        """The newest outcome, however old (None before the first probe)."""
        return self._last

    async def result(self) -> ProbeResult:
        """The outcome of a probe at most max_age_s old, running one if there is none."""
        last = self._last
        if last is not None and self._timer() - last.checked_at < self._max_age_s:
            return last
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a task belongs to the loop that made it
            self._task, self._loop = None, loop
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        # shield: a caller that is cancelled (tab closed) leaves the probe to the others
        return await asyncio.shield(self._task)

    async def _run(self) -> ProbeResult:
        t0 = self._timer()
        self.probes += 1
        outcome = await self._check()
        now = self._timer()
        error = outcome if isinstance(outcome, DataError) else None
        standby = outcome if isinstance(outcome, Standby) else None
        self._last = ProbeResult(error, (now - t0) * 1000.0, now, standby)
        return self._last
