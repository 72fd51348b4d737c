"""Bad inputs: a clear error value or an empty result, never a SQL error, never SQL built from input."""

from __future__ import annotations

from datetime import date, datetime

import psycopg
import pytest

from ksys_app.data.errors import ErrorCode
from tests.data import seed
from tests.data.conftest import count_statements

HOSTILE_TAGS = [
    "D100'; DROP TABLE influx_hist; --",
    'D100" OR 1=1 --',
    "'; SELECT pg_sleep(10); --",
    "D100; DELETE FROM influx_qc_rule",
    "온도센서_1",
    "🌡️ temp",
    "x" * 128,
    "'" * 128,
    "%s %(x)s {0} $1",
    "\\x00 as text",
]
TOO_LONG = ["D" * 129, "D" * 10_240]
CONTROL = ["D100\x00", "\x00", "D\n100", "D100\r", "\x1b[31m", "D\u0085", "\ud800"]


def raw_count(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM influx_hist), "
                            "(SELECT count(*) FROM influx_qc_rule)").fetchone()


@pytest.fixture
def repo(seeded, make_repo):
    return make_repo(seeded.ro_dsn)


@pytest.mark.parametrize("window", ["", "5x", "24H", "1M", "1 d", "m", "24h; DROP TABLE x", None, 5, "∞"])
async def test_unknown_window_is_invalid_input(repo, window):
    sent = count_statements(repo)
    for read in (lambda: repo.series("D100", window), lambda: repo.kpi_stats(window),
                 lambda: repo.features_recent("D100", window), lambda: repo.tech("D100", window)):
        got = await read()
        assert got.error.code == ErrorCode.INVALID_INPUT
        assert "window" in got.error.message and "valid codes" in got.error.message
        assert got.rows == () and not got.failed
    assert sent == []


async def test_window_whitespace_is_tolerated(repo):
    got = await repo.series("D100", " 24h ")
    assert got.error is None and got.window == "24h"


@pytest.mark.parametrize("tag", HOSTILE_TAGS)
async def test_hostile_but_valid_tags_are_just_data(seeded, repo, tag):
    before = raw_count(seeded.admin_dsn)
    for got in (await repo.series(tag, "24h"), await repo.features_recent(tag, "24h"),
                await repo.tech(tag, "24h"), await repo.latest(tag)):
        assert got.rows == ()
        assert got.error.code == ErrorCode.NO_ROWS, got.error
        assert got.tag == tag
    heat = await repo.comm_heatmap(tag, date(2026, 1, 1))
    assert heat.error is None and len(heat.rows) == 720
    assert raw_count(seeded.admin_dsn) == before


async def test_tag_with_sql_characters_reads_its_own_rows(repo):
    got = await repo.series(seed.NASTY_TAG, "24h")
    assert got.error is None and got.rows and all(r.tag_name == seed.NASTY_TAG for r in got.rows)


@pytest.mark.parametrize("tag", TOO_LONG + CONTROL + [None, 100, b"D100", ""])
async def test_unusable_tags_are_invalid_input(repo, tag):
    sent = count_statements(repo)
    # latest(None) is the whole snapshot; every other read needs a tag.
    latest = (lambda: repo.latest(tag)) if tag is not None else (lambda: repo.features_recent(tag, "7d"))
    for read in (lambda: repo.series(tag, "24h"), latest, lambda: repo.tech(tag, "1m"),
                 lambda: repo.comm_heatmap(tag, date(2026, 1, 1)),
                 lambda: repo.comm_outages(tag, date(2026, 1, 1))):
        got = await read()
        assert got.error.code == ErrorCode.INVALID_INPUT
        assert "tag" in got.error.message
        assert len(got.error.message) < 200  # a 10 kB name is not echoed back
    assert sent == []


async def test_unknown_tag_is_an_empty_result(repo):
    got = await repo.series("NO_SUCH_TAG", "24h")
    assert got.rows == () and got.error.code == ErrorCode.NO_ROWS and got.ok and not got.failed
    assert "NO_SUCH_TAG" in got.error.message
    latest = await repo.latest("NO_SUCH_TAG")
    assert latest.rows == () and latest.error.code == ErrorCode.NO_ROWS


async def test_naive_datetimes_are_rejected(seeded, repo):
    sent = count_statements(repo)
    naive = datetime(2026, 1, 1, 12, 0)
    got = await repo.comm_outages("C1", seeded.comm_start, now=naive)
    assert got.error.code == ErrorCode.INVALID_INPUT and "naive" in got.error.message
    got = await repo.comm_heatmap("C1", naive)
    assert got.error.code == ErrorCode.INVALID_INPUT and "naive" in got.error.message
    assert sent == []


@pytest.mark.parametrize("day", [date(9999, 12, 31), date(9999, 12, 2), date(1, 1, 1), date(1, 1, 2)])
async def test_start_days_at_the_ends_of_the_calendar_are_invalid_input_not_a_crash(seeded, repo, day):
    sent = count_statements(repo)
    got = await repo.comm_heatmap("C1", day)
    assert got.error.code == ErrorCode.INVALID_INPUT and "outside" in got.error.message
    assert sent == []
