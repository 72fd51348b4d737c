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
