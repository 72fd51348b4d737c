"""`/alarms`: the alarms that are not normal, what an operator may do to them, the journal.

The list and the journal are reads of the read-only role (data/repository); the
actions go to the database as the operator's session (data/operator.py), which
checks everything again. Each action says what happened and reads the list again.
Filters are in the URL (?priority=high&state=unack); an unknown value shows a
notice and "all".
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app import logevents
from ksys_app.data.cache import fresher_than
from ksys_app.data.errors import ErrorCode
from ksys_app.data.operator import get_operator_client
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.domain import alarm_view as view
from ksys_app.domain import operators
from ksys_app.domain.alarm_kpis import (
    ACCEPTABLE_PER_10MIN,
    FLOOD_SHARE_TARGET,
    RECOMMENDED_SHARES,
    kpis,
    page_activations,
)
from ksys_app.domain.alarms import Action, LimitKind
from ksys_app.domain.inputs import InputError
from ksys_app.domain.series import fmt_num, page_slice, to_csv
from ksys_app.domain.timefmt import format_local
from ksys_app.i18n import tr_known
from ksys_app.states.alarm_banner import AlarmBannerState
from ksys_app.states.auth import AuthState
from ksys_app.states.base import ALL, PageState

JOURNAL_HOURS = 24
JOURNAL_PAGE_SIZE = 25
ACTIONS = {"ack": Action.ACK, "shelve": Action.SHELVE, "unshelve": Action.UNSHELVE}
JOURNAL_HEADER = ["at", "tag_name", "kind", "action", "old_state", "new_state", "active", "value", "priority",
                  "operator", "note", "shelved_until"]
MAX_HELD_NOTE = 20_000  # what the note box keeps of whatever a client sends; checked at action time
KPIS = "kpis"  # the KPI part of the page, read on its own period
KPI_DAYS = ("1", "7", "30", "90")
DEFAULT_KPI_DAYS = "30"  # ISA-18.2's usual period for alarm system performance


def journal_span(now: datetime) -> tuple[datetime, datetime]:
    """The journal's last 24 hours, on whole minutes (so a live re-read can use the cache),
    to a minute ahead (rows are stamped with the time a reading was taken)."""
    minute = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    return minute - timedelta(hours=JOURNAL_HOURS), minute + timedelta(minutes=2)


class AlarmsState(PageState, rx.State):
    f_priority: str = view.ALL
    f_state: str = view.ALL
    rows: list[dict[str, str]] = []
    active_count: int = 0  # not normal, before the filters
    visible_unack: int = 0
    journal: list[dict[str, str]] = []
    jpage: int = 0
    jpages: int = 1
    jtotal: int = 0
    note: str = ""
    shelve_for: str = "60"
    action_message: str = ""
    action_failed: bool = False
    acting: bool = False

    # the alarm system's KPIs over the last kpi_days days (domain/alarm_kpis.py)
    kpi_days: str = DEFAULT_KPI_DAYS
    kpi: dict[str, str] = {}
    kpi_top: list[dict[str, str]] = []
    kpi_priorities: list[dict[str, str]] = []
    kpi_truncated: bool = False

    _alarms: tuple = ()

    needs_tags: ClassVar[bool] = False
    uses_window: ClassVar[bool] = False
    parts: ClassVar[frozenset[str]] = frozenset({ALL, KPIS})
    url_vars: ClassVar[Mapping[str, str]] = {"priority": "f_priority", "state": "f_state", "kpi_days": "kpi_days"}
    live: ClassVar[Mapping[str, str]] = {ALL: "cache_ttl_alarms_s", KPIS: "cache_ttl_alarm_kpis_s"}
    input_defaults: ClassVar[Mapping[str, Any]] = {"jpage": 0}

    def _params(self) -> tuple:
        return (self.f_priority, self.f_state, self.jpage, self.kpi_days)

    def _empty_reason(self) -> str:
        return ""  # no alarm is good news, shown in the table's place (components/alarms.py)

    def _read_query(self, qp: Mapping[str, str]) -> list[str]:
        notices = []
        for key, var, options in (("priority", "f_priority", view.PRIORITY_FILTERS),
                                  ("state", "f_state", view.STATE_FILTERS)):
            value, bad = view.parse_filter(qp.get(key), options)
            setattr(self, var, value)
            if bad:
                notices.append(self._t("notice.unknown_filter", name=key, value=str(qp.get(key))[:20]))
        days = qp.get("kpi_days")
        self.kpi_days = days if days in KPI_DAYS else DEFAULT_KPI_DAYS
        if days is not None and days not in KPI_DAYS:
            notices.append(self._t("notice.unknown_filter", name="kpi_days", value=str(days)[:20]))
        return notices

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> dict[str, Any]:
        _prio, _state, jpage, kpi_days = params
        repo = get_repository()
        out: dict[str, Any] = {}
        if KPIS in parts:
            # on whole minutes, so that the cache serves a re-read within its period
            until = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
            since = until - timedelta(days=int(kpi_days))
            out["activations"], out["standing"] = await asyncio.gather(
                repo.alarm_activations(since, until), repo.alarm_standing())
            out["kpi_span"] = (since, until)
        if ALL in parts:
            since, until = journal_span(datetime.now(timezone.utc))
            states, count = await asyncio.gather(repo.alarm_states(), repo.journal_count(since, until))
            total = count.rows[0] if count.rows else 0
            p = page_slice(total, jpage, JOURNAL_PAGE_SIZE)
            page = await repo.journal_page(since, until, p.start, JOURNAL_PAGE_SIZE) if total else ReadResult()
            out.update({"states": states, "count": count, "page": page, "p": p})
        return out

    def _apply(self, data: dict[str, Any], parts: frozenset[str]) -> dict[str, ReadResult]:
        results: dict[str, ReadResult] = {}
        if KPIS in parts:
            results[KPIS] = self._apply_kpis(data["activations"], data["standing"], *data["kpi_span"])
        if ALL in parts:
            results.update(self._apply_list(data))
        return results

    def _apply_kpis(self, activations: ReadResult, standing: ReadResult, since: datetime,
                    until: datetime) -> ReadResult:
        """The KPI panel; a failed read keeps the last one (the list above says the database's state)."""
        failed = activations if activations.failed else standing if standing.failed else None
        if failed is not None:
            return failed
        k = kpis(page_activations(activations.rows, standing.rows), since, until)
        self.kpi_truncated = activations.truncated
        self.kpi = {
            "activations": str(k.activations),
            "per_10min": f"{k.per_10min:.2f}", "per_10min_over": "1" if k.per_10min > ACCEPTABLE_PER_10MIN else "",
            "peak": str(k.peak_10min),
            "flood": f"{k.flood_share:.1%}", "flood_over": "1" if k.flood_share >= FLOOD_SHARE_TARGET else "",
            "chattering": str(len(k.chattering)),
            "chattering_list": ", ".join(f"{t} {self._kind(lim)}" for t, lim in k.chattering[:10]),
            "stale": str(len(k.stale)),
            "stale_list": ", ".join(f"{t} {self._kind(lim)}" for t, lim in k.stale[:10]),
            "top_share": f"{sum(s for _t, _n, s in k.top_sources):.1%}",
        }
        self.kpi_top = [{"tag": t, "n": str(n), "share": f"{s:.1%}"} for t, n, s in k.top_sources]
        self.kpi_priorities = [{"priority": self._t(f"alarm.priority.{p}"), "share": f"{k.priority_shares.get(p, 0):.0%}",
                                "recommended": f"{RECOMMENDED_SHARES[p]:.0%}"} for p in ("high", "medium", "low")]
        return activations

    def _apply_list(self, data: dict[str, Any]) -> dict[str, ReadResult]:
        tz = get_repository().tz
        states, count, page, p = data["states"], data["count"], data["page"], data["p"]
        if states.rows or states.ok:
            self._alarms = tuple(states.rows)
        shown = view.visible(self._alarms, self.f_priority, self.f_state)
        self.active_count = len(self._alarms)
        self.rows = [self._row(r, tz) for r in shown]
        self.visible_unack = len(view.to_acknowledge(shown))
        if count.ok:
            self.jtotal, self.jpage, self.jpages = (count.rows[0] if count.rows else 0), p.index, p.count
            self.journal = [self._journal_row(r, tz) for r in page.rows]
        return {ALL: states, "journal": count if count.failed else page}

    @rx.event
    async def set_kpi_days(self, value: str):
        if isinstance(value, str) and value in KPI_DAYS and value != self.kpi_days:
            self.kpi_days = value
            async for step in self._show_new_input(logevents.ALARM_FILTER):
                yield step

    def _kind(self, kind: str) -> str:
        return self._t(f"alarm.kind.{kind}") if kind in LimitKind._value2member_map_ else kind

    def _row(self, r, tz) -> dict[str, str]:
        can = view.actions_of(r)
        return {
            "tag": r.tag_name, "kind": r.kind, "priority": r.priority,
            "priority_label": self._t(f"alarm.priority.{r.priority}"),
            "limit": f"{self._kind(r.kind)} {fmt_num(r.threshold, 3).rstrip('0').rstrip('.')}",
            "value": "" if r.value is None else fmt_num(r.value, 3).rstrip("0").rstrip("."),
            # active since; a cleared one (returned, shelved, out of service): in its state since
            "since": format_local(r.active_since or r.state_since, tz) if (r.active_since or r.state_since) else "",
            "state": r.state, "state_label": self._t(f"alarm.state.{r.state}"),
            "until": format_local(r.shelved_until, tz) if r.shelved_until else "",
            "ack": "1" if Action.ACK in can else "", "shelve": "1" if Action.SHELVE in can else "",
            "unshelve": "1" if Action.UNSHELVE in can else "",
        }

    def _journal_row(self, r, tz) -> dict[str, str]:
        return {
            "at": format_local(r.at, tz), "tag": r.tag_name, "limit": self._kind(r.kind),
            "action": self._t(f"alarm.action.{r.action}"),
            "change": f"{self._t(f'alarm.state.{r.old_state}')} → {self._t(f'alarm.state.{r.new_state}')}",
            "operator": r.operator or "", "note": r.note or "",
            "until": format_local(r.shelved_until, tz) if r.shelved_until else "",
        }

    # ------------------------------------------------------------------ inputs

    @rx.event
    async def set_priority_filter(self, value: str):
        if isinstance(value, str) and value in view.PRIORITY_FILTERS and value != self.f_priority:
            self.f_priority = value
            async for step in self._show_new_input(logevents.ALARM_FILTER):
                yield step

    @rx.event
    async def set_state_filter(self, value: str):
        if isinstance(value, str) and value in view.STATE_FILTERS and value != self.f_state:
            self.f_state = value
            async for step in self._show_new_input(logevents.ALARM_FILTER):
                yield step

    @rx.event
    def set_note(self, value: str):
        if isinstance(value, str):
            self.note = value[:MAX_HELD_NOTE]

    @rx.event
    def set_shelve_for(self, value: str):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            self.shelve_for = str(value)[:12]

    @rx.event
    def dismiss_action(self):
        self.action_message = ""

    @rx.event
    async def next_jpage(self):
        if self.jpage + 1 < self.jpages:
            self.jpage += 1
            await self._reload()

    @rx.event
    async def prev_jpage(self):
        if self.jpage > 0:
            self.jpage -= 1
            await self._reload()

    # ------------------------------------------------------------------ actions

    @rx.event
    async def act(self, action: str, tag: str, kind: str):
        """A row's button: acknowledge, shelve or unshelve one alarm of the list."""
        if not (isinstance(action, str) and action in ACTIONS and isinstance(tag, str) and isinstance(kind, str)):
            return
        row = next((r for r in self._alarms if r.tag_name == tag and r.kind == kind), None)
        if row is None or ACTIONS[action] not in view.actions_of(row):
            self._say(self._t("alarm.err.not_offered"), failed=True)
            return
        async for step in self._run(action, [(tag, kind)]):
            yield step

    @rx.event
    async def ack_visible(self):
        """Acknowledge every unacknowledged alarm the filters show."""
        pairs = view.to_acknowledge(view.visible(self._alarms, self.f_priority, self.f_state))
        if not pairs:
            self._say(self._t("alarm.err.none_to_ack"), failed=True)
            return
        async for step in self._run("ack", pairs):
            yield step

    def _say(self, message: str, failed: bool = False) -> None:
        self.action_message, self.action_failed = message, failed

    def _checked_inputs(self, action: str) -> tuple[str | None, int | None]:
        """(note, minutes) as the domain accepts them; InputError with the page's sentence."""
        try:
            note = operators.note(self.note)
        except InputError:
            if len(self.note) > operators.MAX_NOTE:
                raise InputError(self._t("alarm.err.note_long", max=operators.MAX_NOTE, n=len(self.note))) from None
            raise InputError(self._t("alarm.err.note_control")) from None
        minutes = None
        if action == "shelve":
            try:
                minutes = view.shelve_minutes(self.shelve_for)
            except InputError:
                raise InputError(self._t("alarm.err.minutes", choices=", ".join(map(str, operators.SHELVE_MINUTES)))) \
                    from None
        return note, minutes

    async def _run(self, action: str, pairs: list[tuple[str, str]]):
        if self.acting:
            return
        client = get_operator_client()
        if client is None:
            self._say(self._t("alarm.err.not_configured"), failed=True)
            return
        auth = await self.get_state(AuthState)
        token = auth._token()
        if not token or not auth.operator:
            self._say(self._t("alarm.err.log_in"), failed=True)
            return
        try:
            note, minutes = self._checked_inputs(action)
        except InputError as exc:
            self._say(str(exc), failed=True)
            return
        self.acting = True
        yield
        try:
            if action == "ack":
                out = await client.ack(token, pairs, note)
            elif action == "shelve":
                out = await client.shelve(token, pairs, minutes, note)
            else:
                out = await client.unshelve(token, pairs, note)
        finally:
            self.acting = False
        logevents.log_event(logevents.ALARM_ACTION, action=action, alarms=len(pairs), operator=auth.operator,
                            done=out.value if out.ok else None, code=out.error.code if out.error else None)
        if out.error is None:
            n = int(out.value or 0)
            self._say(self._t(f"alarm.done.{action}.{'one' if n == 1 else 'many'}", n=n, minutes=minutes))
            if n:
                self.note = ""
        elif out.error.code is ErrorCode.NOT_LOGGED_IN:
            await auth._session_ended()
            self._say(self._t("auth.expired"), failed=True)
        elif out.error.code is ErrorCode.INVALID_INPUT:
            self._say(out.error.message, failed=True)  # the database's own sentence
        else:
            self._say(self._t("alarm.err.db", code=out.error.code, message=tr_known(self._lang, out.error.message)),
                      failed=True)
        with fresher_than(0.0):
            await self._reload()
            await self._read_banner()
        yield

    @rx.event
    async def download_journal(self):
        """The journal's 24 hours as CSV (formula-like cells neutralised: domain.series.to_csv)."""
        since, until = journal_span(datetime.now(timezone.utc))
        with fresher_than(1.0):
            result = await get_repository().journal_export(since, until)
        if result.failed:
            self._say(self._t("alarm.err.db", code=result.error.code,
                              message=tr_known(self._lang, result.error.message)), failed=True)
            return None
        tz = get_repository().tz
        text = to_csv(JOURNAL_HEADER, [
            [format_local(r.at, tz), r.tag_name, r.kind, r.action, r.old_state, r.new_state, r.active, r.value,
             r.priority, r.operator, r.note, format_local(r.shelved_until, tz) if r.shelved_until else None]
            for r in result.rows])
        return rx.download(data=text, filename=f"alarm_journal_{since:%Y%m%d%H%M}.csv", mime_type="text/csv")


__all__ = ["AlarmBannerState", "AlarmsState"]
