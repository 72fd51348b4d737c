"""Formats that differ by language: weekday names, units of time."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "weekday.0": ("Mon", "월"),
    "weekday.1": ("Tue", "화"),
    "weekday.2": ("Wed", "수"),
    "weekday.3": ("Thu", "목"),
    "weekday.4": ("Fri", "금"),
    "weekday.5": ("Sat", "토"),
    "weekday.6": ("Sun", "일"),
}
