"""Operators and the eco_operator role (migrations 0019, 0020): logins, sessions, the
rate limit, and alarm actions that only a logged-in operator can take, through
functions that check their arguments and write nothing when they refuse."""

from __future__ import annotations

import psycopg
import pytest

from ksys_app.domain.operators import hash_password, password_matches

ACK = "SELECT ksys.alarm_ack(%s, ARRAY['A1'], ARRAY['crit_high'], %s)"


def _setup(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, crit_max, warn_max) VALUES ('A1', true, 10, 5)")
    conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '2 minutes', 'A1', 20)")
    conn.execute("SELECT ksys.run_alarms()")
    conn.execute("INSERT INTO ksys.operators (name, display_name, password_hash) VALUES ('kim', 'Kim', %s), "
                 "('lee', 'Lee', %s)", (hash_password("kims-password"), hash_password("lees-password")))


def _login(op: psycopg.Connection, name: str, password: str, client: str = "127.0.0.1") -> str | None:
    stored = op.execute("SELECT ksys.operator_begin_login(%s, %s)", (name, client)).fetchone()[0]
    ok = password_matches(stored, password)
    return op.execute("SELECT ksys.operator_finish_login(%s, %s, %s)", (name, client, ok)).fetchone()[0]


def _counts(conn: psycopg.Connection) -> tuple:
    return conn.execute("SELECT (SELECT count(*) FROM ksys.alarm_actions), (SELECT count(*) FROM ksys.alarm_journal), "
                        "(SELECT count(*) FROM ksys.operator_sessions)").fetchone()


@pytest.fixture
def roles(migrated_dsn, pg_server):
    db = psycopg.conninfo.conninfo_to_dict(migrated_dsn)["dbname"]
    with psycopg.connect(migrated_dsn, autocommit=True) as owner:
        _setup(owner)
        with psycopg.connect(pg_server.dsn(db, user="eco_operator"), autocommit=True) as op, \
                psycopg.connect(pg_server.dsn(db, user="eco_ro"), autocommit=True) as ro:
            yield owner, op, ro


def test_a_logged_in_operator_acknowledges_and_the_journal_names_them(roles):
    owner, op, _ro = roles
    token = _login(op, "kim", "kims-password")
    assert token and len(token) == 64
    assert op.execute("SELECT operator, display_name FROM ksys.operator_whoami(%s)", (token,)).fetchone() == ("kim", "Kim")
    assert op.execute(ACK, (token, "<b>checked</b> on site")).fetchone()[0] == 1
    row = owner.execute("SELECT action, old_state, new_state, operator, note FROM ksys.alarm_journal "
                        "ORDER BY at DESC, seq DESC LIMIT 1").fetchone()
    assert row == ("ack", "unack", "acked", "kim", "<b>checked</b> on site")  # text, kept as typed
    assert op.execute(ACK, (token, None)).fetchone()[0] == 0  # nothing left to acknowledge
    assert op.execute("SELECT ksys.alarm_shelve(%s, ARRAY['A1','A1'], ARRAY['crit_high','warn_high'], 30, 'calibration')",
                      (token,)).fetchone()[0] == 2
    assert owner.execute("SELECT count(*) FROM ksys.alarm_state WHERE state = 'shelved'").fetchone()[0] == 2
    assert op.execute("SELECT ksys.alarm_unshelve(%s, ARRAY['A1'], ARRAY['warn_high'])", (token,)).fetchone()[0] == 1
    op.execute("SELECT ksys.operator_logout(%s)", (token,))
    with pytest.raises(psycopg.Error) as refused:
        op.execute(ACK, (token, None))
    assert refused.value.sqlstate == "KS401"


def test_wrong_unknown_and_disabled_operators_are_refused(roles):
    owner, op, _ro = roles
    assert _login(op, "kim", "wrong-password") is None
    assert _login(op, "nobody", "kims-password") is None
    token = _login(op, "lee", "lees-password")
    owner.execute("UPDATE ksys.operators SET enabled = false, disabled_at = now() WHERE name = 'lee'")
    assert _login(op, "lee", "lees-password") is None
    for statement in (ACK, "SELECT * FROM ksys.operator_whoami(%s)"):
        with pytest.raises(psycopg.Error) as refused:
            op.execute(statement, (token, None) if statement == ACK else (token,))
        assert refused.value.sqlstate == "KS401"  # the disabled operator's open session ends too
    # an expired session is refused the same way
    kim = _login(op, "kim", "kims-password")
    owner.execute("UPDATE ksys.operator_sessions SET expires_at = now() - interval '1 second' WHERE operator = 'kim'")
    with pytest.raises(psycopg.Error) as refused:
        op.execute(ACK, (kim, None))
    assert refused.value.sqlstate == "KS401"
    assert owner.execute("SELECT count(*) FROM ksys.alarm_actions").fetchone()[0] == 0
    fails = owner.execute("SELECT count(*) FILTER (WHERE NOT ok), count(*) FILTER (WHERE ok) FROM ksys.operator_logins")
    assert fails.fetchone() == (3, 2)


