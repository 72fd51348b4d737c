"""/trend with several pens: one line per tag, its own colour and unit, shared or own
scales; the table and the CSV hold every pen's buckets, each equal to a recompute from the
raw readings; pens are added and removed through the URL (Back undoes), bad pens get a notice."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from tests.pages.chart_helpers import hover
from tests.pages.conftest import screenshot, wait_chart, wait_loaded, wait_url

pytestmark = pytest.mark.e2e

PENS = ["D100", "D200", "D300"]


def wait_pens(page, lines: int, timeout: float = 15_000) -> None:
    """Until the chart has `lines` drawn lines. Not wait_chart: that expects every line to
    have every point, and pens need not share all their buckets (other tests add readings
    to one tag, and a tag's outage leaves a hole in its line only)."""
    page.wait_for_function(
        """n => { const c = document.querySelector('[data-testid=trend-chart]');
                  if (!c || document.querySelector('[data-testid=loading]')) return false;
                  const curves = Array.from(c.querySelectorAll('.recharts-line-curve'));
                  return c.querySelectorAll('.recharts-line').length === n && curves.length === n
                    && curves.every(e => ((e.getAttribute('d') || '').match(/[ML]/g) || []).length > 1); }""",
        arg=lines, timeout=timeout)


def _open(page, url: str, lines: int) -> None:
    page.goto(url)
    wait_loaded(page)
    wait_pens(page, lines)


def _csv(page, tmp_path) -> list[list[str]]:
    with page.expect_download() as info:
        page.click("[data-testid=csv-btn]")
    path = tmp_path / "pens.csv"
    info.value.save_as(path)
    return list(csv.reader(io.StringIO(path.read_text())))


def _raw_bucket(db, tag: str, start: datetime) -> tuple[float, float, float, int]:
    """avg, min, max, n of one tag's raw readings in [start, start + 5 min): the PRD's
    definition, read here without any rollup."""
    return db.execute("SELECT avg(value), min(value), max(value), count(*) FROM influx_hist "
                      "WHERE tag_name = %s AND ts >= %s AND ts < %s + interval '5 minutes'",
                      (tag, start, start)).fetchone()


def test_three_pens_draw_three_lines_and_the_csv_holds_every_pen(seeded_app, page, db, tmp_path):
    _open(page, f"{seeded_app.url}/trend?tag=D100&window=24h&pens=D200,D300", lines=3)
    assert page.locator("[data-testid=pen]").evaluate_all("es => es.map(e => e.dataset.tag)") == PENS
    assert "bar" in page.locator("[data-testid=pen][data-tag=D200]").inner_text()
    colours = page.eval_on_selector_all("[data-testid=trend-chart] .recharts-line-curve",
                                        "es => es.map(e => e.getAttribute('stroke'))")
    assert len(set(colours)) == 3
    # the series toggles of one tag give way to the pens' legend
    assert page.locator("[data-testid=series-toggles]").count() == 0
    tip = hover(page, "trend-chart", 0.5)
    assert tip["names"] == PENS
    assert tip["units"][PENS.index("D200")].strip() == "bar"

    rows = _csv(page, tmp_path)
    header, body = rows[0], rows[1:]
    assert header == ["TAG", "Time Stamp", "avg", "min", "max", "last", "first", "n", "unit", "bucket_width"]
    shown = int(page.get_attribute("[data-testid=history-count]", "data-count"))
    assert len(body) == shown
    per_pen = {tag: [r for r in body if r[0] == tag] for tag in PENS}
    assert all(len(v) > 250 for v in per_pen.values())  # a 24 h window of 5-minute buckets, per pen
    assert {r[8] for r in per_pen["D200"]} == {"bar"}
    # newest first, pens in their order within a bucket
    stamps = [datetime.fromisoformat(r[1]) for r in body]
    assert stamps == sorted(stamps, reverse=True)
    # buckets of every pen against the raw readings (a sample of each pen, the newest included;
    # not the oldest: the window's start cuts it, so it holds only the minutes inside the window)
    for tag, pen_rows in per_pen.items():
        for r in pen_rows[:-1:37] + [pen_rows[0]]:
            avg, lo, hi, n = _raw_bucket(db, tag, datetime.fromisoformat(r[1]))
            assert int(r[7]) == n, (tag, r)
            assert float(r[2]) == pytest.approx(avg, rel=1e-9, abs=1e-9), (tag, r)
            assert (float(r[3]), float(r[4])) == pytest.approx((lo, hi)), (tag, r)
    screenshot(page, "trend-pens")


def test_own_scales_hide_the_common_axis_and_keep_the_values(seeded_app, page):
    # 60 points: hiding the axis widens the plot, and a fraction of its width well inside a
    # point's band (0.41 of 60 = 24.6) stays on that point
    _open(page, f"{seeded_app.url}/trend?tag=D100&window=60m&pens=D300", lines=2)
    shared = hover(page, "trend-chart", 0.41)
    assert page.locator("[data-testid=trend-chart] .recharts-yAxis").count() == 1
    # a controlled checkbox: it shows checked once the server's answer comes back, so click
    # and wait for that (page.check fails when the answer is slower than its own check)
    page.click("[data-testid=own-scales]")
    wait_url(page, "scale=own")
    page.wait_for_function("document.querySelector('[data-testid=own-scales]').checked")
    page.wait_for_function("document.querySelectorAll('[data-testid=trend-chart] .recharts-yAxis').length === 0")
    assert page.locator("[data-testid=pens-note]").inner_text().startswith(("each pen scaled", "펜마다"))
    # D100 (0-200) and D300 (0-20000) now both span the plot's height
    heights = page.eval_on_selector_all("[data-testid=trend-chart] .recharts-line-curve",
                                        "es => es.map(e => e.getBoundingClientRect().height)")
    plot = page.locator("[data-testid=trend-chart] .recharts-cartesian-grid").bounding_box()["height"]
    assert all(h > plot * 0.6 for h in heights), (heights, plot)
    own = hover(page, "trend-chart", 0.41)
    assert own["values"] == shared["values"], (own, shared)  # the tooltip still says the real values
    page.reload()
    wait_loaded(page)
    wait_pens(page, 2)
    assert page.is_checked("[data-testid=own-scales]")
    for width, height in ((800, 480), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        screenshot(page, f"trend-pens-own-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width


def test_add_and_remove_pens_through_the_url(seeded_app, page):
    _open(page, f"{seeded_app.url}/trend?tag=D100&window=12h", lines=5)
    page.select_option("[data-testid=add-pen]", "D300")
    wait_url(page, "pens=D300")
    wait_pens(page, 2)
    page.select_option("[data-testid=add-pen]", "D200")
    wait_url(page, "pens=D300%2CD200")
    wait_pens(page, 3)
    assert page.locator("[data-testid=add-pen] option[value=D100]").count() == 0  # no pen twice
    page.click("[data-testid=pen][data-tag=D300] [data-testid=pen-remove]")
    wait_url(page, "pens=D200")
    wait_pens(page, 2)
    page.go_back()
    wait_url(page, "pens=D300%2CD200")
    wait_pens(page, 3)
    # the range and the pens travel together
    page.click("[data-testid=zoom-out]")
    page.wait_for_function("location.search.includes('from=') && location.search.includes('pens=')")
    wait_pens(page, 3)


@pytest.mark.parametrize("pens, notice", [
    ("D200,NOPE", "NOPE"),
    ("D100,D100", None),  # the page's own tag: one line, no notice needed
    ("D200,D300,D200," + ",".join(f"X{i}" for i in range(9)), "X0"),
])
def test_bad_pens_get_a_notice_and_are_left_out(seeded_app, page, pens, notice):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=12h&pens={pens}&scale=tilted")
    wait_loaded(page)
    text = page.locator("[data-testid=notice]").inner_text() if page.locator("[data-testid=notice]").count() else ""
    assert "tilted" in text
    if notice:
        assert notice in text
    known = [p for p in dict.fromkeys(pens.split(",")) if p in ("D200", "D300")]
    if known:
        wait_pens(page, len(known) + 1)
    else:
        wait_chart(page, "trend-chart", lines=5)
    if known:
        wait_url(page, "pens=" + "%2C".join(known))
    assert "scale=" not in page.url and "X0" not in page.url and "NOPE" not in page.url



def test_three_pens_stay_under_the_update_budget_in_every_window(seeded_app, page):
    from ksys_app.domain.windows import WINDOW_CODES
    from tests.pages.conftest import select_window

    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(len(p) if isinstance(p, bytes)
                                                                                 else len(p.encode()))))
    _open(page, f"{seeded_app.url}/trend?tag=D100&window=60m&pens=D200,D300", lines=3)
    worst = {"initial": max(frames)}
    for code in WINDOW_CODES:
        start = len(frames)
        select_window(page, code)
        page.wait_for_function("c => location.search.includes('window=' + c) && location.search.includes('pens=')",
                               arg=code)
        worst[code] = max(frames[start:], default=0)
    assert max(worst.values()) < 50_000, worst
