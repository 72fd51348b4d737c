"""What a live page decides each tick of its watch loop: which parts are due, what
the navbar's database indicator says. Pure: times are plain monotonic seconds.
"""

from __future__ import annotations

import math
from typing import Mapping


def due_parts(now: float, read_at: Mapping[str, float], periods: Mapping[str, float],
              min_period_s: float) -> frozenset[str]:
    """Parts whose refresh period (at least min_period_s) has passed since they were
    last read; a part never read is due. A tab shown again after a long time away
    therefore refreshes every part at once."""
    return frozenset(part for part, period in periods.items()
                     if now - read_at.get(part, -math.inf) >= max(period, min_period_s))


def retry_countdown_s(now: float, retry_at: float) -> int:
    """Whole seconds until a retry due at `retry_at`, shown as at least 1 until it runs."""
    return max(1, math.ceil(retry_at - now))


def rows_are_stale(*, stale: bool, probe_down: bool, has_rows: bool) -> bool:
    """The rows on screen are the last good ones: a read served them stale, or the
    probe says the server stopped answering after they were read (the page's own
    next read may be a tick away, or may have been answered from a young cache entry)."""
    return stale or (probe_down and has_rows)


def db_status(*, failed: bool, stale: bool, probe_down: bool, has_rows: bool) -> str:
    """The navbar indicator: "stale" when the rows shown are the last good ones
    (rows_are_stale), "down" when the database fails and there is nothing to show, else "ok".
    """
    if rows_are_stale(stale=stale, probe_down=probe_down, has_rows=has_rows):
        return "stale"
    if failed or probe_down:
        return "down"
    return "ok"


def replica_note(standby, lang: str = "en") -> str:
    """The navbar's note when the dashboard reads a streaming replica (probe.Standby):
    "" on a primary; else whether it is up to date or how many seconds behind it is.
    Under 1 s counts as up to date: the probe itself takes that long to say so.

    A replica cut off from its primary has replayed all it received, so its lag reads
    0: it says it is not receiving instead, and how old its newest change is. A fresh
    replica that has not replayed a transaction yet has no lag in seconds, but does
    know the WAL it still has to replay."""
    from ksys_app.i18n import tr

    if standby is None:
        return ""
    if not standby.receiving:
        if standby.replay_age_s is None:
            return tr(lang, "db.replica_cut_off")
        return tr(lang, "db.replica_cut_off_since", age=short_age(standby.replay_age_s, lang))
    lag = standby.lag_s
    if lag is None:
        if standby.behind_bytes:
            return tr(lang, "db.replica_catching_up", mb=f"{max(standby.behind_bytes / 1e6, 0.1):,.1f}")
        return tr(lang, "db.replica_unknown")
    if lag < 1:
        return tr(lang, "db.replica_current")
    return tr(lang, "db.replica_behind", s=f"{lag:,.0f}")


def short_age(seconds: float, lang: str = "en") -> str:
    """An age in its largest whole unit: 45 s, 12 min, 3 h, 2 d (rounded down: never older than it is)."""
    from ksys_app.i18n import tr

    s = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return tr(lang, f"age.{unit}", n=f"{s // size:,}")
    return tr(lang, "age.s", n=f"{s:,}")
