"""The simulator against real PostgreSQL / TimescaleDB: backfill, gap-fill, re-runs, gaps, live mode."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.domain.timefmt import format_local
from ksys_app.ops import cli
from ksys_app.ops.simulator import load, runner, signals, tags
from ksys_app.ops.simulator.runner import SimConfig

SEED = 42
ALL = SimConfig(seed=SEED)
RAW = "tag_name = ANY(%(tags)s) AND NOT meta ? 'virtual'"


class FakeClock:
    def __init__(self, t: datetime):
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def _t0() -> datetime:
    """A past instant (virtual tags are computed only up to the server's now), off the grid."""
    now = datetime.now(timezone.utc)
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3) + timedelta(seconds=7)


@pytest.fixture
def pg_dsn(new_migrated_database) -> str:
    return new_migrated_database("postgres")


def _quiet(_line: str) -> None:
    pass


def _rows(conn, cfg: SimConfig) -> set[tuple[int, str, float]]:
    return {(int(ts.timestamp()), tag, v) for ts, tag, v in conn.execute(
        f"SELECT ts, tag_name, value FROM influx_hist WHERE {RAW}", {"tags": list(cfg.tags)})}


def _expected(cfg: SimConfig, start, end) -> set[tuple[int, str, float]]:
    return {(t, tag, v) for ts, block in signals.generate(cfg.seed, cfg.tags, start, end, cfg.interval_s)
            for tag, vals in block.items() for t, v in zip(ts, vals) if v is not None}


def _summary(conn, cfg: SimConfig):
    return conn.execute(
        f"SELECT count(*), sum(value::numeric), md5(string_agg(tag_name || ts::text || value::text, ',' "
        f"ORDER BY ts, tag_name)) FROM influx_hist WHERE {RAW}", {"tags": list(cfg.tags)}).fetchone()


