"""The reads of a process whose settings are missing or invalid: every one answers CONFIG.

get_repository() returns one instead of raising, so a page shows the bad
variable like any other error. Arguments are still validated first
(INVALID_INPUT), as they are with a database.
"""

from __future__ import annotations

import time
from typing import Any

from ksys_app.config import Settings
from ksys_app.data.cache import QueryCache
from ksys_app.data.errors import config_error
from ksys_app.data.queries import Query
from ksys_app.data.repository.reads import ReadContext, Reads, ms_since
from ksys_app.data.result import ReadResult
from ksys_app.domain.timefmt import DEFAULT_TZ, resolve_tz


class UnconfiguredRepository(Reads):
    """No database: `message` (e.g. "TS_DSN is not set") is the error of every read."""

    db_healthy = True  # no read ever reached a database

    def __init__(self, message: str):
        self.message = message
        self.cache = QueryCache()  # empty; Refresh clears it like any other
        self.tz = resolve_tz(DEFAULT_TZ)

    def setting(self, name: str) -> Any:
        """The default of a setting: what the process would run with once configured."""
        return Settings.model_fields[name].default

    async def close(self) -> None:
        """Nothing to close: no pool was ever opened."""

    async def probe(self) -> None:
        """No verdict: there is no database to probe (every read shows CONFIG already)."""
        return None

    async def run(self, query: Query, args: tuple[Any, ...], *, ctx: ReadContext = ReadContext(),
                  **_options: Any) -> ReadResult:
        t0 = time.monotonic()
        return ReadResult(error=config_error(self.message), dur_ms=ms_since(t0),
                          query=query.name, window=ctx.window, tag=ctx.tag, view=ctx.view)
