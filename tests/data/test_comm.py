"""/comm reads: 30 local days x 24 hours in Asia/Seoul, and outages from the same grid."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.data.errors import ErrorCode
from ksys_app.domain.comm import Outage
from tests.data import seed
from tests.data.conftest import count_statements

UTC = timezone.utc


async def test_heatmap_has_720_cells_on_seoul_days(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    got = await repo.comm_heatmap("C3", seeded.comm_start)
    assert got.error is None and len(got.rows) == 720
    first, last = got.rows[0], got.rows[-1]
    # 00:00 in Seoul (UTC+9) is 15:00 UTC of the previous calendar day.
    day_before = seeded.comm_start - timedelta(days=1)
    assert first.bucket_utc == datetime(day_before.year, day_before.month, day_before.day, 15, tzinfo=UTC)
    assert (first.local_day, first.local_hour) == (seeded.comm_start, 0)
    assert (last.local_day, last.local_hour) == (seeded.comm_start + timedelta(days=29), 23)
    assert last.bucket_utc == first.bucket_utc + timedelta(hours=719)
    assert [c.local_hour for c in got.rows[:24]] == list(range(24))
    # Readings 1 s and 2 s before local midnight fall outside the grid; the three in
    # the first local hour and the one in the last second of day 30 are in it.
    assert first.recv_msgs == 3
    assert last.recv_msgs == 1
    assert sum(c.recv_msgs or 0 for c in got.rows) == 4


async def test_heatmap_cells_match_raw_counts(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    lo = seed.local_midnight(seeded.comm_start)
    with psycopg.connect(seeded.admin_dsn) as conn:
        want = dict(conn.execute(
            "SELECT date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00'), count(*) FROM influx_hist "
            "WHERE tag_name = 'C1' AND ts >= %s AND ts < %s + interval '30 days' GROUP BY 1",
            (lo, lo)).fetchall())
    got = await repo.comm_heatmap("C1", seeded.comm_start)
    have = {c.bucket_utc: c.recv_msgs for c in got.rows if c.recv_msgs is not None}
    assert have == want
    by_bucket = {c.bucket_utc: c for c in got.rows}
    h5 = by_bucket[seeded.comm_base + timedelta(hours=5)]
    assert (h5.success_rate, h5.recv_msgs, h5.exp_msgs, h5.missing_msgs) == (0.5, 30, 60, 30)
    assert h5.last_seen == seeded.comm_base + timedelta(hours=5, minutes=29)
    assert by_bucket[seeded.comm_base + timedelta(hours=7)].success_rate is None  # silent hour: empty, not 0


async def test_outages_match_hand_computed_example(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    base = seeded.comm_base
    h = lambda n: base + timedelta(hours=n)  # noqa: E731
    # C1, slo_crit 0.95 (no ingest_expectation row: PRD default). Hour 5: 30/60 = 0.5;
    # hour 6: 57/60 = 0.95 is not below crit; hour 7 silent; hour 8: 45/60 = 0.75;
    # hours 10, 11 silent and over by `now`.
    got = await repo.comm_outages("C1", seeded.comm_start, now=h(12))
    assert got.error is None
    assert list(got.rows) == [Outage(h(5), h(6), 1), Outage(h(7), h(9), 2), Outage(h(10), h(12), 2)]
    # C2: 2 per minute expected, slo_crit 0.9. 110/120 = 0.917 passes, 100/120 = 0.833 does not.
    got = await repo.comm_outages("C2", seeded.comm_start, now=h(4))
    assert list(got.rows) == [Outage(h(2), h(3), 1)]
    slo = await repo.comm_slo("C2")
    assert (slo.rows[0].slo_warn, slo.rows[0].slo_crit) == (0.97, 0.9)
    default = await repo.comm_slo("C1")
    assert (default.rows[0].slo_warn, default.rows[0].slo_crit) == (0.98, 0.95)


async def test_outages_agree_with_heatmap(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    sent = count_statements(repo)
    now = seeded.comm_base + timedelta(hours=12)
    heat = await repo.comm_heatmap("C1", seeded.comm_start)
    outages = await repo.comm_outages("C1", seeded.comm_start, now=now)
    bad = {o.start_utc + timedelta(hours=k) for o in outages.rows for k in range(o.hours)}
    first_data = min(c.bucket_utc for c in heat.rows if c.success_rate is not None)
    for c in heat.rows:
        if c.bucket_utc in bad:
            assert c.success_rate is None or c.success_rate < 0.95
        elif first_data <= c.bucket_utc and c.bucket_utc + timedelta(hours=1) <= now:
            assert c.success_rate is not None and c.success_rate >= 0.95
    # The outage list reused the cached heatmap: one statement for the grid, one for the SLO.
    assert len(sent) == 2
    again = await repo.comm_outages("C1", seeded.comm_start, now=now)
    assert again.cache_hit is True and again.rows == outages.rows and len(sent) == 2


async def test_comm_inputs_are_checked(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    sent = count_statements(repo)
    naive = datetime(2025, 8, 15, 12, 0)
    bad = await repo.comm_outages("C1", seeded.comm_start, now=naive)
    assert bad.error.code == ErrorCode.INVALID_INPUT and "naive" in bad.error.message
    bad = await repo.comm_heatmap("C1", naive)
    assert bad.error.code == ErrorCode.INVALID_INPUT and "naive" in bad.error.message
    bad = await repo.comm_heatmap("C1", "2025-08-15")
    assert bad.error.code == ErrorCode.INVALID_INPUT
    # An aware datetime means its local date.
    aware = datetime.combine(seeded.comm_start, datetime.min.time(), seed.SEOUL) + timedelta(hours=23)
    same = await repo.comm_heatmap("C1", aware)
    assert same.rows[0].local_day == seeded.comm_start
    assert len(sent) == 1
    unknown = await repo.comm_heatmap("NO_SUCH_TAG", seeded.comm_start)
    assert len(unknown.rows) == 720 and all(c.success_rate is None for c in unknown.rows)
    assert (await repo.comm_outages("NO_SUCH_TAG", seeded.comm_start)).rows == ()


@pytest.mark.parametrize("days_ago", [0, 29])
async def test_recent_days_grid_is_complete(seeded, make_repo, days_ago):
    repo = make_repo(seeded.ro_dsn)
    today = datetime.now(UTC).astimezone(seed.SEOUL).date()
    got = await repo.comm_heatmap("S1", today - timedelta(days=days_ago))
    assert len(got.rows) == 720 and got.error is None
