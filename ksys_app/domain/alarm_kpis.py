"""Alarm system KPIs after ISA-18.2 / EEMUA 191, over the activations of a period.

An activation is one alarm becoming active (its condition, domain/alarms.py),
with the time it cleared if it did. The measures:

* **rate**: activations per 10 minutes over the period (EEMUA 191: about one per
  10 minutes per operator is manageable; ISA-18.2 takes 1-2 as "maximum manageable").
* **flood**: the share of 10-minute periods with more than FLOOD_PER_10MIN (10)
  activations: ISA-18.2's definition of an alarm flood.
* **chattering**: alarms (tag, limit) that activated CHATTER_COUNT (3) or more
  times within CHATTER_WINDOW (1 minute).
* **stale**: alarms active for longer than STALE_AFTER (24 hours), at the period's end.
* **top sources**: the ten tags with the most activations and their share of all.
* **priority distribution**: the share of each priority, against the 80 / 15 / 5 %
  (low / medium / high) ISA-18.2 recommends for configured alarms; measured here on
  activations, which is what an operator lives with.

Periods are [start, end) and 10-minute slots are aligned to `start`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

SLOT = timedelta(minutes=10)
FLOOD_PER_10MIN = 10
CHATTER_COUNT = 3
CHATTER_WINDOW = timedelta(minutes=1)
STALE_AFTER = timedelta(hours=24)
TOP_N = 10
RECOMMENDED_SHARES = {"low": 0.80, "medium": 0.15, "high": 0.05}
# ISA-18.2 table 5 (alarm performance metrics, per operator position): average rate
# ~1 per 10 minutes acceptable (EEMUA 191; 2 "maximum manageable"), under ~1 % of
# periods in flood, no chattering or stale alarms as the aim.
ACCEPTABLE_PER_10MIN = 1.0
MANAGEABLE_PER_10MIN = 2.0
FLOOD_SHARE_TARGET = 0.01


@dataclass(frozen=True, slots=True)
class Activation:
    tag: str
    limit: str  # LimitKind value
    priority: str  # Priority value
    at: datetime
    cleared_at: datetime | None = None  # None: still active


@dataclass(frozen=True, slots=True)
class AlarmKpis:
    start: datetime
    end: datetime
    activations: int
    per_10min: float  # average activations per 10-minute slot
    peak_10min: int  # most activations in one slot
    flood_share: float  # share of slots over FLOOD_PER_10MIN
    chattering: tuple[tuple[str, str], ...]  # (tag, limit), sorted
    stale: tuple[tuple[str, str], ...]  # (tag, limit) active > STALE_AFTER at `end`, sorted
    top_sources: tuple[tuple[str, int, float], ...]  # (tag, activations, share), most first
    priority_shares: dict[str, float]  # priority -> share of activations


def _slots(start: datetime, end: datetime) -> int:
    return max(1, -(-(end - start) // SLOT))  # ceil: a last partial slot counts


def chattering(activations: Iterable[Activation], count: int = CHATTER_COUNT,
               window: timedelta = CHATTER_WINDOW) -> list[tuple[str, str]]:
    """(tag, limit) pairs with `count` activations inside some `window`."""
    times: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for a in activations:
        times[(a.tag, a.limit)].append(a.at)
    out = []
    for key, ts in times.items():
        ts.sort()
        if any(ts[i + count - 1] - ts[i] <= window for i in range(len(ts) - count + 1)):
            out.append(key)
    return sorted(out)


def kpis(activations: Sequence[Activation], start: datetime, end: datetime) -> AlarmKpis:
    """The KPIs of the activations that started in [start, end); stale ones are judged
    on every activation given (one that started before the period can be stale in it)."""
    if end <= start:
        raise ValueError("the period must end after it starts")
    inside = [a for a in activations if start <= a.at < end]
    n_slots = _slots(start, end)
    per_slot = Counter((a.at - start) // SLOT for a in inside)
    sources = Counter(a.tag for a in inside)
    priorities = Counter(a.priority for a in inside)
    stale = sorted({(a.tag, a.limit) for a in activations
                    if a.at < end and (a.cleared_at is None or a.cleared_at > end) and end - a.at > STALE_AFTER})
    total = len(inside)
    return AlarmKpis(
        start=start, end=end, activations=total,
        per_10min=total / n_slots,
        peak_10min=max(per_slot.values(), default=0),
        flood_share=sum(1 for c in per_slot.values() if c > FLOOD_PER_10MIN) / n_slots,
        chattering=tuple(chattering(inside)),
        stale=tuple(stale),
        top_sources=tuple((tag, n, n / total) for tag, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]),
        priority_shares={p: priorities.get(p, 0) / total if total else 0.0 for p in ("high", "medium", "low")},
    )


def page_activations(announced: Iterable[tuple[str, str, str, datetime]],
                     standing: Iterable[tuple[str, str, str, datetime]]) -> list[Activation]:
    """Activations for `kpis` from what a page can read cheaply: the announced activations
    of the period (tag, limit, priority, at) and the alarms active now with the time they
    became active. An activation counts as cleared unless it is one still standing (its
    time is the standing alarm's); a standing alarm that became active before the
    period is added for the stale count only (kpis counts activations inside the period)."""
    active_since = {(t, k): (p, at) for t, k, p, at in standing}
    out = []
    for tag, kind, priority, at in announced:
        still = active_since.get((tag, kind))
        out.append(Activation(tag, kind, priority, at, None if still and still[1] == at else at))
    seen = {(a.tag, a.limit) for a in out if a.cleared_at is None}
    out += [Activation(t, k, p, at, None) for (t, k), (p, at) in active_since.items() if (t, k) not in seen]
    return out
