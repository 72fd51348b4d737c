"""Alarms after ISA-18.2 (IEC 62682): the limits of a tag, when a limit's condition is
active, and the alarm state machine an operator works with.

Two layers, kept apart on purpose:

* The *condition* of one (tag, limit) is a function of the raw readings alone, in
  time order: `condition_changes` gives the times it became active and cleared,
  with the deadband and the on/off delays that keep a value hovering on a limit
  from chattering. Readings that arrive late or out of order change that history,
  and recomputing it from raw always gives the same answer, whatever the arrival
  order was (the database evaluates the same rule; tests compare the two).
* The *alarm state* adds what operators did: acknowledge, shelve, unshelve, and
  what an administrator did: out of service. `transition` is the state machine:
  one (state, action) -> state table, every other pair refused.

Limits and priorities (the mapping README documents):

| limit | from influx_qc_rule | violated when | priority |
|---|---|---|---|
| hard_low / hard_high | min_val / max_val | value < min_val / value > max_val (strict: the range is valid) | high |
| crit_low / crit_high | crit_min / crit_max | value <= crit_min / value >= crit_max | high |
| warn_low / warn_high | warn_min / warn_max | value <= warn_min / value >= warn_max | medium |

The comparisons are those of the KPI tiles' status_level (domain/kpi.py), so a
tile that turns red has a crit or hard alarm active, within the delays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Iterable, Mapping, Sequence


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class LimitKind(StrEnum):
    HARD_LOW = "hard_low"
    HARD_HIGH = "hard_high"
    CRIT_LOW = "crit_low"
    CRIT_HIGH = "crit_high"
    WARN_LOW = "warn_low"
    WARN_HIGH = "warn_high"


# kind -> (influx_qc_rule column, high side, inclusive comparison, priority)
LIMIT_COLUMNS: Mapping[LimitKind, tuple[str, bool, bool, Priority]] = {
    LimitKind.HARD_LOW: ("min_val", False, False, Priority.HIGH),
    LimitKind.HARD_HIGH: ("max_val", True, False, Priority.HIGH),
    LimitKind.CRIT_LOW: ("crit_min", False, True, Priority.HIGH),
    LimitKind.CRIT_HIGH: ("crit_max", True, True, Priority.HIGH),
    LimitKind.WARN_LOW: ("warn_min", False, True, Priority.MEDIUM),
    LimitKind.WARN_HIGH: ("warn_max", True, True, Priority.MEDIUM),
}


@dataclass(frozen=True, slots=True)
class Limit:
    kind: LimitKind
    threshold: float
    deadband: float  # absolute, >= 0: how far back inside the value must come to clear
    priority: Priority

    @property
    def high(self) -> bool:
        return LIMIT_COLUMNS[self.kind][1]

    def violated(self, value: float) -> bool:
        _col, high, inclusive, _prio = LIMIT_COLUMNS[self.kind]
        if high:
            return value >= self.threshold if inclusive else value > self.threshold
        return value <= self.threshold if inclusive else value < self.threshold

    def cleared(self, value: float) -> bool:
        """Back inside by at least the deadband (with no deadband: not violated)."""
        if self.deadband <= 0:
            return not self.violated(value)
        return value < self.threshold - self.deadband if self.high else value > self.threshold + self.deadband


def _finite(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def deadband_of(rule: Mapping[str, object], threshold: float) -> float:
    """deadband_pct of the tag's span (max_val - min_val) where both are known, else of
    |threshold|: a percentage of the instrument's range is what an operator sets."""
    pct = _finite(rule.get("deadband_pct"))
    if pct is None or pct <= 0:
        return 0.0
    lo, hi = _finite(rule.get("min_val")), _finite(rule.get("max_val"))
    span = hi - lo if lo is not None and hi is not None and hi > lo else abs(threshold)
    return span * pct / 100.0


def limits_of(rule: Mapping[str, object] | None) -> list[Limit]:
    """The alarm limits of an enabled QC rule (a mapping of influx_qc_rule columns)."""
    if not rule or rule.get("enabled") is False:
        return []
    out = []
    for kind, (column, _high, _inclusive, priority) in LIMIT_COLUMNS.items():
        threshold = _finite(rule.get(column))
        if threshold is not None:
            out.append(Limit(kind, threshold, deadband_of(rule, threshold), priority))
    return out


