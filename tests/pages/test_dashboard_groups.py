"""`/` at a plant's size (issue 19): tag groups from the QC CSV and `ksys tags group`,
`/?group=` showing exactly that group's tiles, tile pages in attention order, the
snapshot searched and paged by the database, and the tag pickers' filter box on
/trend and /tech. Every expectation is read from the database here."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import psycopg
import pytest

from ksys_app.domain.groups import SNAPSHOT_PAGE_ROWS, TILES_PER_PAGE
from ksys_app.ops.schema.refresh import refresh_range
from tests.dataops.test_qc import write_csv
from tests.pages.conftest import ROOT, screenshot, table_rows, wait_loaded, wait_url

pytestmark = pytest.mark.e2e

TAGS = [f"PG{i:03d}" for i in range(1, 61)]
ALPHA, BETA, STALE = TAGS[:10], TAGS[10:15], TAGS[:5]
BETA_NAME = "Beta_50%"  # LIKE's wildcards in a group name: a search for "%" or "_" must find it literally
UNIT_TAG, UNIT = "PG020", "m3/h"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KSYS_ADMIN_DSN", "TS_DSN")}
    return subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def plant(seeded_app, tmp_path_factory):
    """60 tags beside the seeded three: PG001-PG005 last read 3 h ago (no data in a 60m
    window), the others every 5 minutes for 2 h; Alpha (PG001-PG010) and PG020's unit from
    the QC CSV, Beta_50% (PG011-PG015) from `ksys tags group`."""
    now = datetime.now(timezone.utc)
    lo = now - timedelta(hours=5)
    with psycopg.connect(seeded_app.admin_dsn, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
            for n, tag in enumerate(TAGS):
                first, last = ((now - timedelta(hours=4), now - timedelta(hours=3)) if tag in STALE
                               else (now - timedelta(hours=2), now - timedelta(minutes=1)))
                t = first
                while t <= last:
                    copy.write_row((t, tag, 10.0 + n))
                    t += timedelta(minutes=5)
        refresh_range(conn, lo, now)
        csv = write_csv(tmp_path_factory.mktemp("qc") / "rules.csv",
                        [f'{t},0,100,,,,,"{{""group"":""Alpha""}}",,,,,,,' for t in ALPHA]
                        + [f'{UNIT_TAG},0,100,,,,,"{{""unit"":""{UNIT}""}}",,,,,,,'])
        proc = run_cli("qc", "sync", str(csv), "--dsn", seeded_app.admin_dsn)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("tags", "group", *BETA, "--group", BETA_NAME, "--dsn", seeded_app.admin_dsn)
        assert proc.returncode == 0, proc.stderr
        try:
            yield conn
        finally:
            conn.execute("DELETE FROM influx_hist WHERE tag_name = ANY(%s)", (TAGS,))
            conn.execute("DELETE FROM influx_qc_rule WHERE tag_name = ANY(%s)", (TAGS,))
            conn.execute("DELETE FROM ksys.tag_registry WHERE tag_name = ANY(%s)", (TAGS,))
            refresh_range(conn, lo, datetime.now(timezone.utc))


def group_tags(db, group: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT l.tag_name FROM influx_latest l JOIN influx_qc_rule q USING (tag_name) "
        "WHERE q.meta->>'group' = %s ORDER BY 1", (group,))]


def latest_tags(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT tag_name FROM influx_latest ORDER BY 1")]


def matching(db, text: str) -> list[str]:
    """The snapshot search, written independently: the text as a plain substring (strpos,
    no LIKE) of the tag name, group or unit, any case."""
    return [r[0] for r in db.execute(
        "SELECT l.tag_name FROM influx_latest l LEFT JOIN influx_qc_rule q USING (tag_name) "
        "WHERE strpos(lower(l.tag_name), lower(%(t)s)) > 0 OR strpos(lower(q.meta->>'group'), lower(%(t)s)) > 0 "
        "   OR strpos(lower(q.meta->>'unit'), lower(%(t)s)) > 0 ORDER BY 1", {"t": text})]


def tiles(page) -> list[str]:
    return page.eval_on_selector_all("[data-testid=kpi-tile]", "els => els.map(e => e.dataset.tag)")


def open_until(page, url: str, check, timeout_s: float = 15) -> None:
    """Open `url` until `check(page)` holds: the server caches the rules and tag list for 3 s."""
    deadline = datetime.now() + timedelta(seconds=timeout_s)
    while True:
        page.goto(url)
        wait_loaded(page)
        if check(page) or datetime.now() > deadline:
            break
        page.wait_for_timeout(1000)
    assert check(page), f"{url}: tiles {tiles(page)}"


def wait_idle(page) -> None:
    page.wait_for_function("document.querySelector('[data-testid=loading]') === null")


def snapshot_count(page) -> int:
    return int(page.get_attribute("[data-testid=snapshot-count]", "data-count"))


def search(page, text: str) -> None:
    page.fill("[data-testid=snapshot-search]", text)
    page.press("[data-testid=snapshot-search]", "Enter")


def test_group_shows_exactly_its_tiles(seeded_app, page, plant):
    alpha = group_tags(plant, "Alpha")
    assert alpha == ALPHA
    open_until(page, f"{seeded_app.url}/?group=Alpha&window=60m", lambda p: sorted(tiles(p)) == alpha)
    assert page.input_value("[data-testid=group-select]") == "Alpha"
    assert page.locator("[data-testid=tiles-next]").count() == 0  # 10 tiles: one page
    # the picker: the other group, then every tag (the URL follows)
    page.select_option("[data-testid=group-select]", BETA_NAME)
    wait_url(page, "group=" + quote(BETA_NAME, safe=""))
    page.wait_for_function("n => document.querySelectorAll('[data-testid=kpi-tile]').length === n", arg=len(BETA))
    assert sorted(tiles(page)) == group_tags(plant, BETA_NAME) == BETA
    page.select_option("[data-testid=group-select]", "")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=kpi-tile]').length === n", arg=TILES_PER_PAGE)
    page.wait_for_function("() => !location.href.includes('group=')")
    assert int(page.get_attribute("[data-testid=tiles-count]", "data-count")) == len(latest_tags(plant))


def test_unknown_group_says_so_and_shows_all(seeded_app, page, plant):
    open_until(page, f"{seeded_app.url}/?group=NoSuchArea", lambda p: len(tiles(p)) == TILES_PER_PAGE)
    assert "Unknown group 'NoSuchArea'" in page.inner_text("[data-testid=notice]")
    assert "group=" not in page.url


def test_tile_pages_cover_every_tag_abnormal_first(seeded_app, page, plant):
    every = latest_tags(plant)
    assert len(every) > TILES_PER_PAGE
    open_until(page, f"{seeded_app.url}/?window=60m",
               lambda p: p.locator("[data-testid=tiles-count]").count() == 1
               and int(p.get_attribute("[data-testid=tiles-count]", "data-count")) == len(every))
    pages = [tiles(page)]
    while page.locator("[data-testid=tiles-next]").is_enabled():
        page.click("[data-testid=tiles-next]")
        page.wait_for_function("t => document.querySelector('[data-testid=kpi-tile]').dataset.tag !== t",
                               arg=pages[-1][0])
        wait_idle(page)
        pages.append(tiles(page))
        # the page is in the address bar (1-based), so a reload or a kiosk entry can name it
        wait_url(page, f"tiles={len(pages)}")
    shown = [t for p in pages for t in p]
    assert sorted(shown) == every and len(shown) == len(set(shown))
    # opening the last page by its URL shows the same tiles; a page past the end shows the
    # last one, a malformed one the first with a notice
    last = len(pages)
    open_until(page, f"{seeded_app.url}/?window=60m&tiles={last}", lambda p: tiles(p) == pages[-1])
    open_until(page, f"{seeded_app.url}/?window=60m&tiles=999", lambda p: tiles(p) == pages[-1])
    for bad in ("0", "-1", "two", "1e3", "99999"):
        open_until(page, f"{seeded_app.url}/?window=60m&tiles={quote(bad)}", lambda p: tiles(p) == pages[0])
        assert "Unknown tile page" in page.inner_text("[data-testid=notice]"), bad
        assert "tiles=" not in page.url, bad
    open_until(page, f"{seeded_app.url}/?window=60m&tiles={last}", lambda p: tiles(p) == pages[-1])
    assert [len(p) for p in pages[:-1]] == [TILES_PER_PAGE] * (len(pages) - 1)
    # no readings in the last hour: abnormal, so on the first page, and drawn as no data
    assert set(STALE) <= set(pages[0])
    for _ in pages[1:]:  # back to the first page, one page at a time
        shown_page = page.inner_text("[data-testid=tiles-page]")
        page.click("[data-testid=tiles-prev]")
        page.wait_for_function("t => document.querySelector('[data-testid=tiles-page]').innerText !== t",
                               arg=shown_page)
    page.wait_for_selector("[data-testid=tiles-page]:has-text('1 /')")
    for tag in STALE:
        page.wait_for_selector(f"[data-testid=kpi-tile][data-tag={tag}][data-tone=nodata]")


def test_snapshot_pages_and_search_match_the_database(seeded_app, page, plant):
    every = latest_tags(plant)
    assert len(every) > SNAPSHOT_PAGE_ROWS
    open_until(page, seeded_app.url + "/", lambda p: snapshot_count(p) == len(every))
    assert [r[0] for r in table_rows(page, "snapshot-table")] == every[:SNAPSHOT_PAGE_ROWS]
    page.click("[data-testid=snapshot-next]")
    page.wait_for_function("t => document.querySelector('[data-testid=snapshot-table] tbody td').innerText !== t",
                           arg=every[0])
    assert [r[0] for r in table_rows(page, "snapshot-table")] == every[SNAPSHOT_PAGE_ROWS:]
    for text in ("pg0", "ALPHA", UNIT, "%", "_", "50%", "no such thing"):
        want = matching(plant, text)
        search(page, text)
        page.wait_for_function("n => document.querySelector('[data-testid=snapshot-count]').dataset.count == n",
                               arg=str(len(want)))
        wait_idle(page)
        assert [r[0] for r in table_rows(page, "snapshot-table")] == want[:SNAPSHOT_PAGE_ROWS], text
        assert page.inner_text("[data-testid=snapshot-page]").endswith(f"/ {max(1, -(-len(want) // 50))}")
        wait_url(page, urlencode({"q": text}))
    assert matching(plant, "%") == BETA and matching(plant, "ALPHA") == ALPHA and matching(plant, UNIT) == [UNIT_TAG]
    # the search comes back with the URL
    page.goto(f"{seeded_app.url}/?q=pg01")
    wait_loaded(page)
    assert page.input_value("[data-testid=snapshot-search]") == "pg01"
    assert snapshot_count(page) == len(matching(plant, "pg01"))


def test_bad_search_is_refused_and_changes_nothing(seeded_app, page, plant):
    open_until(page, seeded_app.url + "/?q=pg0", lambda p: snapshot_count(p) == len(matching(plant, "pg0")))
    before = (table_rows(page, "snapshot-table"), snapshot_count(page), page.url)
    for bad, why in (("x" * 65, "at most 64 characters"), ("a\u0007b", "non-printable")):
        search(page, bad)
        page.wait_for_function("w => (document.querySelector('[data-testid=notice]') || {}).innerText?.includes(w)",
                               arg=why)
        assert "Search not applied" in page.inner_text("[data-testid=notice]")
        assert (table_rows(page, "snapshot-table"), snapshot_count(page), page.url) == before
    page.goto(seeded_app.url + "/?q=" + "y" * 80)
    wait_loaded(page)
    assert "Search not applied" in page.inner_text("[data-testid=notice]")
    assert snapshot_count(page) == len(latest_tags(plant))


@pytest.mark.parametrize("route", ["/trend", "/tech"])
def test_tag_picker_filter(seeded_app, page, plant, route):
    open_until(page, f"{seeded_app.url}{route}?tag=D100",
               lambda p: "PG020" in p.eval_on_selector_all("[data-testid=tag-select] option", "o => o.map(e => e.value)"))
    page.fill("[data-testid=tag-filter]", "pg02")
    want = ["D100", *[t for t in latest_tags(plant) if "pg02" in t.lower()]]
    page.wait_for_function("n => document.querySelectorAll('[data-testid=tag-select] option').length === n",
                           arg=len(want))
    assert page.eval_on_selector_all("[data-testid=tag-select] option", "o => o.map(e => e.value)") == want
    page.select_option("[data-testid=tag-select]", "PG025")
    wait_url(page, "tag=PG025")
    wait_idle(page)
    page.fill("[data-testid=tag-filter]", "")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=tag-select] option').length === n",
                           arg=len(latest_tags(plant)))


@pytest.mark.parametrize("width,height", [(800, 480), (390, 844), (1366, 768)])
def test_screens(seeded_app, browser, plant, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        for name, url, check in (
                ("group", "/?group=Alpha&window=60m", lambda p: sorted(tiles(p)) == ALPHA),
                ("search", "/?q=pg0&window=60m", lambda p: snapshot_count(p) == len(matching(plant, "pg0"))),
                ("picker", "/trend?tag=D100", lambda p: True)):
            open_until(page, seeded_app.url + url, check)
            if name == "picker":
                page.fill("[data-testid=tag-filter]", "pg02")
                page.wait_for_function("() => document.querySelectorAll('[data-testid=tag-select] option').length < 20")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            if width <= 820:  # the touch rules (assets/layout.css): every new control a fingertip wide and high
                ids = (["tag-filter", "tag-select"] if name == "picker"
                       else ["group-select", "snapshot-search", "snapshot-search-btn", "snapshot-search-clear",
                             "snapshot-prev", "snapshot-next"])
                for testid in ids:
                    box = page.locator(f"[data-testid={testid}]").bounding_box()
                    assert box and box["height"] >= 44 and box["width"] >= 44, (name, testid, box)
            screenshot(page, f"groups_{name}_{width}x{height}")
    finally:
        context.close()