def test_backfill_one_day(migrated_dsn, engine):
    t0 = _t0()
    lines: list[str] = []
    result, live = runner.run(migrated_dsn, ALL, days=1, now=FakeClock(t0), out=lines.append)
    assert live is None
    expected = signals.expected_count(SEED, ALL.tags, t0 - timedelta(days=1), t0, 10)
    assert result.rows == expected
    assert result.staged_chunks == 0 and result.refresh_seconds is not None
    assert any(line.startswith(f"backfilled {expected} rows in ") and "rows/s" in line for line in lines)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM influx_hist WHERE {RAW}",
                            {"tags": list(ALL.tags)}).fetchone()[0] == expected
        for ts, tag, v in conn.execute("SELECT ts, tag_name, value FROM influx_hist "
                                       "WHERE tag_name = 'FEED_FLOW' ORDER BY ts LIMIT 50"):
            assert v == signals.value(SEED, tag, ts)
        # rollups cover the span
        lo, hi = t0 - timedelta(days=1), t0
        n_1m = conn.execute("SELECT count(DISTINCT bucket) FROM influx_agg_1m WHERE tag_name = 'D100' "
                            "AND bucket >= %s AND bucket < %s", (lo, hi)).fetchone()[0]
        assert n_1m >= 1440 - 60  # one day of minutes, minus silent hours
        assert conn.execute("SELECT count(*) FROM influx_agg_1h WHERE bucket >= %s AND bucket < %s",
                            (lo, hi)).fetchone()[0] >= 13 * 20
        assert conn.execute("SELECT sum(n) FROM influx_agg_1d WHERE tag_name = ANY(%s)",
                            (list(ALL.tags),)).fetchone()[0] == expected
        virtual = dict(conn.execute("SELECT tag_name, count(*) FROM influx_hist WHERE meta ? 'virtual' "
                                    "GROUP BY 1").fetchall())
        assert set(virtual) >= {"PRESSURE_DIFF", "RECOVERY_RATE", "OPERATING_TIME", "TOTAL_PRODUCT_VOLUME_1H"}
        assert min(virtual.values()) > 1000
        assert conn.execute("SELECT count(*) FROM tech_ind_1m_mv WHERE tag_name = 'D100'").fetchone()[0] > 1000
        # communication: an amber hour shows exactly its planned share of readings
        amber = next(((tag, h) for tag in ALL.tags
                      for h in range(int(lo.timestamp()) // 3600 + 1, int(hi.timestamp()) // 3600)
                      if (signals.dropout(SEED, tag, h) or ("",))[0] == signals.DROP_AMBER), None)
        if amber:
            tag, h = amber
            bucket = datetime.fromtimestamp(h * 3600, timezone.utc)
            rate = conn.execute("SELECT success_rate FROM comm_success_1h WHERE tag_name = %s AND bucket = %s",
                                (tag, bucket)).fetchone()[0]
            assert tags.SLO_CRIT <= rate < tags.SLO_WARN
        # QC rules and expectations
        rules = {r[0]: r for r in conn.execute(
            "SELECT tag_name, min_val, max_val, warn_min, warn_max, crit_min, crit_max, enabled, max_gap_seconds "
            "FROM influx_qc_rule")}
        assert set(rules) == set(tags.TAG_NAMES)
        for rule in tags.qc_rules():
            assert rules[rule["tag_name"]][1:] == (rule["min_val"], rule["max_val"], rule["warn_min"],
                                                   rule["warn_max"], rule["crit_min"], rule["crit_max"], True, 30)
        exp = conn.execute("SELECT tag_name, exp_per_min, slo_warn::float8, slo_crit::float8 "
                           "FROM ingest_expectation").fetchall()
        assert sorted(exp) == sorted((t, 6, 0.98, 0.95) for t in tags.TAG_NAMES)


def test_gap_fill_on_restart_writes_exactly_the_missed_span(migrated_dsn, engine):
    t0 = _t0()
    clock = FakeClock(t0)
    runner.run(migrated_dsn, ALL, days=1, now=clock, out=_quiet)
    clock.advance(2 * 3600)   # stopped for two hours, then started again without --days
    lines: list[str] = []
    result, _ = runner.run(migrated_dsn, ALL, now=clock, out=lines.append)
    assert result.rows == signals.expected_count(SEED, ALL.tags, t0, clock.t, 10)
    assert result.staged_chunks == 0  # straight COPY, no conflict
    assert any(line.startswith("gap-filled ") for line in lines)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        got = _rows(conn, ALL)
        count = conn.execute(f"SELECT count(*) FROM influx_hist WHERE {RAW}", {"tags": list(ALL.tags)}).fetchone()[0]
    want = _expected(ALL, t0 - timedelta(days=1), clock.t)
    assert got == want                      # no missing grid point except planned dropouts, same values
    assert count == len(want) == signals.expected_count(SEED, ALL.tags, t0 - timedelta(days=1), clock.t, 10)


def test_same_start_twice_changes_nothing(pg_dsn):
    clock = FakeClock(_t0())
    runner.run(pg_dsn, ALL, days=1, now=clock, out=_quiet)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        before = _summary(conn, ALL)
        rules_before = conn.execute("SELECT * FROM influx_qc_rule ORDER BY 1").fetchall()
    again, _ = runner.run(pg_dsn, ALL, days=1, now=clock, out=_quiet)
    assert again.rows == 0
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert _summary(conn, ALL) == before
        assert conn.execute("SELECT * FROM influx_qc_rule ORDER BY 1").fetchall() == rules_before
        # the staging path (used when a span may hold rows) is idempotent too
        blocks = signals.generate(SEED, ALL.tags, clock.t - timedelta(hours=3), clock.t, 10)
        inserted, generated = load.copy_blocks(conn, blocks, staging=True)
        assert inserted == 0 and generated > 10000
        assert _summary(conn, ALL) == before


def test_staging_fills_holes_inside_a_span(pg_dsn):
    cfg = SimConfig(seed=SEED, tags=("D100", "FEED_FLOW"))
    t0 = _t0()
    runner.run(pg_dsn, cfg, days=0.25, now=FakeClock(t0), out=_quiet)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        before = _summary(conn, cfg)
        conn.execute("DELETE FROM influx_hist WHERE tag_name = 'D100' AND ts > %s AND ts <= %s",
                     (t0 - timedelta(hours=2), t0 - timedelta(hours=1)))
        blocks = signals.generate(SEED, cfg.tags, t0 - timedelta(hours=3), t0, 10)
        inserted, _ = load.copy_blocks(conn, blocks, staging=True)
        assert inserted == signals.expected_count(SEED, ["D100"], t0 - timedelta(hours=2), t0 - timedelta(hours=1), 10)
        assert _summary(conn, cfg) == before


def test_gaps_lists_a_deleted_span(pg_dsn, capsys):
    cfg = SimConfig(seed=SEED, tags=("D100", "D200"))
    t0 = _t0()
    runner.run(pg_dsn, cfg, days=0.5, now=FakeClock(t0), out=_quiet)
    hole_from, hole_to = t0 - timedelta(hours=2, minutes=20), t0 - timedelta(hours=1, minutes=50)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM influx_hist WHERE tag_name = 'D200' AND ts >= %s AND ts < %s",
                     (hole_from, hole_to))
        gaps, silent = runner.list_gaps(conn, cfg, days=0.5, now=FakeClock(t0))
    assert silent == []
    mine = [g for g in gaps if g.tag_name == "D200" and g.after < hole_from and g.before and g.before >= hole_to]
    assert len(mine) == 1 and mine[0].seconds >= 30 * 60
    # every reported gap is more than two intervals; planned dropouts show up too
    assert all(g.seconds > 20 for g in gaps)
    code = cli.main(["simulate", "--dsn", pg_dsn, "--gaps", "--days", "0.5", "--tags", "D200"])
    out = capsys.readouterr().out
    assert code == 0
    # the hole, as list_gaps found it above (30 minutes, or longer where a planned dropout of
    # the simulator touches it: that depends on the hour the test runs in)
    hole = mine[0]
    assert any(line.startswith("D200") and format_local(hole.after) in line
               and "{:02d}:{:02d}:".format(int(hole.seconds) // 3600, int(hole.seconds) % 3600 // 60) in line
               for line in out.splitlines()), out
    assert "in 1 tag over the last 0.5 days" in out


def _run_follow(dsn, cfg, clock, stop, stop_at, fail_connects=0, outage_s=0.0):
    """follow() in a thread; the fake wait advances the clock (by outage_s while the database is
    "down") and sets the stop flag once the clock reaches stop_at."""
    waits: list[float] = []
    lines: list[str] = []
    calls = {"connect": 0}

    def connect(d):
        calls["connect"] += 1
        if calls["connect"] <= fail_connects:
            raise psycopg.OperationalError("connection refused (test)")
        return psycopg.connect(d, autocommit=True)

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        clock.advance(outage_s if calls["connect"] <= fail_connects else seconds)
        if clock.t >= stop_at:
            stop.set()
        return stop.is_set()

    box = {}
    th = threading.Thread(target=lambda: box.setdefault("stats", runner.follow(
        dsn, cfg, now=clock, stop=stop, wait=wait, connect=connect, out=lines.append, last_written=clock.t)))
    th.start()
    th.join(timeout=30)
    assert not th.is_alive()
    return box["stats"], waits, lines


def test_follow_writes_every_tick_with_a_fake_clock(pg_dsn):
    cfg = SimConfig(seed=SEED, tags=("D100", "D200", "FEED_FLOW"))
    t0 = _t0()
    clock = FakeClock(t0)
    runner.run(pg_dsn, cfg, days=0.1, now=clock, out=_quiet)
    start = clock.t
    grid0 = signals.to_datetime(signals.grid_floor(start, 10))
    stats, waits, _ = _run_follow(pg_dsn, cfg, clock, threading.Event(), stop_at=grid0 + timedelta(seconds=35))
    assert stats.ticks == 3
    assert all(2.9 < w < 3.1 or 9.9 < w < 10.1 for w in waits)  # sleeps to the next grid point
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert _rows(conn, cfg) == _expected(cfg, t0 - timedelta(days=0.1), stats.last_written)
        live = conn.execute("SELECT count(*) FROM influx_hist WHERE ts > %s AND tag_name = ANY(%s)",
                            (start, list(cfg.tags))).fetchone()[0]
    assert stats.last_written == grid0 + timedelta(seconds=30)
    assert live == stats.rows == signals.expected_count(SEED, cfg.tags, start, stats.last_written, 10) > 0


def test_follow_reconnects_with_backoff_and_gap_fills(pg_dsn):
    cfg = SimConfig(seed=SEED, tags=("D100", "OUTLET_PRESSURE"))
    t0 = _t0()
    clock = FakeClock(t0)
    runner.run(pg_dsn, cfg, days=0.1, now=clock, out=_quiet)
    stats, waits, lines = _run_follow(pg_dsn, cfg, clock, threading.Event(), fail_connects=3, outage_s=200,
                                      stop_at=t0 + timedelta(seconds=625))
    assert waits[:3] == [1, 2, 4]
    assert stats.reconnects == 1 and stats.fills and stats.fills[0].rows > 0 and stats.ticks >= 2
    assert sum("retrying in" in line for line in lines) == 3
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert _rows(conn, cfg) == _expected(cfg, t0 - timedelta(days=0.1), stats.last_written)
    assert stats.last_written > t0 + timedelta(seconds=600)


def test_conflicting_rows_in_the_span_fall_back_to_staging(pg_dsn, monkeypatch):
    """A writer that lands rows after the last-reading probe: COPY conflicts, the chunk is re-sent via staging."""
    cfg = SimConfig(seed=SEED, tags=("D100", "D101"))
    # two hours past a UTC midnight, so the surviving rows (t0-3h, t0-1h] always straddle it,
    # whatever hour the suite runs at (an hour-of-day t0 made the count depend on the clock)
    midnight = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = midnight + timedelta(hours=2, seconds=7)
    runner.run(pg_dsn, cfg, days=0.25, now=FakeClock(t0), out=_quiet)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        before = _summary(conn, cfg)
        conn.execute("DELETE FROM influx_hist WHERE ts > %s", (t0 - timedelta(hours=1),))
        stale = {tag: t0 - timedelta(hours=3) for tag in cfg.tags}   # as if probed before the writer ran
        monkeypatch.setattr(load, "last_readings", lambda *_a, **_k: stale)
        result = runner.fill(conn, cfg, days=None, now=FakeClock(t0), out=_quiet)
        # COPY goes one UTC day per transaction: rows left on both sides of midnight conflict in two
        assert result.staged_chunks == 2
        assert result.rows == signals.expected_count(SEED, cfg.tags, t0 - timedelta(hours=1), t0, 10)
        assert _summary(conn, cfg) == before
