"""The order an operator reads the KPI tiles in: what needs attention first.

A tile whose last value tripped a critical limit comes first, then a warning,
then a tag with no data in the window (its sensor or its ingest may be stale),
then everything that is fine. Within a group tiles keep their tag order, so a
screen that does not change state does not reshuffle between refreshes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping, TypeVar

from ksys_app.domain.kpi import QcRule, alarm_badge

T = TypeVar("T", bound=Mapping[str, str])

# tone (domain.kpi.Tone) -> rank; lower reads first
_RANK = {"crit": 0, "warn": 1, "nodata": 2}
_FINE = 3  # normal, neutral (no limits) and anything unknown


def attention_rank(tone: str) -> int:
    """0 crit, 1 warn, 2 no data, 3 fine."""
    return _RANK.get(tone, _FINE)


def is_abnormal(tone: str) -> bool:
    return attention_rank(tone) < _FINE


def abnormal_first(tiles: Iterable[T]) -> list[T]:
    """Tiles (dicts with a "tone" and a "title") crit, warn, no data, then the rest,
    each group in tag order. A stable sort: equal tiles keep their input order."""
    return sorted(tiles, key=lambda t: (attention_rank(t.get("tone", "")), t.get("title", "")))


def latest_tone(value: float | None, ts: datetime | None, rule: QcRule | None, window_start: datetime) -> str:
    """A tag's attention tone from its newest reading alone, before any window statistics are
    read: "nodata" when that reading is older than the window (the window then has none),
    else the limit it trips ("crit" / "warn") or "normal". It orders the tags when only a
    page of them gets its statistics read; the tiles then carry their own tone."""
    if ts is None or ts < window_start:
        return "nodata"
    badge = alarm_badge(value, rule)
    return badge if badge in _RANK else "normal"


def tags_by_attention(tags: Iterable[str], tones: Mapping[str, str]) -> list[str]:
    """Tag names in the order abnormal_first puts their tiles (crit, warn, no data, the rest;
    by name within each)."""
    return sorted(tags, key=lambda t: (attention_rank(tones.get(t, "")), t))
