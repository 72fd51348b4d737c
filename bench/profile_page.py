"""Where a cold page load spends its time in Chromium: a CPU profile of one load on the Pi
profile (800x480, CPU slowed 4x) or the desktop one, reduced to self time per function
and per script, beside the load's milestones.

    python -m bench.profile_page http://127.0.0.1:3000/trend?window=24h [--desktop] [--runs 3]
        [--predicate JS] [--top 25] [--save profile.cpuprofile]

Against a running dashboard (`ksys serve`, or a bench `--keep` cluster with `python -m
bench.pages`). The milestones are ms since navigation start: DOMContentLoaded, the
websocket opened, the first chart drawn (the predicate of bench.pages for the route, or
--predicate), and the long tasks (> 50 ms) before it. A saved .cpuprofile opens in
Chrome DevTools' Performance panel.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from urllib.parse import urlsplit

from bench.pages import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PI, ROUTES

_MILESTONES_JS = """
(() => {
  window.__m = {long: []};
  document.addEventListener('DOMContentLoaded', () => { window.__m.dcl = performance.now(); });
  const WS = window.WebSocket;
  window.WebSocket = function (...a) {
    const ws = new WS(...a);
    ws.addEventListener('open', () => { window.__m.ws_open = performance.now(); });
    window.__m.frames = [];
    const send = ws.send.bind(ws);
    ws.send = (d) => { window.__m.frames.push(['out', Math.round(performance.now()), String(d).length]); return send(d); };
    ws.addEventListener('message', (e) => { window.__m.frames.push(['in', Math.round(performance.now()),
      typeof e.data === 'string' ? e.data.length : (e.data.byteLength || e.data.size || 0)]); });
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries())
      window.__m.long.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({type: 'longtask', buffered: true});
  } catch (e) {}
  const check = () => {
    if (window.__m.drawn !== undefined) return;
    try { if (%s) { window.__m.drawn = performance.now(); obs.disconnect(); } } catch (e) {}
  };
  const obs = new MutationObserver(check);
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""


def _predicate_for(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    for route, (route_path, pred) in ROUTES.items():
        if route_path.split("?")[0] == path:
            return pred
    raise SystemExit(f"no predicate known for {path}: pass --predicate")


def _self_times(profile: dict) -> tuple[Counter, Counter]:
    """Self time in ms per function (name @ script:line) and per script."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    per_node: Counter = Counter()
    for sample, dt in zip(profile.get("samples", []), deltas):
        per_node[sample] += dt / 1000
    by_fn: Counter = Counter()
    by_script: Counter = Counter()
    for node_id, ms in per_node.items():
        frame = nodes[node_id]["callFrame"]
        script = frame.get("url", "").rsplit("/", 1)[-1] or "(native)"
        name = frame.get("functionName") or "(anonymous)"
        by_fn[f"{name} @ {script}:{frame.get('lineNumber', 0) + 1}"] += ms
        by_script[script] += ms
    return by_fn, by_script


def profile_load(url: str, profile: dict, predicate: str, save: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    width, height = profile["viewport"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": width, "height": height})
            ctx.add_init_script(_MILESTONES_JS % predicate)
            page = ctx.new_page()
            cdp = ctx.new_cdp_session(page)
            if profile["cpu_throttle"] != 1:
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": profile["cpu_throttle"]})
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
            page.goto(url, wait_until="commit")
            page.wait_for_function("() => window.__m && window.__m.drawn !== undefined", timeout=60_000)
            milestones = page.evaluate("window.__m")
            cpu = cdp.send("Profiler.stop")["profile"]
            resources = page.evaluate(
                "performance.getEntriesByType('resource').filter(r => r.name.endsWith('.js'))"
                ".map(r => [r.name.split('/').pop(), r.encodedBodySize, r.decodedBodySize])")
        finally:
            browser.close()
    if save:
        with open(save, "w") as f:
            json.dump(cpu, f)
    by_fn, by_script = _self_times(cpu)
    drawn = milestones["drawn"]
    return {
        "milestones_ms": {k: round(v) for k, v in milestones.items() if k not in ("long", "frames")},
        "ws_frames": [f for f in milestones.get("frames", []) if f[1] <= drawn],
        "long_tasks_before_draw": [t for t in milestones["long"] if t[0] < drawn],
        "js": sorted(resources, key=lambda r: -r[2]),
        "self_ms_by_script": by_script.most_common(),
        "self_ms_by_function": by_fn.most_common(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--desktop", action="store_true", help="1440x1000, no CPU slow-down (default: the Pi profile)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--predicate", help="JS expression true once the page is drawn")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--save", help="write the last run's .cpuprofile here")
    args = ap.parse_args()
    predicate = args.predicate or _predicate_for(args.url)
    for run in range(args.runs):
        out = profile_load(args.url, DESKTOP if args.desktop else PI, predicate, args.save)
        print(f"run {run + 1}: milestones {out['milestones_ms']}")
        print(f"  long tasks before the draw [start, ms]: {out['long_tasks_before_draw']}")
        print(f"  websocket frames before the draw [direction, ms, chars]: {out['ws_frames']}")
        print("  JS (file, bytes on the wire, bytes):", ", ".join(f"{n} {e // 1024}/{d // 1024} KB" for n, e, d in out["js"]))
        print("  self time by script (ms):", ", ".join(f"{s} {ms:.0f}" for s, ms in out["self_ms_by_script"][:8]))
        for name, ms in out["self_ms_by_function"][:args.top]:
            print(f"    {ms:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
