"""A bare Reflex websocket client for tests that forge event frames and for bench.sessions.

It speaks engine.io v4 / socket.io v5 by hand over a plain socket with wsproto (in the venv
through uvicorn), single-threaded, the way the dashboard's own frontend does: connect to
`/_event/?EIO=4&transport=websocket&token=<tab token>`, join the `/_event` namespace, then
send `42/_event,["event", {name, payload, router_data}]` text frames. Nothing is checked
or encoded for the caller: `send_raw` puts any text on the wire, so malformed frames can
be sent too. Answers are collected as they come: the updates the server emits
(`["event", {delta, events, ...}]`) and every raw text frame (for secret checks).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"


def state_name(cls_path: str) -> str:
    """ksys_app.states.trend.TrendState -> reflex___state____state.ksys_app___states___trend____trend_state."""
    module, _, cls = cls_path.rpartition(".")
    snake = "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(cls))
    return f"{ROOT_STATE}.{module.replace('.', '___')}____{snake}"


class ReflexSocket:
    """One tab's websocket: a token, a socket.io sid, the frames that came back."""

    def __init__(self, url: str, token: str | None = None, origin: str | None = None, timeout_s: float = 10.0):
        parts = urlsplit(url)
        self.base = url
        self.token = token or str(uuid.uuid4())
        self.ws = _Websocket(parts.hostname or "127.0.0.1", parts.port or 80,
                             f"{NAMESPACE}/?EIO=4&transport=websocket&token={self.token}", origin, timeout_s)
        self.frames: list[str] = []  # every text frame received
        self.updates: list[dict] = []  # the `event` payloads (state updates) received
        self.disconnected = False
        opened = self._recv(timeout_s)
        if not opened or not opened.startswith("0"):
            raise ConnectionError(f"no engine.io open packet: {opened!r}")
        self.eio_sid = json.loads(opened[1:])["sid"]
        self.ws.send(f"40{NAMESPACE},")
        deadline = time.monotonic() + timeout_s
        self.sid = ""
        while not self.sid and time.monotonic() < deadline:
            frame = self._recv(deadline - time.monotonic())
            if frame and frame.startswith(f"40{NAMESPACE},"):
                self.sid = json.loads(frame[len(f"40{NAMESPACE},"):])["sid"]
            elif frame and frame.startswith(f"44{NAMESPACE},"):
                raise ConnectionError(f"namespace refused: {frame}")
        if not self.sid:
            raise ConnectionError("no socket.io connect answer")

    def _recv(self, timeout_s: float) -> str | None:
        frame = self.ws.receive(max(0.01, timeout_s))
        if frame is None:
            self.disconnected = self.ws.closed
            return None
        self.frames.append(frame)
        if frame == "2":  # engine.io ping: answer, or the server closes the connection
            self.ws.send("3")
        elif frame.startswith(f"42{NAMESPACE},"):
            try:
                name, *args = json.loads(frame[len(f"42{NAMESPACE},"):])
            except ValueError:
                return frame
            if name == "event" and args and isinstance(args[0], dict):
                self.updates.append(args[0])
        elif frame.startswith("1") or frame.startswith(f"41{NAMESPACE}"):
            self.disconnected = True
        return frame

    def router_data(self, path: str = "/", query: str = "") -> dict[str, Any]:
        as_path = path + (f"?{query}" if query else "")
        return {"pathname": path, "asPath": as_path}

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def emit(self, name: str, payload: Any = None, router_data: Any = None, **fields: Any) -> None:
        """One event frame: `name` (a full handler name), its payload and router data as given."""
        frame = {"name": name, "payload": {} if payload is None else payload,
                 "router_data": self.router_data() if router_data is None else router_data, **fields}
        self.send_raw(f"42{NAMESPACE}," + json.dumps(["event", frame]))

    def drain(self, seconds: float) -> None:
        """Collect what arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.disconnected:
            self._recv(deadline - time.monotonic())

    def wait_for(self, predicate, timeout_s: float = 10.0, since: int = 0) -> dict | None:
        """The first update from the `since`-th on (new or already received) for which
        predicate(update) is true."""
        seen = since
        deadline = time.monotonic() + timeout_s
        while True:
            for update in self.updates[seen:]:
                if predicate(update):
                    return update
            seen = len(self.updates)
            if time.monotonic() >= deadline or self.disconnected:
                return None
            self._recv(min(0.5, deadline - time.monotonic()))

    def close(self) -> None:
        self.ws.close()


class _Websocket:
    """A client websocket on a blocking socket: text frames in and out, nothing else."""

    def __init__(self, host: str, port: int, target: str, origin: str | None, timeout_s: float):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.pending: list[str] = []
        self.closed = False
        self._parts: list[str] = []
        headers = [(b"origin", origin.encode())] if origin else []
        self.sock.sendall(self.conn.send(Request(host=f"{host}:{port}", target=target, extra_headers=headers)))
        deadline = time.monotonic() + timeout_s
        self.accepted = False
        while not self.accepted and not self.closed and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        if not self.accepted:
            raise ConnectionError("websocket handshake refused or timed out")

    def _read(self, timeout_s: float) -> None:
        self.sock.settimeout(max(0.01, timeout_s))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        except OSError:
            data = b""
        self.conn.receive_data(data or None)
        if not data:
            self.closed = True
        for event in self.conn.events():
            if isinstance(event, AcceptConnection):
                self.accepted = True
            elif isinstance(event, RejectConnection):
                self.closed = True
            elif isinstance(event, TextMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    self.pending.append("".join(self._parts))
                    self._parts = []
            elif isinstance(event, BytesMessage):
                if event.message_finished:
                    self.pending.append(bytes(event.data).decode("utf-8", "replace"))
            elif isinstance(event, Ping):
                self._write(self.conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = True
                try:
                    self._write(self.conn.send(event.response()))
                except Exception:  # noqa: BLE001 - the state machine may refuse after a close
                    pass

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def send(self, text: str) -> None:
        if not self.closed:
            self._write(self.conn.send(TextMessage(data=text)))

    def receive(self, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while not self.pending and not self.closed and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.pending.pop(0) if self.pending else None

    def close(self) -> None:
        if not self.closed:
            try:
                self._write(self.conn.send(CloseConnection(code=1000)))
            except Exception:  # noqa: BLE001 - already closing
                pass
            self.closed = True
        self.sock.close()


def delta_has(update: dict, state: str, var: str, value: Any = ...) -> bool:
    """Whether a state update's delta sets `var` of `state` (to `value`, when given)."""
    delta = update.get("delta") or {}
    sub = delta.get(state) or {}
    key = next((k for k in sub if k == var or k.startswith(f"{var}_rx_state_") or k == f"{var}_rx_state_"), None)
    if key is None:
        return False
    return value is ... or sub[key] == value
