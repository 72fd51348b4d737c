"""Waiting and retrying, written once: the backoff after failures and polling
until a condition holds. Used by the admin commands, the simulator, the harness
and the pages (their retry schedule), so all of them back off alike."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

# Seconds before the 1st, 2nd, 3rd, ... retry after consecutive failures; the
# last step repeats. Short first (a blip), capped (an outage) so recovery is
# noticed within 8 s of the database returning.
BACKOFF_S: tuple[int, ...] = (1, 2, 4, 8)


def backoff_s(failures: int, schedule: tuple[float, ...] = BACKOFF_S) -> float:
    """The pause after `failures` consecutive failures (1 = the first failure)."""
    if failures < 1:
        raise ValueError(f"failures counts from 1, got {failures}")
    return schedule[min(failures, len(schedule)) - 1]


def poll(check: Callable[[], T], timeout_s: float, every_s: float = 0.5) -> T:
    """Call `check` until it returns something truthy or `timeout_s` passed;
    returns its last result (falsy on timeout). Exceptions propagate: a check
    that may fail transiently catches them itself."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(max(0.0, min(every_s, deadline - time.monotonic())))


def sleep_unless(seconds: float, should_stop: Callable[[], bool], step_s: float = 0.2) -> bool:
    """Sleep in small steps; True as soon as `should_stop()` is."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if should_stop():
            return True
        time.sleep(min(step_s, deadline - time.monotonic()))
    return should_stop()
