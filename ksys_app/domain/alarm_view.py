"""What /alarms shows: which alarms, in which order, with which buttons; the banner's counts.

Pure functions over rows that carry the alarm_states columns (tag_name, kind,
priority, state, active, active_since, state_since, shelved_until): the data
layer's AlarmRow, or anything with those attributes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from ksys_app.domain.alarms import Action, Alarm, AlarmState, Priority, allowed_actions
from ksys_app.domain.inputs import InputError
from ksys_app.domain.operators import SHELVE_MINUTES

ALL = "all"
PRIORITY_FILTERS = (ALL, Priority.HIGH.value, Priority.MEDIUM.value, Priority.LOW.value)
STATE_FILTERS = (ALL, *(s.value for s in AlarmState if s is not AlarmState.NORMAL))
UNACK = frozenset({AlarmState.UNACK.value, AlarmState.RTN_UNACK.value})
_PRIORITY_RANK = {Priority.HIGH.value: 0, Priority.MEDIUM.value: 1, Priority.LOW.value: 2}
_FAR = datetime.max.replace(tzinfo=timezone.utc)


def parse_filter(value: object, options: Sequence[str]) -> tuple[str, bool]:
    """(the filter to use, whether `value` was refused): a missing or empty value is "all"."""
    if value is None or value == "":
        return ALL, False
    if isinstance(value, str) and value in options:
        return value, False
    return ALL, True


def sort_key(row: Any) -> tuple:
    """High priority first, then unacknowledged ones, then the oldest (active since, else
    in its state since), then by tag and limit."""
    since = row.active_since or row.state_since or _FAR
    return (_PRIORITY_RANK.get(row.priority, 9), 0 if row.state in UNACK else 1, since, row.tag_name, row.kind)


def visible(rows: Iterable[Any], priority: str = ALL, state: str = ALL) -> list[Any]:
    """The rows a page shows under its filters, in sort_key order (normal ones never)."""
    out = [r for r in rows if r.state != AlarmState.NORMAL.value
           and (priority == ALL or r.priority == priority) and (state == ALL or r.state == state)]
    return sorted(out, key=sort_key)


def unack_counts(counts: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(high, medium) unacknowledged alarms from (priority, n) pairs; low counts as medium."""
    by = {p: 0 for p in _PRIORITY_RANK}
    for priority, n in counts:
        by[priority] = by.get(priority, 0) + int(n)
    return by[Priority.HIGH.value], by[Priority.MEDIUM.value] + by[Priority.LOW.value]


def actions_of(row: Any) -> frozenset[Action]:
    """The operator actions (buttons) one alarm offers: domain.alarms.allowed_actions."""
    return allowed_actions(Alarm(AlarmState(row.state), bool(row.active), row.shelved_until))


def to_acknowledge(rows: Iterable[Any]) -> list[tuple[str, str]]:
    """(tag, limit) of every unacknowledged alarm among rows ("Acknowledge visible")."""
    return [(r.tag_name, r.kind) for r in rows if r.state in UNACK]


def shelve_minutes(value: object) -> int:
    """A shelve duration as the page offers them (SHELVE_MINUTES); InputError otherwise."""
    n: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 6:
        n = int(value.strip())
    if n not in SHELVE_MINUTES:
        choices = ", ".join(str(m) for m in SHELVE_MINUTES)
        raise InputError(f"shelve for one of {choices} minutes")
    return n
