"""Time-zone resolution and display formatting for UTC-stored timestamps.

Timestamps travel through the app as timezone-aware UTC datetimes; only what
is shown to a person is converted to local wall-clock time, and that
conversion lives here so every page formats the same way.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Seoul"

# An IANA zone name or an already-built ZoneInfo (any tzinfo is accepted at runtime).
TzLike = str | ZoneInfo


class InvalidTimestampError(ValueError):
    """A value that should be a timestamp is not usable as one."""


class NaiveDatetimeError(InvalidTimestampError):
    """A datetime without a UTC offset: its instant is unknowable, so we refuse it."""


class UnknownTimeZoneError(ValueError):
    """The requested time zone is not a known IANA zone."""


def resolve_tz(tz: TzLike) -> tzinfo:
    """Return a tzinfo for an IANA name (e.g. "Asia/Seoul") or pass a tzinfo through."""
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UnknownTimeZoneError(f"unknown time zone {tz!r}") from exc
    raise UnknownTimeZoneError(
        f"time zone must be an IANA name or ZoneInfo, got {type(tz).__name__}"
    )


def require_aware(ts: datetime, name: str = "timestamp") -> datetime:
    """Return ts unchanged if it is a timezone-aware datetime, else raise."""
    if not isinstance(ts, datetime):
        raise InvalidTimestampError(f"{name} must be a datetime, got {type(ts).__name__}")
    # Python's own definition of "aware": tzinfo present and it yields an offset.
    if ts.tzinfo is None or ts.tzinfo.utcoffset(ts) is None:
        raise NaiveDatetimeError(
            f"{name} is a naive datetime ({ts.isoformat()}); pass a timezone-aware UTC datetime"
        )
    return ts


def format_local(ts: datetime, tz: TzLike = DEFAULT_TZ) -> str:
    """Format as "YYYY-MM-DD HH:mm:ss+09:00" in tz; sub-seconds are truncated.

    >>> from datetime import timezone
    >>> format_local(datetime(2025, 8, 15, 7, 26, 7, 999999, tzinfo=timezone.utc))
    '2025-08-15 16:26:07+09:00'
    """
    local = require_aware(ts).astimezone(resolve_tz(tz))
    # isoformat truncates (never rounds) the dropped microseconds.
    return local.isoformat(sep=" ", timespec="seconds")


def format_local_short(ts: datetime, tz: TzLike = DEFAULT_TZ) -> str:
    """Format as "YYYY-MM-DD HH:mm:ss" in tz without the offset (KPI tiles)."""
    local = require_aware(ts).astimezone(resolve_tz(tz))
    return f"{local:%Y-%m-%d %H:%M:%S}"


def format_local_point(ts: datetime, tz: TzLike = DEFAULT_TZ, seconds: bool = False) -> str:
    """A chart point's full label: "YYYY-MM-DD HH:mm+09:00" (with ":ss" for raw readings).

    The format_local family with the offset, so a tooltip on a window across
    midnight (or across a DST change) names its day and zone; seconds only
    where points are closer than a minute.
    """
    local = require_aware(ts).astimezone(resolve_tz(tz))
    return local.isoformat(sep=" ", timespec="seconds" if seconds else "minutes")
