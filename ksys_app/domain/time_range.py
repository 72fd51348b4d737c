"""Absolute time ranges from the URL (`from` / `to`): what an analyst types or a link
carries, checked and, where it cannot be used as given, turned into the nearest
sensible range with a notice saying what changed.

Accepted forms, each end on its own:
  2026-12-01                 local midnight in the plant's zone
  2026-12-01T14:00[:SS]      local time in the plant's zone (a space instead of T too)
  2026-12-01T14:00+09:00     with an offset (or Z)
  now                        (`to` only) the present
Local times that a clock change makes ambiguous take the earlier instant (fold 0);
those it skips are moved forward by the gap, as the wall clock does.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

MAX_SPAN = timedelta(days=365)  # "12 months": the longest relative window too
MIN_SPAN = timedelta(minutes=1)
RETENTION = timedelta(days=365)  # migrations 0002: raw readings and rollups kept this long
MAX_TEXT = 40

_FORM = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?")

# Notices (i18n keys under "range."): what was wrong and what the page did instead.
BAD_FROM, BAD_TO = "range.bad_from", "range.bad_to"
REVERSED = "range.reversed"
TOO_LONG = "range.too_long"
BEFORE_RETENTION = "range.before_retention"
IN_FUTURE = "range.in_future"
TOO_SHORT = "range.too_short"


@dataclass(frozen=True, slots=True)
class Range:
    start: datetime
    end: datetime
    end_is_now: bool = False

    @property
    def span(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class RangeChoice:
    range: Range | None  # None: no usable range, the page keeps its relative window
    notices: tuple[str, ...] = ()


def parse_instant(text: object, tz: tzinfo) -> datetime | None:
    """One end of a range as an aware UTC datetime, or None when it is not one of the forms."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    t = text.strip()
    if not _FORM.fullmatch(t):
        return None
    try:
        value = datetime.fromisoformat(t.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:  # 2026-02-30, 25:00
        return None
    if not 1970 <= value.year <= 9998:  # before any conversion: year 1 minus an offset overflows
        return None
    if value.tzinfo is None:
        # fold 0: an ambiguous time is the first of the two; a skipped one takes the offset
        # before the gap, which lands it the gap's length later, as the wall clock does
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def choose_range(from_text: object, to_text: object, tz: tzinfo, now: datetime) -> RangeChoice:
    """The range a page shows for URL values `from` / `to` (None each when absent).

    Neither given: no range (the relative window applies). One of them unusable:
    no range, with its notice. Otherwise the range, adjusted with a notice where
    needed: ends swapped when reversed; the end brought back to now when it lies
    ahead; the start brought to the retention limit or to 12 months before the
    end; widened to a minute when shorter.
    """
    if from_text is None and to_text is None:
        return RangeChoice(None)
    start = parse_instant(from_text, tz) if from_text is not None else None
    to_now = to_text is None or (isinstance(to_text, str) and to_text.strip().lower() == "now")
    end = now if to_now else parse_instant(to_text, tz)
    bad = tuple(code for code, ok in ((BAD_FROM, start is not None), (BAD_TO, end is not None)) if not ok)
    if bad:
        return RangeChoice(None, bad)
    notices: list[str] = []
    if end < start:
        start, end = end, start
        notices.append(REVERSED)
    if end > now:
        end, to_now = now, True
        notices.append(IN_FUTURE)
        start = min(start, end - MIN_SPAN)
    if end - start > MAX_SPAN:
        start = end - MAX_SPAN
        notices.append(TOO_LONG)
    if start < now - RETENTION:
        start = now - RETENTION
        notices.append(BEFORE_RETENTION)
        if end <= start:
            end = start + MIN_SPAN
    if end - start < MIN_SPAN:
        end = min(start + MIN_SPAN, now)
        start = end - MIN_SPAN
        notices.append(TOO_SHORT)
    return RangeChoice(Range(start, end, end_is_now=to_now), tuple(notices))
