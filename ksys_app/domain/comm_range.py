"""Which 30-day ranges /comm can show: from the oldest retained day to today."""

from __future__ import annotations

from datetime import date, timedelta

# Raw readings are kept this many days (docs/operations.md, "Retention"): /comm
# does not page back past it.
RETENTION_DAYS = 365


def start_bounds(today: date, days: int = 30, retention_days: int = RETENTION_DAYS) -> tuple[date, date]:
    """(earliest, latest) first local day of a `days`-day grid.

    The latest grid ends today (today - days + 1); the earliest starts on the
    oldest retained day (today - retention_days). A retention shorter than the
    grid leaves only the latest.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    latest = today - timedelta(days=days - 1)
    return min(latest, today - timedelta(days=retention_days)), latest


def step_start(start: date, step_days: int, today: date, days: int = 30,
               retention_days: int = RETENTION_DAYS) -> date:
    """start moved by step_days (negative: back), kept within start_bounds."""
    earliest, latest = start_bounds(today, days, retention_days)
    return max(earliest, min(latest, start + timedelta(days=step_days)))
