"""`ksys operator ...` and `ksys alarms ...` against a real database, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.domain.alarm_kpis import Activation, kpis
from ksys_app.domain.operators import password_matches
from tests.schema.test_command_errors import ksys, one_line


def _run(dsn: str, *args: str, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("KSYS_ADMIN_DSN", "TS_DSN")}
    return subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", *args, "--dsn", dsn], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def dsn(new_migrated_database) -> str:
    return new_migrated_database("postgres")


def test_operator_add_list_disable_enable_and_password(dsn):
    added = _run(dsn, "operator", "add", "kim", "--display-name", "Kim Min-su", "--password-stdin",
                 stdin="a good password\n")
    assert added.returncode == 0 and "operator kim added" in added.stdout, added.stderr
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT password_hash FROM ksys.operators WHERE name = 'kim'").fetchone()[0]
        assert password_matches(stored, "a good password") and "a good password" not in stored
        conn.execute("INSERT INTO ksys.operator_sessions (token_sha256, operator, expires_at) "
                     "VALUES ('\\x01', 'kim', now() + interval '1 hour')")
        conn.commit()
    again = _run(dsn, "operator", "add", "kim", "--password-stdin", stdin="another password\n")
    assert again.returncode == 2 and "operator kim exists" in one_line(again)
    listed = _run(dsn, "operator", "list")
    assert "kim" in listed.stdout and "Kim Min-su" in listed.stdout and "sessions 1" in listed.stdout
    disabled = _run(dsn, "operator", "disable", "kim")
    assert disabled.returncode == 0 and "1 open session(s) ended" in disabled.stdout
    assert "DISABLED" in _run(dsn, "operator", "list").stdout
    assert _run(dsn, "operator", "enable", "kim").returncode == 0
    changed = _run(dsn, "operator", "password", "kim", "--password-stdin", stdin="a new password!\n")
    assert changed.returncode == 0
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT password_hash FROM ksys.operators WHERE name = 'kim'").fetchone()[0]
        assert password_matches(stored, "a new password!")


@pytest.mark.parametrize("args, stdin, message", [
    (("operator", "add", "Robert'); DROP TABLE x;--", "--password-stdin"), "a good password\n", "operator name"),
    (("operator", "add", "<script>", "--password-stdin"), "a good password\n", "operator name"),
    (("operator", "add", "k" * 40, "--password-stdin"), "a good password\n", "operator name"),
    (("operator", "add", "kim", "--password-stdin"), "short\n", "a password is 8-1024 characters"),
    (("operator", "add", "kim", "--password-stdin"), "", "no password on stdin"),
    (("operator", "add", "kim", "--display-name", "x" * 100, "--password-stdin"), "a good password\n", "display name"),
    (("operator", "add", "kim"), "a good password\n", "--password-stdin"),  # no terminal to ask
    (("operator", "disable", "nobody"), None, "no operator nobody"),
    (("alarms", "remove", "NOPE", "crit_high"), None, "no alarm NOPE crit_high"),
    (("alarms", "remove", "T\x07", "crit_high"), None, "non-printable"),
    (("alarms", "report", "--since", "yesterday"), None, "--since must be an ISO date"),
    (("alarms", "report", "--since", "2026-12-02", "--until", "2026-12-01"), None, "before --until"),
])
def test_bad_input_gets_one_line_and_writes_nothing(dsn, args, stdin, message):
    proc = _run(dsn, *args, stdin=stdin)
    assert proc.returncode == 2
    assert message in one_line(proc)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM ksys.operators), (SELECT count(*) FROM ksys.alarm_actions)"
                            ).fetchone() == (0, 0)


def test_out_of_service_and_back_with_who_and_why(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, crit_max) VALUES ('P1', true, 10)")
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '1 minute', 'P1', 20)")
        conn.execute("SELECT ksys.run_alarms()")
    listed = _run(dsn, "alarms", "list")
    assert "P1" in listed.stdout and "unack" in listed.stdout
    removed = _run(dsn, "alarms", "remove", "P1", "crit_high", "--note", "sensor swap", "--by", "admin:park")
    assert removed.returncode == 0 and "out_of_service" in removed.stdout, removed.stderr
    twice = _run(dsn, "alarms", "remove", "P1", "crit_high")
    assert twice.returncode == 2 and "already out of service" in one_line(twice)
    restored = _run(dsn, "alarms", "restore", "P1", "crit_high")
    assert restored.returncode == 0 and "P1 crit_high: unack" in restored.stdout  # still active: announced again
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT action, operator, note FROM ksys.alarm_journal WHERE action IN ('remove', 'restore') "
                            "ORDER BY at").fetchall()
    assert rows[0] == ("remove", "admin:park", "sensor swap") and rows[1][0] == "restore"


def test_report_equals_the_kpis_of_the_journal(dsn):
    """Alarms written in the past (readings that cross a limit), and the report against
    the domain's KPIs over the activations read back independently."""
    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=3)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, warn_max, crit_max) "
                     "VALUES ('C1', true, 50, 80), ('C2', true, 50, NULL)")
        rows = []
        for i in range(120):  # C1 chatters across 50 every 10 s for 20 minutes; C2 goes over warn once
            rows.append((start + timedelta(seconds=10 * i), "C1", 60.0 if i % 2 else 40.0))
        rows += [(start + timedelta(minutes=5), "C2", 70.0), (start + timedelta(minutes=6), "C2", 90.0)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)", rows)
        conn.execute("SELECT ksys.run_alarms()")
        activations = [Activation(*r) for r in conn.execute(
            "SELECT tag_name, kind, priority, at, NULL::timestamptz FROM ksys.alarm_journal "
            "WHERE action = 'activate' AND new_state = 'unack'").fetchall()]
    until = now.isoformat()
    since = (now - timedelta(days=1)).isoformat()
    proc = _run(dsn, "alarms", "report", "--since", since, "--until", until, "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    want = kpis(activations, datetime.fromisoformat(since), datetime.fromisoformat(until))
    assert got["activations"] == want.activations == 60 + 1  # C1 warn_high 60 times, C2 warn_high once
    assert got["per_10min"] == pytest.approx(want.per_10min)
    assert got["chattering"] == [["C1", "warn_high"]]
    assert got["top_sources"][0] == {"tag": "C1", "activations": 60, "share": pytest.approx(60 / 61)}
    text = _run(dsn, "alarms", "report", "--since", since, "--until", until)
    assert "announced alarms          61" in text.stdout and "C1 warn_high" in text.stdout


def test_the_commands_need_the_owner(dsn, pg_server):
    db = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    proc = ksys("operator", "list", "--dsn", pg_server.dsn(db, user="eco_ro"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
