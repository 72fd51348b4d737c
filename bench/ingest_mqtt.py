"""MQTT -> database throughput of `ksys ingest`, its latency and memory, and spool replay speed.

    .venv/bin/python -m bench.ingest_mqtt [--batched 300000] [--singles 100000] [--publishers 2]
                                          [--label ingest-mqtt] [--no-save] [--skip-writer]

Starts its own Mosquitto and a durable PostgreSQL cluster (fsync on), migrates it, runs
`ksys ingest` as eco_writer, and times from the first publish until every reading is in
influx_hist: batch messages (1000 readings each), then single-reading messages. The
publishers (bench/mqtt_flood.py) are separate processes sending pre-encoded packets, so
the figure is ingest's and not the publisher's. During both phases a probe publishes a
reading stamped now every 100 ms and polls influx_latest every 20 ms: publish-to-visible
latency, which includes the wait behind the flood in the broker's queue. Ingest's RSS is
sampled every 200 ms; CPU seconds of ingest and Mosquitto are read from /proc per phase.
Then the spool: the database stopped, `--batched` readings spooled, the database started,
timed from ingest's `ingest_db_back` to the last row. Last, the writer's COPY + INSERT ...
SELECT against executemany of the same rows, 5000 per transaction.

Writes bench/results/<date>-<label>.json unless --no-save.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg

from bench.common import loadavg, machine_facts, percentile, rss_kb
from bench.mqtt_flood import publish_parallel
from ksys_app.ops.ingest import writer
from ksys_app.ops.ingest.batch import Batch, Row
from ksys_app.ops.schema.migrate import migrate
from ksys_app.retry import poll
from ksys_dev.localpg import temporary_cluster
from ksys_dev.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ksys/bench"
PER_BATCH = 1000


def count(dsn: str, tags: list[str]) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM influx_hist WHERE tag_name = ANY(%s)", (tags,)).fetchone()[0]


def payloads(tag: str, n: int, per_message: int, t0: int) -> list[bytes]:
    """The messages of `n` readings of one tag, one a second from t0, `per_message` to a message."""
    if per_message == 1:
        return [b'{"tag":"%s","ts":%d,"value":%d.0}' % (tag.encode(), t0 + i, i) for i in range(n)]
    return [json.dumps([{"tag": tag, "ts": t0 + i, "value": float(i)} for i in range(s, min(n, s + per_message))],
                       separators=(",", ":")).encode() for s in range(0, n, per_message)]


def flood(m: Mosquitto, prefix: str, n: int, per_message: int, publishers: int, t0: int) -> tuple[list[str], float]:
    tags = [f"{prefix}_{p}" for p in range(publishers)]
    share = n // publishers
    took = publish_parallel(m.port, TOPIC, [payloads(tag, share, per_message, t0) for tag in tags])
    return tags, took


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Ingest's RSS every 200 ms while a phase runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.samples.append(rss_kb(self.pid))


class Probe:
    """A reading stamped now every 100 ms (paho, QoS 1), and how long until influx_latest shows it."""

    def __init__(self, m: Mosquitto, dsn: str, tag: str):
        import paho.mqtt.client as mqtt

        self.dsn, self.tag, self.sent, self.latency, self.stop = dsn, tag, {}, {}, threading.Event()
        # registered, as the tag_registry job registers every tag within minutes: influx_latest's
        # branch for tags not yet registered picks an arbitrary reading of the last 5 minutes
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO ksys.tag_registry (tag_name) VALUES (%s) ON CONFLICT DO NOTHING", (tag,))
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-probe")
        self.client.connect("127.0.0.1", m.port)
        self.client.loop_start()
        self.threads = [threading.Thread(target=self._publish, daemon=True), threading.Thread(target=self._poll, daemon=True)]

    def __enter__(self) -> "Probe":
        for t in self.threads:
            t.start()
        return self

    def _publish(self) -> None:
        seq = 0
        while not self.stop.wait(0.1):
            seq += 1
            self.sent[seq] = time.monotonic()
            self.client.publish(TOPIC, json.dumps({"tag": self.tag, "ts": time.time(), "value": seq}), qos=1)

    def _poll(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                row = conn.execute("SELECT value FROM influx_latest WHERE tag_name = %s", (self.tag,)).fetchone()
                now = time.monotonic()
                for seq in range(len(self.latency) + 1, int(row[0]) + 1 if row else 0):
                    self.latency[seq] = now - self.sent[seq]

    def __exit__(self, *_exc) -> None:
        # let the last probes arrive, then stop; one not seen within 10 s counts as 10 s
        last = max(self.sent, default=0)
        poll(lambda: len(self.latency) >= last or None, timeout_s=10, every_s=0.05)
        self.stop.set()
        for t in self.threads:
            t.join(5)
        self.client.loop_stop()
        self.client.disconnect()
        for seq in range(1, last + 1):
            self.latency.setdefault(seq, 10.0)

    def summary(self) -> dict:
        xs = list(self.latency.values())
        return {"n": len(xs), "p50_s": round(percentile(xs, 0.5), 3), "p99_s": round(percentile(xs, 0.99), 3),
                "max_s": round(max(xs), 3)} if xs else {"n": 0}


def timed_until(dsn: str, tags: list[str], n: int, since: float) -> float:
    assert poll(lambda: count(dsn, tags) >= n or None, timeout_s=900, every_s=0.05), f"{count(dsn, tags)} of {n}"
    return time.monotonic() - since


def phase(m: Mosquitto, admin: str, ingest_pid: int, mosq_pid: int, prefix: str, n: int, per_message: int,
          publishers: int, t0: int) -> dict:
    load_before, cpu0, mcpu0 = loadavg(), cpu_s(ingest_pid), cpu_s(mosq_pid)
    sampler = Sampler(ingest_pid)
    sampler.start()
    with Probe(m, admin, f"{prefix}_PROBE") as probe:
        start = time.monotonic()
        tags, published = flood(m, prefix, n, per_message, publishers, t0)
        n = n // publishers * publishers
        took = timed_until(admin, tags, n, start)
    sampler.stop.set()
    sampler.join()
    out = {"readings": n, "messages": -(-n // per_message), "published_s": round(published, 2), "written_s": round(took, 2),
           "readings_per_s": round(n / took), "messages_per_s": round(-(-n // per_message) / took),
           "publish_rate_msgs_per_s": round(-(-n // per_message) / published),
           "latency": probe.summary(), "ingest_rss_max_mb": round(max(sampler.samples, default=0) / 1024, 1),
           "ingest_cpu_s": round(cpu_s(ingest_pid) - cpu0, 1), "mosquitto_cpu_s": round(cpu_s(mosq_pid) - mcpu0, 1),
           "loadavg_before": load_before, "loadavg_after": loadavg()}
    print(f"{prefix}: {n:,} readings in {out['messages']:,} messages, published in {published:.1f} s, written after "
          f"{took:.1f} s = {out['messages_per_s']:,} msgs/s, {out['readings_per_s']:,} readings/s; probe "
          f"p99 {out['latency'].get('p99_s')} s; ingest RSS max {out['ingest_rss_max_mb']} MB, "
          f"CPU {out['ingest_cpu_s']} s (mosquitto {out['mosquitto_cpu_s']} s); load {load_before} -> {out['loadavg_after']}",
          flush=True)
    return out


def spool_replay(cluster, m: Mosquitto, admin: str, log: Path, n: int, publishers: int, t0: int) -> dict:
    cluster.stop("fast")
    tags, _ = flood(m, "BENCH_SPOOL", n, PER_BATCH, publishers, t0)
    n = n // publishers * publishers
    spool = next((m.base / "spool").glob("*.spool"))
    poll(lambda: spool.stat().st_size > n * 30 or None, timeout_s=120, every_s=0.1)
    time.sleep(2)
    size = spool.stat().st_size
    load_before = loadavg()
    cluster.start()
    back = poll(lambda: next((json.loads(line) for line in log.read_text().splitlines()
                              if '"ingest_db_back"' in line), None), timeout_s=60, every_s=0.05)
    start = time.monotonic()
    took = timed_until(admin, tags, n, start)
    out = {"readings": n, "spool_mb": round(size / 1e6, 1), "written_s": round(took, 2), "readings_per_s": round(n / took),
           "db_back_at": back["ts"], "loadavg_before": load_before, "loadavg_after": loadavg()}
    print(f"spool replay: {n:,} readings ({out['spool_mb']} MB of spool) written {took:.1f} s after the database "
          f"answered = {out['readings_per_s']:,} readings/s", flush=True)
    return out


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
            out[name] = round(n / (time.monotonic() - start))
    print(f"writer, {per_tx} per tx: COPY + INSERT ... SELECT {out['copy']:,} rows/s, executemany {out['executemany']:,} rows/s")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batched", type=int, default=300_000, help="readings sent in messages of 1000 (and spooled)")
    ap.add_argument("--singles", type=int, default=100_000, help="readings sent one to a message")
    ap.add_argument("--publishers", type=int, default=2, help="publisher processes")
    ap.add_argument("--label", default="ingest-mqtt")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--skip-writer", action="store_true")
    args = ap.parse_args()
    result = {"label": args.label, "date": date.today().isoformat(), "started_at": datetime.now(timezone.utc).isoformat(),
              "params": vars(args), "machine": machine_facts(), "loadavg_start": loadavg()}
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
            result["batched"] = phase(m, admin, proc.pid, m.proc.pid, "BENCH_1000", args.batched, PER_BATCH,
                                      args.publishers, t0)
            result["single"] = phase(m, admin, proc.pid, m.proc.pid, "BENCH_1", args.singles, 1, args.publishers, t0)
            result["spool"] = spool_replay(cluster, m, admin, log, args.batched, args.publishers, t0)
            result["ingest_rss_peak_mb"] = round(peak_rss_kb(proc.pid) / 1024, 1)
            if not args.skip_writer:
                result["writer_rows_per_s"] = writer_vs_executemany(admin)
        finally:
            proc.terminate()
            proc.wait(30)
            m.destroy()
    result["loadavg_end"] = loadavg()
    print(f"ingest RSS peak (VmHWM) {result.get('ingest_rss_peak_mb')} MB; load {result['loadavg_start']} -> "
          f"{result['loadavg_end']}")
    if not args.no_save:
        path = ROOT / "bench" / "results" / f"{result['date']}-{args.label}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
