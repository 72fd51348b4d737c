"""Ingest's counters, and the status it publishes every few seconds: a JSON log line
(`ingest_status`) and its row of ksys.ingest_status, which `ksys doctor` reads."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ksys_app.logevents import INGEST_STATUS, log_event

UPSERT = """
INSERT INTO ksys.ingest_status AS s (client_id, started_at, beat_at, beat_every_s, broker, topics, connected,
    messages, readings, rejected, rejects_by_kind, messages_per_s, readings_per_s, lag_s,
    spool_bytes, spool_max_bytes, spool_full, rules, rules_loaded_at, last_error, last_error_at)
VALUES (%(client_id)s, %(started_at)s, now(), %(beat_every_s)s, %(broker)s, %(topics)s, %(connected)s,
    %(messages)s, %(readings)s, %(rejected)s, %(rejects_by_kind)s, %(messages_per_s)s, %(readings_per_s)s, %(lag_s)s,
    %(spool_bytes)s, %(spool_max_bytes)s, %(spool_full)s, %(rules)s, %(rules_loaded_at)s, %(last_error)s,
    %(last_error_at)s)
ON CONFLICT (client_id) DO UPDATE SET started_at = excluded.started_at, beat_at = excluded.beat_at,
    beat_every_s = excluded.beat_every_s, broker = excluded.broker, topics = excluded.topics,
    connected = excluded.connected, messages = excluded.messages, readings = excluded.readings,
    rejected = excluded.rejected, rejects_by_kind = excluded.rejects_by_kind,
    messages_per_s = excluded.messages_per_s, readings_per_s = excluded.readings_per_s, lag_s = excluded.lag_s,
    spool_bytes = excluded.spool_bytes, spool_max_bytes = excluded.spool_max_bytes, spool_full = excluded.spool_full,
    rules = excluded.rules, rules_loaded_at = excluded.rules_loaded_at, last_error = excluded.last_error,
    last_error_at = excluded.last_error_at
"""


@dataclass
class Stats:
    started_at: datetime
    messages: int = 0            # received (readings and refusals)
    readings: int = 0            # written to the database (directly or from the spool)
    rejected: int = 0
    rejects: Counter = field(default_factory=Counter)
    spooled_batches: int = 0
    replayed_batches: int = 0
    lag_s: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    _mark: tuple[float, int, int] = field(default_factory=lambda: (time.monotonic(), 0, 0))

    def error(self, text: str, at: datetime) -> None:
        self.last_error, self.last_error_at = text[:1000], at

    def rates(self) -> tuple[float, float]:
        """Messages/s and readings/s since the previous call."""
        t0, m0, r0 = self._mark
        t = time.monotonic()
        dt = max(t - t0, 1e-6)
        self._mark = (t, self.messages, self.readings)
        return (self.messages - m0) / dt, (self.readings - r0) / dt


def status_fields(stats: Stats, *, client_id: str, broker: str, topics: tuple[str, ...], connected: bool,
                  beat_every_s: float, spool_bytes: int, spool_max_bytes: int, spool_full: bool, rules: int,
                  rules_loaded_at: datetime | None) -> dict:
    msg_rate, reading_rate = stats.rates()
    return {"client_id": client_id, "started_at": stats.started_at, "beat_every_s": beat_every_s, "broker": broker,
            "topics": list(topics), "connected": connected, "messages": stats.messages, "readings": stats.readings,
            "rejected": stats.rejected, "rejects_by_kind": dict(stats.rejects),
            "messages_per_s": round(msg_rate, 1), "readings_per_s": round(reading_rate, 1),
            "lag_s": None if stats.lag_s is None else round(stats.lag_s, 3),
            "spool_bytes": spool_bytes, "spool_max_bytes": spool_max_bytes, "spool_full": spool_full,
            "rules": rules, "rules_loaded_at": rules_loaded_at,
            "last_error": stats.last_error, "last_error_at": stats.last_error_at}


def publish(conn: psycopg.Connection | None, fields: dict) -> None:
    """The log line always; the row when the database is there (a failure raises, for the caller's outage path)."""
    log_event(INGEST_STATUS, view="ingest", rowcount=fields["readings"],
              **{k: v for k, v in fields.items() if k not in ("topics",)})
    if conn is not None:
        from psycopg.types.json import Jsonb

        conn.execute(UPSERT, {**fields, "rejects_by_kind": Jsonb(fields["rejects_by_kind"])})
