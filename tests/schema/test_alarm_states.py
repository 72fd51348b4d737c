"""The database's alarm states and journal (migration 0017) against the domain's
replay (domain/alarms.py `journal`), with operator actions between readings that
arrive out of order, late ones included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.domain.alarms import Action, ConditionChange, OperatorAction, condition_changes, journal, limits_of
from tests.schema.test_alarm_conditions import RULE_COLUMNS, _readings, _rule

ACTIONS = ("ack", "ack", "ack", "shelve", "unshelve", "remove", "restore")


def _insert_rule(conn: psycopg.Connection, tag: str, rule: dict) -> None:
    conn.execute(f"INSERT INTO influx_qc_rule (tag_name, enabled, {', '.join(RULE_COLUMNS)}) "
                 f"VALUES (%s, true, {', '.join(['%s'] * len(RULE_COLUMNS))})",
                 (tag, *(rule[c] for c in RULE_COLUMNS)))


def _actions(rng: random.Random, kinds: list[str], start: datetime, end: datetime, n: int) -> list[tuple]:
    """(kind, at, action, operator, until): at random times, some on the instant of a reading."""
    out = []
    for i in range(n):
        at = start + (end - start) * rng.random()
        action = rng.choice(ACTIONS)
        until = at + timedelta(minutes=rng.randint(1, 40)) if action == "shelve" else None
        out.append((rng.choice(kinds), at, action, f"op{i % 3}", until))
    return out


def _expected(rule: dict, readings, actions, kind: str, now: datetime) -> list[tuple]:
    on, off = timedelta(seconds=rule["alarm_on_delay_s"]), timedelta(seconds=rule["alarm_off_delay_s"])
    limit = next(lim for lim in limits_of({**rule, "enabled": True}) if lim.kind.value == kind)
    changes = condition_changes(readings, limit, on_delay=on, off_delay=off)
    mine = sorted((a for a in actions if a[0] == kind), key=lambda a: a[1])
    rows = journal([ConditionChange(c.at, c.active, c.value) for c in changes],
                   [OperatorAction(at, Action(action), op, until) for _k, at, action, op, until in mine], now)
    return [(r.at, r.action.value, r.old.value, r.new.value, r.active, r.value, r.operator, r.shelved_until)
            for r in rows]


def _journal(conn: psycopg.Connection, tag: str, kind: str) -> list[tuple]:
    return conn.execute("SELECT at, action, old_state, new_state, active, value, operator, shelved_until "
                        "FROM ksys.alarm_journal WHERE tag_name = %s AND kind = %s ORDER BY at, seq",
                        (tag, kind)).fetchall()


def _states_match_last_rows(conn: psycopg.Connection, tag: str) -> None:
    rows = conn.execute(
        """SELECT s.kind, s.state, s.active, s.shelved_until, j.new_state, j.active, j.shelved_until
           FROM ksys.alarm_state s
           LEFT JOIN LATERAL (SELECT * FROM ksys.alarm_journal j WHERE j.tag_name = s.tag_name AND j.kind = s.kind
                              ORDER BY j.at DESC, j.seq DESC LIMIT 1) j ON true
           WHERE s.tag_name = %s""", (tag,)).fetchall()
    assert rows
    for kind, state, active, until, j_state, j_active, j_until in rows:
        assert (state, active, until) == ((j_state, j_active, j_until) if j_state else ("normal", False, None)), kind


@pytest.mark.parametrize("seed", range(8))
def test_journal_equals_the_domain_replay_with_actions_and_late_readings(migrated_dsn, seed):
    rng = random.Random(500 + seed)
    tag, rule = f"ST{seed}", _rule(rng)
    readings = _readings(rng, 300)
    kinds = [lim.kind.value for lim in limits_of({**rule, "enabled": True})]
    actions = _actions(rng, kinds, readings[0][0], readings[-1][0], 40)
    held_back = set(rng.sample(range(len(readings)), 80))
    live = [r for i, r in enumerate(readings) if i not in held_back]
    late = [readings[i] for i in held_back]
    rng.shuffle(late)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _insert_rule(conn, tag, rule)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                            [(at, tag, v) for at, v in live])
        conn.execute("SELECT ksys.run_alarms()")
        # what operators did, at their times (as alarm_apply records them), then a replay
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ksys.alarm_actions (tag_name, kind, at, action, operator, until) "
                            "VALUES (%s, %s, %s, %s, %s, %s)", [(tag, *a) for a in actions])
        conn.execute("INSERT INTO ksys.alarm_dirty SELECT %s, unnest(%s::text[]), '-infinity'", (tag, kinds))
        conn.execute("SELECT ksys.run_alarms()")
        now = datetime.now(timezone.utc)
        for kind in kinds:
            assert _journal(conn, tag, kind) == _expected(rule, live, actions, kind, now), kind
        # the late readings, in small batches with a run after each: replays from the past
        for i in range(0, len(late), 20):
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                                [(at, tag, v) for at, v in late[i:i + 20]])
            conn.execute("SELECT ksys.run_alarms()")
        now = datetime.now(timezone.utc)
        total = 0
        for kind in kinds:
            want = _expected(rule, readings, actions, kind, now)
            assert _journal(conn, tag, kind) == want, kind
            total += len(want)
        assert total > len(kinds), "the scenario should produce transitions"
        _states_match_last_rows(conn, tag)
        assert conn.execute("SELECT count(*) FROM ksys.alarm_dirty").fetchone()[0] == 0


def _one_alarm(conn: psycopg.Connection, tag: str = "A1") -> None:
    conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, crit_max) VALUES (%s, true, 10)", (tag,))
    conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '2 minutes', %s, 20)", (tag,))
    conn.execute("SELECT ksys.run_alarms()")


def _state(conn: psycopg.Connection, tag: str = "A1") -> tuple:
    return conn.execute("SELECT state, active, shelved_until IS NOT NULL FROM ksys.alarm_state "
                        "WHERE tag_name = %s AND kind = 'crit_high'", (tag,)).fetchone()


def test_apply_checks_the_state_and_writes_only_what_applies(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _one_alarm(conn)
        assert _state(conn) == ("unack", True, False)
        apply = "SELECT ksys.alarm_apply(%s, ARRAY['A1'], ARRAY['crit_high'], 'admin', NULL, %s)"
        assert conn.execute(apply, ("unshelve", None)).fetchone()[0] == 0  # not shelved: nothing written
        assert conn.execute(apply, ("ack", None)).fetchone()[0] == 1
        assert conn.execute(apply, ("ack", None)).fetchone()[0] == 0  # already acknowledged
        assert _state(conn) == ("acked", True, False)
        assert conn.execute("SELECT count(*) FROM ksys.alarm_actions").fetchone()[0] == 1
        # a shelve too long, in the past, or without an end is refused before anything is written
        for until in ("now() + interval '13 hours'", "now() - interval '1 minute'"):
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute(f"SELECT ksys.alarm_apply('shelve', ARRAY['A1'], ARRAY['crit_high'], 'admin', NULL, {until})")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute(apply, ("shelve", None))
        assert conn.execute("SELECT count(*) FROM ksys.alarm_actions").fetchone()[0] == 1
        conn.execute("SELECT ksys.alarm_apply('remove', ARRAY['A1'], ARRAY['crit_high'], 'admin', 'sensor swap', NULL)")
        assert _state(conn) == ("out_of_service", True, False)
        conn.execute("SELECT ksys.alarm_apply('restore', ARRAY['A1'], ARRAY['crit_high'], 'admin', NULL, NULL)")
        assert _state(conn) == ("unack", True, False)  # still active: announced again


def test_a_shelve_expires_on_the_next_run_and_the_alarm_is_announced_again(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _one_alarm(conn)
        conn.execute("SELECT ksys.alarm_apply('shelve', ARRAY['A1'], ARRAY['crit_high'], 'op', NULL, "
                     "clock_timestamp() + interval '1 second')")
        assert _state(conn) == ("shelved", True, True)
        conn.execute("SELECT pg_sleep(1.2)")
        conn.execute("SELECT ksys.run_alarms()")
        assert _state(conn) == ("unack", True, False)
        last = conn.execute("SELECT action, old_state, new_state, operator FROM ksys.alarm_journal "
                            "ORDER BY at DESC, seq DESC LIMIT 1").fetchone()
        assert last == ("shelve_expired", "shelved", "unack", None)


def test_a_removed_limit_takes_its_state_and_journal_but_not_the_actions(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _one_alarm(conn)
        conn.execute("SELECT ksys.alarm_apply('ack', ARRAY['A1'], ARRAY['crit_high'], 'op', NULL, NULL)")
        conn.execute("UPDATE influx_qc_rule SET crit_max = NULL WHERE tag_name = 'A1'")
        conn.execute("SELECT ksys.run_alarms()")
        assert conn.execute("SELECT count(*) FROM ksys.alarm_state WHERE tag_name = 'A1'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ksys.alarm_journal WHERE tag_name = 'A1'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ksys.alarm_actions WHERE tag_name = 'A1'").fetchone()[0] == 1


def test_the_pages_read_states_and_journal_as_the_read_only_role(migrated_dsn, pg_server):
    db = psycopg.conninfo.conninfo_to_dict(migrated_dsn)["dbname"]
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        _one_alarm(conn)
    with psycopg.connect(pg_server.dsn(db, user="eco_ro")) as ro:
        assert ro.execute("SELECT tag_name, kind, priority, state FROM alarm_states").fetchall() == \
            [("A1", "crit_high", "high", "unack")]
        assert ro.execute("SELECT action, new_state FROM alarm_journal").fetchall() == [("activate", "unack")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            ro.execute("SELECT * FROM ksys.alarm_state")


def test_deadband_and_delays_suppress_chatter_in_the_database(migrated_dsn):
    """A value hovering on a limit: activations with no deadband, a deadband, an on-delay."""
    rng = random.Random(3)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    readings = [(start + timedelta(seconds=10 * i), 90.0 + rng.uniform(-1.5, 1.5)) for i in range(360)]
    counts = {}
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        for tag, deadband, on_delay in (("HOV0", 0.0, 0), ("HOV1", 2.0, 0), ("HOV2", 0.0, 60)):
            conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, min_val, max_val, warn_max, deadband_pct, "
                         "alarm_on_delay_s) VALUES (%s, true, 0, 100, 90, %s, %s)", (tag, deadband, on_delay))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                                [(at, tag, v) for at, v in readings])
        conn.execute("SELECT ksys.run_alarms()")
        for tag in ("HOV0", "HOV1", "HOV2"):
            counts[tag] = conn.execute("SELECT count(*) FROM ksys.alarm_journal WHERE tag_name = %s "
                                       "AND action = 'activate'", (tag,)).fetchone()[0]
    assert counts["HOV0"] > 50  # no deadband, no delay: it chatters
    assert counts["HOV1"] <= 2  # a deadband of 2 % of the range (2.0) is wider than the noise
    assert counts["HOV2"] < counts["HOV0"] / 4  # 60 s of violations in a row are rare
