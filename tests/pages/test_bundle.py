"""The JavaScript each route loads: the chart library only where a chart is drawn.

Reflex writes a page's memoized components into one module per Python module of
the page function; with all pages in one, `/` and `/comm` loaded recharts (a
526 KB chunk) for no chart. The check reads every script the page really loaded
(the browser's resource timing) and looks for recharts' own class names in them.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.pages.conftest import ROOT, wait_loaded

pytestmark = pytest.mark.e2e

RECHARTS_MARK = b"recharts-cartesian-grid"  # a class name recharts' code writes
# the project's own scripts (assets/): zoom.js looks the class name up on /trend's chart
OWN_SCRIPTS = {p.name for p in (ROOT / "assets").glob("*.js")}


def _scripts(page) -> dict[str, bytes]:
    urls = page.evaluate("performance.getEntriesByType('resource').map(r => r.name)"
                         ".filter(n => n.split('?')[0].endsWith('.js'))")
    out = {}
    for url in urls:
        with urllib.request.urlopen(url, timeout=10) as resp:
            out[url.rsplit("/", 1)[-1]] = resp.read()
    return out


@pytest.mark.parametrize("route, draws_chart", [("/", False), ("/comm", False), ("/alarms", False),
                                                ("/trend", True), ("/tech", True)])
def test_only_chart_pages_load_the_chart_library(seeded_app, page, route, draws_chart):
    page.goto(seeded_app.url + route)
    wait_loaded(page)
    scripts = _scripts(page)
    assert scripts, "no scripts seen in resource timing"
    with_charts = sorted(name for name, body in scripts.items() if RECHARTS_MARK in body and name not in OWN_SCRIPTS)
    if draws_chart:
        assert with_charts, f"{route} draws a chart, yet none of {sorted(scripts)} holds recharts"
    else:
        assert not with_charts, f"{route} draws no chart, yet loads recharts in {with_charts}"