@dataclass(frozen=True, slots=True)
class ConditionChange:
    at: datetime  # time of the reading at which the change took effect
    active: bool
    value: float  # that reading's value


def condition_changes(readings: Iterable[tuple[datetime, float | None]], limit: Limit,
                      on_delay: timedelta = timedelta(0), off_delay: timedelta = timedelta(0),
                      initially_active: bool = False) -> list[ConditionChange]:
    """When `limit`'s condition became active / cleared over readings (sorted here by time).

    Active: every reading for at least `on_delay` violates the limit; the change is at
    the first reading that completes the delay (the first violating one when the delay
    is 0). Cleared likewise: every reading for at least `off_delay` is back inside by
    the deadband. Any reading that does not point toward the change restarts the
    delay: a value inside the limit restarts an on-delay, a value still violating or
    within the deadband restarts an off-delay (and never clears). Missing and
    non-finite values are skipped (QC flags them).
    """
    changes: list[ConditionChange] = []
    active = initially_active
    since: datetime | None = None  # first reading of the run that may change the condition
    for at, raw in sorted(((t, v) for t, v in readings), key=lambda r: r[0]):
        value = _finite(raw)
        if value is None:
            continue
        toward_change = limit.cleared(value) if active else limit.violated(value)
        if not toward_change:
            since = None
            continue
        if since is None:
            since = at
        if at - since >= (off_delay if active else on_delay):
            active = not active
            changes.append(ConditionChange(at, active, value))
            since = None
    return changes


# ---------------------------------------------------------------------------- states


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACK = "unack"  # active, unacknowledged
    ACKED = "acked"  # active, acknowledged
    RTN_UNACK = "rtn_unack"  # returned to normal, unacknowledged
    SHELVED = "shelved"  # suppressed by an operator until shelved_until
    OUT_OF_SERVICE = "out_of_service"  # removed by an administrator


class Action(StrEnum):
    ACTIVATE = "activate"  # the condition became active
    CLEAR = "clear"  # the condition cleared
    ACK = "ack"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    SHELVE_EXPIRED = "shelve_expired"
    REMOVE = "remove"  # out of service
    RESTORE = "restore"  # back in service


OPERATOR_ACTIONS = frozenset({Action.ACK, Action.SHELVE, Action.UNSHELVE})
ADMIN_ACTIONS = frozenset({Action.REMOVE, Action.RESTORE})


@dataclass(frozen=True, slots=True)
class Alarm:
    state: AlarmState = AlarmState.NORMAL
    active: bool = False  # the condition, also while shelved or out of service
    shelved_until: datetime | None = None


class TransitionRefused(ValueError):
    """The action does not apply to the alarm's state (acknowledging a normal alarm, ...)."""


def _announced(active: bool) -> AlarmState:
    """Where an alarm lands when it comes back from shelved or out of service: an
    active condition is announced again as new, unacknowledged."""
    return AlarmState.UNACK if active else AlarmState.NORMAL


def transition(alarm: Alarm, action: Action, *, until: datetime | None = None) -> Alarm:
    """The ISA-18.2 state machine. SHELVE needs `until` (checked against a maximum by
    the caller, which knows the clock and the setting). Refused pairs raise
    TransitionRefused, with the state and action in the message."""
    s = alarm.state
    if action is Action.ACTIVATE:
        if alarm.active:
            raise TransitionRefused(f"{action} while already active")
        if s in (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE):
            return replace(alarm, active=True)
        return replace(alarm, active=True, state=AlarmState.UNACK)
    if action is Action.CLEAR:
        if not alarm.active:
            raise TransitionRefused(f"{action} while not active")
        if s is AlarmState.UNACK:
            return replace(alarm, active=False, state=AlarmState.RTN_UNACK)
        if s is AlarmState.ACKED:
            return replace(alarm, active=False, state=AlarmState.NORMAL)
        return replace(alarm, active=False)  # shelved / out of service: the state waits
    if action is Action.ACK:
        if s is AlarmState.UNACK:
            return replace(alarm, state=AlarmState.ACKED)
        if s is AlarmState.RTN_UNACK:
            return replace(alarm, state=AlarmState.NORMAL)
        raise TransitionRefused(f"cannot acknowledge an alarm that is {s}")
    if action is Action.SHELVE:
        if until is None:
            raise TransitionRefused("shelving needs an end time")
        if s is AlarmState.OUT_OF_SERVICE:
            raise TransitionRefused("cannot shelve an alarm that is out of service")
        return replace(alarm, state=AlarmState.SHELVED, shelved_until=until)
    if action in (Action.UNSHELVE, Action.SHELVE_EXPIRED):
        if s is not AlarmState.SHELVED:
            raise TransitionRefused(f"cannot unshelve an alarm that is {s}")
        return replace(alarm, state=_announced(alarm.active), shelved_until=None)
    if action is Action.REMOVE:
        if s is AlarmState.OUT_OF_SERVICE:
            raise TransitionRefused("already out of service")
        return replace(alarm, state=AlarmState.OUT_OF_SERVICE, shelved_until=None)
    if action is Action.RESTORE:
        if s is not AlarmState.OUT_OF_SERVICE:
            raise TransitionRefused(f"cannot return to service an alarm that is {s}")
        return replace(alarm, state=_announced(alarm.active))
    raise TransitionRefused(f"unknown action {action!r}")


