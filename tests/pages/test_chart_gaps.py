"""A chart's line breaks over an outage instead of bridging it (domain/chartmarks.gap_after):
the seeded D100 is silent for three hours five days ago."""

from __future__ import annotations

import pytest

from tests.pages.conftest import wait_chart, wait_loaded

pytestmark = pytest.mark.e2e


def _segments(page, testid: str) -> list[int]:
    """Line segments (M commands) of each drawn series."""
    return page.eval_on_selector_all(f"[data-testid={testid}] .recharts-line-curve",
                                     "els => els.map(e => ((e.getAttribute('d') || '').match(/M/g) || []).length)")


@pytest.mark.parametrize("window, breaks", [("7d", True), ("24h", False)])
def test_the_line_breaks_over_the_outage_only(seeded_app, page, window, breaks):
    page.goto(f"{seeded_app.url}/trend?tag=D100&window={window}")
    wait_loaded(page)
    wait_chart(page, "trend-chart")
    gaps = int(page.get_attribute("[data-testid=trend-chart]", "data-gaps"))
    segments = _segments(page, "trend-chart")
    if breaks:
        assert gaps == 1 and segments and all(n == 2 for n in segments), (gaps, segments)
    else:
        assert gaps == 0 and all(n == 1 for n in segments), (gaps, segments)


def test_the_tech_chart_breaks_too(seeded_app, page):
    page.goto(f"{seeded_app.url}/tech?tag=D100&window=7d")
    wait_loaded(page)
    wait_chart(page, "tech-chart")
    assert int(page.get_attribute("[data-testid=tech-chart]", "data-gaps")) >= 1
