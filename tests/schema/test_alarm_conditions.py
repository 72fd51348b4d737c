"""The database's alarm conditions (migration 0016) against the domain's rule, on
random readings written in random order, late ones included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.domain.alarms import condition_changes, limits_of

T0 = datetime(2026, 11, 30, tzinfo=timezone.utc)
RULE_COLUMNS = ("min_val", "max_val", "crit_min", "crit_max", "warn_min", "warn_max", "deadband_pct",
                "alarm_on_delay_s", "alarm_off_delay_s")


def _rule(rng: random.Random) -> dict:
    rule = {"min_val": 0.0, "max_val": 100.0, "crit_min": 5.0, "crit_max": 95.0, "warn_min": 10.0, "warn_max": 90.0,
            "deadband_pct": rng.choice([None, 0.0, 1.0, 3.0]),
            "alarm_on_delay_s": rng.choice([0, 10, 30]), "alarm_off_delay_s": rng.choice([0, 20, 60])}
    for column in ("crit_min", "warn_max", "min_val"):
        if rng.random() < 0.2:
            rule[column] = None  # some limits absent
    return rule


def _readings(rng: random.Random, n: int) -> list[tuple[datetime, float]]:
    """Irregular times (1-20 s apart), values that wander across the limits and hover on them."""
    out, at, value = [], T0, 50.0
    for _ in range(n):
        at += timedelta(seconds=rng.randint(1, 20))
        value = rng.choice([value + rng.uniform(-8, 8), rng.choice([4.9, 5.0, 9.5, 10.0, 90.0, 90.5, 95.0, 100.5, -1.0])])
        out.append((at, round(value, 3)))
    return out


def _domain(rule: dict, readings) -> list[tuple]:
    on, off = timedelta(seconds=rule["alarm_on_delay_s"]), timedelta(seconds=rule["alarm_off_delay_s"])
    out = []
    for limit in limits_of({**rule, "enabled": True}):
        out += [(limit.kind.value, c.at, c.active, c.value, limit.priority.value)
                for c in condition_changes(readings, limit, on_delay=on, off_delay=off)]
    return sorted(out)


def _database(conn: psycopg.Connection, tag: str) -> list[tuple]:
    return sorted(conn.execute("SELECT kind, at, active, value, priority FROM ksys.alarm_conditions(%s, %s, %s)",
                               (tag, T0, T0 + timedelta(days=1))).fetchall())


@pytest.mark.parametrize("seed", range(12))
def test_database_conditions_equal_the_domain_rule_in_any_arrival_order(migrated_dsn, seed):
    rng = random.Random(seed)
    tag, rule, readings = f"AL{seed}", _rule(rng), _readings(rng, 400)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute(f"INSERT INTO influx_qc_rule (tag_name, enabled, {', '.join(RULE_COLUMNS)}) "
                     f"VALUES (%s, true, {', '.join(['%s'] * len(RULE_COLUMNS))})",
                     (tag, *(rule[c] for c in RULE_COLUMNS)))
        # most readings in a shuffled order, the rest arriving late, one at a time
        order = readings[:]
        rng.shuffle(order)
        early, late = order[: len(order) * 3 // 4], order[len(order) * 3 // 4:]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                            [(at, tag, v) for at, v in early])
        assert _database(conn, tag) == _domain(rule, early)
        for at, v in late:
            conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)", (at, tag, v))
        want = _domain(rule, readings)
        assert want, "the random readings should cross some limit"
        assert _database(conn, tag) == want


def test_a_disabled_rule_or_a_tag_without_one_has_no_conditions(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, warn_max) VALUES ('OFF1', false, 10)")
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, 'OFF1', 50), (%s, 'NORULE', 50)",
                     (T0 + timedelta(seconds=1), T0 + timedelta(seconds=1)))
        assert _database(conn, "OFF1") == []
        assert _database(conn, "NORULE") == []


def test_nan_readings_are_skipped_and_delays_are_never_negative(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, warn_max) VALUES ('NAN1', true, 10)")
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, 'NAN1', 'NaN'), (%s, 'NAN1', 11)",
                     (T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)))
        assert [(k, a) for k, _t, a, _v, _p in _database(conn, "NAN1")] == [("warn_high", True)]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE influx_qc_rule SET alarm_on_delay_s = -1 WHERE tag_name = 'NAN1'")


def _stored(conn: psycopg.Connection, tag: str) -> list[tuple]:
    return sorted(conn.execute("SELECT kind, at, active, value, priority FROM ksys.alarm_condition_changes "
                               "WHERE tag_name = %s", (tag,)).fetchall())


def _current(conn: psycopg.Connection, tag: str) -> list[tuple[datetime, float]]:
    return conn.execute("SELECT ts, value FROM influx_hist WHERE tag_name = %s", (tag,)).fetchall()


@pytest.mark.parametrize("seed", range(6))
def test_the_alarms_job_keeps_the_stored_changes_equal_to_a_recompute_through_late_edits(migrated_dsn, seed):
    """Readings arrive in batches: in time order (live), late into the past, corrected
    (UPDATE) and deleted; after every batch the job runs, and what it stored equals the
    domain's rule over the readings as they are then."""
    rng = random.Random(100 + seed)
    tag, rule = f"JOB{seed}", _rule(rng)
    readings = _readings(rng, 300)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute(f"INSERT INTO influx_qc_rule (tag_name, enabled, {', '.join(RULE_COLUMNS)}) "
                     f"VALUES (%s, true, {', '.join(['%s'] * len(RULE_COLUMNS))})",
                     (tag, *(rule[c] for c in RULE_COLUMNS)))
        held_back = set(rng.sample(range(len(readings)), 60))  # these arrive late
        live = [r for i, r in enumerate(readings) if i not in held_back]
        late = [readings[i] for i in sorted(held_back)]
        rng.shuffle(late)
        batches = [("insert", live[i:i + 40]) for i in range(0, len(live), 40)]
        batches += [("insert", late[i:i + 15]) for i in range(0, len(late), 15)]
        batches += [("update", rng.sample(readings, 20)), ("delete", rng.sample(readings, 20))]
        for kind, batch in batches:
            with conn.cursor() as cur:
                if kind == "insert":
                    cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                                    [(at, tag, v) for at, v in batch])
                elif kind == "update":
                    cur.executemany("UPDATE influx_hist SET value = %s WHERE ts = %s AND tag_name = %s",
                                    [(rng.choice([0.0, 50.0, 99.0]), at, tag) for at, _v in batch])
                else:
                    cur.executemany("DELETE FROM influx_hist WHERE ts = %s AND tag_name = %s",
                                    [(at, tag) for at, _v in batch])
            conn.execute("SELECT ksys.run_alarms()")
            assert _stored(conn, tag) == _domain(rule, _current(conn, tag)), kind
        assert _stored(conn, tag), "the readings should cross some limit"
        assert conn.execute("SELECT count(*) FROM ksys.pending_ranges WHERE consumer = 'alarms'").fetchone()[0] == 0


