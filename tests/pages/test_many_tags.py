"""The tag pickers at a plant's size (issue 19): 2,000 tags beside the seeded ones.

Each picker lists at most MAX_CHOICES tags and says how many more match, the filter box
finds any tag, and the page's updates stay within the 50 KB websocket budget: the full
tag list stays on the server (every option used to travel with the page's state, three
lists of 2,000 names on /trend: an 85 KB frame in the 2,000-tag bench). Expectations
come from the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ksys_app.domain.groups import MAX_CHOICES
from ksys_app.ops.schema.refresh import refresh_range
from tests.pages.conftest import screenshot, wait_loaded, wait_url
from tests.pages.test_dashboard_groups import open_until, wait_idle

pytestmark = pytest.mark.e2e

TAGS = [f"MT{i:04d}" for i in range(2000)]
FRAME_BUDGET = 50_000  # bytes of one websocket update (bench/README.md)

# The size of every websocket frame the page receives, kept in the page (Playwright's sync
# API delivers websocket events only inside its own calls).
_FRAME_SIZES_JS = """
(() => {
  window.__frameSizes = [];
  const WS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new WS(...args);
    ws.addEventListener('message', (e) => {
      window.__frameSizes.push(typeof e.data === 'string' ? new TextEncoder().encode(e.data).length : e.data.byteLength);
    });
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


@pytest.fixture(scope="module")
def plant(seeded_app):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lo = now - timedelta(minutes=10)
    with psycopg.connect(seeded_app.admin_dsn, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for n, tag in enumerate(TAGS):
                copy.write_row((now - timedelta(minutes=2), tag, float(n)))
        refresh_range(conn, lo, now)
        try:
            yield conn
        finally:
            conn.execute("DELETE FROM influx_hist WHERE tag_name = ANY(%s)", (TAGS,))
            conn.execute("DELETE FROM ksys.tag_registry WHERE tag_name = ANY(%s)", (TAGS,))
            refresh_range(conn, lo, datetime.now(timezone.utc))


def all_tags(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT tag_name FROM influx_latest ORDER BY 1")]


def options(page, testid: str) -> list[str]:
    return page.eval_on_selector_all(f"[data-testid={testid}] option:not([disabled])", "o => o.map(e => e.value)")


def more_line(page, testid: str) -> str:
    line = page.locator(f"[data-testid={testid}] [data-testid=tag-more]")
    return line.inner_text() if line.count() else ""


@pytest.mark.parametrize("route", ["/trend", "/tech"])
def test_pickers_list_a_page_of_tags_and_the_filter_finds_any(seeded_app, browser, plant, route):
    tags = all_tags(plant)
    assert len(tags) > 2000
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(_FRAME_SIZES_JS)
    page = context.new_page()
    try:
        open_until(page, f"{seeded_app.url}{route}?tag=D100", lambda p: "more" in more_line(p, "tag-select"))
        shown = options(page, "tag-select")
        assert shown == (tags[:MAX_CHOICES] if "D100" in tags[:MAX_CHOICES] else ["D100", *tags[:MAX_CHOICES]])
        assert more_line(page, "tag-select") == f"{len(tags) - MAX_CHOICES:,} more: type part of a name above"
        if route == "/trend":  # "add a pen" lists the same page of tags (not the ones shown)
            assert options(page, "add-pen")[1:] == [t for t in tags if t != "D100"][:MAX_CHOICES]
            assert "more" in more_line(page, "add-pen")

        # a tag far down the list is a few letters away
        page.fill("[data-testid=tag-filter]", "mt19")
        want = ["D100", *[t for t in tags if "mt19" in t.lower()]]
        assert len(want) == 101
        page.wait_for_function("n => document.querySelectorAll('[data-testid=tag-select] option:not([disabled])')"
                               ".length === n", arg=len(want))
        assert options(page, "tag-select") == want and more_line(page, "tag-select") == ""
        page.select_option("[data-testid=tag-select]", "MT1987")
        wait_url(page, "tag=MT1987")
        wait_idle(page)
        screenshot(page, f"many_tags_{route.strip('/')}")
        sizes = page.evaluate("window.__frameSizes")
        print(f"{route}: largest update {max(sizes):,} B")
        assert sizes and max(sizes) <= FRAME_BUDGET, f"largest update {max(sizes):,} B over {FRAME_BUDGET:,} B"
    finally:
        context.close()


def test_a_tag_past_the_listed_page_opens_from_the_url(seeded_app, page, plant):
    """The select shows the page's tag even when it is not among the tags listed."""
    last = all_tags(plant)[-1]
    open_until(page, f"{seeded_app.url}/trend?tag={last}", lambda p: p.input_value("[data-testid=tag-select]") == last)
    wait_loaded(page)
    assert options(page, "tag-select")[0] == last
