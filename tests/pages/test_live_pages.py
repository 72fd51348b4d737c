"""/trend, /tech and /comm refresh by themselves, keep the user's view, and a hidden tab reads nothing.

The test server runs with the metrics, features and comm cache TTLs (the live
periods of these pages) set to conftest.LIVE_PERIOD_S. Each test writes a new
reading into the seeded database, recomputes what derives from it, and waits
for the page to show the newest data without a click.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.timefmt import format_local
from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.conftest import LIVE_PERIOD_S, server_events, wait_chart, wait_loaded

pytestmark = pytest.mark.e2e

TZ = "Asia/Seoul"
# Room for one period, a slow read and a slow browser on a loaded machine.
CHANGE_TIMEOUT_MS = (LIVE_PERIOD_S + 25) * 1000

# Set window.__sawSkeleton when a skeleton or the "loading…" mark ever shows (a live
# refresh must update in place), and window.__noReload to see the page was not reloaded.
WATCH_JS = """() => {
  window.__noReload = true;
  window.__sawSkeleton = false;
  const seen = () => { if (document.querySelector('[data-testid=skeleton], [data-testid=loading]'))
                         window.__sawSkeleton = true; };
  new MutationObserver(seen).observe(document.body, {childList: true, subtree: true});
}"""


def add_reading(db, tag: str, value: float) -> datetime:
    """A reading of `tag` in a minute after its newest one, recomputed into every
    derived relation; returns its time. Now, unless the newest reading is in this
    minute already (then the start of the next minute, a few seconds ahead)."""
    newest = db.execute("SELECT max(ts) FROM influx_hist WHERE tag_name = %s", (tag,)).fetchone()[0]
    ts = max(datetime.now(timezone.utc),
             newest.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=1))
    db.execute("INSERT INTO influx_hist (ts, tag_name, value) VALUES (%s, %s, %s)", (ts, tag, value))
    refresh_range(db, ts - timedelta(minutes=2), ts + timedelta(seconds=1))
    return ts


def newest(db, sql: str, tag: str) -> datetime:
    return db.execute(sql, (tag,)).fetchone()[0]


def wait_text(page, testid: str, text: str, timeout: float = CHANGE_TIMEOUT_MS) -> None:
    page.wait_for_function(
        "([t, x]) => { const e = document.querySelector(`[data-testid=${t}]`); return !!e && e.innerText.trim() === x; }",
        arg=[testid, text], timeout=timeout)


def text(page, testid: str) -> str:
    return page.inner_text(f"[data-testid={testid}]").strip()


def test_trend_refreshes_live_keeping_toggles_and_table_page(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/trend?tag=D300&window=60m")
    wait_loaded(page)
    wait_chart(page, "trend-chart", lines=5)
    # a click, not uncheck(): the box is the state's (it changes after the server's answer,
    # which uncheck() does not wait for on a loaded machine)
    page.click("[data-testid=toggle-min]")
    page.wait_for_function("!document.querySelector('[data-testid=toggle-min]').checked")
    wait_chart(page, "trend-chart", lines=4)
    page.click("[data-testid=history-next]")
    page.wait_for_function("document.querySelector('[data-testid=history-page]').innerText.includes('page 2')")
    page.evaluate(WATCH_JS)
    read0 = text(page, "data-time")

    ts = add_reading(db, "D300", 12345.5)
    bucket = newest(db, "SELECT max(bucket) FROM influx_agg_1m WHERE tag_name = %s", "D300")
    assert bucket == ts.replace(second=0, microsecond=0)
    wait_text(page, "data-as-of", f"data as of {format_local(bucket, TZ)}")

    assert text(page, "data-time") != read0
    assert page.evaluate("window.__noReload") is True
    assert page.evaluate("window.__sawSkeleton") is False
    assert not page.is_checked("[data-testid=toggle-min]")
    assert "page 2" in text(page, "history-page")
    wait_chart(page, "trend-chart", lines=4)
    assert any(e.get("page") == "/trend" for e in server_events("snapshot_refresh"))


def test_tech_refreshes_live_keeping_the_legend(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/tech?tag=D200&window=60m")
    wait_loaded(page)
    wait_chart(page, "tech-chart", lines=5)
    page.click("[data-testid=legend-sma_10]")
    wait_chart(page, "tech-chart", lines=4)
    page.evaluate(WATCH_JS)

    ts = add_reading(db, "D200", 1234.5)
    bucket = newest(db, "SELECT max(bucket) FROM tech_ind_1m_mv WHERE tag_name = %s", "D200")
    assert bucket == ts.replace(second=0, microsecond=0)
    wait_text(page, "data-as-of", f"data as of {format_local(bucket, TZ)}")

    assert page.evaluate("window.__noReload") is True
    assert page.evaluate("window.__sawSkeleton") is False
    assert page.get_attribute("[data-testid=legend-sma_10]", "aria-pressed") == "false"
    wait_chart(page, "tech-chart", lines=4)


def test_comm_refreshes_live_keeping_the_selected_cell(seeded_app, page, db):
    page.goto(f"{seeded_app.url}/comm?tag=D100")
    wait_loaded(page)
    page.wait_for_function("document.querySelectorAll('[data-testid=hm-cell]').length === 720")
    cell = page.locator("[data-testid=hm-cell].hm-ok").first
    index = cell.get_attribute("data-i")
    cell.click()
    page.wait_for_selector("[data-testid=detail-when]")
    when = text(page, "detail-when")
    page.evaluate(WATCH_JS)

    ts = add_reading(db, "D100", 100.25)
    seen = newest(db, "SELECT max(last_seen_min) FROM comm_success_1h WHERE tag_name = %s", "D100")
    assert seen == ts.replace(second=0, microsecond=0)
    wait_text(page, "data-as-of", f"data as of {format_local(seen, TZ)}")

    assert page.evaluate("window.__noReload") is True
    assert page.evaluate("window.__sawSkeleton") is False
    assert text(page, "detail-when") == when
    assert "selected" in (page.get_attribute(f"#cell-{index}", "class") or "")


HIDE_JS = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(document, 'visibilityState', {configurable: true,
                                                       get: () => hidden ? 'hidden' : 'visible'});
  document.dispatchEvent(new Event('visibilitychange', {bubbles: true}));
}"""