def test_failed_logins_are_rate_limited_per_name_and_per_client(roles):
    owner, op, _ro = roles
    for _ in range(5):
        assert _login(op, "kim", "guess", client="10.0.0.7") is None
    with pytest.raises(psycopg.Error) as limited:
        _login(op, "kim", "kims-password", client="10.0.0.8")  # the right password, from elsewhere: still locked
    assert limited.value.sqlstate == "KS429" and "try again after" in str(limited.value)
    assert _login(op, "lee", "lees-password", client="10.0.0.8")  # another name is not locked
    for i in range(15):  # 5 + 15 failures from one client, over several names
        assert _login(op, f"guess{i}", "x", client="10.0.0.7") is None
    with pytest.raises(psycopg.Error) as limited:
        _login(op, "lee", "lees-password", client="10.0.0.7")
    assert limited.value.sqlstate == "KS429"
    # the window passes
    owner.execute("UPDATE ksys.operator_logins SET at = at - interval '16 minutes'")
    assert _login(op, "kim", "kims-password", client="10.0.0.7")


def test_hostile_arguments_get_a_clear_refusal_and_write_nothing(roles):
    owner, op, _ro = roles
    token = _login(op, "kim", "kims-password")
    before = _counts(owner)
    cases = [
        (ACK, (token, "x" * 10_240), "at most 1000 characters"),
        (ACK, (token, "bell\x07"), "control characters"),
        ("SELECT ksys.alarm_shelve(%s, ARRAY['A1'], ARRAY['crit_high'], %s)", (token, -5), "shelve for 1 minute"),
        ("SELECT ksys.alarm_shelve(%s, ARRAY['A1'], ARRAY['crit_high'], %s)", (token, 0), "shelve for 1 minute"),
        ("SELECT ksys.alarm_shelve(%s, ARRAY['A1'], ARRAY['crit_high'], %s)", (token, 10**6), "shelve for 1 minute"),
        ("SELECT ksys.alarm_shelve(%s, ARRAY['A1'], ARRAY['crit_high'], %s)", (token, None), "shelve for 1 minute"),
        ("SELECT ksys.alarm_ack(%s, ARRAY['A1'], ARRAY[]::text[])", (token,), "pairs of tag and limit"),
        ("SELECT ksys.alarm_ack(%s, NULL, NULL)", (token,), "pairs of tag and limit"),
        ("SELECT ksys.operator_begin_login(%s, 'c')", ("Robert'); DROP TABLE--",), "operator name"),
        ("SELECT ksys.operator_begin_login(%s, 'c')", ("<script>alert(1)</script>",), "operator name"),
        ("SELECT ksys.operator_begin_login(%s, 'c')", ("k" * 300,), "operator name"),
        ("SELECT ksys.operator_finish_login(%s, 'c', true)", ("",), "operator name"),
    ]
    for statement, args, message in cases:
        with pytest.raises(psycopg.Error) as refused:
            op.execute(statement, args)
        assert refused.value.sqlstate == "22023" and message in str(refused.value), statement
    # alarms that do not exist are nothing to act on
    assert op.execute("SELECT ksys.alarm_ack(%s, ARRAY['NOPE'], ARRAY['crit_high'])", (token,)).fetchone()[0] == 0
    assert _counts(owner) == before
    assert owner.execute("SELECT count(*) FROM ksys.operator_logins").fetchone()[0] == 1  # kim's login only


def test_only_eco_operator_may_act_and_it_may_do_nothing_else(roles):
    owner, op, ro = roles
    token = _login(op, "kim", "kims-password")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ro.execute(ACK, (token, None))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ro.execute("SELECT ksys.operator_begin_login('kim', 'c')")
    for statement in ("SELECT * FROM ksys.alarm_state", "SELECT * FROM ksys.operators", "SELECT * FROM alarm_states",
                      "SELECT * FROM influx_hist", "INSERT INTO ksys.alarm_actions (tag_name, kind, action, operator) "
                      "VALUES ('A1', 'crit_high', 'ack', 'kim')",
                      "SELECT ksys.alarm_apply('ack', ARRAY['A1'], ARRAY['crit_high'], 'kim', NULL, NULL)",
                      "SELECT ksys.alarm_replay('A1', 'crit_high', '-infinity')",
                      "SELECT ksys.operator_of('x')", "SELECT ksys.run_alarms()"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            op.execute(statement)
    assert owner.execute("SELECT count(*) FROM ksys.alarm_actions").fetchone()[0] == 0
