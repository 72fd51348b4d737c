"""`ksys doctor` reads ingest's status row: alive, down (beat too old), spooling, spool full;
and tags silent for longer than their rule's max_gap_seconds."""

from __future__ import annotations

import psycopg

from ksys_app.ops.schema.checks import FAIL, OK, WARN
from ksys_app.ops.schema.doctor import run_checks
from tests.ingest.conftest import wait_rows


def _ingest_checks(dsn: str) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in run_checks(dsn) if c.name.startswith(("ingest", "tag silence"))}


def test_doctor_sees_a_live_ingest_and_then_a_dead_one(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    assert _ingest_checks(admin)["ingest"][0] == OK            # none registered: readings may come from Node-RED
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    publisher().publish("ksys/x", {"tag": "D_LIVE", "value": 1})
    wait_rows(admin, 1)
    ingest.wait_event("ingest_status")
    assert _ingest_checks(admin)["ingest test-ingest"][0] == OK
    ingest.kill()
    with psycopg.connect(admin, autocommit=True) as conn:     # as if a minute had passed
        conn.execute("UPDATE ksys.ingest_status SET beat_at = now() - interval '1 minute'")
    status, detail = _ingest_checks(admin)["ingest test-ingest"]
    assert status == FAIL and "no beat for 0:01:0" in detail


def test_doctor_reports_the_spool_and_silent_tags(writer_db):
    admin, _writer = writer_db
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("INSERT INTO ksys.ingest_status (client_id, started_at, beat_at, beat_every_s, broker, topics, "
                     "connected, spool_bytes, spool_max_bytes, spool_full) VALUES "
                     "('a', now(), now(), 5, 'mqtt://x:1883', '{ksys/#}', true, 1000, 2000, false), "
                     "('b', now(), now(), 5, 'mqtt://x:1883', '{ksys/#}', true, 2000, 2000, true)")
        conn.execute("INSERT INTO influx_qc_rule (tag_name, max_gap_seconds) VALUES ('S_OLD', 60), ('S_NEW', 60), "
                     "('S_NEVER', 60), ('S_NOGAP', NULL)")
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '5 minutes', 'S_OLD', 1), "
                     "(now(), 'S_NEW', 1), (now() - interval '1 day', 'S_NOGAP', 1)")
    checks = _ingest_checks(admin)
    assert checks["ingest a"][0] == WARN and "1,000 bytes spooled" in checks["ingest a"][1]
    assert checks["ingest b"][0] == FAIL and "spool full" in checks["ingest b"][1]
    status, detail = checks["tag silence"]
    assert status == WARN and detail.startswith("2 tag(s)")
    assert "S_NEVER (no reading" in detail and "S_OLD (0:05:" in detail and "S_NEW" not in detail