def page_refreshes(route: str) -> int:
    return sum(1 for e in server_events("snapshot_refresh") if e.get("page") == route)


def wait_until(predicate, timeout_s: float, what: str) -> float:
    """Poll `predicate` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - t0


def test_a_hidden_tab_does_not_read_and_refreshes_when_shown(seeded_app, page):
    page.goto(f"{seeded_app.url}/tech?tag=D300&window=60m")
    wait_loaded(page)
    # the page refreshes while visible ...
    before = page_refreshes("/tech")
    wait_until(lambda: page_refreshes("/tech") > before, LIVE_PERIOD_S + 25, "a live refresh of /tech")

    page.evaluate(HIDE_JS, True)
    time.sleep(2)  # the event reaches the server; a read already under way may still land
    hidden_count = page_refreshes("/tech")
    time.sleep(3 * LIVE_PERIOD_S + 1)  # several refresh periods
    assert page_refreshes("/tech") == hidden_count, "a hidden tab read"

    read0 = text(page, "data-time")
    page.evaluate(HIDE_JS, False)
    # shown again after more than a period: it refreshes at once, not a period later
    took = wait_until(lambda: page_refreshes("/tech") > hidden_count, 15, "a refresh when shown")
    print(f"\nrefreshed {took:.1f} s after the tab was shown again")
    page.wait_for_function("t => document.querySelector('[data-testid=data-time]').innerText.trim() !== t",
                           arg=read0, timeout=15_000)
