"""What every read returns: rows plus how trustworthy they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from ksys_app.data.errors import DataError, ErrorCode

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadResult(Generic[T]):
    """Outcome of one read; never raises, never silently incomplete.

    rows        the rows (ascending by bucket for time series); () on failure
                without a last good value
    stale       rows are the last good value, served because this read failed
                (`error` says why): show them with a stale badge and retry
    cache_hit   no database round trip of this call's own (fresh cache entry
                or an identical read already in flight)
    error       None when the database answered with rows; NO_ROWS when it
                answered with none; a failure code (error.is_failure) otherwise
    truncated   the statement's LIMIT cut rows off (only the newest are kept)
    fetched_at  when the database produced these rows (UTC), None if never
    warning     PAYLOAD_BLOAT when the rows exceed the payload budget
    """

    rows: tuple[T, ...] = ()
    stale: bool = False
    cache_hit: bool = False
    error: DataError | None = None
    truncated: bool = False
    fetched_at: datetime | None = None
    warning: DataError | None = None
    query: str | None = None  # name from ksys_app.data.queries
    window: str | None = None  # window code, e.g. "24h"
    tag: str | None = None
    view: str | None = None  # relation read
    dur_ms: float = 0.0  # wall time of this call

    @property
    def ok(self) -> bool:
        """The database answered (rows may still be empty: see no_rows)."""
        return self.error is None or self.error.code == ErrorCode.NO_ROWS

    @property
    def failed(self) -> bool:
        """The read could not be answered by the database (timeout, connection, drift...)."""
        return self.error is not None and self.error.is_failure

    @property
    def no_rows(self) -> bool:
        return self.error is not None and self.error.code == ErrorCode.NO_ROWS

    @property
    def retryable(self) -> bool:
        """Worth retrying on RETRY_SCHEDULE_S (DB_TIMEOUT / DB_CONN)."""
        return self.error is not None and self.error.retryable
