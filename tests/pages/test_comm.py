"""`/comm`: 720 heatmap cells, the seeded outage, cell detail against comm_success_1h, keyboard."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ksys_app.domain.timefmt import format_local
from tests.pages.conftest import screenshot, table_rows, wait_loaded, wait_url

pytestmark = pytest.mark.e2e

SEOUL = ZoneInfo("Asia/Seoul")


def cell_index(start: date, bucket_utc: datetime) -> int:
    local = bucket_utc.astimezone(SEOUL)
    return (local.date() - start).days * 24 + local.hour


def test_heatmap_has_720_cells_and_the_outage(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    cells = page.locator("[data-testid=hm-cell]")
    assert cells.count() == 720
    start = date.fromisoformat(page.input_value("[data-testid=start-date]"))
    assert start == datetime.now(SEOUL).date() - timedelta(days=29)
    wait_url(page, f"start={start.isoformat()}")
    o_start = seeded_app.outage_start
    o_end = o_start + timedelta(hours=seeded_app.outage_hours)
    outages = table_rows(page, "outage-table")
    assert [format_local(o_start, SEOUL), format_local(o_end, SEOUL), str(seeded_app.outage_hours)] in outages
    # the silent hours are drawn as "no data" (hatched), the hours around them as data
    for h in range(seeded_app.outage_hours):
        i = cell_index(start, o_start + timedelta(hours=h))
        assert page.get_attribute(f"#cell-{i}", "data-band") == "none"
    before = cell_index(start, o_start - timedelta(hours=1))
    assert page.get_attribute(f"#cell-{before}", "data-band") == "ok"
    screenshot(page, "comm")


def test_clicked_cell_shows_database_numbers(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    start = date.fromisoformat(page.input_value("[data-testid=start-date]"))
    bucket = (seeded_app.outage_start - timedelta(days=2)).astimezone(timezone.utc)
    recv, exp, rate, missing, last_seen = db.execute(
        "SELECT recv_msgs, exp_msgs, success_rate, missing_msgs, last_seen_min FROM comm_success_1h "
        "WHERE tag_name = 'D100' AND bucket = %s", (bucket,)).fetchone()
    i = cell_index(start, bucket)
    title = page.get_attribute(f"#cell-{i}", "title")
    assert f"{recv}/{exp}" in title and f"{float(rate) * 100:.1f}%" in title
    page.click(f"#cell-{i}")
    page.wait_for_selector("[data-testid=detail-rate]")
    assert page.inner_text("[data-testid=detail-when]") == format_local(bucket, SEOUL)
    assert page.inner_text("[data-testid=detail-rate]") == f"{float(rate) * 100:.1f}%"
    assert page.inner_text("[data-testid=detail-recv]") == str(recv)
    assert page.inner_text("[data-testid=detail-exp]") == str(exp)
    assert page.inner_text("[data-testid=detail-missing]") == str(missing)
    assert page.inner_text("[data-testid=detail-last_seen]") == format_local(last_seen, SEOUL)


def test_keyboard_selects_and_moves(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    page.focus("#cell-50")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cell-50.selected")
    first = page.inner_text("[data-testid=detail-when]")
    page.keyboard.press("ArrowRight")  # next day, same hour
    page.wait_for_selector("#cell-74.selected")
    assert page.evaluate("document.activeElement.id") == "cell-74"
    nxt = page.inner_text("[data-testid=detail-when]")
    assert (datetime.fromisoformat(nxt) - datetime.fromisoformat(first)) == timedelta(days=1)
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("#cell-75.selected")
    page.keyboard.press(" ")
    assert page.locator(".hm-cell.selected").count() == 1


def test_prev_next_and_recent(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    start = date.fromisoformat(page.input_value("[data-testid=start-date]"))
    page.click("[data-testid=prev-day]")
    page.wait_for_function("d => document.querySelector('[data-testid=start-date]').value === d",
                           arg=(start - timedelta(days=1)).isoformat())
    wait_loaded(page)
    assert page.locator("[data-testid=hm-cell]").count() == 720
    wait_url(page, f"start={(start - timedelta(days=1)).isoformat()}")
    page.click("[data-testid=next-day]")
    page.wait_for_function("d => document.querySelector('[data-testid=start-date]').value === d",
                           arg=start.isoformat())
    page.click("[data-testid=prev-day]")
    page.click("[data-testid=prev-day]")
    page.wait_for_function("d => document.querySelector('[data-testid=start-date]').value === d",
                           arg=(start - timedelta(days=2)).isoformat())
    page.click("[data-testid=recent-30]")
    page.wait_for_function("d => document.querySelector('[data-testid=start-date]').value === d",
                           arg=start.isoformat())
