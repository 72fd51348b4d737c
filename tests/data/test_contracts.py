"""Every read contract against a seeded database, compared with direct SQL over influx_hist.

The repository connects as eco_ro (the app's role); the expected values come
from the superuser connection reading the raw table. Window filters in the
expected SQL use the rollups' own rule (bucket >= now() - window), evaluated in
the same statement, so only a minute boundary between the two reads could make
them differ; `settled` repeats the pair when that happens.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Awaitable, Callable

import psycopg
import pytest

from ksys_app.data.errors import ErrorCode
from ksys_app.domain.windows import parse_window
from ksys_app.ops.schema.refresh import refresh_range
from tests.data import seed

WINDOWS = ["1m", "24h", "7d", "30d", "12m"]
ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"
NO_CACHE = dict(cache_ttl_metrics_s=0, cache_ttl_features_s=0, cache_ttl_tags_s=0)


async def settled(read: Callable[[], Awaitable[Any]], expect: Callable[[], Any], attempts: int = 3):
    for _ in range(attempts):
        minute = int(time.time() // 60)
        got = await read()
        want = expect()
        if int(time.time() // 60) == minute:
            return got, want
    pytest.fail("every attempt straddled a minute boundary")


def sql(dsn: str, query: str, params: dict | tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return [tuple(r) for r in conn.execute(query, params).fetchall()]


def add_live_minute(seeded: seed.Seeded) -> None:
    """Readings in the current and the next minute, so the 1m window has something to show."""
    with psycopg.connect(seeded.admin_dsn, autocommit=True) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]
        minute = now.replace(second=0, microsecond=0)
        rows = [(minute + timedelta(minutes=m, seconds=s), "S1", 60.0 + m + s / 4)
                for m in (0, 1) for s in (5, 15, 25)]
        conn.cursor().executemany(
            "INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", rows)
        refresh_range(conn, now, now)


def expected_series(dsn: str, tag: str, window: str) -> list[tuple]:
    w = parse_window(window)
    return sql(dsn, f"""
        SELECT date_bin(%(b)s, ts, {ORIGIN}) AS bucket, tag_name,
               avg(value), min(value), max(value),
               (array_agg(value ORDER BY ts DESC))[1], (array_agg(value ORDER BY ts))[1], count(*)
        FROM influx_hist
        WHERE tag_name = %(tag)s AND date_bin(%(b)s, ts, {ORIGIN}) >= now() - %(d)s
        GROUP BY 1, 2 ORDER BY 1""", {"b": w.bucket, "d": w.duration, "tag": tag})


def expected_kpi(dsn: str, window: str) -> list[tuple]:
    w = parse_window(window)
    return sql(dsn, f"""
        WITH b AS (
          SELECT tag_name, ts, value, date_bin(%(b)s, ts, {ORIGIN}) AS bucket
          FROM influx_hist
          WHERE date_bin(%(b)s, ts, {ORIGIN}) >= now() - %(d)s
        ), per_bucket AS (
          SELECT tag_name, bucket, (array_agg(value ORDER BY ts DESC))[1] AS last,
                 row_number() OVER (PARTITION BY tag_name ORDER BY bucket DESC) AS rn
          FROM b GROUP BY tag_name, bucket
        )
        SELECT b.tag_name, count(*), min(value), max(value),
               (array_agg(value ORDER BY ts))[1], (array_agg(value ORDER BY ts DESC))[1],
               (SELECT max(ts) FROM influx_hist h WHERE h.tag_name = b.tag_name),
               (SELECT p.last FROM per_bucket p WHERE p.tag_name = b.tag_name AND p.rn = 2)
        FROM b GROUP BY b.tag_name ORDER BY b.tag_name""", {"b": w.bucket, "d": w.duration})


@pytest.fixture
def repo(seeded, make_repo):
    return make_repo(seeded.ro_dsn, **NO_CACHE)


@pytest.fixture(params=WINDOWS)
def window(request, seeded) -> str:
    if request.param == "1m":
        add_live_minute(seeded)
    return request.param


def assert_close(got: tuple, want: tuple) -> None:
    """Equal NULLs, floats within 1e-9 (window sums may be accumulated in another order)."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if g is None or w is None:
            assert g is None and w is None, (got, want)
        else:
            assert g == pytest.approx(w, rel=1e-9, abs=1e-9), (got, want)


def assert_utc_buckets(rows, width: timedelta) -> None:
    for r in rows:
        assert r.bucket.utcoffset() == timedelta(0)
        assert (r.bucket - seed.ORIGIN) % width == timedelta(0), r.bucket


