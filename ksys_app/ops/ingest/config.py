"""What `ksys ingest` is told: broker, topics, payload format, client id, spool and batching.

Validated here once, so the loop never meets a bad value; every refusal is a ValueError
with a sentence the CLI prints as its one line.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ksys_app.domain.ingest_payloads import FORMATS

DEFAULT_PORT = 1883
# A week: the broker keeps the session (subscriptions and the QoS 1 messages queued for it)
# that long while ingest is down; MQTT 5 caps it at 2^32 - 1 s.
DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600
MAX_SESSION_EXPIRY_S = 2**32 - 1
# MQTT 5 Receive Maximum: how many QoS 1 messages the broker may have sent us unacknowledged.
# Ingest acknowledges only after a batch is written or spooled, so this bounds a batch's messages.
MAX_RECEIVE = 65535


@dataclass(frozen=True)
class Broker:
    host: str
    port: int

    def __str__(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def parse_broker(url: str) -> Broker:
    """`mqtt://host[:port]` (the only scheme: TLS and credentials are left to a local broker or a bridge)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"broker must be mqtt://host[:port], got {url!r}")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        raise ValueError("broker URL takes only mqtt://host[:port] (no user, path or query)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"broker port is not a number in {url!r}") from None
    return Broker(parts.hostname, port)


def check_topic_filter(topic: str) -> str:
    """An MQTT subscription filter: `+` and `#` only as whole levels, `#` only last."""
    if not topic or len(topic.encode("utf-8")) > 65535 or "\x00" in topic:
        raise ValueError(f"topic filter {topic!r} is empty, too long or has a NUL")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if ("#" in level and (level != "#" or i != len(levels) - 1)) or ("+" in level and level != "+"):
            raise ValueError(f"topic filter {topic!r}: '+' and '#' must be whole levels, '#' the last one")
    return topic


def default_client_id() -> str:
    return f"ksys-ingest-{socket.gethostname()}"[:64]


@dataclass(frozen=True)
class IngestConfig:
    broker: Broker
    topics: tuple[str, ...]
    fmt: str = "auto"
    client_id: str = field(default_factory=default_client_id)
    spool_dir: Path = Path(".ksys/ingest-spool")
    spool_max_bytes: int = 1 << 30
    batch_readings: int = 5000          # flush when this many readings wait ...
    max_delay_s: float = 0.5            # ... or the oldest waiting message is this old
    receive_max: int = 10000            # unacknowledged messages the broker may send us
    session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S
    status_every_s: float = 5.0         # ksys.ingest_status row and the ingest_status log line
    rules_every_s: float = 10.0         # how often the QC rules are checked for a change
    retry_db_every_s: float = 2.0       # while the database is unreachable
    keepalive_s: int = 30

    def __post_init__(self) -> None:
        if not self.topics:
            raise ValueError("give at least one --topic")
        for topic in self.topics:
            check_topic_filter(topic)
        if self.fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.fmt!r}")
        if not self.client_id or len(self.client_id) > 256 or not self.client_id.isprintable():
            raise ValueError("client id must be 1 to 256 printable characters")
        if self.spool_max_bytes < 1 << 20:
            raise ValueError("spool max bytes must be at least 1 MiB")
        if not 1 <= self.receive_max <= MAX_RECEIVE:
            raise ValueError(f"receive maximum must be 1..{MAX_RECEIVE}")
        if not 1 <= self.batch_readings <= 100_000:
            raise ValueError("batch size must be 1..100000 readings")
        if not 0 < self.max_delay_s <= 60:
            raise ValueError("max delay must be over 0 and at most 60 s")
        if not 0 <= self.session_expiry_s <= MAX_SESSION_EXPIRY_S:
            raise ValueError(f"session expiry must be 0..{MAX_SESSION_EXPIRY_S} s")
        for name in ("status_every_s", "rules_every_s", "retry_db_every_s"):
            if not 0 < getattr(self, name) <= 3600:
                raise ValueError(f"{name} must be over 0 and at most 3600")

    @property
    def spool_file(self) -> Path:
        # one spool per client id: two instances on one host never share a file
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.client_id)
        return self.spool_dir / f"{safe}.spool"


def spool_dir_default() -> Path:
    return Path(os.environ.get("KSYS_DATA_DIR", ".ksys")) / "ingest-spool"
