"""The alarm reads (as eco_ro) and the operators' client (as eco_operator) on a real database:
rows checked, actions counted, the database's refusals as coded values, passwords never shown."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.config import ConfigError, load_settings
from ksys_app.data.errors import ErrorCode
from ksys_app.data.operator import OperatorClient
from ksys_app.domain.operators import hash_password, password_matches
from tests.conftest import drop_database
from tests.data.conftest import ro_settings

PASSWORD = "correct horse 42"


@pytest.fixture(scope="module")
def alarm_db(pg_server, migrated_templates):
    """A database with one tag whose warn_high and crit_high alarms are active (unack)."""
    name = f"t_alarms_{uuid.uuid4().hex[:8]}"
    admin = migrated_templates.clone("postgres", name)
    now = datetime.now(timezone.utc)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, min_val, max_val, warn_min, warn_max, crit_min, crit_max, "
                     "enabled) VALUES ('AL1', 0, 100, 10, 80, 5, 90, true)")
        for i, v in enumerate((50.0, 85.0, 95.0)):
            conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, 'AL1', %s)",
                         (now - timedelta(minutes=10 - i), v))
        for _ in range(5):
            conn.execute("SELECT ksys.run_alarms()")
        conn.execute("INSERT INTO ksys.operators (name, display_name, password_hash) VALUES (%s, %s, %s)",
                     ("alice", "Alice <b>Kim</b>", hash_password(PASSWORD)))
    try:
        yield admin, pg_server.dsn(name, user="eco_ro"), pg_server.dsn(name, user="eco_operator")
    finally:
        drop_database(pg_server, name)


async def test_reads_and_actions(alarm_db, make_repo):
    admin, ro, op = alarm_db
    repo = make_repo(ro, cache_ttl_alarms_s=0)
    states = await repo.alarm_states()
    assert states.error is None
    assert {(r.tag_name, r.kind, r.state) for r in states.rows} == {("AL1", "warn_high", "unack"),
                                                                   ("AL1", "crit_high", "unack")}
    counts = await repo.alarm_counts()
    assert dict(counts.rows) == {"high": 1, "medium": 1}

    client = OperatorClient(ro_settings(ro, operator_dsn=op))
    try:
        stored = await client.begin_login("alice", "127.0.0.1")
        assert stored.ok and password_matches(stored.value, PASSWORD)
        token = (await client.finish_login("alice", "127.0.0.1", True)).value
        assert token
        who = await client.whoami(token)
        assert who.value.operator == "alice"
        done = await client.ack(token, [("AL1", "warn_high"), ("AL1", "nope")], "<script>x</script>")
        assert done.value == 1
        bad = await client.shelve(token, [("AL1", "crit_high")], 100_000, None)
        assert bad.error.code is ErrorCode.INVALID_INPUT and "shelve for 1 minute" in bad.error.message
        assert (await client.shelve(token, [("AL1", "crit_high")], 15, None)).value == 1
        await client.logout(token)
        gone = await client.ack(token, [("AL1", "crit_high")], None)
        assert gone.error.code is ErrorCode.NOT_LOGGED_IN
        assert (await client.whoami(token)).error.code is ErrorCode.NOT_LOGGED_IN
    finally:
        await client.close()

    now = datetime.now(timezone.utc)
    page = await repo.journal_page(now - timedelta(hours=1), now + timedelta(minutes=1), 0, 50)
    acks = [r for r in page.rows if r.action == "ack"]
    assert [(r.operator, r.note) for r in acks] == [("alice", "<script>x</script>")]
    assert (await repo.journal_count(now - timedelta(hours=1), now + timedelta(minutes=1))).rows[0] == len(page.rows)
    states = await repo.alarm_states()
    assert {(r.kind, r.state) for r in states.rows} == {("warn_high", "acked"), ("crit_high", "shelved")}


async def test_lockout_is_a_coded_value(alarm_db):
    _admin, ro, op = alarm_db
    client = OperatorClient(ro_settings(ro, operator_dsn=op))
    try:
        for _ in range(5):
            assert (await client.finish_login("bob", "10.0.0.9", False)).value is None
        locked = await client.begin_login("bob", "10.0.0.9")
        assert locked.error.code is ErrorCode.LOGIN_LOCKED and "too many failed logins" in locked.error.message
    finally:
        await client.close()


async def test_a_wrong_operator_password_is_a_permanent_error_naming_the_variable(alarm_db, pg_server):
    _admin, ro, _op = alarm_db
    client = OperatorClient(ro_settings(ro, operator_dsn=pg_server.dsn("no_such_db_here", user="eco_operator")))
    try:
        out = await client.whoami("ab" * 20)
        assert out.error.permanent and "KSYS_OPERATOR_DSN" in out.error.fix
    finally:
        await client.close()


def test_operator_dsn_setting_is_never_echoed(monkeypatch):
    monkeypatch.setenv("TS_DSN", "postgresql://eco_ro:pw-one@db/ecoanp")
    monkeypatch.setenv("KSYS_OPERATOR_DSN", "postgresql://eco_operator:s3cret-op@db/ecoanp?bogus=1")
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None)
    assert "KSYS_OPERATOR_DSN" in str(err.value) and "s3cret" not in str(err.value)
    monkeypatch.setenv("KSYS_OPERATOR_DSN", "postgresql://eco_operator:change-me@db/ecoanp")
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(env_file=None)
    monkeypatch.setenv("KSYS_OPERATOR_DSN", "")
    settings = load_settings(env_file=None)
    assert settings.operator_dsn is None and settings.require_login is False
    assert "s3cret" not in repr(load_settings(env_file=None, operator_dsn="postgresql://u:s3cret@h/d"))
