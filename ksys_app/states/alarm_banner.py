"""The alarm banner of every page: unacknowledged high and medium alarms.

Read when a page loads and again by the page's live loop (states/live.py) every
KSYS_CACHE_TTL_ALARMS_S, so it follows the plant without a click. A failed read
keeps the last counts (the navbar's DB indicator says the database is away).
"""

from __future__ import annotations

import reflex as rx

from ksys_app.data.result import ReadResult
from ksys_app.domain.alarm_view import unack_counts


class AlarmBannerState(rx.State):
    high: int = 0
    medium: int = 0
    known: bool = False  # a count was read at least once

    @rx.var
    def total(self) -> int:
        return self.high + self.medium

    def _apply(self, result: ReadResult) -> None:
        if result.failed and not result.rows:
            return
        high, medium = unack_counts(result.rows)
        if (high, medium, True) != (self.high, self.medium, self.known):  # only a change travels
            self.high, self.medium, self.known = high, medium, True
