"""The page's PAYLOAD_BLOAT notice (states.outcomes.payload_notice): pure, no browser."""

from __future__ import annotations

from ksys_app.states.outcomes import payload_notice

BUDGET = 300_000


def test_nothing_to_say_within_budget():
    assert payload_notice([], 0, BUDGET) == ""
    assert payload_notice([], BUDGET, BUDGET) == ""  # at the budget is within it
    assert payload_notice(["", ""], 12_345, BUDGET) == ""


def test_update_over_budget_says_its_size():
    text = payload_notice([], 435_456, BUDGET)
    assert text.startswith("PAYLOAD_BLOAT: this update is about 435 KB, over the 300 KB payload budget")


def test_read_warnings_once_each_then_the_update():
    read = "about 435 KB for 2016 rows exceeds the 300 KB payload budget; choose a shorter window"
    text = payload_notice([read, read], 300_001, BUDGET)
    assert text.count(read) == 1
    assert text.index(read) < text.index("this update is about 300 KB")
    assert text.startswith("PAYLOAD_BLOAT: ")
