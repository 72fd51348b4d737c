"""The shared base of every page state: view inputs, load/empty/error/stale state, retry.

Each page state subclasses PageState (a Reflex state mixin, so every page gets
its own copy of these vars) and implements four hooks:

  _params()              the inputs of a read, as a hashable tuple (read under the lock)
  _fetch(params, parts)  classmethod: the reads themselves (no access to self)
  _apply(data, parts)    turn the read results into page vars; returns the
                         ReadResults that decide error / stale / empty, per part
  _empty_reason()        what the empty state says

Reads happen in three places: event handlers (on_load, a changed control,
Refresh, Retry) read while holding the state lock; the background `watch`
loop, started from on_load, reads outside the lock and applies the result
only if the inputs did not change meanwhile. The loop retries failed reads on
RETRY_SCHEDULE_S (1, 2, 4, 8, 8, ... s) until the database answers and runs a
page's live refreshes; it stops when the tab goes away (the on_load chain is
cancelled), when the user navigates elsewhere or when a newer loop starts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlencode

import reflex as rx

from ksys_app import logevents
from ksys_app.data.errors import RETRY_SCHEDULE_S, retry_delay_s
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import DEFAULT_WINDOW, WINDOW_CODES

logger = logging.getLogger(__name__)

ALL = "all"  # the one part of a page without separately refreshed parts
TICK_S = 1.0


def _client_connected(token: str) -> bool:
    """Whether the browser tab of `token` still has a websocket (True when unknown)."""
    try:
        from reflex_base.registry import RegistrationContext

        namespace = RegistrationContext.get().app.event_namespace
        if namespace is None:
            return True
        return token in namespace.token_to_sid
    except Exception:  # noqa: BLE001 - never let a bookkeeping lookup end the loop
        return True


def newest_data_time(result: ReadResult):
    """The newest reading time or bucket start among a read's rows (None without rows).

    Rows name it ts (readings), last_ts (KPI statistics), bucket (rollups) or
    last_seen (heatmap hours: the newest minute with a reading; empty hours have none).
    """
    newest = None
    for row in result.rows:
        for name in ("ts", "last_ts", "bucket", "last_seen"):
            t = getattr(row, name, None)
            if t is not None and hasattr(t, "tzinfo") and (newest is None or t > newest):
                newest = t
    return newest


def outcome(result: ReadResult) -> dict[str, Any]:
    """What the page keeps of a read's trust state (picklable, small)."""
    err = result.error
    return {
        "failed": result.failed,
        "retryable": result.retryable,
        "code": "" if err is None else str(err.code),
        "message": "" if err is None else err.message,
        "stale": result.stale,
        "no_rows": result.no_rows or (result.ok and not result.rows),
        "fetched_at": result.fetched_at,
    }


