"""`/trend?from=...&to=...`: an absolute range shows exactly the database's buckets inside
it (local times across a UTC midnight), raw readings below two hours, the picker pushes
a new URL that Back undoes, and bad ranges get a notice, never a 5xx."""

from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from ksys_app.domain.timefmt import format_local
from tests.pages.conftest import table_rows, wait_loaded

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Asia/Seoul")  # the dashboard's default zone (TZ unset in the test server)


def _count(page) -> int:
    return int(page.get_attribute("[data-testid=history-count]", "data-count"))


def _all_stamps(page) -> list[str]:
    """Every Time Stamp of the history table, paging through it."""
    stamps = [r[2] for r in table_rows(page, "history-table")]
    while page.locator("[data-testid=history-next]:not([disabled])").count():
        before = stamps[-1]
        page.click("[data-testid=history-next]")
        page.wait_for_function("b => !Array.from(document.querySelectorAll('[data-testid=history-table] tbody tr'))"
                               ".some(r => r.querySelectorAll('td')[2].innerText.trim() === b)", arg=before)
        stamps += [r[2] for r in table_rows(page, "history-table")]
    return stamps


def test_a_range_across_utc_midnight_shows_exactly_its_buckets(seeded_app, page, db):
    day = (datetime.now(TZ) - timedelta(days=2)).date()
    start = datetime(day.year, day.month, day.day, 7, 0, tzinfo=TZ)  # 07:00-11:00 Seoul = 22:00-02:00 UTC
    end = start + timedelta(hours=4)
    frm, to = start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{seeded_app.url}/trend?tag=D100&from={frm}&to={to}")
    wait_loaded(page)
    want = [format_local(r[0], TZ) for r in db.execute(
        "SELECT bucket FROM influx_agg_1m WHERE tag_name = 'D100' AND bucket >= %s AND bucket < %s ORDER BY bucket DESC",
        (start, end)).fetchall()]
    assert len(want) == 240  # D100 reads once a minute
    assert _count(page) == 240 and _all_stamps(page) == want
    assert "D100 · " in page.inner_text("[data-testid=range-title]")
    assert page.locator("[data-testid=notice]").count() == 0
    # the 5-minute features follow the range too: the buckets that start inside it, from raw readings
    feats = db.execute("SELECT count(DISTINCT date_bin('5 minutes', ts, '2000-01-03'::timestamptz)) FROM influx_hist "
                       "WHERE tag_name = 'D100' AND ts >= %s AND ts < %s", (start, end)).fetchone()[0]
    assert feats == 48
    assert int(page.get_attribute("[data-testid=features-count]", "data-count")) == feats
    first = table_rows(page, "features-table")[0]
    assert first[2] == format_local(end - timedelta(minutes=5), TZ)  # newest first: the range's last 5 minutes
    # the URL keeps the range, with the zone written out
    assert "from=" + quote(start.strftime("%Y-%m-%dT%H:%M+09:00"), safe="") in page.url


def test_a_short_range_reads_the_raw_readings(seeded_app, page, db):
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(minutes=30)
    page.goto(f"{seeded_app.url}/trend?tag=D200&from={quote(start.isoformat())}&to={quote(end.isoformat())}")
    wait_loaded(page)
    n = db.execute("SELECT count(*) FROM influx_hist WHERE tag_name = 'D200' AND ts >= %s AND ts < %s",
                   (start, end)).fetchone()[0]
    assert n >= 170 and _count(page) == n  # about every 10 s (other tests may add or drop a reading)
    assert "raw" in page.inner_text("[data-testid=bucket-width]").lower()


def test_the_picker_pushes_a_url_and_back_returns(seeded_app, page):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=24h")
    wait_loaded(page)
    day = (datetime.now(TZ) - timedelta(days=3)).date()
    page.fill("[data-testid=range-from]", f"{day}T08:00")
    page.fill("[data-testid=range-to]", f"{day}T20:00")
    page.click("[data-testid=range-apply]")
    page.wait_for_function("() => location.search.includes('from=')")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=range-title]")
    assert _count(page) > 0
    page.go_back()
    page.wait_for_function("() => !location.search.includes('from=')")
    # the address bar changes before the page's load event has run (wait_loaded alone can pass
    # in between): wait for the range's title to go
    page.wait_for_selector("[data-testid=range-title]", state="detached", timeout=10_000)
    wait_loaded(page)
    assert page.input_value("[data-testid=window-select]") == "24h"


@pytest.mark.parametrize("query, notice", [
    ("from=yesterday&to=now", "'from' is not a time"),
    ("from=2026-12-01T10:00&to=%3Cscript%3E", "'to' is not a time"),
    ("from=9999-12-31&to=0001-01-01", "'from' is not a time"),
    ("to=2020-01-01&from=2019-01-01", "data is kept 12 months"),
])
def test_bad_ranges_get_a_notice_and_the_window(seeded_app, page, query, notice):
    url = f"{seeded_app.url}/trend?tag=D100&window=60m&{query}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
    page.goto(url)
    wait_loaded(page)
    assert notice in page.inner_text("[data-testid=notice]")


def test_a_reversed_range_is_swapped_and_a_window_pick_leaves_the_range(seeded_app, page):
    day = (datetime.now(TZ) - timedelta(days=1)).date()
    page.goto(f"{seeded_app.url}/trend?tag=D100&from={day}T12:00&to={day}T10:00")
    wait_loaded(page)
    assert "swapped" in page.inner_text("[data-testid=notice]")
    assert _count(page) == 120
    page.select_option("[data-testid=window-select]", "60m")
    page.wait_for_function("() => !document.querySelector('[data-testid=range-title]')")
    page.wait_for_function("() => !location.search.includes('from=')")
