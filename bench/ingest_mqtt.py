"""MQTT -> database throughput of `ksys ingest`, and spool replay speed, on this machine.

    .venv/bin/python -m bench.ingest_mqtt [--readings 100000]

Starts its own Mosquitto and a durable PostgreSQL cluster (fsync on), migrates it, runs
`ksys ingest` as eco_writer, and times from the first publish until every reading is in
influx_hist: batch messages (1000 readings each), then single-reading messages. Then the
spool: the database stopped, the same number of readings spooled, the database started,
timed from ingest's `ingest_db_back` to the last row. Also COPY + INSERT ... SELECT (the
writer) against executemany of the same rows, 5000 per transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from ksys_app.ops.ingest import writer
from ksys_app.ops.ingest.batch import Batch, Row
from ksys_app.ops.schema.migrate import migrate
from ksys_app.retry import poll
from ksys_dev.localpg import temporary_cluster
from ksys_dev.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[1]


def count(dsn: str, tag: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM influx_hist WHERE tag_name = %s", (tag,)).fetchone()[0]


def publisher(m: Mosquitto):
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(2000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", m.port)
    c.loop_start()
    return c


def publish(c, tag: str, n: int, per_message: int, t0: int) -> None:
    infos = []
    for start in range(0, n, per_message):
        if per_message == 1:
            body = {"tag": tag, "ts": t0 + start, "value": float(start)}
        else:
            body = [{"tag": tag, "ts": t0 + i, "value": float(i)} for i in range(start, min(n, start + per_message))]
        infos.append(c.publish("ksys/bench", json.dumps(body), qos=1))
        if len(infos) >= 20_000:   # packet ids are 16 bits: never that many waiting at once
            for i in infos:
                i.wait_for_publish(120)
            infos = []
    for i in infos:
        i.wait_for_publish(120)


def timed_until(dsn: str, tag: str, n: int, since: float) -> float:
    assert poll(lambda: count(dsn, tag) >= n or None, timeout_s=600, every_s=0.05), f"{count(dsn, tag)} of {n}"
    return time.monotonic() - since


def writer_vs_executemany(dsn: str, n: int = 50_000, per_tx: int = 5000) -> dict[str, float]:
    t0 = datetime.now(timezone.utc) - timedelta(days=3)
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        writer.prepare(conn)
        for name in ("copy", "executemany"):
            rows = [Row(t0 + timedelta(seconds=i), f"W_{name}", float(i), 0) for i in range(n)]
            start = time.monotonic()
            for k in range(0, n, per_tx):
                part = rows[k:k + per_tx]
                if name == "copy":
                    writer.write_batch(conn, Batch(part), "bench")
                else:
                    with conn.transaction(), conn.cursor() as cur:
                        cur.executemany("INSERT INTO influx_hist AS h (ts, tag_name, value, qc) VALUES (%s, %s, %s, %s) "
                                        "ON CONFLICT (ts, tag_name) DO UPDATE SET value = excluded.value, qc = excluded.qc "
                                        "WHERE h.value IS DISTINCT FROM excluded.value",
                                        [(r.ts, r.tag, r.value, r.qc) for r in part])
            out[name] = n / (time.monotonic() - start)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=100_000)
    args = ap.parse_args()
    n = args.readings
    t0 = int(time.time()) - 10 * 86_400
    with temporary_cluster(prefix="ksys-bench-ingest-", fast=False) as cluster:
        admin = cluster.dsn()
        migrate(admin, engine="postgres", out=lambda _l: None)
        m = Mosquitto().start()
        log = m.base / "ingest.log"
        proc = subprocess.Popen([sys.executable, "-m", "ksys_app.ops.cli", "ingest", "--dsn", cluster.dsn(user="eco_writer"),
                                 "--broker", m.url, "--client-id", "bench", "--spool-dir", str(m.base / "spool")],
                                stderr=open(log, "ab"), env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        try:
            time.sleep(2)
            c = publisher(m)
            results = {}
            for label, per_message in (("batch messages of 1000", 1000), ("single-reading messages", 1)):
                tag = f"BENCH_{per_message}"
                start = time.monotonic()
                publish(c, tag, n, per_message, t0)
                published = time.monotonic() - start
                took = timed_until(admin, tag, n, start)
                results[label] = (published, took)
                print(f"{label:>26}: {n:,} readings published in {published:.1f} s, all written after {took:.1f} s "
                      f"= {n / took:,.0f} readings/s")
            cluster.stop("fast")
            tag = "BENCH_SPOOL"
            publish(c, tag, n, 1000, t0)
            spool = next((m.base / "spool").glob("*.spool"))
            poll(lambda: spool.stat().st_size > n * 30 or None, timeout_s=60, every_s=0.1)
            time.sleep(2)
            size = spool.stat().st_size
            cluster.start()
            back = poll(lambda: next((json.loads(line) for line in log.read_text().splitlines()
                                      if '"ingest_db_back"' in line), None), timeout_s=60, every_s=0.05)
            start = time.monotonic()
            took = timed_until(admin, tag, n, start)
            print(f"{'spool replay':>26}: {n:,} readings ({size / 1e6:.1f} MB of spool) written {took:.1f} s after "
                  f"the database answered = {n / took:,.0f} readings/s (db back at {back['ts']})")
            c.disconnect()
            rates = writer_vs_executemany(admin)
            print(f"{'writer, 5000 per tx':>26}: COPY + INSERT ... SELECT {rates['copy']:,.0f} rows/s, "
                  f"executemany {rates['executemany']:,.0f} rows/s")
        finally:
            proc.terminate()
            proc.wait(30)
            m.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
