"""Real parts for `ksys ingest`: a Mosquitto broker each test starts on a free port
(persistence on, in its tmp folder), a migrated database, `ksys ingest` as a real
process (so a test can SIGKILL it), and a QoS 1 publisher.

The database outage tests need a server they may stop: `outage_cluster`, a second
small cluster of their own (ksys_dev.localpg), never the session's shared one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from ksys_app.retry import poll
from ksys_dev.mosquitto import Mosquitto, find_mosquitto

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (scripts/install-system-deps.sh)")
    m = Mosquitto(base=tmp_path / "mqtt")
    m.base.mkdir()
    m.start()
    yield m
    m.destroy()


@dataclass
class IngestProcess:
    args: list[str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self) -> "IngestProcess":
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "ksys_app.ops.cli", "ingest", *self.args],
                                     stderr=open(self.log, "ab"), stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        return self

    def events(self, name: str | None = None) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if name is None or e.get("event") == name:
                out.append(e)
        return out

    def wait_event(self, name: str, timeout_s: float = 30) -> dict:
        found = poll(lambda: (self.events(name) or [None])[-1], timeout_s=timeout_s, every_s=0.1)
        assert found, f"no {name} event in {timeout_s} s; log tail: {self.log.read_text()[-1500:]}"
        return found

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


@pytest.fixture
def ingest_process(tmp_path) -> Iterator[Callable[..., IngestProcess]]:
    """Factory: `ksys ingest` against broker and DSN with quick periods; stopped afterwards."""
    started: list[IngestProcess] = []

    def make(broker: Mosquitto, dsn: str, *extra: str, client_id: str = "test-ingest") -> IngestProcess:
        args = ["--dsn", dsn, "--broker", broker.url, "--topic", "ksys/#", "--client-id", client_id,
                "--spool-dir", str(tmp_path / "spool"), "--status-every", "0.5", "--rules-every", "0.2",
                "--max-delay", "0.1", *extra]
        p = IngestProcess(args, tmp_path / f"ingest-{len(started)}.log").start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


class Publisher:
    """QoS 1 publishes, each confirmed by the broker (PUBACK) before `publish` returns."""

    def __init__(self, broker: Mosquitto):
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload, wait: bool = True):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, body, qos=1)
        if wait:
            info.wait_for_publish(10)
            assert info.is_published()
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker) -> Iterator[Callable[[], Publisher]]:
    made: list[Publisher] = []

    def make(target: Mosquitto | None = None) -> Publisher:
        made.append(Publisher(target or broker))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.fixture
def writer_db(new_migrated_database) -> tuple[str, str]:
    """(admin DSN, eco_writer DSN) of a new migrated database on plain PostgreSQL."""
    admin = new_migrated_database("postgres")
    return admin, make_conninfo(admin, user="eco_writer")


@pytest.fixture
def outage_cluster(tmp_path) -> Iterator[tuple]:
    """A cluster of this test's own, migrated, that the test may stop and start."""
    from ksys_app.ops.schema.migrate import migrate
    from ksys_dev.localpg import temporary_cluster

    # fast=False: an immediate stop of a cluster with synchronous_commit off loses the
    # last commits it confirmed, which would be the database's loss, not ingest's
    with temporary_cluster(prefix="ksys-ingest-pg-", fast=False) as cluster:
        migrate(cluster.dsn(), engine="postgres", out=lambda _line: None)
        yield cluster, cluster.dsn(), cluster.dsn(user="eco_writer")


def count_rows(dsn: str, where: str = "true", params: tuple = ()) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM influx_hist WHERE {where}", params).fetchone()[0]


def wait_rows(dsn: str, n: int, where: str = "true", params: tuple = (), timeout_s: float = 60) -> int:
    got = poll(lambda: count_rows(dsn, where, params) >= n or None, timeout_s=timeout_s, every_s=0.2)
    have = count_rows(dsn, where, params)
    assert got, f"{have} of {n} readings arrived in {timeout_s} s"
    return have
