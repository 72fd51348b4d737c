"""QC tagging at ingest: the `qc` bit flags of a reading, from the tag's QC rule and
the readings before it (issue 18; PRD.md resolution 29 documents the bits).

A reading is stored whatever its flags (QC marks, it never drops): the flags say
what looked wrong when it arrived, so a chart or an analyst can tell a real
excursion from a sensor fault.

| bit | value | flag | set when (columns of influx_qc_rule) |
|---|---|---|---|
| 0 | 1 | OUT_OF_RANGE | value < min_val or value > max_val |
| 1 | 2 | NEGATIVE | value < 0 and allow_negative is false |
| 2 | 4 | STEP | abs(value - previous value) > max_step |
| 3 | 8 | RATE | abs(value - previous) per minute since the previous reading > roc_max_per_min |
| 4 | 16 | SPIKE | abs(value - mean) > spike_zscore x std of the last SPIKE_WINDOW readings (>= SPIKE_MIN, std > 0) |
| 5 | 32 | GAP | more than max_gap_seconds since the previous reading |

"Previous" is the tag's newest reading before this one in time (readings of one
batch are tagged in time order; a late reading is compared with what came before
it in the history kept, which ingest keeps per tag for the newest readings only:
a reading older than that history's newest gets no STEP, RATE, SPIKE or GAP flag,
as there is nothing right before it to compare with).

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntFlag
from typing import Mapping


class Qc(IntFlag):
    OK = 0
    OUT_OF_RANGE = 1
    NEGATIVE = 2
    STEP = 4
    RATE = 8
    SPIKE = 16
    GAP = 32


SPIKE_WINDOW = 30  # readings the z-score is taken over
SPIKE_MIN = 10  # fewer than this: no spike judgement yet


def _num(rule: Mapping[str, object], key: str) -> float | None:
    v = rule.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


@dataclass
class TagHistory:
    """What tagging needs of a tag's recent readings: the newest one and a window of values."""
    last_ts: datetime | None = None
    last_value: float | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=SPIKE_WINDOW))


def _spike(value: float, recent: deque, z: float) -> bool:
    n = len(recent)
    if n < SPIKE_MIN:
        return False
    mean = sum(recent) / n
    var = sum((x - mean) ** 2 for x in recent) / (n - 1)
    std = math.sqrt(var)
    return std > 0 and abs(value - mean) > z * std


def tag_reading(rule: Mapping[str, object] | None, history: TagHistory, ts: datetime, value: float) -> Qc:
    """The flags of one reading, updating `history` when the reading is its newest.
    No rule (or a disabled one): no flags."""
    flags = Qc.OK
    newest = history.last_ts is None or ts > history.last_ts
    if rule and rule.get("enabled") is not False:
        lo, hi = _num(rule, "min_val"), _num(rule, "max_val")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            flags |= Qc.OUT_OF_RANGE
        if rule.get("allow_negative") is False and value < 0:
            flags |= Qc.NEGATIVE
        if newest and history.last_ts is not None and history.last_value is not None:
            delta = abs(value - history.last_value)
            seconds = (ts - history.last_ts).total_seconds()
            step, roc, gap = _num(rule, "max_step"), _num(rule, "roc_max_per_min"), _num(rule, "max_gap_seconds")
            if step is not None and delta > step:
                flags |= Qc.STEP
            if roc is not None and seconds > 0 and delta / (seconds / 60.0) > roc:
                flags |= Qc.RATE
            if gap is not None and gap > 0 and seconds > gap:
                flags |= Qc.GAP
        z = _num(rule, "spike_zscore")
        if newest and z is not None and z > 0 and _spike(value, history.recent, z):
            flags |= Qc.SPIKE
    if newest:
        history.last_ts, history.last_value = ts, value
        history.recent.append(value)
    return flags


def describe(flags: int) -> list[str]:
    """The names of the flags set, in bit order (for logs and tooltips)."""
    return [f.name.lower() for f in Qc if f and flags & f]
