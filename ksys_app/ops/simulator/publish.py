"""`ksys simulate --follow --mqtt URL`: the simulator's live readings published to a broker
instead of written to the database, so the demo's live data takes the plant's path
(simulator → Mosquitto → `ksys ingest` → influx_hist).

One message per grid timestamp, a batch of every tag's reading at it (the batch shape of
domain/ingest_payloads.py), at QoS 1 on `ksys/sim/batch`. Dropped readings (the
simulator's communication dropouts) are left out, as a silent device would leave them.
paho-mqtt keeps QoS 1 messages that the broker has not acknowledged and sends them
again after a reconnect, so a broker restart loses nothing the simulator published
while it was connected; while it cannot connect, it keeps publishing into paho's queue
(bounded: MAX_QUEUED messages, then the oldest are the ones a restart replays).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ksys_app.ops.ingest.config import parse_broker
from ksys_app.ops.simulator import signals
from ksys_app.ops.simulator.runner import SimConfig, utc_now
from ksys_app.ops.simulator.signals import epoch, grid_floor, to_datetime

TOPIC = "ksys/sim/batch"
MAX_QUEUED = 100_000  # messages paho holds while the broker is away (a day of 10 s grid points)
Out = Callable[[str], None]


@dataclass
class PublishStats:
    messages: int = 0
    readings: int = 0


def _batch(ts: int, block: dict[str, list], index: int) -> bytes:
    at = to_datetime(ts).isoformat()
    return json.dumps([{"tag": tag, "ts": at, "value": values[index]}
                       for tag, values in block.items() if values[index] is not None]).encode()


def follow_mqtt(broker_url: str, cfg: SimConfig, *, stop: threading.Event | None = None,
                now: Callable = utc_now, out: Out = print, client_id: str = "ksys-simulator") -> PublishStats:
    """Publish a reading per tag at every grid timestamp from now on until `stop` is set."""
    broker = parse_broker(broker_url)
    stop = stop or threading.Event()
    stats = PublishStats()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                         clean_session=False)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=1, max_delay=8)
    connected = threading.Event()

    def on_connect(_c, _u, _flags, reason, _props):
        if not reason.is_failure:
            connected.set()
            out(f"publishing to {broker} {TOPIC}")

    def on_disconnect(_c, _u, _flags, reason, _props):
        if connected.is_set():
            out(f"broker unavailable ({reason}); reconnecting")
        connected.clear()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    client.connect_async(broker.host, broker.port, keepalive=30)
    client.loop_start()
    interval = cfg.interval_s
    written = grid_floor(now(), interval)
    try:
        while not stop.is_set():
            t = grid_floor(now(), interval)
            if t > written:
                for ts_list, block in signals.generate(cfg.seed, cfg.tags, written, t, interval):
                    for i, ts in enumerate(ts_list):
                        payload = _batch(ts, block, i)
                        if payload != b"[]":
                            client.publish(TOPIC, payload, qos=1)
                            stats.messages += 1
                            stats.readings += payload.count(b'"tag"')
                written = t
            if stop.wait(max(0.0, t + interval - epoch(now())) + 0.005):
                break
    finally:
        client.loop_stop()
        client.disconnect()
    return stats
