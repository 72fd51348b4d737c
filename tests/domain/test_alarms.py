"""Alarm limits, conditions with deadband and delays, and the ISA-18.2 state machine."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.alarms import (
    Action,
    Alarm,
    AlarmState,
    ConditionChange,
    Limit,
    LimitKind,
    OperatorAction,
    Priority,
    TransitionRefused,
    allowed_actions,
    condition_changes,
    journal,
    limits_of,
    replay,
    transition,
)
from ksys_app.domain.kpi import QcRule, status_level

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
S = timedelta(seconds=1)
RULE = {"enabled": True, "min_val": 0.0, "max_val": 100.0, "crit_min": 5.0, "crit_max": 95.0,
        "warn_min": 10.0, "warn_max": 90.0, "deadband_pct": 2.0}


def series(*values):
    return [(T0 + i * 10 * S, v) for i, v in enumerate(values)]


# ------------------------------------------------------------------ limits


def test_limits_of_a_rule_with_their_priorities_and_deadband():
    limits = {limit.kind: limit for limit in limits_of(RULE)}
    assert set(limits) == set(LimitKind)
    assert limits[LimitKind.CRIT_HIGH].priority is Priority.HIGH
    assert limits[LimitKind.HARD_LOW].priority is Priority.HIGH
    assert limits[LimitKind.WARN_LOW].priority is Priority.MEDIUM
    assert all(limit.deadband == pytest.approx(2.0) for limit in limits.values())  # 2 % of the 0..100 span


@pytest.mark.parametrize("rule", [None, {}, {**RULE, "enabled": False}])
def test_no_rule_or_a_disabled_one_has_no_limits(rule):
    assert limits_of(rule) == []


def test_limits_skip_missing_and_non_finite_thresholds():
    kinds = {limit.kind for limit in limits_of({"warn_max": 5.0, "crit_max": float("nan"), "max_val": None})}
    assert kinds == {LimitKind.WARN_HIGH}


def test_the_deadband_of_a_tag_without_a_range_is_a_share_of_its_threshold():
    (limit,) = limits_of({"warn_max": 50.0, "deadband_pct": 10})
    assert limit.deadband == pytest.approx(5.0)


def test_limits_agree_with_the_tiles_status_level():
    """A value that makes a tile warn or crit violates a limit of that priority."""
    rng = random.Random(7)
    rule = QcRule(tag_name="X", min_val=0.0, max_val=100.0, crit_min=5.0, crit_max=95.0, warn_min=10.0,
                  warn_max=90.0, enabled=True)
    limits = limits_of(RULE)
    for value in [rng.uniform(-10, 110) for _ in range(2000)] + [0.0, 5.0, 10.0, 90.0, 95.0, 100.0]:
        violated = {limit.priority for limit in limits if limit.violated(value)}
        level = status_level(value, rule)
        assert (level == 2) == (Priority.HIGH in violated), value
        assert (level == 1) == (Priority.MEDIUM in violated and Priority.HIGH not in violated), value


# ------------------------------------------------------------------ conditions


HIGH = Limit(LimitKind.WARN_HIGH, 90.0, deadband=2.0, priority=Priority.MEDIUM)
HIGH_NO_DB = Limit(LimitKind.WARN_HIGH, 90.0, deadband=0.0, priority=Priority.MEDIUM)


def test_a_crossing_activates_and_a_return_past_the_deadband_clears():
    changes = condition_changes(series(80, 91, 92, 89, 87.9, 85), HIGH)
    assert [(c.active, c.value) for c in changes] == [(True, 91), (False, 87.9)]
    assert changes[0].at == T0 + 10 * S


def test_the_deadband_stops_chatter_around_the_limit():
    hovering = series(*[90.5, 89.5] * 10)
    assert len(condition_changes(hovering, HIGH_NO_DB)) == 20  # every reading a change
    assert len(condition_changes(hovering, HIGH)) == 1  # active once, never back below 88


def test_the_on_delay_ignores_short_excursions():
    spikes = series(80, 95, 80, 95, 80, 95, 95, 95, 80)  # readings 10 s apart
    assert len(condition_changes(spikes, HIGH, on_delay=timedelta(seconds=15))) == 2
    changes = condition_changes(spikes, HIGH, on_delay=timedelta(seconds=20))
    assert [(c.at, c.active) for c in changes] == [(T0 + 70 * S, True), (T0 + 80 * S, False)]


def test_the_off_delay_holds_an_active_condition_through_a_short_dip():
    dip = series(95, 80, 95, 80, 80, 80)
    changes = condition_changes(dip, HIGH, off_delay=timedelta(seconds=20))
    assert [(c.at, c.active) for c in changes] == [(T0, True), (T0 + 50 * S, False)]


def test_arrival_order_does_not_matter_and_missing_values_are_skipped():
    readings = series(80, 91, None, float("nan"), 92, 85, 95, 80)
    shuffled = readings[:]
    random.Random(3).shuffle(shuffled)
    assert condition_changes(shuffled, HIGH) == condition_changes(readings, HIGH)
    assert len(condition_changes(readings, HIGH)) == 4


def _reference_changes(values, limit, on_steps, off_steps):
    """Independent recompute on evenly spaced readings: a change happens at reading i when
    the last k+1 readings (k = delay in steps) all point toward it."""
    out, active, i = [], False, 0
    toward = []
    for value in values:
        toward.append(limit.cleared(value) if active else limit.violated(value))
        k = off_steps if active else on_steps
        window = toward[-(k + 1):]
        if len(window) == k + 1 and all(window):
            active = not active
            out.append((i, active))
            toward = []
        i += 1
    return out


@pytest.mark.parametrize("seed", range(30))
def test_conditions_match_an_independent_recompute(seed):
    rng = random.Random(seed)
    values = [rng.choice([85.0, 88.5, 89.0, 90.0, 91.0, 95.0]) for _ in range(200)]
    on_steps, off_steps = rng.randint(0, 3), rng.randint(0, 3)
    readings = series(*values)
    got = condition_changes(readings, HIGH, on_delay=on_steps * 10 * S, off_delay=off_steps * 10 * S)
    assert [((c.at - T0) // (10 * S), c.active) for c in got] == _reference_changes(values, HIGH, on_steps, off_steps)


# ------------------------------------------------------------------ the state machine


UNTIL = T0 + timedelta(hours=1)


@pytest.mark.parametrize("events, states", [
    # the ISA-18.2 cycle: alarm, acknowledged, returns to normal
    ([Action.ACTIVATE, Action.ACK, Action.CLEAR], ["unack", "acked", "normal"]),
    # returns before anyone acknowledged: RTN unacknowledged, then acknowledged
    ([Action.ACTIVATE, Action.CLEAR, Action.ACK], ["unack", "rtn_unack", "normal"]),
    # comes back while RTN unacknowledged: announced again
    ([Action.ACTIVATE, Action.CLEAR, Action.ACTIVATE], ["unack", "rtn_unack", "unack"]),
    # shelved while active; the shelf ends while still active: re-announced as new
    ([Action.ACTIVATE, Action.ACK, Action.SHELVE, Action.SHELVE_EXPIRED], ["unack", "acked", "shelved", "unack"]),
    # shelved, clears meanwhile, unshelved: normal
    ([Action.ACTIVATE, Action.SHELVE, Action.CLEAR, Action.UNSHELVE], ["unack", "shelved", "shelved", "normal"]),
    # shelved while normal, activates meanwhile (not announced), shelf ends: announced
    ([Action.SHELVE, Action.ACTIVATE, Action.SHELVE_EXPIRED], ["shelved", "shelved", "unack"]),
    # out of service hides it; back in service while active: announced
    ([Action.ACTIVATE, Action.REMOVE, Action.CLEAR, Action.ACTIVATE, Action.RESTORE],
     ["unack", "out_of_service", "out_of_service", "out_of_service", "unack"]),
    # a shelved alarm taken out of service loses its shelf
    ([Action.SHELVE, Action.REMOVE, Action.RESTORE], ["shelved", "out_of_service", "normal"]),
])
def test_isa_18_2_sequences(events, states):
    got = replay([(e, UNTIL if e is Action.SHELVE else None) for e in events])
    assert [a.state.value for a in got] == states
    assert all((a.shelved_until is not None) == (a.state is AlarmState.SHELVED) for a in got)


@pytest.mark.parametrize("alarm, action", [
    (Alarm(), Action.ACK),  # nothing to acknowledge
    (Alarm(AlarmState.ACKED, active=True), Action.ACK),
    (Alarm(), Action.UNSHELVE),
    (Alarm(), Action.CLEAR),
    (Alarm(AlarmState.UNACK, active=True), Action.ACTIVATE),
    (Alarm(AlarmState.OUT_OF_SERVICE), Action.SHELVE),
    (Alarm(AlarmState.OUT_OF_SERVICE), Action.REMOVE),
    (Alarm(), Action.RESTORE),
    (Alarm(AlarmState.SHELVED, shelved_until=UNTIL), Action.ACK),
])
def test_refused_transitions(alarm, action):
    with pytest.raises(TransitionRefused):
        transition(alarm, action, until=UNTIL)


def test_shelving_needs_an_end():
    with pytest.raises(TransitionRefused):
        transition(Alarm(AlarmState.UNACK, active=True), Action.SHELVE)


def test_the_buttons_an_alarm_offers():
    assert allowed_actions(Alarm()) == {Action.SHELVE}
    assert allowed_actions(Alarm(AlarmState.UNACK, active=True)) == {Action.ACK, Action.SHELVE}
    assert allowed_actions(Alarm(AlarmState.RTN_UNACK)) == {Action.ACK, Action.SHELVE}
    assert allowed_actions(Alarm(AlarmState.SHELVED, active=True, shelved_until=UNTIL)) == {Action.UNSHELVE,
                                                                                           Action.SHELVE}
    assert allowed_actions(Alarm(AlarmState.OUT_OF_SERVICE)) == frozenset()


def test_every_state_and_action_pair_is_decided():
    """Exhaustive: each pair either gives a state or is refused, and a state is only ever
    'active' where the condition is."""
    for state in AlarmState:
        for active in (False, True):
            if state in (AlarmState.UNACK, AlarmState.ACKED) and not active:
                continue
            if state in (AlarmState.NORMAL, AlarmState.RTN_UNACK) and active:
                continue
            alarm = Alarm(state, active, UNTIL if state is AlarmState.SHELVED else None)
            for action in Action:
                try:
                    after = transition(alarm, action, until=UNTIL)
                except TransitionRefused:
                    continue
                if after.state in (AlarmState.UNACK, AlarmState.ACKED):
                    assert after.active, (alarm, action)
                if after.state in (AlarmState.NORMAL, AlarmState.RTN_UNACK):
                    assert not after.active, (alarm, action)


# ---------------------------------------------------------------------------- journal

T = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def _at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def _rows(rows) -> list[tuple]:
    return [(r.action.value, r.old.value, r.new.value, r.active, r.operator) for r in rows]


def test_the_journal_of_an_unacknowledged_return_and_a_late_acknowledgement():
    conditions = [ConditionChange(_at(0), True, 12.0), ConditionChange(_at(5), False, 8.0)]
    actions = [OperatorAction(_at(9), Action.ACK, "kim")]
    assert _rows(journal(conditions, actions, now=_at(60))) == [
        ("activate", "normal", "unack", True, None),
        ("clear", "unack", "rtn_unack", False, None),
        ("ack", "rtn_unack", "normal", False, "kim"),
    ]


def test_a_shelve_expires_at_its_end_and_announces_a_still_active_alarm():
    conditions = [ConditionChange(_at(0), True, 12.0)]
    actions = [OperatorAction(_at(1), Action.SHELVE, "kim", until=_at(31))]
    rows = journal(conditions, actions, now=_at(60))
    assert _rows(rows)[-1] == ("shelve_expired", "shelved", "unack", True, None)
    assert rows[-1].at == _at(31)
    # before its end the shelve holds
    assert _rows(journal(conditions, actions, now=_at(30)))[-1] == ("shelve", "unack", "shelved", True, "kim")


def test_an_action_a_late_reading_took_away_is_skipped():
    """Kim acknowledged at 9 min; a late reading shows the alarm cleared at 4 min and the
    acknowledgement then applies to the return to normal instead."""
    actions = [OperatorAction(_at(9), Action.ACK, "kim"), OperatorAction(_at(10), Action.ACK, "lee")]
    before = journal([ConditionChange(_at(0), True, 12.0)], actions, now=_at(60))
    assert _rows(before)[-1] == ("ack", "unack", "acked", True, "kim")  # lee's second ack refused
    after = journal([ConditionChange(_at(0), True, 12.0), ConditionChange(_at(4), False, 8.0)], actions, now=_at(60))
    assert _rows(after)[-1] == ("ack", "rtn_unack", "normal", False, "kim")
    assert len(after) == 3
