"""Websocket payload per update stays under 50 KB for every window on /trend (PRD B14)."""

from __future__ import annotations

import json
import time

import pytest

from ksys_app.domain.windows import WINDOW_CODES
from tests.pages.conftest import ROOT, select_window, wait_loaded

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
