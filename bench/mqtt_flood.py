"""A publisher fast enough not to be what the ingest benchmark measures.

paho's publish() costs tens of microseconds of Python per message, so a paho
publisher tops out near the rate it is meant to measure (single-reading messages
looked limited by it at ~4.6k/s). Here every QoS 1 PUBLISH packet is encoded before
the clock starts and written to the socket in large slices; a thread counts the
PUBACKs (4 bytes each, MQTT 3.1.1) so that at most WINDOW are unacknowledged and
no packet id is reused while in flight. Several of these run as processes.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import struct
import threading
import time

WINDOW = 30_000            # unacknowledged publishes; below the 65535 packet ids
SLICE = 2_000              # packets per sendall


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack(">H", len(b)) + b


def connect_packet(client_id: str, keepalive: int = 60) -> bytes:
    body = _str("MQTT") + bytes([4, 0x02]) + struct.pack(">H", keepalive) + _str(client_id)
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: str, packet_id: int, payload: bytes) -> bytes:
    body = _str(topic) + struct.pack(">H", packet_id) + payload
    return b"\x32" + _varint(len(body)) + body


class Flood:
    """One MQTT connection that sends pre-encoded QoS 1 publishes and counts their PUBACKs."""

    def __init__(self, port: int, client_id: str):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(connect_packet(client_id))
        connack = self.sock.recv(4)
        if connack[:1] != b"\x20" or connack[3:4] != b"\x00":
            raise RuntimeError(f"broker refused the connection: {connack!r}")
        self.acked = 0
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._count_acks, daemon=True)
        self._reader.start()

    def _count_acks(self) -> None:
        received = 0
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:     # closed by close()
                return
            if not chunk:
                return
            received += len(chunk)
            with self._cond:
                self.acked = received // 4
                self._cond.notify_all()

    def _wait_acked(self, n: int, timeout_s: float = 300) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.acked >= n, timeout_s):
                raise TimeoutError(f"{self.acked} of {n} publishes acknowledged")

    def send(self, packets: list[bytes]) -> None:
        """All of `packets`, then wait for the broker to have acknowledged every one."""
        base = self.acked
        for start in range(0, len(packets), SLICE):
            self._wait_acked(base + start + SLICE - WINDOW)
            self.sock.sendall(b"".join(packets[start:start + SLICE]))
        self._wait_acked(base + len(packets))

    def close(self) -> None:
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


def encode(topic: str, payloads: list[bytes]) -> list[bytes]:
    return [publish_packet(topic, i % 65535 + 1, p) for i, p in enumerate(payloads)]


def _worker(port: int, client_id: str, topic: str, payloads: list[bytes], go, done) -> None:
    packets = encode(topic, payloads)
    flood = Flood(port, client_id)
    done.put(("ready", client_id))
    go.wait()
    t0 = time.monotonic()
    flood.send(packets)
    done.put(("sent", time.monotonic() - t0))
    flood.close()


def publish_parallel(port: int, topic: str, parts: list[list[bytes]], timeout_s: float = 600) -> float:
    """Each list of payloads from its own process, all started at once; returns when every
    process has its publishes acknowledged by the broker, with the seconds that took."""
    ctx = mp.get_context("fork")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(port, f"bench-flood-{i}", topic, part, go, done), daemon=True)
             for i, part in enumerate(parts)]
    for p in procs:
        p.start()
    for _ in procs:
        done.get(timeout=timeout_s)
    t0 = time.monotonic()
    go.set()
    for _ in procs:
        done.get(timeout=timeout_s)
    took = time.monotonic() - t0
    for p in procs:
        p.join(10)
    return took
