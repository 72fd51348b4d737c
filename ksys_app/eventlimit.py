"""A budget of websocket events per connection.

Any websocket client can send events in a loop: a script with one connection
could keep the server busy loading and saving its state for every frame (each
event is a state load, a handler and a delta), slowing every operator's screen.
A person at a touchscreen sends a few events a second at most (a click, a
select, a page change with its hydrate and load), so each connection gets a
token bucket: `burst` events at once, refilled at `rate_per_s`. Events beyond
it are dropped before Reflex sees them and logged (event_rate_limited: the first
drop at once, then at most once per connection every LOG_EVERY_S, and what is
left when the connection closes). Reflex's browser client does not wait
for an answer to an event before sending the next, so a dropped event cannot
stall an honest tab's queue; it only loses that click.

A client that reconnects gets a new bucket; the engine.io handshake it needs
for that costs it more than it costs the server.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from cachetools import LRUCache

from ksys_app import logevents

LOG_EVERY_S = 10.0
MAX_TRACKED = 10_000  # connections remembered; the least recently active are forgotten first


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # monotonic time `tokens` was computed
    dropped: int = 0  # since the last log line
    logged_at: float = float("-inf")


class EventBudget:
    """Token buckets keyed by connection id; `allow` spends one token or says no."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s, self.burst, self._clock = rate_per_s, burst, clock
        self._buckets: LRUCache = LRUCache(maxsize=MAX_TRACKED)

    def allow(self, key: str) -> bool:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), at=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        bucket.dropped += 1
        return False

    def due_report(self, key: str) -> int:
        """Events dropped for `key` since its last report, when a report is due (else 0)."""
        bucket = self._buckets.get(key)
        if bucket is None or not bucket.dropped or self._clock() - bucket.logged_at < LOG_EVERY_S:
            return 0
        dropped, bucket.dropped, bucket.logged_at = bucket.dropped, 0, self._clock()
        return dropped

    def forget(self, key: str) -> int:
        """Drop the bucket of a closed connection; the events dropped since its last report."""
        bucket = self._buckets.pop(key, None)
        return bucket.dropped if bucket is not None else 0


def limit_events(namespace: Any, budget: EventBudget) -> None:
    """Put `budget` in front of a Reflex EventNamespace: its on_event handler (one
    call per event frame) and on_disconnect (the connection's bucket goes with it)."""
    on_event: Callable[[str, Any], Awaitable[None]] = namespace.on_event
    on_disconnect = namespace.on_disconnect

    last_event: dict[str, str | None] = {}  # sid -> name of its last dropped event, until reported

    def report(sid: str, dropped: int) -> None:
        logevents.log_event(logevents.EVENT_RATE_LIMITED, dropped=dropped, sid=sid,
                            last_event=last_event.pop(sid, None), rate_per_s=budget.rate_per_s, burst=budget.burst)

    @functools.wraps(on_event)
    async def limited_on_event(sid: str, data: Any) -> None:
        if budget.allow(sid):
            return await on_event(sid, data)
        name = data.get("name") if isinstance(data, dict) else None
        last_event[sid] = logevents.printable(name) if name is not None else None
        dropped = budget.due_report(sid)
        if dropped:
            report(sid, dropped)

    @functools.wraps(on_disconnect)
    def forgetting_on_disconnect(sid: str, *_reason: Any) -> Any:
        dropped = budget.forget(sid)
        if dropped:
            report(sid, dropped)
        last_event.pop(sid, None)
        return on_disconnect(sid)  # Reflex's handler takes the sid only

    namespace.on_event = limited_on_event
    namespace.on_disconnect = forgetting_on_disconnect