async def test_series_matches_raw_data(seeded, repo, window):
    for tag in ("S1", "S2", seed.NASTY_TAG):
        got, want = await settled(lambda: repo.series(tag, window),
                                  lambda: expected_series(seeded.admin_dsn, tag, window))
        assert not got.failed, got.error
        assert [tuple(r) for r in got.rows] == want
        assert got.truncated is False and got.stale is False
        assert got.view == parse_window(window).view
        assert_utc_buckets(got.rows, parse_window(window).bucket)
        if want:
            assert got.error is None
        else:
            assert got.error.code == ErrorCode.NO_ROWS
    assert got.window == window


async def test_series_sees_every_window_seeded(seeded, repo, window):
    # Guard against a vacuous comparison: S1 has readings in every window.
    got = await repo.series("S1", window)
    assert got.rows, got.error


async def test_raw_series_is_the_readings_of_the_last_minute(seeded, repo):
    """The 1m window's raw read: every reading with ts >= now() - 1 minute, as rows of n = 1."""
    add_live_minute(seeded)
    got, want = await settled(lambda: repo.raw_series("S1", "1m"), lambda: sql(seeded.admin_dsn, """
        SELECT ts, tag_name, value, value, value, value, value, 1 FROM influx_hist
        WHERE tag_name = 'S1' AND ts >= now() - interval '1 minute' ORDER BY ts"""))
    assert got.error is None and got.view == "influx_hist" and got.window == "1m", got.error
    assert len(want) >= 2 and [tuple(r) for r in got.rows] == want
    bad = await repo.raw_series("S1", "2m")
    assert bad.error.code == ErrorCode.INVALID_INPUT


async def test_kpi_stats_match_raw_data(seeded, repo, window):
    got, want = await settled(lambda: repo.kpi_stats(window),
                              lambda: expected_kpi(seeded.admin_dsn, window))
    assert got.error is None, got.error
    rows = [(s.tag_name, s.n, s.min, s.max, s.first, s.last, s.last_ts, s.prev_last) for s in got.rows]
    assert rows == want
    assert "S1" in [s.tag_name for s in got.rows]
    # the tiles' read (issue 19): the same statistics, for the given tags only
    names = sorted({w[0] for w in want})
    some = names[::2] + ["NO_SUCH_TAG"]
    got, want = await settled(lambda: repo.kpi_stats(window, some), lambda: expected_kpi(seeded.admin_dsn, window))
    assert got.error is None, got.error
    rows = [(s.tag_name, s.n, s.min, s.max, s.first, s.last, s.last_ts, s.prev_last) for s in got.rows]
    assert rows == [w for w in want if w[0] in some] and rows
    bad = await repo.kpi_stats(window, ["ok", "bad\x00"])
    assert bad.error.code == ErrorCode.INVALID_INPUT


async def test_features_match_raw_data(seeded, repo, window):
    d = parse_window(window).duration
    got, want = await settled(lambda: repo.features_recent("S1", window), lambda: sql(seeded.admin_dsn, f"""
        SELECT date_bin('5 minutes', ts, {ORIGIN}) AS bucket, tag_name, avg(value), stddev_samp(value),
               min(value), max(value),
               percentile_cont(0.1) WITHIN GROUP (ORDER BY value),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY value), count(*)
        FROM influx_hist
        WHERE tag_name = 'S1' AND date_bin('5 minutes', ts, {ORIGIN}) >= now() - %s
        GROUP BY 1, 2 ORDER BY 1""", (d,)))
    assert len(got.rows) == len(want)
    assert want or window == "1m"  # 5-minute buckets rarely start inside the last minute
    for r, w in zip(got.rows, want):
        assert (r.bucket, r.tag_name, r.min_5m, r.max_5m, r.n_5m) == (w[0], w[1], w[4], w[5], w[8])
        assert r.mean_5m == pytest.approx(w[2], rel=1e-12)
        assert_close((r.std_5m, r.p10_5m, r.p90_5m), (w[3], w[6], w[7]))
    assert_utc_buckets(got.rows, timedelta(minutes=5))