def allowed_actions(alarm: Alarm) -> frozenset[Action]:
    """The operator actions the alarm's state accepts (the buttons a page shows)."""
    out = set()
    for action in OPERATOR_ACTIONS:
        try:
            transition(alarm, action, until=alarm.shelved_until or datetime.max)
        except TransitionRefused:
            continue
        out.add(action)
    return frozenset(out)


NEW_ALARM = Alarm()


def replay(events: Sequence[tuple[Action, datetime | None]], start: Alarm = NEW_ALARM) -> list[Alarm]:
    """The states after each (action, until) in order; refused actions raise."""
    states, alarm = [], start
    for action, until in events:
        alarm = transition(alarm, action, until=until)
        states.append(alarm)
    return states


# ---------------------------------------------------------------------------- journal


@dataclass(frozen=True, slots=True)
class OperatorAction:
    at: datetime
    action: Action
    operator: str
    until: datetime | None = None  # the end of a shelve
    note: str | None = None


@dataclass(frozen=True, slots=True)
class JournalRow:
    at: datetime
    action: Action
    old: AlarmState
    new: AlarmState
    active: bool
    value: float | None  # of the last condition change
    operator: str | None
    shelved_until: datetime | None


def journal(conditions: Iterable[ConditionChange], actions: Iterable[OperatorAction], now: datetime,
            start: Alarm = NEW_ALARM) -> list[JournalRow]:
    """One alarm's transitions from its condition changes and what people did, in time
    order (at equal times a condition change first, then actions in the order given),
    with a shelve expiring at its end time once that has passed (before `now`). Actions
    the state refuses at their time are skipped: a late reading can take away what an
    acknowledgement acknowledged. The rule the database's alarm_replay follows."""
    events: list[tuple[datetime, int, int, Action, float | None, OperatorAction | None]] = []
    for c in conditions:
        events.append((c.at, 0, 0, Action.ACTIVATE if c.active else Action.CLEAR, c.value, None))
    for i, a in enumerate(actions):
        events.append((a.at, 1, i, a.action, None, a))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    rows: list[JournalRow] = []
    alarm, value = start, None

    def apply(at: datetime, action: Action, until: datetime | None, operator: str | None) -> None:
        nonlocal alarm
        try:
            after = transition(alarm, action, until=until)
        except TransitionRefused:
            return
        rows.append(JournalRow(at, action, alarm.state, after.state, after.active, value, operator,
                               after.shelved_until if after.state is AlarmState.SHELVED else None))
        alarm = after

    for at, _src, _i, action, v, who in [*events, (now, 2, 0, None, None, None)]:
        if alarm.state is AlarmState.SHELVED and alarm.shelved_until is not None and alarm.shelved_until <= at:
            apply(alarm.shelved_until, Action.SHELVE_EXPIRED, None, None)
        if action is None:
            continue
        if action in (Action.ACTIVATE, Action.CLEAR):
            if (action is Action.ACTIVATE) == alarm.active:
                continue  # no change of the condition (cannot happen on a consistent history)
            value = v
        apply(at, action, who.until if who else None, who.operator if who else None)
    return rows
