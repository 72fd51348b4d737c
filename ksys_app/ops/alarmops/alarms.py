"""`ksys alarms list | remove | restore | report`: alarm states, out of service, and the
alarm system's KPIs (domain/alarm_kpis.py) over the journal.

Out of service is an administrator's act (ISA-18.2): an alarm removed from service
is not announced until it is restored, whatever its condition does meanwhile; the
journal records who removed and restored it and why. It goes through
ksys.alarm_apply, the one writer of alarm actions, which checks the state first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ksys_app.domain.alarm_kpis import Activation, AlarmKpis, kpis
from ksys_app.domain.alarms import LimitKind
from ksys_app.domain.inputs import InputError, tag_name
from ksys_app.domain.operators import note as checked_note
from ksys_app.ops.db import connect
from ksys_app.ops.errors import OpsError

DEFAULT_PERIOD = timedelta(days=30)
MAX_BY = 64


@dataclass(frozen=True)
class StateRow:
    tag: str
    kind: str
    priority: str
    state: str
    active: bool
    value: float | None
    active_since: datetime | None
    shelved_until: datetime | None
    operator: str | None


def states(dsn: str, every: bool = False) -> list[StateRow]:
    """Alarms not in the normal state (every alarm with `every`), high priority and
    unacknowledged first, then the oldest."""
    with connect(dsn) as conn:
        rows = conn.execute(
            """SELECT tag_name, kind, priority, state, active, value, active_since, shelved_until, operator
               FROM ksys.alarm_state WHERE %s OR state <> 'normal'
               ORDER BY priority = 'high' DESC, state IN ('unack', 'rtn_unack') DESC,
                        active_since NULLS LAST, tag_name, kind""", (every,)).fetchall()
    return [StateRow(*r) for r in rows]


def _alarm(tag: str, kind: str) -> tuple[str, str]:
    try:
        tag = tag_name(tag)
    except InputError as exc:
        raise OpsError(str(exc)) from None
    if kind not in {k.value for k in LimitKind}:
        raise OpsError(f"unknown limit {kind!r}: one of {', '.join(k.value for k in LimitKind)}")
    return tag, kind


def _by(by: str) -> str:
    if not by or len(by) > MAX_BY or not by.isprintable():
        raise OpsError(f"--by names who acts: 1-{MAX_BY} printable characters")
    return by


def set_in_service(dsn: str, tag: str, kind: str, in_service: bool, by: str, note: str | None) -> str:
    """Take an alarm out of service or return it; returns the state it is in after."""
    tag, kind = _alarm(tag, kind)
    try:
        note = checked_note(note)
    except InputError as exc:
        raise OpsError(str(exc)) from None
    action = "restore" if in_service else "remove"
    with connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT ksys.refresh_alarm_states()")  # a limit added since the last tick has a state now
        found = conn.execute("SELECT state FROM ksys.alarm_state WHERE tag_name = %s AND kind = %s",
                             (tag, kind)).fetchone()
        if found is None:
            raise OpsError(f"no alarm {tag} {kind}: the tag has no such limit in an enabled QC rule "
                           "(`ksys alarms list --all` shows every alarm)")
        done = conn.execute("SELECT ksys.alarm_apply(%s, ARRAY[%s], ARRAY[%s], %s, %s, NULL)",
                            (action, tag, kind, _by(by), note)).fetchone()[0]
        if not done:
            raise OpsError(f"{tag} {kind} is {found[0]}: " + ("it is in service" if in_service else "already out of service"))
        return conn.execute("SELECT state FROM ksys.alarm_state WHERE tag_name = %s AND kind = %s",
                            (tag, kind)).fetchone()[0]


def activations(dsn: str, start: datetime, end: datetime) -> list[Activation]:
    """Announced activations (an alarm becoming active unacknowledged, not while shelved or
    out of service) that started before `end` and had not cleared by `start`."""
    with connect(dsn) as conn:
        rows = conn.execute(
            """SELECT a.tag_name, a.kind, a.priority, a.at, c.at
               FROM ksys.alarm_journal a
               LEFT JOIN LATERAL (SELECT min(j.at) AS at FROM ksys.alarm_journal j
                                  WHERE j.tag_name = a.tag_name AND j.kind = a.kind AND j.action = 'clear'
                                    AND j.at > a.at) c ON true
               WHERE a.action = 'activate' AND a.new_state = 'unack' AND a.at < %s AND (c.at IS NULL OR c.at > %s)
               ORDER BY a.at""", (end, start)).fetchall()
    return [Activation(*r) for r in rows]


def report(dsn: str, start: datetime | None, end: datetime | None, now: datetime) -> AlarmKpis:
    end = end or now
    start = start or end - DEFAULT_PERIOD
    if end <= start:
        raise OpsError("--since must be before --until")
    return kpis(activations(dsn, start, end), start, end)
