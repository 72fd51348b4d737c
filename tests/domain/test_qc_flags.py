"""QC flags at ingest (domain/qc_flags.py): each rule on its own, and a random stream
against a recompute written here from the table in the module's docstring."""

from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.qc_flags import SPIKE_MIN, SPIKE_WINDOW, Qc, TagHistory, describe, tag_reading

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
RULE = {"enabled": True, "min_val": 0.0, "max_val": 100.0, "allow_negative": False, "max_step": 10.0,
        "roc_max_per_min": 30.0, "max_gap_seconds": 30, "spike_zscore": 4.0}


def _flags(rule, stream):
    h = TagHistory()
    return [tag_reading(rule, h, T0 + timedelta(seconds=s), v) for s, v in stream]


@pytest.mark.parametrize("stream, want", [
    ([(0, 50), (10, 101)], Qc.OUT_OF_RANGE | Qc.STEP | Qc.RATE),
    ([(0, 5), (30, -1)], Qc.OUT_OF_RANGE | Qc.NEGATIVE),  # 6 in 30 s: 12 a minute, fine
    ([(0, 50), (10, 58)], Qc.RATE),  # 8 in 10 s = 48 a minute, a step of 8 is fine
    ([(0, 50), (60, 58)], Qc.GAP),  # 60 s apart: gap, and 8 a minute is fine
    ([(0, 50), (30, 52)], Qc.OK),  # exactly max_gap_seconds is not a gap
])
def test_each_flag(stream, want):
    assert _flags(RULE, stream)[-1] == want


def test_a_spike_needs_enough_history_and_spread():
    calm = [(10 * i, 50 + (i % 3) * 0.5) for i in range(SPIKE_MIN)]
    assert Qc.SPIKE in _flags(RULE, calm + [(10 * SPIKE_MIN, 58)])[-1]
    assert Qc.SPIKE not in _flags(RULE, calm[:SPIKE_MIN - 1] + [(10 * SPIKE_MIN, 58)])[-1]
    flat = [(10 * i, 50.0) for i in range(SPIKE_MIN)]
    assert Qc.SPIKE not in _flags(RULE, flat + [(10 * SPIKE_MIN, 55)])[-1]  # std 0: no z-score


def test_no_rule_or_disabled_rule_flags_nothing_and_late_readings_only_get_range_flags():
    assert _flags(None, [(0, -5), (10, 500)]) == [Qc.OK, Qc.OK]
    assert _flags({**RULE, "enabled": False}, [(0, -5)]) == [Qc.OK]
    h = TagHistory()
    tag_reading(RULE, h, T0 + timedelta(seconds=100), 50)
    late = tag_reading(RULE, h, T0 + timedelta(seconds=10), 99)  # older than the newest: nothing to compare with
    assert late == Qc.OK and h.last_value == 50
    assert describe(Qc.STEP | Qc.GAP) == ["step", "gap"]


def _recompute(rule, stream):
    """The docstring's table, written out independently."""
    out, prev, recent = [], None, []
    for s, v in stream:
        f = 0
        if v < rule["min_val"] or v > rule["max_val"]:
            f |= 1
        if not rule["allow_negative"] and v < 0:
            f |= 2
        if prev is not None:
            ps, pv = prev
            if abs(v - pv) > rule["max_step"]:
                f |= 4
            if s > ps and abs(v - pv) / ((s - ps) / 60) > rule["roc_max_per_min"]:
                f |= 8
            if s - ps > rule["max_gap_seconds"]:
                f |= 32
        window = recent[-SPIKE_WINDOW:]
        if len(window) >= SPIKE_MIN:
            sd = statistics.stdev(window)
            if sd > 0 and abs(v - statistics.mean(window)) > rule["spike_zscore"] * sd:
                f |= 16
        out.append(f)
        prev = (s, v)
        recent.append(v)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_a_random_stream_equals_the_recompute(seed):
    rng = random.Random(seed)
    stream, s, v = [], 0, 50.0
    for _ in range(500):
        s += rng.choice([1, 5, 10, 10, 10, 40])
        v = rng.choice([v + rng.gauss(0, 3), v + rng.gauss(0, 30), -2.0, 120.0, 50.0])
        stream.append((s, round(v, 3)))
    got = [int(f) for f in _flags(RULE, stream)]
    assert got == _recompute(RULE, stream)
    assert len(set(got)) > 5, "the stream should exercise most flags"
