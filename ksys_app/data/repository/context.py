"""What a read is about (for its ReadResult and log lines), and a timing helper."""

from __future__ import annotations

import dataclasses
import time


@dataclasses.dataclass(frozen=True, slots=True)
class ReadContext:
    """What a read is about, for its ReadResult and log lines."""
    window: str | None = None  # window code (or start day for /comm)
    tag: str | None = None
    view: str | None = None  # relation read


def ms_since(t0: float) -> float:
    return (time.monotonic() - t0) * 1000.0
