"""Alarm start and end marks on a chart: when each of a tag's alarm conditions was
active inside a window, from the journal's activate / clear rows, placed on the
chart's buckets.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

# what a chart can draw legibly (and the payload carries): more spans than this in one window is chatter, and
# the newest are what an operator looks for
MAX_SPANS = 60


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # LimitKind value
    priority: str
    at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class AlarmSpan:
    kind: str
    priority: str
    start: datetime  # clipped to the window
    end: datetime  # clipped to the window
    started_before: bool  # active when the window began
    still_active: bool  # active when the window ended


def spans(changes: Iterable[Change], start: datetime, end: datetime) -> list[AlarmSpan]:
    """The stretches of [start, end) in which each alarm condition was active. `changes`
    holds each kind's last change before `start` (its state when the window began) and
    every change inside the window, in any order."""
    by_kind: dict[str, list[Change]] = {}
    for c in sorted(changes, key=lambda c: c.at):
        if c.at < end:
            by_kind.setdefault(c.kind, []).append(c)
    out: list[AlarmSpan] = []
    for kind, rows in by_kind.items():
        since: Change | None = None
        for c in rows:
            if c.active and since is None:
                since = c
            elif not c.active and since is not None:
                if c.at > start:
                    out.append(AlarmSpan(kind, since.priority, max(since.at, start), c.at, since.at < start, False))
                since = None
        if since is not None:
            out.append(AlarmSpan(kind, since.priority, max(since.at, start), end, since.at < start, True))
    out.sort(key=lambda s: (s.start, s.kind))
    return out[-MAX_SPANS:]


def bucket_index(bucket_starts: Sequence[datetime], at: datetime) -> int:
    """The bucket holding instant `at` (the last that starts at or before it; the first
    bucket for an instant before all of them)."""
    return max(0, bisect_right(bucket_starts, at) - 1)


def on_buckets(found: Sequence[AlarmSpan], bucket_starts: Sequence[datetime]) -> list[tuple[int, int, AlarmSpan]]:
    """Each span as (first bucket, last bucket) indices of the chart's points; nothing
    for a chart without points."""
    if not bucket_starts:
        return []
    return [(bucket_index(bucket_starts, s.start), bucket_index(bucket_starts, s.end), s) for s in found]
