"""Nothing acknowledged is lost: `ksys ingest` SIGKILLed mid-stream, the database down
(spooled, then replayed in order), the spool full (acknowledging stops, the broker keeps
the rest), the broker restarted (QoS 1, persistent session). Every published reading is
counted in the database afterwards, each exactly once."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from ksys_app.ops.ingest.spool import MAGIC
from ksys_app.retry import poll
from tests.ingest.conftest import count_rows, wait_rows

pytestmark = pytest.mark.slow

T0 = int(time.time()) - 86_400   # a day ago: every reading of these tests has its own second


def _reading(tag: str, i: int) -> dict:
    return {"tag": tag, "ts": T0 + i, "value": float(i)}


def _publish_range(pub, tag: str, start: int, stop: int, every_s: float = 0.0) -> None:
    infos = []
    for i in range(start, stop):
        infos.append(pub.publish("ksys/d", _reading(tag, i), wait=False))
        if every_s:
            time.sleep(every_s)
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()


def _exactly(admin: str, tag: str, n: int) -> None:
    with psycopg.connect(admin) as conn:
        count, distinct, lo, hi = conn.execute(
            "SELECT count(*), count(DISTINCT ts), min(ts), max(ts) FROM influx_hist WHERE tag_name = %s",
            (tag,)).fetchone()
    assert (count, distinct) == (n, n)
    assert int(lo.timestamp()) == T0 and int(hi.timestamp()) == T0 + n - 1


def _written_in_order(admin: str, tag: str) -> bool:
    """Each batch is one transaction: in time order, the writing transactions never go back."""
    with psycopg.connect(admin) as conn:
        xids = [r[0] for r in conn.execute(
            "SELECT xmin::text::bigint FROM influx_hist WHERE tag_name = %s ORDER BY ts", (tag,))]
    return xids == sorted(xids)


def _spool_bytes(tmp_path) -> int:
    files = list((tmp_path / "spool").glob("*.spool"))
    return files[0].stat().st_size - len(MAGIC) if files else 0


def test_sigkill_mid_stream_then_restart_loses_nothing(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    n = 4000
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    pub = publisher()
    sender = threading.Thread(target=_publish_range, args=(pub, "K", 0, n, 0.0005))
    sender.start()
    wait_rows(admin, n // 4, "tag_name = 'K'")
    ingest.kill()                                   # mid-stream, a batch may be half received
    killed_at = count_rows(admin, "tag_name = 'K'")
    time.sleep(0.5)
    ingest_process(broker, writer)                  # same client id: the broker's session resumes
    sender.join()
    wait_rows(admin, n, "tag_name = 'K'")
    _exactly(admin, "K", n)
    assert killed_at < n, "the kill came too late to test anything"


def test_database_outage_spools_replays_in_order_and_survives_a_sigkill(tmp_path, broker, outage_cluster,
                                                                        ingest_process, publisher):
    cluster, admin, writer = outage_cluster
    ingest = ingest_process(broker, writer, "--batch-size", "200")
    ingest.wait_event("ingest_start")
    pub = publisher()
    _publish_range(pub, "O", 0, 500)
    wait_rows(admin, 500, "tag_name = 'O'")

    cluster.stop("immediate")                      # the database is gone, not just slow
    _publish_range(pub, "O", 500, 1500)
    ingest.wait_event("ingest_db_down")
    assert poll(lambda: _spool_bytes(tmp_path) > 0 or None, timeout_s=20, every_s=0.1), "nothing was spooled"
    time.sleep(1)
    ingest.kill()                                  # what it acknowledged is in the spool, fsync'd
    spooled = _spool_bytes(tmp_path)
    ingest = ingest_process(broker, writer, "--batch-size", "200")
    _publish_range(pub, "O", 1500, 2000)
    assert poll(lambda: _spool_bytes(tmp_path) > spooled or None, timeout_s=20, every_s=0.1)

    cluster.start()
    wait_rows(admin, 2000, "tag_name = 'O'", timeout_s=60)
    _exactly(admin, "O", 2000)
    assert _written_in_order(admin, "O")
    assert ingest.events("ingest_spool_replayed")
    assert poll(lambda: _spool_bytes(tmp_path) == 0 or None, timeout_s=10, every_s=0.1), "the spool was not emptied"
    assert ingest.wait_event("ingest_db_back")


def test_a_full_spool_stops_acknowledging_and_the_broker_keeps_the_rest(tmp_path, broker, outage_cluster,
                                                                        ingest_process, publisher):
    cluster, admin, writer = outage_cluster
    ingest = ingest_process(broker, writer, "--spool-max-mb", "1", "--receive-max", "10", "--batch-size", "1000")
    ingest.wait_event("ingest_start")
    pub = publisher()
    cluster.stop("immediate")
    per_message, messages = 1000, 60              # ~2 MB of spool records: twice the bound
    for m in range(messages):
        pub.publish("ksys/b", [_reading("F", m * per_message + i) for i in range(per_message)])
    full = ingest.wait_event("ingest_spool_full")
    assert full["spool_max_bytes"] == 1 << 20
    assert _spool_bytes(tmp_path) <= 1 << 20
    cluster.start()
    wait_rows(admin, messages * per_message, "tag_name = 'F'", timeout_s=90)
    _exactly(admin, "F", messages * per_message)
    assert _written_in_order(admin, "F")


def test_a_restarted_broker_loses_nothing(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    pub = publisher()
    _publish_range(pub, "B", 0, 300)
    wait_rows(admin, 300, "tag_name = 'B'")

    ingest.stop()                                  # away: the broker queues for its session
    _publish_range(pub, "B", 300, 1000)
    pub.close()
    broker.restart()                               # with the queued messages in its persistence file
    ingest = ingest_process(broker, writer)
    wait_rows(admin, 1000, "tag_name = 'B'")
    assert ingest.events("ingest_start")[-1]["session_present"] is True

    broker.restart()                               # while ingest is connected: it reconnects by itself
    ingest.wait_event("ingest_broker_back", timeout_s=60)
    _publish_range(publisher(), "B", 1000, 1200)
    wait_rows(admin, 1200, "tag_name = 'B'")
    _exactly(admin, "B", 1200)
