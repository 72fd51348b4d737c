"""`ksys ingest` end to end with a real broker and database: every payload shape arrives with
the QC flags of its tag's rule, refusals are counted and dead-lettered (and never written),
and a changed rule applies to the next readings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.retry import poll
from tests.ingest.conftest import wait_rows

OUT, NEG, STEP, RATE, SPIKE, GAP = 1, 2, 4, 8, 16, 32

RULES = [  # tag, min, max, max_step, max_gap_seconds, allow_negative, enabled, roc, spike
    ("Q_RANGE", 0, 100, 10, 60, False, True, None, None),
    ("Q_RATE", None, None, None, None, True, None, 6, None),   # enabled NULL counts as enabled
    ("Q_SPIKE", None, None, None, None, True, True, None, 3),
    ("Q_OFF", 0, 10, None, None, False, False, None, None),
]


def _rules(admin: str, rows=RULES) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.cursor().executemany(
            "INSERT INTO influx_qc_rule (tag_name, min_val, max_val, max_step, max_gap_seconds, allow_negative, "
            "enabled, roc_max_per_min, spike_zscore) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)


def _iso(t: datetime) -> str:
    return t.isoformat()


def _stored(admin: str) -> dict[str, list[tuple[float, int]]]:
    with psycopg.connect(admin) as conn:
        out: dict[str, list] = {}
        for tag, value, qc in conn.execute("SELECT tag_name, value, qc FROM influx_hist ORDER BY tag_name, ts"):
            out.setdefault(tag, []).append((value, qc))
        return out


def test_every_shape_arrives_with_the_flags_of_its_rule(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    _rules(admin)
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    pub = publisher()
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    # batch (a JSON array): range, negative, step and gap against one rule
    q_range = [(0, 50), (10, 55), (20, 70), (30, 150), (200, 150), (210, -5)]
    pub.publish("ksys/plant/batch", [{"tag": "Q_RANGE", "ts": _iso(t0 + timedelta(seconds=s)), "value": v}
                                     for s, v in q_range])
    # Node-RED msgs, one reading each, epoch milliseconds: rate of change per minute
    for s, v in [(0, 0), (10, 1), (20, 3)]:
        pub.publish("ksys/nodered", {"topic": "Q_RATE", "payload": v,
                                     "timestamp": int((t0 + timedelta(seconds=s)).timestamp() * 1000)})
    # single readings, epoch seconds: a spike after a steady series
    for i in range(12):
        pub.publish("ksys/reading", {"tag": "Q_SPIKE", "ts": int(t0.timestamp()) + i, "value": 10 + i % 2})
    pub.publish("ksys/reading", {"tag": "Q_SPIKE", "ts": int(t0.timestamp()) + 12, "value": 50})
    # topic names the tag, a bare number stamped on arrival; no rule: no flags
    pub.publish("ksys/tags/Q_NORULE", b"-12.5")
    # {"readings": [...]}: a disabled rule flags nothing
    pub.publish("ksys/plant/batch", {"readings": [{"tag": "Q_OFF", "ts": _iso(t0), "value": -1}]})

    wait_rows(admin, 6 + 3 + 13 + 1 + 1)
    stored = _stored(admin)
    assert stored["Q_RANGE"] == [(50, 0), (55, 0), (70, STEP), (150, OUT | STEP), (150, OUT | GAP),
                                 (-5, OUT | NEG | STEP)]
    assert stored["Q_RATE"] == [(0, 0), (1, 0), (3, RATE)]          # 6/min is the limit, 12/min over it
    assert [qc for _v, qc in stored["Q_SPIKE"]] == [0] * 12 + [SPIKE]
    assert stored["Q_NORULE"] == [(-12.5, 0)]
    assert stored["Q_OFF"] == [(-1, 0)]


def test_refusals_are_counted_dead_lettered_and_logged_once_per_kind(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_start")
    pub = publisher()
    bad = [(b"\xff\xfe", "not_utf8"), (b"{", "not_json"), (b"[1, 2", "not_json"),
           ({"tag": "Q_X", "value": "12"}, "bad_value"), ({"tag": " padded", "value": 1}, "bad_tag"),
           ({"value": 1}, "no_tag"), ({"tag": "Q_X", "ts": "2026-01-01T00:00:00", "value": 1}, "no_zone"),
           (b"x" * 5000, "not_json"),
           # one bad reading refuses the whole batch: a message is never half stored
           ([{"tag": "Q_X", "value": 1}, {"tag": "Q_X", "value": None}], "bad_value")]
    for payload, _kind in bad:
        pub.publish("ksys/bad", payload)
    pub.publish("ksys/good", {"tag": "Q_GOOD", "value": 1.5})
    wait_rows(admin, 1)

    def status():
        with psycopg.connect(admin) as conn:
            return conn.execute("SELECT rejected, rejects_by_kind, messages FROM ksys.ingest_status "
                                "WHERE client_id = 'test-ingest' AND rejected = %s", (len(bad),)).fetchone()

    found = poll(status, timeout_s=10, every_s=0.2)
    assert found, "the status row never counted every refusal"
    rejected, by_kind, messages = found
    expected: dict[str, int] = {}
    for _p, kind in bad:
        expected[kind] = expected.get(kind, 0) + 1
    assert by_kind == expected and messages == len(bad) + 1
    with psycopg.connect(admin) as conn:
        letters = conn.execute("SELECT kind, topic, payload, payload_bytes FROM ksys.ingest_dead_letters ORDER BY id").fetchall()
        assert conn.execute("SELECT array_agg(DISTINCT tag_name) FROM influx_hist").fetchone()[0] == ["Q_GOOD"]
    assert [k for k, *_ in letters] == [k for _p, k in bad]
    assert all(t == "ksys/bad" for _k, t, *_ in letters)
    assert letters[0][2] == b"\xff\xfe"
    assert len(letters[7][2]) == 4096 and letters[7][3] == 5000   # bounded payload, its size kept
    logged = [e["kind"] for e in ingest.events("ingest_reject")]
    assert sorted(logged) == sorted(expected)                     # one line per kind, with an example
    assert all(e["example"] for e in ingest.events("ingest_reject"))


def test_a_changed_rule_applies_to_the_next_readings(broker, writer_db, ingest_process, publisher):
    admin, writer = writer_db
    _rules(admin, [("Q_EDIT", 0, 100, None, None, True, True, None, None)])
    ingest = ingest_process(broker, writer)
    ingest.wait_event("ingest_rules_loaded")
    ingest.wait_event("ingest_start")   # subscribed: rules load before the broker connection
    pub = publisher()
    t0 = datetime.now(timezone.utc) - timedelta(minutes=10)
    pub.publish("ksys/r", {"tag": "Q_EDIT", "ts": _iso(t0), "value": 150})
    wait_rows(admin, 1)
    loads = len(ingest.events("ingest_rules_loaded"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("UPDATE influx_qc_rule SET max_val = 200 WHERE tag_name = 'Q_EDIT'")
    assert poll(lambda: len(ingest.events("ingest_rules_loaded")) > loads, timeout_s=10, every_s=0.1)
    pub.publish("ksys/r", {"tag": "Q_EDIT", "ts": _iso(t0 + timedelta(seconds=1)), "value": 150})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DELETE FROM influx_qc_rule WHERE tag_name = 'Q_EDIT'")
        conn.execute("INSERT INTO influx_qc_rule (tag_name, max_val) VALUES ('Q_EDIT', 10)")
    assert poll(lambda: len(ingest.events("ingest_rules_loaded")) > loads + 1, timeout_s=10, every_s=0.1)
    pub.publish("ksys/r", {"tag": "Q_EDIT", "ts": _iso(t0 + timedelta(seconds=2)), "value": 150})
    wait_rows(admin, 3)
    assert [qc for _v, qc in _stored(admin)["Q_EDIT"]] == [OUT, 0, OUT]


@pytest.mark.parametrize("args, says", [
    (["--broker", "http://127.0.0.1:1883"], "broker must be mqtt://host[:port]"),
    (["--topic", "ksys/#/x"], "'#' the last one"),
    (["--format", "xml"], "Invalid value for '--format'"),
])
def test_bad_options_are_one_line_and_exit_2(args, says):
    import subprocess
    import sys

    from tests.ingest.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", "ingest", "--dsn",
                           "postgresql://eco_writer@127.0.0.1:1/x", *args], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