def test_an_edited_or_disabled_rule_is_recomputed_on_the_next_run(migrated_dsn):
    tag = "EDIT1"
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, warn_max) VALUES (%s, true, 50)", (tag,))
        values = [40, 60, 40, 70, 40]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)",
                            [(T0 + timedelta(seconds=i), tag, v) for i, v in enumerate(values)])
        conn.execute("SELECT ksys.run_alarms()")
        assert len(_stored(conn, tag)) == 4
        conn.execute("UPDATE influx_qc_rule SET warn_max = 65 WHERE tag_name = %s", (tag,))
        conn.execute("SELECT ksys.run_alarms()")  # no new reading: the edit alone
        rule = {"warn_max": 65.0, "alarm_on_delay_s": 0, "alarm_off_delay_s": 0}
        assert _stored(conn, tag) == _domain(rule, _current(conn, tag)) and len(_stored(conn, tag)) == 2
        conn.execute("UPDATE influx_qc_rule SET enabled = false WHERE tag_name = %s", (tag,))
        conn.execute("SELECT ksys.run_alarms()")
        assert _stored(conn, tag) == []


def test_the_tick_runs_the_alarms_job(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO influx_qc_rule (tag_name, enabled, crit_max) VALUES ('TICK1', true, 10)")
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now() - interval '5 minutes', 'TICK1', 20)")
        conn.execute("CALL ksys.run_tick()")
        assert [(k, a) for k, _t, a, _v, _p in _stored(conn, "TICK1")] == [("crit_high", True)]
        assert conn.execute("SELECT last_run_status FROM ksys.jobs WHERE job_name = 'alarms'").fetchone()[0] == "Success"


def test_run_alarms_by_itself_waits_for_the_tick_and_a_tick_meanwhile_skips(migrated_dsn):
    """ksys.run_alarms() called beside the scheduler takes the tick's lock: it waits for a
    tick in progress (it could deadlock with it before, both rewriting ksys.pending_ranges),
    and a tick while it runs returns -1 (skipped) instead of interleaving."""
    import threading

    with psycopg.connect(migrated_dsn) as tick, psycopg.connect(migrated_dsn, autocommit=True) as other:
        tick.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (now(), 'LOCK1', 1)")
        assert tick.execute("SELECT ksys.tick()").fetchone()[0] >= 0  # in progress: not committed
        done: list[float] = []
        worker = threading.Thread(target=lambda: done.append(other.execute("SELECT ksys.run_alarms()").fetchone()[0]))
        worker.start()
        worker.join(1.5)
        assert worker.is_alive() and not done  # waiting for the tick's transaction
        waiting = tick.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]
        assert waiting == 1
        tick.commit()
        worker.join(10)
        assert done and done[0] >= 0
        # the other way round: run_alarms' transaction open, the tick skips
        with other.transaction():
            other.execute("SELECT ksys.run_alarms()")
            assert tick.execute("SELECT ksys.tick()").fetchone()[0] == -1
            tick.rollback()
        assert tick.execute("SELECT ksys.tick()").fetchone()[0] >= 0
        tick.commit()
