"""Argument checks that run before any SQL; each failure is one readable sentence.

Tag names follow ksys_app.domain.inputs.tag_name, the rule the CLI and ingest
use too: data, never SQL (quotes, semicolons and scripts are fine as bind
parameters), but nothing the database or the UI cannot carry.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ksys_app.domain.groups import search_term
from ksys_app.domain.inputs import MAX_TAG_LEN, InputError, tag_name  # noqa: F401 - re-exported
from ksys_app.domain.timefmt import InvalidTimestampError, require_aware
from ksys_app.domain.windows import UnknownWindowError, Window, parse_window, tech_window

# InvalidInput is the shared rule set's InputError: the dashboard refuses what the CLI
# and ingest refuse (ksys_app.domain.inputs).
InvalidInput = InputError


def optional_tag(value: object) -> str | None:
    return None if value is None else tag_name(value)


def window(code: object) -> Window:
    try:
        return parse_window(code)  # type: ignore[arg-type]
    except UnknownWindowError as exc:
        raise InvalidInput(str(exc)) from None


def tech(code: object) -> Window:
    try:
        return tech_window(code)  # type: ignore[arg-type]
    except UnknownWindowError as exc:
        raise InvalidInput(str(exc)) from None


def aware(ts: object, name: str) -> datetime:
    """A timezone-aware datetime, as UTC."""
    try:
        return require_aware(ts, name).astimezone(timezone.utc)  # type: ignore[arg-type]
    except InvalidTimestampError as exc:
        raise InvalidInput(str(exc)) from None


def local_day(value: object, tz, name: str = "start_day") -> date:
    """A local calendar date; an aware datetime counts as its date in tz, a naive one is refused."""
    if isinstance(value, datetime):
        return aware(value, name).astimezone(tz).date()
    if not isinstance(value, date):
        raise InvalidInput(f"{name} must be a date, got {type(value).__name__}")
    return value


def local_midnight_utc(day: date, tz) -> datetime:
    """UTC instant of 00:00 local time on `day` in tz."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)


# The days a read may cover: a 30-day grid needs room on both sides of the calendar's
# ends (0001-01-01 and 9999-12-31 overflow as UTC instants in zones east or west of UTC).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9000, 12, 31)


def local_span_utc(start: date, days: int, tz) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight of start + days) as UTC instants."""
    if not FIRST_DAY <= start <= LAST_DAY or not 0 < days <= 3660:
        raise InvalidInput(f"start day {start.isoformat()} (+{days} days) is outside "
                           f"{FIRST_DAY.isoformat()} .. {LAST_DAY.isoformat()}")
    return local_midnight_utc(start, tz), local_midnight_utc(start + timedelta(days=days), tz)


def page_bounds(offset: object, size: object, max_size: int) -> tuple[int, int]:
    """(offset, size) of a page read: integers, offset >= 0, 1 <= size <= max_size."""
    for name, v in (("offset", offset), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidInput(f"page {name} must be an integer, got {type(v).__name__}")
    if offset < 0:
        raise InvalidInput(f"page offset must be >= 0, got {offset}")
    if not 1 <= size <= max_size:
        raise InvalidInput(f"page size must be 1..{max_size}, got {size}")
    return offset, size


def tag_list(tags: object, max_len: int) -> list[str]:
    """Distinct tag names (each as tag_name checks it), sorted: a stable cache key for
    the same set in any order."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise InvalidInput(f"tags must be a list of tag names, got {type(tags).__name__}")
    if len(tags) > max_len:
        raise InvalidInput(f"at most {max_len} tags, got {len(tags)}")
    return sorted({tag_name(t) for t in tags})


def like_contains(search: object) -> str | None:
    """The ILIKE pattern for "contains `search`" (domain.groups.search_term rules), or None
    for an empty search. LIKE's own wildcards and its escape character (backslash, the
    default: the statement names no ESCAPE) are escaped, so "%" finds a percent sign."""
    text = search_term(search)
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