async def test_features_pages_match_raw_data(seeded, repo, window):
    """features_count + features_page: the window's rows newest first, a page at a time."""
    d = parse_window(window).duration
    size = 7

    async def read():
        count = await repo.features_count("S1", window)
        total = count.rows[0]
        pages = [await repo.features_page("S1", window, off, size) for off in range(0, total, size)]
        return count, pages

    (count, pages), want = await settled(read, lambda: sql(seeded.admin_dsn, f"""
        SELECT date_bin('5 minutes', ts, {ORIGIN}) AS bucket, min(value), max(value), count(*)
        FROM influx_hist
        WHERE tag_name = 'S1' AND date_bin('5 minutes', ts, {ORIGIN}) >= now() - %s
        GROUP BY 1 ORDER BY 1 DESC""", (d,)))
    assert count.error is None and count.rows == (len(want),)
    assert all(p.error is None and 0 < len(p.rows) <= size and not p.truncated for p in pages)
    got = [(r.bucket, r.min_5m, r.max_5m, r.n_5m) for p in pages for r in p.rows]
    assert got == want
    past_end = await repo.features_page("S1", window, len(want) + size, size)
    assert past_end.rows == () and past_end.error.code == ErrorCode.NO_ROWS


async def test_features_of_an_absolute_range_match_raw_data(seeded, repo):
    """features_count_range + features_page_range: the buckets starting in [start, end),
    newest first, against the raw readings (an hour and a half, both ends off the grid)."""
    from datetime import datetime, timezone

    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=7, seconds=-30)
    start = end - timedelta(minutes=93)
    size = 2

    async def read():
        count = await repo.features_count_range("S1", start, end)
        total = count.rows[0]
        return count, [await repo.features_page_range("S1", start, end, off, size) for off in range(0, total, size)]

    (count, pages), want = await settled(read, lambda: sql(seeded.admin_dsn, f"""
        SELECT date_bin('5 minutes', ts, {ORIGIN}) AS bucket, min(value), max(value), count(*)
        FROM influx_hist
        WHERE tag_name = 'S1' AND date_bin('5 minutes', ts, {ORIGIN}) >= %s AND date_bin('5 minutes', ts, {ORIGIN}) < %s
        GROUP BY 1 ORDER BY 1 DESC""", (start, end)))
    assert count.error is None and count.rows == (len(want),) and len(want) >= 3 and len(pages) >= 2
    got = [(r.bucket, r.min_5m, r.max_5m, r.n_5m) for p in pages for r in p.rows]
    assert got == want
    reversed_range = await repo.features_count_range("S1", end, start)
    assert reversed_range.error.code == ErrorCode.INVALID_INPUT


async def test_features_page_rejects_bad_bounds(repo):
    for offset, size in ((-1, 10), (0, 0), (0, 10_000), ("0", 10), (0, True)):
        got = await repo.features_page("S1", "24h", offset, size)
        assert got.error.code == ErrorCode.INVALID_INPUT, (offset, size)


async def test_tech_matches_raw_data(seeded, repo, window):
    d = parse_window(window).duration
    got, want = await settled(lambda: repo.tech("S1", window), lambda: sql(seeded.admin_dsn, f"""
        WITH m AS (
          SELECT date_bin('1 minute', ts, {ORIGIN}) AS bucket, tag_name, avg(value) AS avg
          FROM influx_hist WHERE tag_name = 'S1' GROUP BY 1, 2
        ), c AS (
          SELECT bucket, tag_name, avg,
                 avg(avg) OVER w10, avg(avg) OVER w60,
                 avg + 2 * stddev_samp(avg) OVER w20, avg - 2 * stddev_samp(avg) OVER w20,
                 avg - lag(avg, 60) OVER (ORDER BY bucket)
          FROM m
          WINDOW w10 AS (ORDER BY bucket ROWS BETWEEN 9 PRECEDING AND CURRENT ROW),
                 w20 AS (ORDER BY bucket ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
                 w60 AS (ORDER BY bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)
        )
        SELECT * FROM c WHERE bucket >= now() - %s ORDER BY bucket""", (d,)))
    assert len(got.rows) == len(want) > 0
    for r, w in zip(got.rows, want):
        assert (r.bucket, r.tag_name) == (w[0], w[1])
        assert_close(tuple(r)[2:], w[2:])
    assert got.view == "tech_ind_1m_mv"
    assert_utc_buckets(got.rows, timedelta(minutes=1))
    if window == "24h":
        assert any(r.slope_60 is not None for r in got.rows)  # the 90-minute run filled lag(60)


async def test_latest_matches_raw_data(seeded, repo):
    expect = lambda: sql(seeded.admin_dsn,  # noqa: E731
                         "SELECT DISTINCT ON (tag_name) tag_name, value, ts FROM influx_hist "
                         "ORDER BY tag_name, ts DESC")
    got, want = await settled(repo.latest, expect)
    assert [tuple(r) for r in got.rows] == want
    for tag in ("D200", seed.NASTY_TAG):
        one = await repo.latest(tag)
        assert [tuple(r) for r in one.rows] == [w for w in want if w[0] == tag]
    assert got.cache_hit is False and got.stale is False