class PageState(rx.State, mixin=True):
    """Window, tag, loading / empty / error / stale, notice and retry of one page.

    Subclass as `class XState(PageState, rx.State)`: a class whose state bases
    are all mixins is a mixin itself and would get no vars.
    """

    tag: str = ""
    window: str = DEFAULT_WINDOW
    tag_options: list[str] = []
    loading: bool = True
    failed: bool = False  # the database did not answer the last read
    stale: bool = False  # the rows shown are the last good ones
    error_code: str = ""
    error_message: str = ""
    data_time: str = ""  # local time the shown rows were read
    data_as_of: str = ""  # local time of the newest data in the shown rows
    empty_reason: str = ""
    notice: str = ""
    retry_attempt: int = 0
    retry_in_s: int = 0

    _loop_id: str = ""
    _retry_at: float = 0.0
    _outcomes: dict[str, dict] = {}
    _requested_tag: str = ""

    # ------------------------------------------------------------------ hooks

    def _route(self) -> str:
        raise NotImplementedError

    def _params(self) -> tuple:
        return (self.tag, self.window)

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> Any:
        raise NotImplementedError

    def _apply(self, data: Any, parts: frozenset[str]) -> Mapping[str, ReadResult]:
        raise NotImplementedError

    def _empty_reason(self) -> str:
        if not self._ready():
            return "no tags in the database yet"
        return f"no data for {self.tag} in the last {self.window}"

    def _all_parts(self) -> frozenset[str]:
        return frozenset({ALL})

    def _live_parts(self, now: float) -> frozenset[str]:
        """Parts due for a live refresh at monotonic time `now` (none by default)."""
        return frozenset()

    def _uses_window(self) -> bool:
        return True

    def _load_event(self) -> str:
        return logevents.RANGE_CHANGE_OK

    def _needs_tags(self) -> bool:
        return True

    def _url_params(self) -> dict[str, str]:
        params = {"tag": self.tag} if self._needs_tags() and self.tag else {}
        if self._uses_window():
            params["window"] = self.window
        return params

    def _read_extra_params(self, qp: Mapping[str, str], notices: list[str]) -> None:
        """Page-specific query parameters (e.g. /comm's start date)."""

    # ------------------------------------------------------------------ computed

    @rx.var
    def db_status(self) -> str:
        """Navbar indicator: ok / stale (showing last good rows) / down (nothing to show)."""
        if self.stale:
            return "stale"
        if self.failed:
            return "down"
        return "ok"

    # ------------------------------------------------------------------ plumbing

    def _url_script(self):
        query = urlencode(self._url_params())
        url = self._route() + (f"?{query}" if query else "")
        return rx.call_script(
            f"window.history.replaceState(window.history.state, '', {json.dumps(url)})")

    async def _resolve_url(self) -> None:
        """Tag and window from the query string; unknown values fall back with a notice."""
        qp = dict(self.router.url.query_parameters)
        notices: list[str] = []
        if self._uses_window():
            w = qp.get("window")
            if w is not None and w != "":
                if w in WINDOW_CODES:
                    self.window = w
                else:
                    notices.append(f"Unknown window '{w}' — showing {DEFAULT_WINDOW}")
                    self.window = DEFAULT_WINDOW
        if self._needs_tags():
            self._requested_tag = qp.get("tag") or ""
            notices.extend(self._apply_tags(await get_repository().tags()))
        self._read_extra_params(qp, notices)
        self.notice = "; ".join(notices)

    def _apply_tags(self, result: ReadResult) -> list[str]:
        """Tag options from a tags() read and the tag to show; returns notices.

        The URL's tag wins when it exists; an unknown one falls back to the
        current (or first) tag. While the tag list cannot be read, the URL's tag
        is used as it is, and the read is retried with the page's data.
        """
        # Only a tag list that could not be read at all holds the page in error: stale
        # tags are good enough to pick a view, and would otherwise never clear.
        outcomes = {k: v for k, v in self._outcomes.items() if k != "tags"}
        if not result.rows:
            outcomes["tags"] = outcome(result)
        self._outcomes = outcomes
        if result.rows:
            self.tag_options = [str(t) for t in result.rows]
        requested, options = self._requested_tag, self.tag_options
        notices: list[str] = []
        if not options:
            if requested:
                self.tag = requested
            return notices
        if requested and requested not in options:
            fallback = self.tag if self.tag in options else options[0]
            notices.append(f"Unknown tag '{requested}' — showing {fallback}")
            self.tag = fallback
        elif requested:
            self.tag = requested
        elif self.tag not in options:
            self.tag = options[0]
        self._requested_tag = self.tag
        return notices

    def _tags_missing(self) -> bool:
        return self._needs_tags() and not self.tag_options

    def _ready(self) -> bool:
        """Whether the page has what its reads need (a tag, for pages with one)."""
        return not self._needs_tags() or bool(self.tag)

    def _absorb(self, results: Mapping[str, ReadResult]) -> None:
        """Fold the results of the parts just read into error / stale / empty / retry."""
        outcomes = dict(self._outcomes)
        for part, result in results.items():
            outcomes[part] = outcome(result)
        self._outcomes = outcomes
        failed = [o for o in outcomes.values() if o["failed"]]
        self.failed = bool(failed)
        self.stale = any(o["stale"] for o in outcomes.values())
        if failed:
            self.error_code = failed[0]["code"]
            self.error_message = failed[0]["message"]
            if any(o["retryable"] for o in failed):
                self.retry_attempt += 1
                delay = retry_delay_s(self.retry_attempt)
                self._retry_at = time.monotonic() + delay
                self.retry_in_s = delay
            else:
                self._retry_at = 0.0
                self.retry_in_s = 0
        else:
            invalid = [o for o in outcomes.values() if o["code"] == "INVALID_INPUT"]
            self.error_code = invalid[0]["code"] if invalid else ""
            self.error_message = invalid[0]["message"] if invalid else ""
            self.retry_attempt = 0
            self.retry_in_s = 0
            self._retry_at = 0.0
        fetched = [o["fetched_at"] for o in outcomes.values() if o["fetched_at"] is not None]
        self.data_time = format_local(min(fetched), get_repository().tz) if fetched else ""
        newest = [t for t in (newest_data_time(r) for r in results.values()) if t is not None]
        if newest:
            self.data_as_of = format_local(max(newest), get_repository().tz)
        primary = outcomes.get(ALL) or next(iter(outcomes.values()), None)
        self.empty_reason = (self._empty_reason()
                             if primary and primary["no_rows"] and not self.failed else "")

    async def _reload(self, parts: frozenset[str] | None = None) -> Mapping[str, ReadResult]:
        """Read and apply now, holding the lock (event handlers)."""
        parts = parts or self._all_parts()
        results: Mapping[str, ReadResult] = {}
        try:
            if self._tags_missing():
                notices = self._apply_tags(await get_repository().tags())
                if notices:
                    self.notice = "; ".join(notices)
            if self._ready():
                data = await self.__class__._fetch(self._params(), parts)
                results = self._apply(data, parts)
            self._absorb(results)
        finally:
            self.loading = False  # never leave a skeleton up after a bug
        return results

    def _log(self, event: str, results: Mapping[str, ReadResult] | Iterable[ReadResult],
             **extra: Any) -> None:
        items: Sequence[ReadResult] = list(results.values() if isinstance(results, Mapping) else results)
        if items:
            logevents.log_read(event, items[0], page=self._route(), **extra)

    # ------------------------------------------------------------------ events

    @rx.event
    async def on_load(self):
        """Page entry: read the URL, load, canonicalise the URL, start the watcher."""
        self.loading = True
        self._outcomes = {}
        self.retry_attempt = 0
        await self._resolve_url()
        yield
        results = await self._reload()
        self._log(self._load_event(), results)
        yield self._url_script()
        yield self.__class__.watch

    @rx.event
    async def set_window(self, code: str):
        if code not in WINDOW_CODES or code == self.window:
            return
        self.window = code
        self.notice = ""
        self.loading = True
        self._on_input_change()
        yield
        results = await self._reload()
        self._log(logevents.RANGE_CHANGE_OK, results)
        yield self._url_script()

    @rx.event
    async def set_tag(self, tag: str):
        if tag == self.tag or (self.tag_options and tag not in self.tag_options):
            return
        self.tag = tag
        self._requested_tag = tag
        self.notice = ""
        self.loading = True
        self._on_input_change()
        yield
        results = await self._reload()
        self._log(logevents.RANGE_CHANGE_OK, results)
        yield self._url_script()

    def _on_input_change(self) -> None:
        """Reset paging / selection when tag or window changes (pages override)."""

    @rx.event
    async def refresh(self):
        """Read again now, bypassing the fresh cache (last good values stay for outages)."""
        get_repository().cache.clear()
        self.loading = True
        yield
        await self._reload()

    @rx.event
    async def retry(self):
        self.loading = True
        yield
        await self._reload()

    @rx.event
    def dismiss_notice(self):
        self.notice = ""

    @rx.event(background=True)
    async def watch(self):
        """Retry failed reads with backoff and run live refreshes while the tab is open."""
        my_id = uuid.uuid4().hex
        async with self:
            self._loop_id = my_id
            token = self.router.session.client_token
            path = self.router.url.path
        try:
            while True:
                await asyncio.sleep(TICK_S)
                if not _client_connected(token):
                    break
                async with self:
                    if self._loop_id != my_id or self.router.url.path != path:
                        break
                    now = time.monotonic()
                    parts = set(self._live_parts(now))
                    if self.failed and self._retry_at:
                        if now >= self._retry_at:
                            parts |= self._all_parts()
                        else:
                            left = max(1, math.ceil(self._retry_at - now))
                            if left != self.retry_in_s:
                                self.retry_in_s = left
                    params = self._params()
                    need_tags = self._tags_missing()
                if not parts:
                    continue
                frozen = frozenset(parts)
                try:
                    if need_tags:
                        tags = await get_repository().tags()
                        async with self:
                            notices = self._apply_tags(tags)
                            if notices:
                                self.notice = "; ".join(notices)
                            params = self._params()
                            if not self._ready():
                                self._absorb({})
                                continue
                    data = await self.__class__._fetch(params, frozen)
                except Exception:  # noqa: BLE001 - a bug in one read must not end the loop
                    logger.exception("background read of %s failed", path)
                    await asyncio.sleep(RETRY_SCHEDULE_S[-1])
                    continue
                async with self:
                    if self._loop_id != my_id:
                        break
                    if self._params() != params:
                        continue  # the user changed the view meanwhile; its handler read already
                    results = self._apply(data, frozen)
                    self._absorb(results)
                    self._after_live(frozen, results)
        finally:
            try:
                async with self:
                    if self._loop_id == my_id:
                        self._loop_id = ""
            except Exception:  # noqa: BLE001 - the client may be gone already
                pass

    def _after_live(self, parts: frozenset[str], results: Mapping[str, ReadResult]) -> None:
        """Hook after a background read was applied (logging)."""
