"""tests/sheets/kpi_24h.md, automated: D100 / D200 / D300 tiles for the 24h window.

Expected numbers are the sheet's, computed by hand from the seeded readings;
the database side (the last two 1-minute buckets, the QC range, the newest
reading's local time) is read with direct SQL over influx_hist and
influx_qc_rule, not recomputed in Python.
"""

from __future__ import annotations

import psycopg
import pytest

from ksys_app.domain.kpi import build_kpi_tile
from tests.data.conftest import count_statements

# tag: (last two bucket lasts, delta_pct, gauge_pct, status_level, range_label, value_s, delta_s,
#       n, min, max, first, last)
SHEET = {
    "D100": ((180.0, 190.0), 5.56, 95.0, 0, "0.0 ~ 200.0", "190.0", "+5.6%",
             6, 150.0, 190.0, 150.0, 190.0),
    "D200": ((16000.0, 15500.0), -3.125, 77.5, 1, "0.0 ~ 20000.0", "15500.0", "-3.1%",
             5, 12000.0, 16500.0, 12000.0, 15500.0),
    "D300": ((100.0, 145.0), 45.0, 97.5, 2, "-50.0 ~ 150.0", "145.0", "+45.0%",
             5, -20.0, 145.0, -20.0, 145.0),
}


def last_two_bucket_lasts(dsn: str, tag: str) -> tuple[float, float]:
    """The sheet's "DB" line: last value of the newest two 1-minute buckets in the last 24 h."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("""
            SELECT (array_agg(value ORDER BY ts DESC))[1]
            FROM influx_hist
            WHERE tag_name = %s AND ts >= now() - interval '24 hours'
            GROUP BY date_bin('1 minute', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
            ORDER BY date_bin('1 minute', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') DESC
            LIMIT 2""", (tag,)).fetchall()
    newest, previous = rows[0][0], rows[1][0]
    return previous, newest


def newest_reading_local(dsn: str, tag: str) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT to_char(max(ts) AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM influx_hist WHERE tag_name = %s", (tag,)).fetchone()[0]


@pytest.mark.parametrize("tag", sorted(SHEET))
async def test_kpi_tile_matches_sheet(seeded, make_repo, tag):
    (prev_last, last), delta, gauge, status, label, value_s, delta_s, n, lo, hi, first, last_v = SHEET[tag]
    assert last_two_bucket_lasts(seeded.admin_dsn, tag) == (prev_last, last)

    repo = make_repo(seeded.ro_dsn)
    stats = await repo.kpi_stats("24h")
    rules = await repo.qc_rules()
    assert stats.error is None and rules.error is None
    by_tag = {s.tag_name: s for s in stats.rows}
    qc = {q.tag_name: q for q in rules.rows}
    tile = build_kpi_tile(by_tag[tag], qc.get(tag), tz=repo.settings.tz)

    assert abs(tile.delta_pct - delta) <= 0.1
    assert abs(tile.gauge_pct - gauge) <= 1.0
    assert tile.status_level == status
    assert tile.range_label == label
    assert (tile.value_s, tile.delta_s) == (value_s, delta_s)
    assert tile.ts_s == newest_reading_local(seeded.admin_dsn, tag)
    s = by_tag[tag]
    assert (s.n, s.min, s.max, s.first, s.last, s.prev_last) == (n, lo, hi, first, last_v, prev_last)


async def test_tiles_share_one_round_trip_per_window(seeded, make_repo):
    repo = make_repo(seeded.ro_dsn)
    sent = count_statements(repo)
    await repo.kpi_stats("24h")
    await repo.kpi_stats("24h")
    again = await repo.kpi_stats("24h")
    assert again.cache_hit is True
    assert len(sent) == 1
