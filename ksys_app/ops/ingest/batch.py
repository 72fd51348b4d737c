"""A batch: what one flush of ingest writes in one transaction, and its bytes in the spool.

The readings carry their QC flags already (tagged when they arrived, with the rules
of that moment), so a batch replayed from the spool an hour later is written
exactly as it would have been then. Refused messages travel in the same batch:
a dead letter is kept through an outage like a reading.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
DEAD_PAYLOAD_BYTES = 4096      # what a dead letter keeps of its payload (migration 0021's bound)
DEAD_MESSAGE_CHARS = 1000


class Row(NamedTuple):
    """A tuple, like domain/ingest_payloads.Reading: one is built per reading."""
    ts: datetime
    tag: str
    value: float
    qc: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    topic: str
    kind: str
    message: str
    payload: bytes          # the first DEAD_PAYLOAD_BYTES
    payload_bytes: int      # the whole payload's size

    @classmethod
    def of(cls, received_at: datetime, topic: str, kind: str, message: str, payload: bytes) -> "DeadLetter":
        return cls(received_at, topic, kind, message[:DEAD_MESSAGE_CHARS], payload[:DEAD_PAYLOAD_BYTES], len(payload))


@dataclass
class Batch:
    rows: list[Row] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows) + len(self.dead)


def _us(ts: datetime) -> int:
    return (ts - EPOCH) // US


def _ts(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def encode(batch: Batch) -> bytes:
    """Compact JSON: times as epoch microseconds (exact, unlike float seconds)."""
    return json.dumps({
        "r": [[_us(r.ts), r.tag, r.value, r.qc] for r in batch.rows],
        "d": [[_us(d.received_at), d.topic, d.kind, d.message, base64.b64encode(d.payload).decode("ascii"),
               d.payload_bytes] for d in batch.dead],
    }, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode(data: bytes) -> Batch:
    obj = json.loads(data)
    return Batch([Row(_ts(us), tag, float(value), int(qc)) for us, tag, value, qc in obj["r"]],
                 [DeadLetter(_ts(us), topic, kind, message, base64.b64decode(payload), size)
                  for us, topic, kind, message, payload, size in obj["d"]])