async def test_tags_and_qc_rules(seeded, repo):
    tags = await repo.tags()
    assert list(tags.rows) == [r[0] for r in sql(seeded.admin_dsn,
                                                 "SELECT DISTINCT tag_name FROM influx_hist ORDER BY 1")]
    rules = await repo.qc_rules()
    want = sql(seeded.admin_dsn, "SELECT tag_name, min_val, max_val, warn_min, warn_max, crit_min, "
                                 "crit_max, enabled, max_gap_seconds FROM influx_qc_rule ORDER BY tag_name")
    assert [(q.tag_name, q.min_val, q.max_val, q.warn_min, q.warn_max, q.crit_min, q.crit_max)
            for q in rules.rows] == [w[:7] for w in want]
    enabled = {q.tag_name: q.enabled for q in rules.rows}
    assert enabled == {"D100": True, "D200": True, "D300": True, "S1": True, "S2": False}
    assert rules.error is None


async def test_reads_run_as_the_read_only_role(seeded, make_repo):
    from ksys_app.data.queries import Query

    repo = make_repo(seeded.ro_dsn, statement_timeout_ms=900)
    q = Query("test_session", "SELECT current_user AS u, current_setting('statement_timeout') AS st, "
                              "current_setting('idle_in_transaction_session_timeout') AS it, "
                              "current_setting('transaction_read_only') AS ro LIMIT $1")
    got = await repo.run(q, (2,), kind="snapshot", convert=tuple, limit=1)
    assert got.rows == (("eco_ro", "900ms", "5s", "on"),)


async def test_rows_are_the_same_whichever_way_they_are_built(seeded, repo):
    """RowMapper.many builds rows positionally only when columns and types already match;
    numeric columns or another column order take the by-name path. Same rows either way."""
    from psycopg.rows import dict_row

    from ksys_app.data.queries import Query
    from ksys_app.data.rows import SeriesRow, series_row

    cols = "bucket, tag_name, avg, min, max, last, first, n"
    exact = Query("test_rows_exact", f"SELECT {cols} FROM influx_agg_1m WHERE tag_name = 'S1' "
                                     "ORDER BY bucket LIMIT $1")
    # n as numeric (Decimal), min as numeric of an exact value, columns reordered.
    other = Query("test_rows_other", "SELECT n::numeric AS n, first, last, max, "
                                     "round(min)::numeric AS min, avg, tag_name, bucket "
                                     "FROM influx_agg_1m WHERE tag_name = 'S1' ORDER BY bucket LIMIT $1")
    a = await repo.run(exact, (5001,), kind="metrics", convert=series_row, limit=5000)
    b = await repo.run(other, (5001,), kind="metrics", convert=series_row, limit=5000)
    with psycopg.connect(seeded.admin_dsn) as conn:
        cur = conn.cursor(row_factory=dict_row)
        want_a = [series_row(r) for r in cur.execute(exact.sql.replace("$1", "5000")).fetchall()]
        want_b = [series_row(r) for r in cur.execute(other.sql.replace("$1", "5000")).fetchall()]
    assert len(a.rows) > 1 and list(a.rows) == want_a and list(b.rows) == want_b
    for r in a.rows + b.rows:
        assert type(r) is SeriesRow and type(r.n) is int and type(r.min) is float
    assert [(r.bucket, r.n, r.min) for r in b.rows] == [(r.bucket, r.n, float(round(r.min))) for r in a.rows]


async def test_snapshot_search_and_page_match_the_database(seeded, repo):
    """The snapshot's count and page (issue 19) against the tags read here: a substring of
    the name, any case, with LIKE's wildcards as plain characters."""
    names = [r[0] for r in sql(seeded.admin_dsn, "SELECT tag_name FROM influx_latest ORDER BY 1")]
    assert len(names) >= 2
    count = await repo.snapshot_count("")
    assert count.error is None and count.rows == (len(names),)
    page = await repo.snapshot_page("", 1, 2)
    assert [r.tag_name for r in page.rows] == names[1:3]
    for text in ("s1", "S", "%", "_", "\\"):
        want = [n for n in names if text.lower() in n.lower()]
        assert (await repo.snapshot_count(text)).rows == (len(want),), text
        assert [r.tag_name for r in (await repo.snapshot_page(text, 0, 200)).rows] == want, text
    for bad in ("x" * 65, "a\nb", 5):
        assert (await repo.snapshot_page(bad, 0, 10)).error.code == ErrorCode.INVALID_INPUT
    assert (await repo.snapshot_page("", -1, 10)).error.code == ErrorCode.INVALID_INPUT
    assert (await repo.snapshot_page("", 0, 201)).error.code == ErrorCode.INVALID_INPUT
