"""Alarm spans on a chart (domain/alarm_marks.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from ksys_app.domain.alarm_marks import Change, bucket_index, on_buckets, spans

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_spans_inside_across_the_start_and_still_active():
    changes = [
        Change("warn_high", "medium", _m(-30), True),  # active before the window
        Change("warn_high", "medium", _m(10), False),
        Change("warn_high", "medium", _m(20), True),
        Change("warn_high", "medium", _m(25), False),
        Change("crit_high", "high", _m(40), True),  # still active at the end
        Change("warn_low", "medium", _m(-50), True), Change("warn_low", "medium", _m(-40), False),  # over before
        Change("warn_high", "medium", _m(70), True),  # after the window
    ]
    random.Random(1).shuffle(changes)
    got = [(s.kind, s.start, s.end, s.started_before, s.still_active) for s in spans(changes, T0, _m(60))]
    assert got == [
        ("warn_high", T0, _m(10), True, False),
        ("warn_high", _m(20), _m(25), False, False),
        ("crit_high", _m(40), _m(60), False, True),
    ]


def test_spans_equal_a_minute_by_minute_recompute():
    rng = random.Random(7)
    changes, active = [], False
    for i in range(300):
        if rng.random() < 0.1:
            active = not active
            changes.append(Change("warn_high", "medium", _m(i), active))
    start, end = _m(50), _m(250)
    found = spans(changes, start, end)
    for minute in range(50, 250):
        t = _m(minute + 0.5)
        last = [c for c in changes if c.at <= t]
        want = bool(last) and last[-1].active
        assert want == any(s.start <= t < s.end or (s.still_active and s.start <= t) for s in found), minute


def test_spans_land_on_the_buckets_that_hold_them():
    buckets = [_m(10 * i) for i in range(6)]  # 0, 10, ..., 50
    found = spans([Change("crit_low", "high", _m(12), True), Change("crit_low", "high", _m(31), False)], T0, _m(60))
    assert [(a, b) for a, b, _s in on_buckets(found, buckets)] == [(1, 3)]
    assert bucket_index(buckets, _m(-5)) == 0 and bucket_index(buckets, _m(99)) == 5
    assert on_buckets(found, []) == []
