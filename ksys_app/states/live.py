"""The background watch loop of a page: live refresh, retry, health probe, visibility.

A page state gets it through PageState (a mixin of this mixin). On load, the
page starts `watch`; every TICK_S the loop

  1. ends when the tab is gone (view.client_connected), the page was left, or a
     newer loop of the same page took over;
  2. does nothing while the tab is hidden (`hidden`, set from the browser's
     visibilitychange by set_hidden): a tab nobody looks at neither reads nor
     probes, and when shown again the parts whose period passed are due at once;
  3. asks the process-wide health probe (Repository.probe: shared by every tab,
     at most one in flight, its result kept ~2 s) whether the server answers, so
     the navbar turns within seconds of an outage without a re-read, and the page
     re-reads everything the moment the server answers again;
  4. reads the due parts outside the state lock (live parts whose period, a
     Settings field named in `live`, passed; every part when a retry is due) and
     applies them only if the view did not change meanwhile.

A page showing a permanent error does none of 3 and 4: the same read would fail
the same way, so only the Retry button reads again.

The live periods are the cache TTLs of what a part reads, so a live re-read
finds its cached entry expired and reaches the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app import logevents
from ksys_app.data.errors import RETRY_SCHEDULE_S
from ksys_app.data.repository import get_repository
from ksys_app.domain.live import due_parts, replica_note, retry_countdown_s
from ksys_app.states.alarm_banner import AlarmBannerState
from ksys_app.states.view import client_connected

logger = logging.getLogger(__name__)

TICK_S = 1.0


class LiveLoop(rx.State, mixin=True):
    """The loop's vars and events; the reads themselves are PageState's hooks."""

    # part -> the Settings field holding its live refresh period in seconds
    live: ClassVar[Mapping[str, str]] = {}

    hidden: bool = False  # the browser tab is hidden: nothing reads
    probe_down: bool = False  # the last health probe got no answer from the server
    probe_error: str = ""  # its "CODE: message", for the navbar's tooltip
    probe_code: str = ""  # its code alone, for the stale badge
    # the database is a streaming replica: how far behind the primary it is, for the navbar
    # ("" on a primary); what the pages show is as old as that on top of "data as of"
    replica_note: str = ""

    _gated: bool = False  # KSYS_REQUIRE_LOGIN and nobody logged in: nothing reads
    _banner_at: float = 0.0  # monotonic time the alarm banner was last read
    _probe_permanent: bool = False  # the probe's error is one no retry can fix
    _loop_id: str = ""
    _retry_at: float = 0.0
    _read_at: dict[str, float] = {}  # part -> monotonic time it was last applied

    @rx.event
    def set_hidden(self, hidden: bool):
        """visibilitychange (layout.shell) or the check at load: whether the tab is hidden.
        A loop that ended while the tab was away (its websocket dropped) starts again."""
        self.hidden = bool(hidden)
        if not self.hidden and not self._loop_id and not self._gated:
            return self.__class__.watch

    @rx.event(background=True)
    async def watch(self):
        """Retry failed reads, probe the database and refresh live parts while the tab is open."""
        loop_id = uuid.uuid4().hex
        async with self:
            self._loop_id = loop_id
            token = self.router.session.client_token
            path = self.router.url.path
        try:
            while await self._watch_tick(loop_id, token, path):
                pass
        finally:
            await self._end_watch(loop_id)

    async def _watch_tick(self, loop_id: str, token: str, path: str) -> bool:
        """One tick of the loop: probe, read what is due and apply it; False ends the loop."""
        await asyncio.sleep(TICK_S)
        if not client_connected(token):
            return False
        async with self:
            if self._loop_id != loop_id or self.router.url.path != path:
                return False
            if self.hidden or (self.failed and self.error_permanent):
                return True
        try:
            verdict = await get_repository().probe()
        except Exception:  # noqa: BLE001 - a bug in the probe must not end the loop: no verdict
            logger.exception("health probe failed")
            verdict = None
        async with self:
            if self._loop_id != loop_id:
                return False
            recovered = self._note_probe(verdict)
            parts = self.parts if recovered else self._due_parts(time.monotonic())
            params, need_tags = self._params(), self._tags_missing()
            banner_due = self._banner_due(time.monotonic())
        if banner_due:
            await self._read_banner_unlocked(loop_id)
        if not parts:
            return True
        try:
            read = await self._background_read(params, need_tags, parts)
        except Exception:  # noqa: BLE001 - a bug in one read must not end the loop
            logger.exception("background read of %s failed", path)
            await asyncio.sleep(RETRY_SCHEDULE_S[-1])
            return True
        if read is None:
            return True
        async with self:
            if self._loop_id != loop_id:
                return False
            self._apply_background(*read, parts)
        return True

    def _banner_due(self, now: float) -> bool:
        """The alarm banner's counts are older than KSYS_CACHE_TTL_ALARMS_S (and the
        server answers: while it is down the banner keeps its last counts)."""
        period = max(TICK_S, float(get_repository().setting("cache_ttl_alarms_s")))
        return not self.probe_down and now - self._banner_at >= period

    async def _read_banner(self) -> None:
        """Read the banner's counts now, holding the lock (page load, after an action)."""
        counts = await get_repository().alarm_counts()
        (await self.get_state(AlarmBannerState))._apply(counts)
        self._banner_at = time.monotonic()

    async def _read_banner_unlocked(self, loop_id: str) -> None:
        """The loop's banner refresh: read outside the lock, apply under it."""
        try:
            counts = await get_repository().alarm_counts()
        except Exception:  # noqa: BLE001 - a bug in the banner must not end the loop
            logger.exception("alarm banner read failed")
            return
        async with self:
            if self._loop_id == loop_id:
                (await self.get_state(AlarmBannerState))._apply(counts)
                self._banner_at = time.monotonic()

    def _note_probe(self, verdict: Any) -> bool:
        """Show the probe's verdict (None: no database to probe); True when the server
        answers again after this page saw it down: time to re-read everything."""
        down = verdict is not None and not verdict.ok
        was_down = self.probe_down
        if down != was_down:  # only a change travels to the browser
            self.probe_down = down
            self.probe_error = f"{verdict.error.code}: {verdict.error.message}" if down else ""
            self.probe_code = verdict.error.code if down else ""
            if down:
                self._rows_went_stale()
        self._probe_permanent = down and verdict.error.permanent
        if not down:
            note = replica_note(getattr(verdict, "standby", None), getattr(self, "_lang", "en"))
            if note != self.replica_note:
                self.replica_note = note
        return was_down and not down

    def _rows_went_stale(self) -> None:
        """Hook: the probe says the server stopped answering, so the rows on screen are now
        the last good ones (the stale badge shows); a page whose rows claim something
        only a live read can know (the snapshot's Comm. column) says it is not known."""

    def _due_parts(self, now: float) -> frozenset[str]:
        """Parts due now: live parts whose period is over, every part when a retry is due.
        Also counts the retry countdown down. While the probe says the server is down
        the live parts wait (they would only fail), unless its error is permanent (a
        changed password): then the next read shows that error with its fix."""
        due: frozenset[str] = frozenset()
        if not self.probe_down or self._probe_permanent:
            repo = get_repository()
            due = due_parts(now, self._read_at, {part: repo.setting(setting) for part, setting in self.live.items()},
                            TICK_S)
        if self.failed and self._retry_at:
            if now >= self._retry_at:
                due |= self.parts
            else:
                left = retry_countdown_s(now, self._retry_at)
                if left != self.retry_in_s:
                    self.retry_in_s = left
        return due

    async def _background_read(self, params: tuple, need_tags: bool,
                               parts: frozenset[str]) -> tuple[tuple, Any] | None:
        """Read outside the lock; (params read with, data), or None when there is no tag yet."""
        if need_tags:
            tags = await get_repository().tags()
            async with self:
                self._show_tag_notices(tags)
                params = self._params()
                if not self._ready():
                    self._absorb({})
                    return None
        return params, await self.__class__._fetch(params, parts)

    def _apply_background(self, params: tuple, data: Any, parts: frozenset[str]) -> None:
        """Apply a background read (under the lock) unless the view changed meanwhile.
        The page's `loading` stays as it is: a live refresh never shows the skeleton."""
        if self._params() != params:
            return  # the user changed the view meanwhile; its handler read already
        results = self._apply_parts(data, parts)
        self._absorb(results)
        for part in parts & self.live.keys():
            if part in results:
                logevents.log_read(logevents.SNAPSHOT_REFRESH, results[part], page=self.route,
                                   part=part)

    async def _end_watch(self, loop_id: str) -> None:
        try:
            async with self:
                if self._loop_id == loop_id:
                    self._loop_id = ""
        except Exception:  # noqa: BLE001 - the client may be gone already
            pass
