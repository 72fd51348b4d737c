"""README's screenshots, taken from a running `make demo`: `python -m ksys_dev.screenshots [URL]`.

Start the demo first (it fills 30 days of simulated readings), then run this
against it (default http://127.0.0.1:$KSYS_PORT, 3000). It writes
docs/screenshots/<name>.png: each page at 1280 x 900 (desktop) and at 800 x 480
with touch (the Raspberry Pi 7" screen), the dashboard in the dark theme and in
Korean, and a kiosk screen on the Pi. Chromium is Debian's, driven by Playwright
(never a browser download), as in the tests.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_BYTES = 250_000  # what a README image may weigh

PAGES = {"dashboard": "/?window=24h", "trend": "/trend?tag=D100&window=24h",
         "tech": "/tech?tag=D100&window=24h", "comm": "/comm?tag=D100"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PI = {"viewport": {"width": 800, "height": 480}, "has_touch": True}
# name -> (context options, path, what to do before the shot)
SHOTS = {
    **{name: (DESKTOP, path, None) for name, path in PAGES.items()},
    **{f"pi_{name}": (PI, path, None) for name, path in PAGES.items()},
    "dark_dashboard": (DESKTOP, PAGES["dashboard"], "dark"),
    "ko_dashboard": (DESKTOP, PAGES["dashboard"] + "&lang=ko", None),
    "ko_comm": (DESKTOP, PAGES["comm"] + "&lang=ko", None),
    "pi_kiosk": (PI, "/?window=24h&kiosk=1&cycle=0", None),
}


def _ready(page, path: str) -> None:
    page.wait_for_selector("[data-testid=brand]", timeout=60_000)
    page.wait_for_function("document.querySelector('[data-testid=loading]') === null", timeout=60_000)
    if path.startswith("/comm"):
        page.wait_for_selector("[data-testid=hm-cell]")
    elif path.startswith(("/trend", "/tech")):
        page.wait_for_selector(".recharts-line-curve")
    else:
        page.wait_for_selector("[data-testid=kpi-tile]")
    page.wait_for_timeout(500)   # the chart's first layout


def take(base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, (options, path, before) in SHOTS.items():
                context = browser.new_context(**options)
                page = context.new_page()
                if before == "dark":
                    page.add_init_script("localStorage.setItem('ksys-theme', 'dark')")
                page.goto(base + path)
                _ready(page, path)
                if path.startswith("/comm"):
                    page.click("[data-testid=hm-cell][data-band=ok] >> nth=100")
                    page.wait_for_selector("[data-testid=detail-rate]")
                target = OUT / f"{name}.png"
                page.screenshot(path=str(target))
                if target.stat().st_size > MAX_BYTES:
                    raise SystemExit(f"{target} is {target.stat().st_size:,} bytes (> {MAX_BYTES:,})")
                written.append(target)
                print(f"wrote {target.relative_to(ROOT)}")
                context.close()
        finally:
            browser.close()
    return written


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{os.environ.get('KSYS_PORT', '3000')}"
    take(url.rstrip("/"))
