"""Rows of the alarm reads (public.alarm_states, public.alarm_journal), checked as they come.

A row whose kind, state, action or priority is not one the domain knows means the
database and the dashboard disagree about the alarm model: the read fails as
SCHEMA_DRIFT (with the value in the log's detail) rather than showing a guess.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, NamedTuple

from ksys_app.data.errors import DataError, DataFailure, ErrorCode
from ksys_app.domain.alarms import Action, AlarmState, LimitKind, Priority

_KINDS = frozenset(LimitKind)
_STATES = frozenset(AlarmState)
_ACTIONS = frozenset(Action)
_PRIORITIES = frozenset(Priority)


class AlarmRow(NamedTuple):
    """public.alarm_states: one alarm (tag, limit) as it stands."""
    tag_name: str
    kind: str
    priority: str
    threshold: float
    state: str
    active: bool
    value: float | None
    active_since: datetime | None
    state_since: datetime | None
    shelved_until: datetime | None
    operator: str | None
    note: str | None


class JournalRow(NamedTuple):
    """public.alarm_journal: one transition."""
    at: datetime
    tag_name: str
    kind: str
    seq: int
    action: str
    old_state: str
    new_state: str
    active: bool
    value: float | None
    priority: str
    operator: str | None
    note: str | None
    shelved_until: datetime | None


def _drift(what: str, value: Any) -> DataFailure:
    return DataFailure(DataError(ErrorCode.SCHEMA_DRIFT, "the database schema does not match the dashboard",
                                 detail=f"unknown alarm {what} {str(value)[:40]!r}"))


def _member(value: Any, known: frozenset, what: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise _drift(what, value)
    return value


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def alarm_row(r: Mapping[str, Any]) -> AlarmRow:
    return AlarmRow(
        str(r["tag_name"]), _member(r["kind"], _KINDS, "limit"), _member(r["priority"], _PRIORITIES, "priority"),
        float(r["threshold"]), _member(r["state"], _STATES, "state"), bool(r["active"]), _f(r["value"]),
        r["active_since"], r["state_since"], r["shelved_until"], r["operator"], r["note"])


def journal_row(r: Mapping[str, Any]) -> JournalRow:
    return JournalRow(
        r["at"], str(r["tag_name"]), _member(r["kind"], _KINDS, "limit"), int(r["seq"]),
        _member(r["action"], _ACTIONS, "action"), _member(r["old_state"], _STATES, "state"),
        _member(r["new_state"], _STATES, "state"), bool(r["active"]), _f(r["value"]),
        _member(r["priority"], _PRIORITIES, "priority"), r["operator"], r["note"], r["shelved_until"])
