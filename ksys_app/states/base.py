"""The shared base of every page state: view inputs, load/empty/error/stale state, retry.

Each page state subclasses PageState (a Reflex state mixin, so every page gets
its own copy of these vars) and implements three hooks:

  _params()              the inputs of a read, as a hashable tuple (read under the lock)
  _fetch(params, parts)  classmethod: the reads themselves (no access to self)
  _apply(data, parts)    turn the read results into page vars; returns the
                         ReadResults that decide error / stale / empty, per part

What else differs between pages is data: the class attributes under "what a
page declares" (annotate them ClassVar in a subclass too, or Reflex makes them
state vars). `route` is set by the page registry, ksys_app.pages.template.

Event handlers (on_load, a changed control, Refresh, Retry) read holding the
state lock; the background `watch` loop (from on_load; ksys_app.states.live)
reads outside it and applies only if the inputs did not change meanwhile. It
retries failed reads on RETRY_SCHEDULE_S, probes the database's health, runs
the live refreshes while the tab is visible, and ends with the tab, on
navigation or when a newer loop starts. A permanent error (ksys_app.data.errors)
is shown once with its fix; only the Retry button reads again.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar, Mapping
from urllib.parse import urlencode

import reflex as rx

from ksys_app import logevents
from ksys_app.data.cache import fresher_than
from ksys_app.data.errors import retry_delay_s
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain.groups import MAX_CHOICES, filter_tags, more_matching
from ksys_app.domain.inputs import MAX_TAG_LEN
from ksys_app.domain.live import db_status, rows_are_stale
from ksys_app.domain.timefmt import format_local
from ksys_app.domain.windows import DEFAULT_WINDOW, WINDOW_CODES
from ksys_app.i18n import tr, tr_known
from ksys_app.states.auth import AuthState
from ksys_app.states.lang import LangState
from ksys_app.states.live import LiveLoop
from ksys_app.states.outcomes import db_answered, newest_data_time, outcome, page_outcome
from ksys_app.states.payload import check_payload
from ksys_app.states.view import pick_tag

ALL = "all"  # the one part of a page without separately refreshed parts
SCREEN_PARAMS = ("kiosk", "cycle", "lang", "sound")
REFRESH_MAX_AGE_S = 1.0  # what "Refresh" means: data at most this old, at most this often per tab


class PageState(LiveLoop, rx.State, mixin=True):
    """Window, tag, loading / empty / error / stale, notice and retry of one page.

    Subclass as `class XState(PageState, rx.State)`: with only mixin bases it gets no vars.
    """

    # ------------------------------------------------------------------ what a page declares

    route: ClassVar[str] = ""  # set by the page registry (ksys_app.pages.template)
    parts: ClassVar[frozenset[str]] = frozenset({ALL})  # what a full read covers
    # `live` (LiveLoop): part -> the Settings field holding its live refresh period
    needs_tags: ClassVar[bool] = True
    uses_window: ClassVar[bool] = True
    load_event: ClassVar[str] = logevents.RANGE_CHANGE_OK
    # what the empty state says (formatted with the state as `s`) when main_part has no rows
    main_part: ClassVar[str] = ALL
    # the empty state's message (ksys_app/i18n/messages.py), with tag, window and start
    empty_key: ClassVar[str] = "empty.tag_window"
    # query parameter -> var, beyond tag and window (read by the page's _read_query)
    url_vars: ClassVar[Mapping[str, str]] = {}
    # var -> value it goes back to when the tag, window or another input changes
    input_defaults: ClassVar[Mapping[str, Any]] = {}

    tag: str = ""
    window: str = DEFAULT_WINDOW
    tag_filter: str = ""  # the tag picker's filter box (components.controls.tag_select)
    loading: bool = True
    failed: bool = False  # the database did not answer the last read
    stale: bool = False  # the rows shown are the last good ones
    error_code: str = ""
    error_message: str = ""
    error_fix: str = ""  # what to change, for an error no retry can fix
    error_permanent: bool = False  # failed with such an error: nothing retries by itself
    data_time: str = ""  # local time the shown rows were read
    data_as_of: str = ""  # local time of the newest data in the shown rows
    empty_reason: str = ""
    notice: str = ""
    # PAYLOAD_BLOAT of the last update: a read over the payload budget, or an
    # update to the browser over it (states.payload); "" when within budget.
    payload_notice: str = ""
    retry_attempt: int = 0
    retry_in_s: int = 0

    _outcomes: dict[str, dict] = {}
    # Every tag (a backend var: the browser gets tag_choices, at most MAX_CHOICES of them)
    _tag_options: list[str] = []
    _requested_tag: str = ""
    _refreshed_at: float = 0.0  # monotonic time of the last Refresh that read
    _lang: str = "en"  # the language this page composes its messages in

    # ------------------------------------------------------------------ hooks

    def _params(self) -> tuple:
        return (self.tag, self.window)

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> Any:
        raise NotImplementedError

    def _apply(self, data: Any, parts: frozenset[str]) -> Mapping[str, ReadResult]:
        raise NotImplementedError

    def _window_overridden(self) -> bool:
        """Whether something else than the window decides what is shown (/trend's range)."""
        return False

    def _window_chosen(self) -> None:
        """A window was picked: what overrode it (/trend's range) gives way."""

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        """Vars of `url_vars` from the query string; returns notices. Only pages with
        such parameters (/comm's start date) implement it: parsing is page-specific."""
        return []

    @rx.var
    def tag_choices(self) -> list[str]:
        """The tag picker's options: the tags whose name holds the filter box's text (any
        case), at most MAX_CHOICES, with the tag shown first when it is not among them (a
        select shows its value)."""
        return filter_tags(self._tag_options, self.tag_filter, self.tag, limit=MAX_CHOICES)

    @rx.var
    def tag_choices_more(self) -> str:
        """The pickers' last line when more tags match than they list: how many, and that
        the filter box narrows them ("" when every match is listed)."""
        more = more_matching(self._tag_options, self.tag_filter, MAX_CHOICES)
        return self._t("ctl.more_tags", n=f"{more:,}") if more else ""

    @rx.var
    def shows_stale(self) -> bool:
        """The stale badge is up: the rows on screen are the last good ones."""
        return rows_are_stale(stale=self.stale, probe_down=self.probe_down, has_rows=self.data_time != "")

    @rx.var
    def stale_code(self) -> str:
        """Why the rows are stale: the failed read's code, else the probe's."""
        return self.error_code if self.stale else self.probe_code

    @rx.var
    def db_status(self) -> str:
        """Navbar indicator: ok / stale (showing last good rows) / down (nothing to show)."""
        return db_status(failed=self.failed, stale=self.stale, probe_down=self.probe_down,
                         has_rows=self.data_time != "")

    # ------------------------------------------------------------------ URL

    def _url_script(self):
        params = {"tag": self.tag} if self.needs_tags and self.tag else {}
        if self.uses_window:
            params["window"] = self.window
        params.update({key: value for key, var in self.url_vars.items() if (value := getattr(self, var)) != ""})
        # parameters of the screen rather than the view (kiosk mode, its cycle, the
        # language): kept as they came, so a reload comes back the same way
        here = self.router.url.query_parameters
        params.update({key: here[key] for key in SCREEN_PARAMS if key in here})
        query = urlencode(params)
        url = self.route + (f"?{query}" if query else "")
        return rx.call_script(
            f"window.history.replaceState(window.history.state, '', {json.dumps(url)})")

    async def _resolve_url(self) -> None:
        """Tag, window and the page's own parameters from the query string;
        unknown values fall back with a notice."""
        qp = dict(self.router.url.query_parameters)
        notices: list[str] = []
        w = qp.get("window")
        if self.uses_window and w is not None and w != "":
            if w in WINDOW_CODES:
                self.window = w
            else:
                notices.append(self._t("notice.unknown_window", value=w[:20], default=DEFAULT_WINDOW))
                self.window = DEFAULT_WINDOW
        if self.needs_tags:
            self._requested_tag = qp.get("tag") or ""
            notices.extend(self._apply_tags(await get_repository().tags()))
        notices.extend(self._read_query(qp))
        self.notice = "; ".join(notices)

    # ------------------------------------------------------------------ tags

    def _apply_tags(self, result: ReadResult) -> list[str]:
        """Tag options from a tags() read and the tag to show (view.pick_tag); returns
        notices. A tag list that cannot be read is retried with the page's data."""
        # Only a tag list that could not be read at all holds the page in error: stale
        # tags are good enough to pick a view, and would otherwise never clear.
        outcomes = {k: v for k, v in self._outcomes.items() if k != "tags"}
        if not result.rows:
            outcomes["tags"] = outcome(result)
        self._outcomes = outcomes
        if result.rows:
            self._tag_options = [str(t) for t in result.rows]
        self.tag, picked = pick_tag(self._requested_tag, self.tag, self._tag_options)
        notices = [self._t(n.pop("key"), **n) for n in picked]
        if self._tag_options:
            self._requested_tag = self.tag
        return notices

    def _show_tag_notices(self, tags: ReadResult) -> None:
        if notices := self._apply_tags(tags):
            self.notice = "; ".join(notices)

    def _tags_missing(self) -> bool:
        return self.needs_tags and not self._tag_options

    def _ready(self) -> bool:
        """Whether the page has what its reads need (a tag, for pages with one)."""
        return not self.needs_tags or bool(self.tag)

    # ------------------------------------------------------------------ reads

    def _apply_parts(self, data: Any, parts: frozenset[str]) -> Mapping[str, ReadResult]:
        """_apply, then note when each part was read (for the live refresh periods)
        and check the size of what goes to the browser."""
        results = self._apply(data, parts)
        now = time.monotonic()
        self._read_at = {**self._read_at, **{part: now for part in parts}}
        check_payload(self, data, results)
        return results

    def _absorb(self, results: Mapping[str, ReadResult]) -> None:
        """Fold the results of the parts just read into error / stale / empty / retry."""
        outcomes = {**self._outcomes, **{part: outcome(r) for part, r in results.items()}}
        self._outcomes = outcomes
        if self.probe_down and db_answered(results.values()):
            # a retry got through before the next probe: the indicator follows the read
            self.probe_down, self.probe_error, self.probe_code = False, "", ""
        view = page_outcome(outcomes, self.main_part)
        self.failed, self.stale = view.failed, view.stale
        self.error_code, self.error_message = view.error_code, tr_known(self._lang, view.error_message)
        self.error_fix, self.error_permanent = tr_known(self._lang, view.error_fix), view.permanent
        if view.retry:
            self.retry_attempt += 1
            delay = retry_delay_s(self.retry_attempt)
            self._retry_at = time.monotonic() + delay
            self.retry_in_s = delay
        else:
            if not view.failed:
                self.retry_attempt = 0
            self._retry_at = 0.0
            self.retry_in_s = 0
        tz = get_repository().tz
        self.data_time = format_local(view.fetched_at, tz) if view.fetched_at else ""
        newest = [t for t in (newest_data_time(r) for r in results.values()) if t is not None]
        if newest:
            self.data_as_of = format_local(max(newest), tz)
        self.empty_reason = self._empty_reason() if view.empty else ""

    def _empty_reason(self) -> str:
        if not self._ready():
            return self._t("empty.no_tags")
        return self._t(self.empty_key, tag=self.tag, window=self.window, start=getattr(self, "start_day", ""))

    def _t(self, key: str, **fields: Any) -> str:
        """A message in the page's language (resolved at load: states/lang.py)."""
        return tr(self._lang, key, **fields)

    async def _reload(self, parts: frozenset[str] | None = None) -> Mapping[str, ReadResult]:
        """Read and apply now, holding the lock (event handlers)."""
        parts = parts or self.parts
        results: Mapping[str, ReadResult] = {}
        if self._gated:
            self.loading = False
            return results
        try:
            if self._tags_missing():
                self._show_tag_notices(await get_repository().tags())
            if self._ready():
                data = await self.__class__._fetch(self._params(), parts)
                results = self._apply_parts(data, parts)
            self._absorb(results)
        finally:
            self.loading = False  # never leave a skeleton up after a bug
        return results

    def _log(self, event: str, results: Mapping[str, ReadResult], **extra: Any) -> None:
        """One page event for a load: about its first failed read if any (logged as the
        event's `_fail` twin by log_read), else about its first read."""
        items = list(results.values())
        if items:
            shown = next((r for r in items if r.failed), items[0])
            logevents.log_read(event, shown, page=self.route, **extra)

    # ------------------------------------------------------------------ events

    @rx.event
    async def on_load(self):
        """Page entry: read the URL, load, canonicalise the URL, start the watcher."""
        self.loading = True
        self._outcomes = {}
        self.retry_attempt = 0
        self.probe_down, self.probe_error, self.probe_code = False, "", ""  # the loop's first probe says again
        lang = await self.get_state(LangState)
        bad_lang = lang._resolve(self.router.url.query_parameters.get("lang"))
        self._lang = lang.shown_lang
        await self._resolve_url()
        if bad_lang:
            self.notice = "; ".join(n for n in (self.notice, self._t(
                "notice.unknown_lang", value=self.router.url.query_parameters.get("lang", "")[:20],
                shown=self._lang)) if n)
        auth = await self.get_state(AuthState)
        await auth._check_session(self._lang)
        self._gated = auth._closed()
        if self._gated:  # KSYS_REQUIRE_LOGIN: the login form instead of the page, and no reads
            self.loading = False
            yield lang._html_lang_script(self.route)
            return
        yield lang._html_lang_script(self.route)
        results = await self._reload()
        if not self.failed:  # the banner's counts now, not a second later (the loop keeps them current)
            await self._read_banner()
        self._log(self.load_event, results)
        yield self._url_script()
        # a tab opened in the background starts hidden: no visibilitychange says so
        yield rx.call_script("document.hidden", callback=self.__class__.set_hidden)
        yield self.__class__.watch

    async def _show_new_input(self, event: str = logevents.RANGE_CHANGE_OK):
        """After a control changed what the page shows: reset, read, log, rewrite the URL."""
        self.notice = ""
        self.loading = True
        for name, value in self.input_defaults.items():
            setattr(self, name, value.copy() if isinstance(value, (dict, list)) else value)
        yield
        results = await self._reload()
        self._log(event, results)
        yield self._url_script()

    @rx.event
    async def set_window(self, code: str):
        # event arguments come from the websocket: any client can send any JSON
        if not isinstance(code, str) or code not in WINDOW_CODES or (code == self.window and not self._window_overridden()):
            return
        self.window = code
        self._window_chosen()
        async for step in self._show_new_input():
            yield step

    @rx.event
    async def set_tag(self, tag: str):
        if not isinstance(tag, str) or tag == self.tag or (self._tag_options and tag not in self._tag_options):
            return
        self.tag = tag
        self._requested_tag = tag
        async for step in self._show_new_input():
            yield step

    @rx.event
    def set_tag_filter(self, text: str):
        if isinstance(text, str):
            self.tag_filter = text[:MAX_TAG_LEN]

    @rx.event
    async def refresh(self):
        """Read this page's data again now: its own reads take no cached entry older than
        REFRESH_MAX_AGE_S (others' entries stay). Refreshes of one tab closer together
        than that are ignored: any websocket client can send this event in a loop."""
        now = time.monotonic()
        if now - self._refreshed_at < REFRESH_MAX_AGE_S:
            return
        self._refreshed_at = now
        self.loading = True
        yield
        with fresher_than(REFRESH_MAX_AGE_S):
            await self._reload()

    @rx.event
    async def retry(self):
        self.loading = True
        yield
        await self._reload()

    @rx.event
    def dismiss_notice(self):
        self.notice = ""

    @rx.event
    def dismiss_payload_notice(self):
        self.payload_notice = ""
