"""The websocket event budget: a burst, then the refill rate; dropped events are counted."""

from __future__ import annotations

import asyncio
import json

import pytest

from ksys_app.eventlimit import LOG_EVERY_S, EventBudget, limit_events


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_refill_rate():
    clock = Clock()
    budget = EventBudget(rate_per_s=10, burst=5, clock=clock)
    assert [budget.allow("a") for _ in range(7)] == [True] * 5 + [False] * 2
    clock.now += 0.25  # 2.5 tokens back: two events
    assert [budget.allow("a") for _ in range(3)] == [True, True, False]
    clock.now += 60  # never more than the burst saved up
    assert sum(budget.allow("a") for _ in range(20)) == 5


def test_connections_have_budgets_of_their_own():
    budget = EventBudget(rate_per_s=1, burst=2, clock=Clock())
    assert [budget.allow("a") for _ in range(3)] == [True, True, False]
    assert [budget.allow("b") for _ in range(2)] == [True, True]


def test_dropped_events_are_reported_at_most_every_log_interval():
    clock = Clock()
    budget = EventBudget(rate_per_s=1, burst=1, clock=clock)
    budget.allow("a")
    for _ in range(4):
        budget.allow("a")
    assert budget.due_report("a") == 4
    budget.allow("a")
    assert budget.due_report("a") == 0  # reported a moment ago
    clock.now += LOG_EVERY_S
    budget.allow("a")  # the bucket refilled: this one passes
    budget.allow("a")
    assert budget.due_report("a") == 2


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 5), (1, 0)])
def test_a_budget_that_would_refuse_everything_is_an_error(rate, burst):
    with pytest.raises(ValueError):
        EventBudget(rate_per_s=rate, burst=burst)


class Namespace:
    """The two handlers of a socket.io namespace that limit_events wraps."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.gone: list[str] = []

    async def on_event(self, sid, data):
        self.events.append((sid, data))

    def on_disconnect(self, sid):
        self.gone.append(sid)


def test_the_wrapped_namespace_passes_the_budget_and_forgets_closed_connections(caplog):
    clock = Clock()
    ns, budget = Namespace(), EventBudget(rate_per_s=1, burst=3, clock=clock)
    limit_events(ns, budget)
    for i in range(10):
        asyncio.run(ns.on_event("s1", {"name": "x.refresh", "i": i}))
    assert [d["i"] for _, d in ns.events] == [0, 1, 2]
    assert any('"event_rate_limited"' in r.getMessage() and '"last_event": "x.refresh"' in r.getMessage()
               for r in caplog.records)
    reported = sum(json.loads(r.getMessage())["dropped"] for r in caplog.records if "event_rate_limited" in r.getMessage())
    assert reported == 1  # the first drop at once; the rest wait for the log interval
    ns.on_disconnect("s1", "client disconnect")  # socket.io passes a reason
    assert ns.gone == ["s1"]
    reported = sum(json.loads(r.getMessage())["dropped"] for r in caplog.records if "event_rate_limited" in r.getMessage())
    assert reported == 7  # the connection closed: what was left is logged
    asyncio.run(ns.on_event("s1", {"name": "x.refresh", "i": 99}))  # a new connection, a full bucket
    assert ns.events[-1][1]["i"] == 99
