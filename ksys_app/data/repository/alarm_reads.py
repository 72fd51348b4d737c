"""The alarm reads (issue 16), a part of `Reads`: the active list, the banner's counts,
the journal a page at a time and whole for the CSV export. Through the read-only
role and the cache like every read; the cache kind "alarms" (KSYS_CACHE_TTL_ALARMS_S)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ksys_app.data import queries, validate
from ksys_app.data.alarm_rows import AlarmRow, JournalRow, alarm_row, journal_row
from ksys_app.data.queries import Query
from ksys_app.data.repository.context import ReadContext
from ksys_app.data.result import ReadResult
from ksys_app.domain.alarm_marks import Change
from ksys_app.domain.alarms import LimitKind

ALARMS = "alarms"
KPIS = "alarm_kpis"  # cache kind of the KPI reads (KSYS_CACHE_TTL_ALARM_KPIS_S)
JOURNAL_PAGE_MAX = 200
MARK_CHANGES_MAX = 1000  # condition changes of one tag a chart marks (the newest)
UNACK_STATES = ("unack", "rtn_unack")


class AlarmReads:
    """Mixed into Reads; uses its `run` and `invalid`."""

    async def run(self, query: Query, args: tuple[Any, ...], **options: Any) -> ReadResult:
        raise NotImplementedError

    def invalid(self, exc: Exception, **_kw: Any) -> ReadResult:
        raise NotImplementedError

    async def alarm_states(self) -> ReadResult[AlarmRow]:
        """Every alarm not normal (active, returned unacknowledged, shelved, out of service),
        by tag and limit; no alarm is a normal state (error stays None)."""
        return await self.run(queries.ALARM_STATES, ("normal", queries.MAX_ALARMS + 1), kind=ALARMS,
                              convert=alarm_row, limit=queries.MAX_ALARMS, empty_is_no_rows=False,
                              ctx=ReadContext(view="alarm_states"))

    async def alarm_counts(self) -> ReadResult[tuple[str, int]]:
        """(priority, unacknowledged alarms) for the priorities that have any."""
        return await self.run(queries.ALARM_COUNTS, (list(UNACK_STATES), 10), kind=ALARMS,
                              convert=lambda r: (str(r["priority"]), int(r["n"])), limit=9,
                              empty_is_no_rows=False, payload_check=False,
                              ctx=ReadContext(view="alarm_states"))

    async def journal_count(self, since: datetime, until: datetime) -> ReadResult[int]:
        try:
            lo, hi = validate.aware(since, "since"), validate.aware(until, "until")
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        return await self.run(queries.ALARM_JOURNAL_COUNT, (lo, hi, 2), kind=ALARMS,
                              convert=lambda r: int(r["n"]), limit=1, ctx=ReadContext(view="alarm_journal"))

    async def journal_page(self, since: datetime, until: datetime, offset: int,
                           size: int) -> ReadResult[JournalRow]:
        """Journal rows in [since, until), newest first: rows offset .. offset + size - 1."""
        try:
            lo, hi = validate.aware(since, "since"), validate.aware(until, "until")
            offset, size = validate.page_bounds(offset, size, JOURNAL_PAGE_MAX)
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        return await self.run(queries.ALARM_JOURNAL_PAGE, (lo, hi, size, offset), kind=ALARMS,
                              convert=journal_row, limit=None, empty_is_no_rows=False,
                              ctx=ReadContext(view="alarm_journal"))

    async def journal_export(self, since: datetime, until: datetime) -> ReadResult[JournalRow]:
        """Every journal row in [since, until), newest first, at most MAX_JOURNAL_EXPORT
        (`truncated` says when there were more)."""
        try:
            lo, hi = validate.aware(since, "since"), validate.aware(until, "until")
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        n = queries.MAX_JOURNAL_EXPORT
        return await self.run(queries.ALARM_JOURNAL_PAGE, (lo, hi, n + 1, 0), kind=ALARMS,
                              convert=journal_row, limit=n, empty_is_no_rows=False, payload_check=False,
                              ctx=ReadContext(view="alarm_journal"))

    async def alarm_marks(self, tag: str, since: datetime, until: datetime) -> ReadResult[Change]:
        """One tag's alarm condition changes for a chart of [since, until): those inside
        (the newest MARK_CHANGES_MAX) and each limit's last one before it."""
        try:
            tag = validate.tag_name(tag)
            lo, hi = validate.aware(since, "since"), validate.aware(until, "until")
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        kinds = [k.value for k in LimitKind]
        return await self.run(queries.ALARM_MARKS, (tag, lo, hi, MARK_CHANGES_MAX, "activate", ["activate", "clear"], kinds),
                              kind=ALARMS,
                              convert=lambda r: Change(str(r["kind"]), str(r["priority"]), r["at"], bool(r["active"])),
                              limit=None, empty_is_no_rows=False, payload_check=False,
                              ctx=ReadContext(tag=tag, view="alarm_journal"))

    async def alarm_activations(self, since: datetime, until: datetime) -> ReadResult[tuple]:
        """(tag, limit, priority, at) of the announced activations in [since, until),
        newest first, at most MAX_KPI_ACTIVATIONS (`truncated` beyond)."""
        try:
            lo, hi = validate.aware(since, "since"), validate.aware(until, "until")
        except validate.InvalidInput as exc:
            return self.invalid(exc)
        n = queries.MAX_KPI_ACTIVATIONS
        return await self.run(queries.ALARM_ACTIVATIONS, (lo, hi, n + 1, "activate", "unack"), kind=KPIS, limit=n,
                              convert=lambda r: (str(r["tag_name"]), str(r["kind"]), str(r["priority"]), r["at"]),
                              empty_is_no_rows=False, payload_check=False, ctx=ReadContext(view="alarm_journal"))

    async def alarm_standing(self) -> ReadResult[tuple]:
        """(tag, limit, priority, active since) of every alarm active now."""
        return await self.run(queries.ALARM_STANDING, (queries.MAX_ALARMS + 1,), kind=KPIS, limit=queries.MAX_ALARMS,
                              convert=lambda r: (str(r["tag_name"]), str(r["kind"]), str(r["priority"]),
                                                 r["active_since"]),
                              empty_is_no_rows=False, payload_check=False, ctx=ReadContext(view="alarm_states"))
