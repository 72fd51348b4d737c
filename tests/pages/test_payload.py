"""Websocket payload per update stays under 50 KB for every window on /trend (PRD B14), and
windows of 7 days and more neither log payload_bloat nor show a PAYLOAD_BLOAT notice (B12)."""

from __future__ import annotations

import json
import time
from typing import Iterator

import pytest

from ksys_app.domain.windows import WINDOW_CODES, parse_window
from tests.pages.conftest import (
    ROOT,
    SERVER_ENV,
    app_server,
    screenshot,
    select_window,
    server_events,
    table_rows,
    wait_loaded,
)

pytestmark = pytest.mark.e2e

BUDGET = 50_000


def _size(payload) -> int:
    return len(payload) if isinstance(payload, (bytes, bytearray)) else len(payload.encode("utf-8"))


@pytest.mark.parametrize("tag", ["D100", "D200"])
def test_trend_payload_per_update_under_50kb(seeded_app, page, tag):
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(_size(p))))
    t0 = time.monotonic()
    page.goto(f"{seeded_app.url}/trend?tag={tag}&window=60m")
    page.wait_for_selector("[data-testid=trend-chart] .recharts-line-curve")
    first_chart_s = time.monotonic() - t0
    wait_loaded(page)
    per_window: dict[str, int] = {"initial": max(frames)}
    for code in WINDOW_CODES:
        start = len(frames)
        select_window(page, code)
        # the state delta arrives before the select shows the new value; wait for its frames
        page.wait_for_function("c => location.search.includes('window=' + c)", arg=code)
        per_window[code] = max(frames[start:], default=0)
    assert len(per_window) == len(WINDOW_CODES) + 1
    worst = max(per_window.values())
    out = ROOT / "test-output" / f"payload_{tag}.json"
    out.write_text(json.dumps({"tag": tag, "bytes_max_frame": per_window,
                               "first_chart_s": round(first_chart_s, 2)}, indent=1))
    print(f"\n{tag} max websocket frame per window (bytes): {per_window}; first chart {first_chart_s:.2f} s")
    assert worst < BUDGET, per_window


# PRD B12: the WS/SSR payload warning threshold. Windows of 7 days and more used to read
# 2,016 features_5m rows (about 435 KB by the data layer's estimate) and log payload_bloat.
WARN_BYTES = 300_000
LONG_WINDOWS = ["7d", "14d", "30d", "3m", "6m", "12m"]
FEATURES_PAGE_ROWS = 50


def _features_shown(page) -> tuple[int, list[list[str]]]:
    count = int(page.get_attribute("[data-testid=features-count]", "data-count"))
    return count, table_rows(page, "features-table")


def test_trend_long_windows_stay_under_the_payload_warning(seeded_app, page, db):
    """D100 has 30 days of data: every long window sends one page of the features table,
    logs no payload_bloat and shows no PAYLOAD_BLOAT notice."""
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(_size(p))))
    bloat_before = len(server_events("payload_bloat"))
    page.goto(f"{seeded_app.url}/trend?tag=D100&window=60m")
    wait_loaded(page)
    per_window: dict[str, dict] = {}
    for code in LONG_WINDOWS:
        start = len(frames)
        select_window(page, code)
        page.wait_for_function("c => location.search.includes('window=' + c)", arg=code)
        wait_loaded(page)
        count, rows = _features_shown(page)
        n_db = db.execute("SELECT count(*) FROM features_5m WHERE tag_name = 'D100' "
                          "AND bucket >= now() - %s::interval", (parse_window(code).duration,)).fetchone()[0]
        assert abs(count - n_db) <= 1, (code, count, n_db)  # the whole window is counted ...
        assert len(rows) == min(count, FEATURES_PAGE_ROWS)  # ... and one page is sent
        assert page.locator("[data-testid=payload-notice]").count() == 0, code
        per_window[code] = {"bytes_max_frame": max(frames[start:], default=0), "features_rows": count}

    # the next features page is read and sent on its own, numbered on
    start = len(frames)
    page.click("[data-testid=features-next]")
    page.wait_for_function(
        "document.querySelector('[data-testid=features-page]').innerText.startsWith('page 2')")
    assert table_rows(page, "features-table")[0][0] == str(FEATURES_PAGE_ROWS + 1)
    per_window["12m features page 2"] = {"bytes_max_frame": max(frames[start:], default=0)}

    out = ROOT / "test-output" / "payload_trend_long_D100.json"
    out.write_text(json.dumps(per_window, indent=1))
    print(f"\nD100 long windows on /trend: {per_window}")
    assert len(server_events("payload_bloat")) == bloat_before, server_events("payload_bloat")[bloat_before:]
    worst = max(v["bytes_max_frame"] for v in per_window.values())
    assert worst < WARN_BYTES, per_window
    assert worst < BUDGET, per_window  # PRD B14's 50 KB average holds for each update, too


# A second server over the same database whose payload budget the /trend chart exceeds.
SMALL_BUDGET = 20_000
SMALL_LOG = ROOT / "test-output" / "e2e-server-small-budget.log"


@pytest.fixture(scope="module")
def small_budget_app(seeded_app) -> Iterator[str]:
    with app_server(seeded_app.app_dsn, SMALL_LOG, {**SERVER_ENV, "KSYS_PAYLOAD_WARN_BYTES": str(SMALL_BUDGET)}) \
            as (url, _proc):
        yield url


def test_payload_bloat_is_shown_on_the_page(small_budget_app, page):
    """An update over the budget is logged as payload_bloat with its size and the page
    says so; the data is shown all the same. A small update clears the notice."""
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(_size(p))))
    page.goto(f"{small_budget_app}/trend?tag=D100&window=24h")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=payload-notice]")
    text = page.inner_text("[data-testid=payload-notice-text]")
    assert text.startswith("PAYLOAD_BLOAT: this update is about ") and "over the 20 KB payload budget" in text
    assert page.locator("[data-testid=history-row]").count() > 0  # warned, not cut
    events = [e for e in server_events("payload_bloat", SMALL_LOG) if e.get("page") == "/trend"]
    assert events and all(e["bytes"] > SMALL_BUDGET and e["range"] == "24h" and e["tag"] == "D100"
                          for e in events)
    # the measured update and the largest frame the browser got are about the same size
    assert max(frames) >= SMALL_BUDGET and events[-1]["bytes"] == pytest.approx(max(frames), rel=0.25)
    print(f"\nmeasured update {events[-1]['bytes']} B, largest frame {max(frames)} B")
    screenshot(page, "trend_payload_notice")
    select_window(page, "1m")  # a few hundred bytes
    page.wait_for_selector("[data-testid=payload-notice]", state="detached")
