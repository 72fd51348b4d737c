"""ksys_app.retry: the one backoff schedule and polling helper."""

from __future__ import annotations

import time

import pytest

from ksys_app.retry import BACKOFF_S, backoff_s, poll, sleep_unless


def test_backoff_steps_then_stays_at_the_last():
    assert [backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8] == [*BACKOFF_S, 8, 8]
    assert backoff_s(3, schedule=(0.5, 1.5)) == 1.5
    with pytest.raises(ValueError):
        backoff_s(0)


def test_poll_returns_the_first_truthy_result_or_the_last_on_timeout():
    calls = iter([0, None, "ready", "later"])
    assert poll(lambda: next(calls), timeout_s=5, every_s=0.01) == "ready"
    t0 = time.monotonic()
    assert poll(lambda: [], timeout_s=0.2, every_s=0.05) == []
    assert 0.2 <= time.monotonic() - t0 < 1.0


def test_sleep_unless_stops_early():
    t0 = time.monotonic()
    assert sleep_unless(5, lambda: time.monotonic() - t0 > 0.1, step_s=0.02) is True
    assert time.monotonic() - t0 < 1.0
    assert sleep_unless(0.05, lambda: False) is False
