"""The page's PAYLOAD_BLOAT notice (states.outcomes.payload_notice): pure, no browser."""

from __future__ import annotations

from ksys_app.data.errors import DataError, ErrorCode
from ksys_app.states.outcomes import payload_notice

BUDGET = 300_000


def test_nothing_to_say_within_budget():
    assert payload_notice([], 0, BUDGET) == ""
    assert payload_notice([], BUDGET, BUDGET) == ""  # at the budget is within it
    assert payload_notice([None, DataError(ErrorCode.PAYLOAD_BLOAT, "")], 12_345, BUDGET) == ""


def test_update_over_budget_says_its_size():
    text = payload_notice([], 435_456, BUDGET)
    assert text.startswith("PAYLOAD_BLOAT: this update is about 435 KB, over the 300 KB payload budget")


def _read_warning() -> DataError:
    return DataError(ErrorCode.PAYLOAD_BLOAT,
                     "about 435 KB for 2016 rows exceeds the 300 KB payload budget; choose a shorter window",
                     key="notice.payload_read", fields=(("kb", 435), ("rows", 2016), ("budget", 300)))


def test_read_warnings_once_each_then_the_update():
    read = _read_warning()
    text = payload_notice([read, read], 300_001, BUDGET)
    assert text.count(read.message) == 1
    assert text.index(read.message) < text.index("this update is about 300 KB")
    assert text.startswith("PAYLOAD_BLOAT: ")


def test_the_notice_in_korean_keeps_its_numbers():
    text = payload_notice([_read_warning()], 435_456, BUDGET, "ko")
    assert text.startswith("PAYLOAD_BLOAT: ") and "2016행" in text and "약 435 KB" in text
    assert "payload budget" not in text and "shorter window" not in text
