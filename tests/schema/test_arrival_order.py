"""Readings arriving in any order: late, out of order, duplicated, updated, deleted,
in bursts, into compressed chunks (TimescaleDB) and across a restore, with
scheduler ticks interleaved at random. Once the scheduler has settled, every
derived relation equals (a) `ksys verify`'s recompute and (b) the independent
Python recompute in tests/schema/reference.py of the raw rows this test kept track of.

A fixed seed runs here; bench/soak.py runs the same kind of traffic for longer
and measures the lag from a reading landing to every relation reflecting it.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.ops.dataops.backup import backup
from ksys_app.ops.dataops.restore import restore
from ksys_app.ops.schema.refresh import settle, tick
from ksys_app.ops.schema.verify import RELATIONS, verify_relations
from tests.data.seed import pause_timescaledb_policies
from tests.schema import reference as ref

TAGS = list(ref.INPUTS) + ["D100", "D200"]
MINUTE = timedelta(minutes=1)
SEED = 20261201
STEPS = 45

Key = tuple[datetime, str]


def _value(rng: random.Random, tag: str) -> float:
    if tag == "FEED_FLOW" and rng.random() < 0.05:
        return rng.choice([0.0, 0.5, 1.0])       # the virtual tags' edge cases
    return rng.randrange(0, 4 * 400) / 4


def _base_rows(rng: random.Random, start: datetime, end: datetime) -> dict[Key, float]:
    """Readings about every 40 s per tag (some minutes empty), values multiples of 1/4."""
    rows: dict[Key, float] = {}
    for tag in TAGS:
        t = start
        while t < end:
            ts = t + timedelta(milliseconds=rng.randrange(0, 40_000))
            if ts < end and rng.random() > 0.03:
                rows[(ts.replace(microsecond=ts.microsecond // 1000 * 1000), tag)] = _value(rng, tag)
            t += timedelta(seconds=40)
    return rows


class Arrivals:
    """The database under test and the model of what influx_hist must hold."""

    def __init__(self, dsn: str, engine: str, rng: random.Random, now: datetime):
        self.dsn, self.engine, self.rng, self.now = dsn, engine, rng, now
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.model: dict[Key, float] = {}
        self.ticks = 0

    def close(self) -> None:
        self.conn.close()

    def copy(self, rows: dict[Key, float]) -> None:
        with self.conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for (ts, tag), v in rows.items():
                copy.write_row((ts, tag, v))
        self.model.update(rows)

    def insert(self, rows: dict[Key, float], on_conflict: str) -> None:
        items = list(rows.items())
        self.rng.shuffle(items)                                   # out of order within the batch too
        self.conn.execute(
            "INSERT INTO influx_hist (ts, tag_name, value) SELECT * FROM unnest(%s::timestamptz[], %s::text[], "
            f"%s::float8[]) ON CONFLICT (ts, tag_name) {on_conflict}",
            ([k[0] for k, _v in items], [k[1] for k, _v in items], [v for _k, v in items]))
        for key, v in items:
            if on_conflict.startswith("DO UPDATE") or key not in self.model:
                self.model[key] = v

    def update(self, tag: str, lo: datetime, hi: datetime, add: float) -> None:
        self.conn.execute("UPDATE influx_hist SET value = value + %s WHERE tag_name = %s AND ts >= %s AND ts < %s",
                          (add, tag, lo, hi))
        for key in [k for k in self.model if k[1] == tag and lo <= k[0] < hi]:
            self.model[key] += add

    def delete(self, tag: str, lo: datetime, hi: datetime) -> None:
        self.conn.execute("DELETE FROM influx_hist WHERE tag_name = %s AND ts >= %s AND ts < %s", (tag, lo, hi))
        for key in [k for k in self.model if k[1] == tag and lo <= k[0] < hi]:
            del self.model[key]

    def tick(self) -> None:
        while (failed := tick(self.conn)) == -1:   # pg_cron's tick of this database is running
            time.sleep(0.1)
        assert failed == 0
        self.ticks += 1

    def restore_into(self, new_dsn: str, dump_dir) -> None:
        """ksys backup, then ksys restore into another database; the test goes on there."""
        dump = dump_dir / "arrivals.dump"
        backup(self.dsn, dump, out=lambda _line: None)
        self.close()
        result = restore(dump, new_dsn, out=lambda _line: None)
        assert result.exit_code in (0, 3), result
        self.dsn = new_dsn
        self.conn = psycopg.connect(new_dsn, autocommit=True)
        if self.engine == "timescaledb":
            pause_timescaledb_policies(self.conn)


def _random_span(rng: random.Random, lo: datetime, hi: datetime, longest: timedelta) -> tuple[datetime, datetime]:
    start = lo + (hi - lo) * rng.random()
    return start, min(hi, start + longest * rng.random() + timedelta(seconds=1))


def _db_rows(conn: psycopg.Connection, sql: str) -> dict:
    return {(r[0], r[1]): tuple(r[2:]) if len(r) > 3 else r[2] for r in conn.execute(sql)}


def _assert_equal_to_reference(conn: psycopg.Connection, model: dict[Key, float]) -> None:
    current = conn.execute("SELECT date_bin('1 minute', now(), ksys.bucket_origin())").fetchone()[0]
    raw = _db_rows(conn, "SELECT ts, tag_name, value FROM influx_hist WHERE NOT tag_name = ANY (ksys.virtual_tag_names())")
    assert ref.differences(raw, model) == [], "influx_hist does not hold what was written"

    virtual = ref.virtual_tags(model, before=current)
    assert ref.differences(_db_rows(conn, "SELECT ts, tag_name, value FROM influx_hist "
                                          "WHERE tag_name = ANY (ksys.virtual_tag_names())"), virtual) == []
    full = {**model, **virtual}
    for view, width in (("influx_agg_1m", MINUTE), ("influx_agg_10m", 10 * MINUTE),
                        ("influx_agg_1h", 60 * MINUTE), ("influx_agg_1d", timedelta(days=1))):
        got = _db_rows(conn, f"SELECT bucket, tag_name, n, avg, sum, min, max, last, first, diff FROM {view}")
        assert ref.differences(got, ref.rollup(full, width)) == [], view
    got = _db_rows(conn, "SELECT bucket, tag_name, mean_5m, std_5m, min_5m, max_5m, p10_5m, p90_5m, n_5m "
                         "FROM features_5m")
    assert ref.differences(got, ref.features_5m(full)) == [], "features_5m"
    got = _db_rows(conn, "SELECT bucket, tag_name, recv_msgs, last_seen_min FROM comm_success_1h")
    assert ref.differences(got, ref.comm_recv(full)) == [], "comm_success_1h"
    minute_avgs = {k: v[1] for k, v in ref.rollup(full, MINUTE).items()}
    got = _db_rows(conn, "SELECT bucket, tag_name, avg, sma_10, sma_60, bb_top, bb_bot, slope_60 FROM tech_ind_1m_mv")
    assert ref.differences(got, ref.tech(minute_avgs)) == [], "tech_ind_1m_mv"


def test_any_arrival_order_gives_the_prd_numbers(engine, new_database, new_migrated_database, tmp_path):
    rng = random.Random(SEED)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    recent_lo, recent_hi = now - timedelta(days=3), now - 2 * MINUTE
    old_lo, old_hi = now - timedelta(days=9), now - timedelta(days=8, hours=20)   # a chunk compressed on TimescaleDB

    dsn = new_migrated_database(engine)
    run = Arrivals(dsn, engine, rng, now)
    if engine == "timescaledb":
        pause_timescaledb_policies(run.conn)
    try:
        pool = _base_rows(rng, recent_lo, recent_hi)
        pool.update(_base_rows(rng, old_lo, old_hi))
        keys = list(pool)
        rng.shuffle(keys)
        first = dict((k, pool.pop(k)) for k in keys[: len(keys) // 2])
        run.copy(first)                                 # half of it in one bulk load
        compressed = False
        restored = False
        for step in range(STEPS):
            op = rng.choice(["late", "late", "upsert", "duplicate", "update", "delete", "burst", "tick"])
            if op == "late" and pool:                  # readings of any age up to 3 (or 9) days, any order
                batch = rng.sample(list(pool), min(len(pool), rng.randrange(20, 400)))
                run.insert({k: pool.pop(k) for k in batch}, "DO NOTHING")
            elif op == "upsert" and run.model:         # a corrected value re-sent
                batch = rng.sample(list(run.model), min(len(run.model), rng.randrange(1, 60)))
                run.insert({k: _value(rng, k[1]) for k in batch}, "DO UPDATE SET value = excluded.value")
            elif op == "duplicate" and run.model:      # store-and-forward re-sends: the first value stays
                batch = rng.sample(list(run.model), min(len(run.model), rng.randrange(1, 60)))
                run.insert({k: _value(rng, k[1]) for k in batch}, "DO NOTHING")
            elif op == "update":
                run.update(rng.choice(TAGS), *_random_span(rng, recent_lo, recent_hi, timedelta(hours=2)),
                           add=rng.randrange(1, 40) / 4)
            elif op == "delete":
                run.delete(rng.choice(TAGS), *_random_span(rng, recent_lo, recent_hi, timedelta(minutes=30)))
            elif op == "burst" and pool:               # an hour of one edge buffer at once, by COPY
                lo, hi = _random_span(rng, recent_lo, recent_hi, timedelta(hours=3))
                burst = {k: v for k, v in pool.items() if lo <= k[0] < hi}
                for k in burst:
                    del pool[k]
                run.copy(burst)
            if rng.random() < 0.45 or op == "tick":
                run.tick()
            if engine == "timescaledb" and not compressed and step >= STEPS // 4:
                # 7-day chunks: the one holding the readings 9 days old ends 2 days ago at the latest
                n = run.conn.execute("SELECT count(compress_chunk(c, if_not_compressed => true)) "
                                     "FROM show_chunks('influx_hist', older_than => interval '2 days') c").fetchone()[0]
                assert n >= 1
                compressed = True                      # later late readings land in compressed chunks
            if not restored and step == STEPS // 2:
                run.restore_into(new_database(), tmp_path)
                restored = True
        if pool:                                       # the rest arrives last, late
            run.insert(pool, "DO NOTHING")
        assert restored and run.ticks >= 10

        settle(run.conn)
        results = verify_relations(run.conn, old_lo - timedelta(days=1), now + MINUTE)
        assert [(r.name, r.differ, r.pending, r.examples) for r in results if r.differ or r.pending] == []
        assert {r.name for r in results if r.compared > 0} == set(RELATIONS)
        _assert_equal_to_reference(run.conn, run.model)
    finally:
        run.close()


def test_verify_finds_a_wrong_bucket(migrated_dsn, engine, capsys):
    """`ksys verify` is not a test that cannot fail: damage one derived row of each
    kind and it reports each, with exit code 1."""
    from ksys_app.ops.schema.verify import verify

    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    rng = random.Random(3)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        if engine == "timescaledb":
            pause_timescaledb_policies(conn)
        rows = _base_rows(rng, now - timedelta(hours=6), now - 2 * MINUTE)
        with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for (ts, tag), v in rows.items():
                copy.write_row((ts, tag, v))
        settle(conn)
        assert verify(migrated_dsn, out=lambda _l: None) == 0
        bucket = now - timedelta(hours=3)
        conn.execute("UPDATE tech_ind_1m_mv SET sma_10 = sma_10 + 1 WHERE bucket = %s AND tag_name = 'D100'",
                     (bucket,))
        conn.execute("SET ksys.skip_change_log = on")   # damage the virtual tags without the log repairing them
        conn.execute("DELETE FROM influx_hist WHERE tag_name = 'PRESSURE_DIFF' AND ts = %s", (bucket,))
        if engine == "postgres":
            conn.execute("UPDATE influx_agg_1h SET n = n + 1 WHERE tag_name = 'D200' AND bucket = %s",
                         (bucket.replace(minute=0),))
    lines: list[str] = []
    assert verify(migrated_dsn, out=lines.append) == 1
    text = "\n".join(lines)
    assert "DIFF tech_ind_1m_mv" in text and "DIFF virtual_tags" in text and "missing row" in text
    if engine == "postgres":
        assert "DIFF influx_agg_1h" in text
    with pytest.raises(Exception):
        verify(migrated_dsn, relation=["nope"])
