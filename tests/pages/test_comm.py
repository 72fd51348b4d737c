"""`/comm`: 720 heatmap cells, the seeded outage, cell detail against comm_success_1h, keyboard."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ksys_app.domain.timefmt import format_local
from tests.pages.conftest import SCREENSHOTS, screenshot, table_rows, wait_loaded, wait_url

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
    page.keyboard.press("ArrowDown")  # next day, same hour
    assert active_id(page) == "cell-74"
    page.keyboard.press("Enter")
    page.wait_for_selector("#cell-74.selected")
    nxt = page.inner_text("[data-testid=detail-when]")
    assert (datetime.fromisoformat(nxt) - datetime.fromisoformat(first)) == timedelta(days=1)
    page.keyboard.press("ArrowRight")  # next hour
    assert active_id(page) == "cell-75"
    page.keyboard.press(" ")
    page.wait_for_selector("#cell-75.selected")
    assert page.locator(".hm-cell.selected").count() == 1


def active_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def tab_stops(page) -> list[str]:
    return page.eval_on_selector_all(".hm-cell[tabindex='0']", "els => els.map(e => e.id)")


def test_grid_is_one_tab_stop(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    page.wait_for_function("document.querySelectorAll('.hm-cell[tabindex=\"0\"]').length === 1")
    assert page.locator(".hm-cell[tabindex='-1']").count() == 719
    page.focus("[data-testid=refresh-btn]")  # the last control before the grid
    page.keyboard.press("Tab")
    entered = active_id(page)
    assert entered.startswith("cell-")
    # a new grid's Tab stop is the hour running now
    assert page.get_attribute(f"#{entered}", "data-now") == "true"
    page.keyboard.press("Tab")
    assert not (active_id(page) or "").startswith("cell-")
    assert page.evaluate("document.activeElement.closest('.heatmap') === null")
    page.keyboard.press("Shift+Tab")
    assert active_id(page) == entered
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-testid')") == "refresh-btn"


def test_arrow_keys_move_the_one_tab_stop_and_enter_opens_the_detail(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    start = date.fromisoformat(page.input_value("[data-testid=start-date]"))
    page.focus("#cell-50")  # day 2, 02:00
    moves = [("ArrowRight", 51), ("ArrowDown", 75), ("ArrowUp", 51), ("ArrowLeft", 50),
             ("Home", 48), ("ArrowLeft", 47),  # 00:00 back to 23:00 of the day before
             ("End", 47), ("ArrowRight", 48), ("End", 71), ("Control+Home", 0), ("ArrowLeft", 0), ("ArrowUp", 0),
             ("Control+End", 719), ("ArrowDown", 719), ("ArrowRight", 719),
             ("Control+Home", 0), ("ArrowDown", 24), ("ArrowDown", 48), ("ArrowRight", 49)]
    for key, want in moves:
        page.keyboard.press(key)
        assert active_id(page) == f"cell-{want}", key
        assert tab_stops(page) == [f"cell-{want}"], key
    assert page.locator(".hm-cell.selected").count() == 0  # moving focus selects nothing
    label = page.get_attribute("#cell-49", "aria-label")
    assert label.startswith(f"{(start + timedelta(days=2)).isoformat()} 01:00 · ")
    assert "%" in label or "no data" in label
    page.keyboard.press("Enter")
    page.wait_for_selector("#cell-49.selected")
    assert page.get_attribute("#cell-49", "aria-selected") == "true"
    local = datetime.combine(start + timedelta(days=2), datetime.min.time().replace(hour=1), tzinfo=SEOUL)
    assert page.inner_text("[data-testid=detail-when]") == format_local(local, SEOUL)
    # leaving and coming back lands on the cell last focused
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    assert active_id(page) == "cell-49"


def test_future_hours_look_apart_and_are_not_outages(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    start = date.fromisoformat(page.input_value("[data-testid=start-date]"))
    now = datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)
    running = cell_index(start, hour)
    if page.get_attribute(f"#cell-{running}", "data-now") != "true":  # the hour turned meanwhile
        page.reload()
        wait_loaded(page)
        hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        running = cell_index(start, hour)
    assert page.get_attribute(f"#cell-{running}", "data-now") == "true"
    assert page.get_attribute(f"#cell-{running}", "data-band") != "future"
    bands = page.eval_on_selector_all("[data-testid=hm-cell]", "els => els.map(e => e.getAttribute('data-band'))")
    futures = page.eval_on_selector_all("[data-testid=hm-cell]",
                                        "els => els.map(e => e.getAttribute('data-future') === 'true')")
    assert futures == [i > running for i in range(720)]
    assert all((b == "future") == f for b, f in zip(bands, futures))
    assert page.locator(".hm-cell.hm-future").count() == 719 - running
    # the future look is not the "no data" look (hatched)
    bg = "i => getComputedStyle(document.getElementById('cell-' + i)).backgroundImage"
    assert page.evaluate(bg, bands.index("none")) != "none"
    if running < 719:
        assert page.get_attribute(f"#cell-{running + 1}", "aria-label").endswith("future hour, no data yet")
        assert page.evaluate(bg, running + 1) == "none"
    # the running hour expects its elapsed part only: never more received than expected
    title = page.get_attribute(f"#cell-{running}", "title")
    if "recv/exp" in title:
        recv, exp = title.split("recv/exp ")[1].split(" ")[0].split("/")
        assert 0 < int(recv) <= int(exp) <= 60
        minutes_in = int((datetime.now(timezone.utc) - hour).total_seconds() // 60)
        assert int(exp) <= minutes_in + 1
    # no outage reaches into the running or future hours
    outages = table_rows(page, "outage-table")
    assert outages
    for _, end, _ in outages:
        assert datetime.fromisoformat(end) <= hour
    # a future cell can be opened and says so
    if running < 719:
        page.click(f"#cell-{running + 1}")
        page.wait_for_selector(f"#cell-{running + 1}.selected")
        assert page.inner_text("[data-testid=detail-rate]") == "not yet"


def start_value(page) -> str:
    return page.input_value("[data-testid=start-date]")


def wait_start(page, day: date) -> None:
    page.wait_for_function("d => document.querySelector('[data-testid=start-date]').value === d",
                           arg=day.isoformat())
    wait_loaded(page)


def test_prev_next_are_disabled_at_the_ends(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    newest = date.fromisoformat(start_value(page))
    for b in ("prev-30", "prev-day", "next-day", "next-30"):
        box = page.locator(f"[data-testid={b}]").bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, b
    assert page.is_disabled("[data-testid=next-day]") and page.is_disabled("[data-testid=next-30]")
    assert page.is_enabled("[data-testid=prev-day]") and page.is_enabled("[data-testid=prev-30]")
    page.click("[data-testid=prev-30]")
    wait_start(page, newest - timedelta(days=30))
    assert page.is_enabled("[data-testid=next-day]") and page.is_enabled("[data-testid=next-30]")
    page.click("[data-testid=prev-day]")
    wait_start(page, newest - timedelta(days=31))
    page.click("[data-testid=next-30]")
    wait_start(page, newest - timedelta(days=1))
    page.click("[data-testid=next-30]")  # a 30-day step stops at the newest range
    wait_start(page, newest)
    assert page.is_disabled("[data-testid=next-30]")
    # the oldest retained day: Prev is disabled, a start before it is brought in with a notice
    today = datetime.now(SEOUL).date()
    oldest = today - timedelta(days=365)
    page.goto(f"{seeded_app.url}/comm?tag=D100&start={(oldest - timedelta(days=3)).isoformat()}")
    wait_start(page, oldest)
    assert "outside" in page.inner_text("[data-testid=notice-text]")
    assert page.is_disabled("[data-testid=prev-day]") and page.is_disabled("[data-testid=prev-30]")
    assert page.is_enabled("[data-testid=next-day]")
    page.click("[data-testid=next-day]")
    wait_start(page, oldest + timedelta(days=1))
    page.click("[data-testid=prev-30]")
    wait_start(page, oldest)
    assert page.is_disabled("[data-testid=prev-day]")


def test_url_without_start_shows_the_recent_30_days(seeded_app, page):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    newest = date.fromisoformat(start_value(page))
    page.click("[data-testid=prev-30]")
    wait_start(page, newest - timedelta(days=30))
    wait_url(page, f"start={(newest - timedelta(days=30)).isoformat()}")
    page.goto(f"{seeded_app.url}/comm?tag=D100")  # same tab, same state: no start means recent
    wait_start(page, newest)
    wait_url(page, f"start={newest.isoformat()}")
    page.click("[data-testid=prev-day]")
    wait_start(page, newest - timedelta(days=1))
    page.goto(f"{seeded_app.url}/comm?tag=D200")
    wait_start(page, newest)


@pytest.mark.parametrize("width, height", [(1440, 900), (800, 480)])
def test_comm_screenshots(seeded_app, browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        pg = context.new_page()
        pg.goto(f"{seeded_app.url}/comm?tag=D100")
        wait_loaded(pg)
        pg.focus("#cell-50")
        pg.keyboard.press("ArrowRight")
        pg.keyboard.press("Enter")
        pg.wait_for_selector("#cell-51.selected")
        # no horizontal page scroll: the grid fits (or scrolls inside its card)
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        screenshot(pg, f"comm-{width}x{height}")
        pg.screenshot(path=str(SCREENSHOTS / f"comm-{width}x{height}-viewport.png"))
    finally:
        context.close()


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
