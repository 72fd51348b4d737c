"""`ksys simulate --follow --mqtt`: the simulator's live readings go through a real
Mosquitto and `ksys ingest` into influx_hist, each as the simulator would have written it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import psycopg

from ksys_app.ops.simulator import signals
from ksys_app.retry import poll
from tests.ingest.conftest import ROOT

TAGS = ("D100", "INLET_PRESSURE")


def test_live_readings_take_the_mqtt_path(broker, ingest_process, writer_db, tmp_path):
    admin, writer = writer_db
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    log = tmp_path / "simulate.log"
    sim = subprocess.Popen([sys.executable, "-m", "ksys_app.ops.cli", "simulate", "--dsn", admin, "--days", "0.01",
                            "--follow", "--mqtt", broker.url, "--tags", ",".join(TAGS), "--interval", "5"],
                           stdout=open(log, "w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           cwd=ROOT)
    try:
        assert poll(lambda: "publishing to" in log.read_text(), timeout_s=60, every_s=0.2), log.read_text()
        published_from = datetime.now(timezone.utc)
        time.sleep(20)
        stopped_at = datetime.now(timezone.utc)
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(30)
    assert sim.returncode == 0, log.read_text()
    said = log.read_text()
    assert "published" in said and "readings in" in said
    # what the simulator's pure functions give for that stretch (dropouts left out)
    want = {(datetime.fromtimestamp(ts, timezone.utc), tag): v
            for ts_list, block in signals.generate(42, TAGS, published_from + timedelta(seconds=5),
                                                   stopped_at - timedelta(seconds=5), 5)
            for tag, values in block.items() for ts, v in zip(ts_list, values) if v is not None}
    assert len(want) >= 4

    def landed() -> dict:
        with psycopg.connect(admin) as conn:
            rows = conn.execute("SELECT ts, tag_name, value FROM influx_hist WHERE ts > %s AND ts <= %s",
                                (published_from + timedelta(seconds=5), stopped_at - timedelta(seconds=5))).fetchall()
        return {(ts, tag): v for ts, tag, v in rows}

    assert poll(lambda: landed() == want, timeout_s=15, every_s=0.5), (len(landed()), len(want))
