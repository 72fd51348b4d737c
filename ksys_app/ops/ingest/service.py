"""The ingest loop: MQTT messages in, batches out to the database or the spool, then PUBACK.

Threads: paho's network thread (loop_start) receives, parses each message at once
(domain/ingest_payloads.parse, stamped with its arrival time) and queues it; this
module's loop, in the caller's thread, takes from the queue, and when a batch is
due (enough readings, or the oldest message waited `max_delay_s`) tags it, writes
it, and only then acknowledges its messages:

    database reachable, spool empty -> write, commit, PUBACK
    database down, or spool not empty (order) -> append to the spool, fsync, PUBACK
    spool full -> hold the batch unacknowledged (the broker keeps every later message:
                  it sends at most `receive_max` unacknowledged ones), alarm, retry

So a SIGKILL loses nothing acknowledged; what was not acknowledged the broker sends
again (QoS 1, a persistent session: clean_start false and a session expiry), and the
writer's ON CONFLICT makes the second copy harmless.

Acknowledgements go out under `_conn_lock`, only for messages of the current
connection: after a reconnect the broker resends what was not acknowledged, and a
packet id of the old connection must not acknowledge a new message that reuses it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import psycopg

from ksys_app.domain.ingest_payloads import Reading, Rejected, parse, preview
from ksys_app.logevents import (
    INGEST_BROKER_BACK,
    INGEST_BROKER_DOWN,
    INGEST_DB_BACK,
    INGEST_DB_DOWN,
    INGEST_REJECT,
    INGEST_RULES_LOADED,
    INGEST_SPOOL_FULL,
    INGEST_SPOOL_REPLAYED,
    INGEST_SPOOL_TORN,
    INGEST_START,
    INGEST_STOP,
    log_event,
)
from ksys_app.ops.db import first_line
from ksys_app.ops.errors import OpsError
from ksys_app.ops.ingest import batch as batches
from ksys_app.ops.ingest import status, writer
from ksys_app.ops.ingest.config import IngestConfig
from ksys_app.ops.ingest.qc_tagger import QcTagger
from ksys_app.ops.ingest.spool import Spool

STATEMENT_TIMEOUT_MS = 30_000   # a stuck write must not hold the loop (and the broker's keepalive) for minutes
REPLAY_SLICE_S = 0.5            # replay this long, then serve the broker again
OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class Message:
    mid: int
    qos: int
    gen: int                     # connection it arrived on
    topic: str
    payload: bytes
    received_at: datetime
    arrived: float               # monotonic
    readings: list[Reading] | None
    rejected: Rejected | None


@dataclass
class Held:
    """A batch neither written nor spooled (spool full): its messages stay unacknowledged."""
    batch: batches.Batch
    messages: list[Message] = field(default_factory=list)


class Ingest:
    def __init__(self, cfg: IngestConfig, dsn: str, *, stop: threading.Event | None = None,
                 connect_db: Callable[[str], psycopg.Connection] | None = None):
        self.cfg, self.dsn = cfg, dsn
        self.stop = stop or threading.Event()
        self._connect_db = connect_db or self._default_connect
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.pending: list[Message] = []
        self.pending_readings = 0
        self.held: deque[Held] = deque()
        self.db: psycopg.Connection | None = None
        self.db_retry_at = 0.0
        self.tagger = QcTagger()
        self.stats = status.Stats(started_at=utc_now())
        self.kinds_logged: set[str] = set()
        self.spool_full = False
        self._conn_lock = threading.Lock()
        self._gen = 0
        self._connected = False
        self._ever_connected = False
        self.client = None
        self.spool: Spool | None = None

    # -- database ---------------------------------------------------------------------
    def _default_connect(self, dsn: str) -> psycopg.Connection:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5, application_name=self.cfg.client_id[:63],
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")

    def _db(self) -> psycopg.Connection | None:
        """The connection, reconnecting at most every retry_db_every_s; None while the database is down."""
        if self.db is not None:
            return self.db
        if time.monotonic() < self.db_retry_at:
            return None
        try:
            conn = self._connect_db(self.dsn)
            writer.prepare(conn)
            self._refresh_rules(conn)
        except OUTAGE as exc:
            self._lost_db(exc, connecting=True)
            return None
        self.db = conn
        if self._db_was_down:
            log_event(INGEST_DB_BACK, view="ingest", spool_bytes=self.spool.pending_bytes)
        self._db_was_down = False
        return conn

    _db_was_down = False

    def _lost_db(self, exc: BaseException, connecting: bool = False) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.db = None
        self.db_retry_at = time.monotonic() + self.cfg.retry_db_every_s
        text = first_line(exc)
        if not self._db_was_down:
            log_event(INGEST_DB_DOWN, view="ingest", error=text, connecting=connecting,
                      action="spooling batches to disk")
        self._db_was_down = True
        self.stats.error(f"database: {text}", utc_now())

    def _refresh_rules(self, conn: psycopg.Connection) -> None:
        if self.tagger.refresh(conn, utc_now()):
            log_event(INGEST_RULES_LOADED, view="ingest", rowcount=len(self.tagger.rules))
        self.rules_checked = time.monotonic()

    rules_checked = 0.0

    # -- MQTT (network thread) ------------------------------------------------------
    def _on_connect(self, client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.stats.error(f"broker refused the connection: {reason_code}", utc_now())
            log_event(INGEST_BROKER_DOWN, view="ingest", error=str(reason_code))
            return
        from paho.mqtt.subscribeoptions import SubscribeOptions

        with self._conn_lock:
            self._connected = True
        # retainHandling 1: a retained message comes only with a new subscription, not on
        # every reconnect (a bare number stamped on arrival would be a new reading each time)
        client.subscribe([(t, SubscribeOptions(qos=1, retainHandling=1)) for t in self.cfg.topics])
        log_event(INGEST_BROKER_BACK if self._ever_connected else INGEST_START, view="ingest",
                  broker=str(self.cfg.broker), client_id=self.cfg.client_id, topics=list(self.cfg.topics),
                  session_present=bool(flags.session_present), format=self.cfg.fmt)
        self._ever_connected = True

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        with self._conn_lock:
            self._connected = False
            self._gen += 1
        if not self.stop.is_set():
            self.stats.error(f"broker: disconnected ({reason_code})", utc_now())
            log_event(INGEST_BROKER_DOWN, view="ingest", error=str(reason_code), action="reconnecting")

    def _on_message(self, _client, _userdata, msg) -> None:
        received = utc_now()
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)[:200]
        readings, rejected = None, None
        try:
            readings = parse(topic, msg.payload, self.cfg.fmt, received)
        except Rejected as exc:
            rejected = exc
        self.inbox.put(Message(msg.mid, msg.qos, self._gen, topic, msg.payload, received, time.monotonic(),
                               readings, rejected))

    def _client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        client.on_connect, client.on_disconnect, client.on_message = (
            self._on_connect, self._on_disconnect, self._on_message)
        client.reconnect_delay_set(1, 30)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_s
        props.ReceiveMaximum = self.cfg.receive_max
        client.connect_async(self.cfg.broker.host, self.cfg.broker.port, keepalive=self.cfg.keepalive_s,
                             clean_start=False, properties=props)
        return client

    def _ack(self, messages: list[Message]) -> None:
        with self._conn_lock:
            if not self._connected:
                return
            for m in messages:
                if m.gen == self._gen and m.qos > 0:
                    self.client.ack(m.mid, m.qos)

    # -- batches (this thread) ----------------------------------------------------------
    def _take(self, m: Message) -> None:
        self.stats.messages += 1
        self.pending.append(m)
        if m.rejected is not None:
            kind = m.rejected.kind
            self.stats.rejected += 1
            self.stats.rejects[kind] += 1
            if kind not in self.kinds_logged:   # once per kind, with an example; the rest are counted
                self.kinds_logged.add(kind)
                log_event(INGEST_REJECT, view="ingest", kind=kind, topic=m.topic, error=str(m.rejected),
                          example=preview(m.payload.decode("utf-8", "replace")), note="further ones are counted")
        else:
            self.pending_readings += len(m.readings)

    def _due(self) -> bool:
        if not self.pending:
            return False
        return (self.pending_readings >= self.cfg.batch_readings or len(self.pending) >= self.cfg.receive_max
                or time.monotonic() - self.pending[0].arrived >= self.cfg.max_delay_s)

    def _flush(self) -> None:
        messages, self.pending, self.pending_readings = self.pending, [], 0
        readings = [r for m in messages if m.readings for r in m.readings]
        dead = [batches.DeadLetter.of(m.received_at, m.topic, m.rejected.kind, str(m.rejected), m.payload)
                for m in messages if m.rejected is not None]
        batch = batches.Batch(self.tagger.tag(readings), dead)
        if self.held or (self.spool.has_pending and not self._drain_spool()):
            self._spool_or_hold(batch, messages)
            return
        if self._write(batch):
            self._ack(messages)
        else:
            self._spool_or_hold(batch, messages)

    def _write(self, batch: batches.Batch) -> bool:
        conn = self._db()
        if conn is None:
            return False
        try:
            writer.write_batch(conn, batch, self.cfg.client_id)
        except OUTAGE as exc:
            self._lost_db(exc)
            return False
        except psycopg.Error as exc:
            # not an outage (no rights, a schema that does not match): spooling would only
            # postpone it. Nothing of this batch was acknowledged; the broker keeps it.
            raise OpsError(f"the database refused a batch: {first_line(exc)} (nothing of it was acknowledged; "
                           "fix the cause and start ingest again)") from None
        self.stats.readings += len(batch.rows)
        if batch.rows:
            self.stats.lag_s = (utc_now() - max(r.ts for r in batch.rows)).total_seconds()
        return True

    def _spool_or_hold(self, batch: batches.Batch, messages: list[Message]) -> None:
        body = batches.encode(batch)
        if not self.held and self.spool.append(body):
            self.stats.spooled_batches += 1
            self._ack(messages)
            return
        if not self.spool_full:
            self.spool_full = True
            log_event(INGEST_SPOOL_FULL, view="ingest", spool_bytes=self.spool.size,
                      spool_max_bytes=self.spool.max_bytes,
                      action="no longer acknowledging: the broker keeps the messages until the database is back")
            self.stats.error(f"spool full ({self.spool.size:,} of {self.spool.max_bytes:,} bytes)", utc_now())
        self.held.append(Held(batch, messages))

    def _drain_spool(self, budget_s: float = REPLAY_SLICE_S) -> bool:
        """Replay spooled batches in order for up to budget_s; True when the spool is empty."""
        if not self.spool.has_pending:
            return True
        t0, n, rows = time.monotonic(), 0, 0
        while self.spool.has_pending and time.monotonic() - t0 < budget_s:
            conn = self._db()
            if conn is None:
                return False
            body, after = self.spool.peek()
            batch = batches.decode(body)
            if not self._write(batch):
                return False
            self.spool.done(after)
            n, rows = n + 1, rows + len(batch.rows)
            self.stats.replayed_batches += 1
        if n:
            log_event(INGEST_SPOOL_REPLAYED, view="ingest", rowcount=rows, batches=n,
                      dur_ms=(time.monotonic() - t0) * 1000, spool_bytes=self.spool.pending_bytes)
        return not self.spool.has_pending

    def _drain_held(self) -> None:
        """Held batches (spool full) once the spool is empty: written, then acknowledged."""
        while self.held and not self.spool.has_pending:
            held = self.held[0]
            live = [m for m in held.messages if m.gen == self._gen]
            if not live and held.messages:     # the broker resends these after the reconnect
                self.held.popleft()
                continue
            if not self._write(held.batch):
                return
            self._ack(held.messages)
            self.held.popleft()
        if not self.held and self.spool_full:
            self.spool_full = False

    # -- the loop ---------------------------------------------------------------------
    def _periodic(self, now: float, last_status: list[float]) -> None:
        if self.spool.has_pending or self.held:
            if self._drain_spool():
                self._drain_held()
        if self.db is not None and now - self.rules_checked >= self.cfg.rules_every_s:
            try:
                self._refresh_rules(self.db)
            except OUTAGE as exc:
                self._lost_db(exc)
        if now - last_status[0] >= self.cfg.status_every_s:
            last_status[0] = now
            self._beat()

    def _beat(self) -> None:
        with self._conn_lock:
            connected = self._connected
        fields = status.status_fields(
            self.stats, client_id=self.cfg.client_id, broker=str(self.cfg.broker), topics=self.cfg.topics,
            connected=connected, beat_every_s=self.cfg.status_every_s, spool_bytes=self.spool.pending_bytes,
            spool_max_bytes=self.spool.max_bytes, spool_full=self.spool_full, rules=len(self.tagger.rules),
            rules_loaded_at=self.tagger.loaded_at)
        conn = self._db()
        try:
            status.publish(conn, fields)
        except OUTAGE as exc:
            self._lost_db(exc)

    def run(self) -> status.Stats:
        try:
            self.spool = Spool(self.cfg.spool_file, self.cfg.spool_max_bytes)
        except (OSError, ValueError) as exc:
            raise OpsError(f"cannot open the spool {self.cfg.spool_file}: {exc}") from None
        if self.spool.torn:
            t = self.spool.torn
            log_event(INGEST_SPOOL_TORN, view="ingest", offset=t.offset, dropped_bytes=t.dropped_bytes, reason=t.reason,
                      note="a record cut short by a crash; it was never acknowledged, the broker resends it")
        self._db()
        self.client = self._client()
        self.client.loop_start()
        last_status = [0.0]
        try:
            while not self.stop.is_set():
                timeout = self.cfg.max_delay_s / 4
                try:
                    self._take(self.inbox.get(timeout=timeout))
                    while True:   # whatever else arrived, without waiting
                        self._take(self.inbox.get_nowait())
                        if self._due():
                            break
                except queue.Empty:
                    pass
                if self._due():
                    self._flush()
                self._periodic(time.monotonic(), last_status)
            self._shutdown()
        finally:
            self.client.loop_stop()
            if self.db is not None:
                self.db.close()
            self.spool.close()
        return self.stats

    def _shutdown(self) -> None:
        """SIGTERM / Ctrl-C: what was received is written or spooled and acknowledged, then a clean
        DISCONNECT (the session stays on the broker for its expiry)."""
        while True:
            try:
                self._take(self.inbox.get_nowait())
            except queue.Empty:
                break
        if self.pending:
            self._flush()
        self._beat()
        log_event(INGEST_STOP, view="ingest", messages=self.stats.messages, readings=self.stats.readings,
                  spool_bytes=self.spool.pending_bytes)
        self.client.disconnect()
