"""influx_latest for tags the scheduler has not registered yet: the newest reading of
each, whatever order the readings were written in (checked against max(ts) read here)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg


def test_a_new_tag_shows_its_newest_reading_before_it_is_registered(migrated_dsn):
    rng = random.Random(11)
    now = datetime.now(timezone.utc)
    rows = [(now - timedelta(seconds=s), f"NEW{t}", float(s)) for t in range(5) for s in range(1, 240, 7)]
    rng.shuffle(rows)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute("ANALYZE influx_hist")
        registered = {r[0] for r in conn.execute("SELECT tag_name FROM ksys.tag_registry WHERE tag_name LIKE 'NEW%'")}
        assert registered == set()  # the case at hand: no tick has run
        want = {tag: (value, ts) for tag, value, ts in conn.execute(
            "SELECT DISTINCT ON (tag_name) tag_name, value, ts FROM influx_hist WHERE tag_name LIKE 'NEW%' "
            "ORDER BY tag_name, ts DESC")}
        for _ in range(3):  # a plan that happens to find the newest first would hide the bug
            got = {tag: (value, ts) for tag, value, ts in conn.execute(
                "SELECT tag_name, value, ts FROM influx_latest WHERE tag_name LIKE 'NEW%'")}
            assert got == want
            assert all(value == 1.0 for value, _ in got.values())  # one second ago: the newest
        # once registered, the same rows through the registry's branch
        conn.execute("SELECT ksys.tick()")
        got = {tag: (value, ts) for tag, value, ts in conn.execute(
            "SELECT tag_name, value, ts FROM influx_latest WHERE tag_name LIKE 'NEW%'")}
        assert got == want
