"""Pages in Chromium (Playwright's Python package, Debian's /usr/bin/chromium): time to the
first chart, websocket bytes per update for each window option, and the server's memory.

The server runs from a private copy of the app (ksys_app, rxconfig.py, assets, .web
without its build) in the bench's temporary folder: `ksys serve` exports the frontend
for its port into <project>/.web, and building into the shared checkout would replace
the pages of any other dashboard (e.g. an e2e run) being served from it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, log, percentile, tree_rss
from ksys_app.domain.windows import WINDOW_CODES
from ksys_dev.http import wait_http
from ksys_dev.localpg import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TAG = "D100"

# route -> (URL, JS predicate: the first chart / heatmap / tile is drawn)
_CURVE = ("(() => {{ const c = document.querySelector('[data-testid={t}] .recharts-line-curve');"
          " return !!c && (c.getAttribute('d') || '').length > 1; }})()")
ROUTES = {
    "/": ("/", "!!document.querySelector('[data-testid=kpi-tile]')"),
    "/trend": ("/trend", _CURVE.format(t="trend-chart")),
    "/tech": ("/tech", _CURVE.format(t="tech-chart")),
    "/comm": ("/comm", "!!document.querySelector('[data-testid=hm-cell]')"),
    # the active alarms' table (the bench's rules leave alarms active at every scale)
    "/alarms": ("/alarms", "!!document.querySelector('[data-testid=alarm-row]')"),
    # the default window is 5m; the same pages with a day of points
    "/trend 24h": (f"/trend?tag={TAG}&window=24h", _CURVE.format(t="trend-chart")),
    "/tech 24h": (f"/tech?tag={TAG}&window=24h", _CURVE.format(t="tech-chart")),
}
WINDOW_PAGES = ("/", "/trend", "/tech")

# The operator's screen: the Raspberry Pi 7" touchscreen (800x480) on a Pi-class CPU,
# simulated by Chromium's CPU throttling (CDP Emulation.setCPUThrottlingRate 4).
DESKTOP = {"viewport": (1440, 1000), "cpu_throttle": 1}
PI = {"viewport": (800, 480), "cpu_throttle": 4}

# Records performance.now() (ms since navigation start) when the predicate first holds.
_FIRST_DRAW_JS = """
(() => {
  const check = () => {
    if (window.__benchFirst !== undefined) return;
    try {
      if (%s) { window.__benchFirst = performance.now(); obs.disconnect(); }
      else if (window.__benchEmpty === undefined && document.querySelector(
                 '[data-testid=empty-state], [data-testid=error-box]')) { window.__benchEmpty = performance.now(); }
    } catch (e) {}
  };
  const obs = new MutationObserver(check);
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""


# ---------------------------------------------------------------------- server

def _app_copy(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("ksys_app", "assets", "reflex.lock"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore, symlinks=True)
    for name in ("rxconfig.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    if (ROOT / ".web").exists():  # installed JS packages, so the export needs no network
        shutil.copytree(ROOT / ".web", dest / ".web", symlinks=True,
                        ignore=shutil.ignore_patterns("build", ".react-router"))
    data = dest / ".ksys"
    data.mkdir()
    for name in ("node", "bun-cache"):  # bun from npm, shared read-only with the checkout
        if (ROOT / ".ksys" / name).exists():
            (data / name).symlink_to(ROOT / ".ksys" / name)
    return data


class Server:
    def __init__(self, workdir: Path, ro_dsn: str):
        self.dir = workdir / "app"
        self.dir.mkdir(parents=True)
        self.data = _app_copy(self.dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        env = dict(os.environ, KSYS_DATA_DIR=str(self.data), PYTHONPATH=str(self.dir))
        env.pop("TS_DSN", None)
        self.log = open(self.log_path, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ksys_app.ops.cli", "serve", "--dsn", ro_dsn, "--port", str(self.port),
             "--host", "127.0.0.1"], cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            wait_http(f"{self.url}/ping", 600, self.proc)
        except Exception:
            self.stop()
            raise
        self.start_s = round(time.monotonic() - t0, 1)

    def rss(self) -> dict:
        return tree_rss(self.proc.pid)

    def cpu_s(self) -> float:
        total = 0
        from bench.common import process_tree
        for pid in process_tree(self.proc.pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""



# ---------------------------------------------------------------------- measurements

def _first_draw(browser, url: str, predicate: str, timeout_ms: float = 30_000, profile: dict = DESKTOP) -> dict:
    """A fresh context (empty browser cache): ms from navigation start to the first draw,
    then a second navigation in the same context (browser cache warm). `profile`: the
    viewport and the CPU slow-down (DESKTOP, PI)."""
    width, height = profile["viewport"]
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.add_init_script(_FIRST_DRAW_JS % predicate)
    page = ctx.new_page()
    if profile["cpu_throttle"] != 1:
        # stays in force for the page's later navigations (the warm run too)
        ctx.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": profile["cpu_throttle"]})
    out: dict = {}
    try:
        for key in ("cold_ms", "warm_ms"):
            t0 = time.monotonic()
            page.goto(url, wait_until="commit")
            # drawn, or an empty / error state that stayed for 3 s (no data: recorded as an error)
            page.wait_for_function("() => window.__benchFirst !== undefined || (window.__benchEmpty !== undefined"
                                   " && performance.now() - window.__benchEmpty > 3000)", timeout=timeout_ms)
            if page.evaluate("window.__benchFirst === undefined"):
                text = page.evaluate("(document.querySelector('[data-testid=empty-state], [data-testid=error-box]')"
                                     " || {}).innerText || ''")
                raise RuntimeError(f"no chart: the page shows {' '.join(text.split())[:120]!r}")
            out[key] = round(page.evaluate("window.__benchFirst"), 1)
            out[key.replace("_ms", "_wall_ms")] = round((time.monotonic() - t0) * 1000, 1)
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        ctx.close()
    return out


def _first_draws(browser, base: str, runs: int, profile: dict) -> dict:
    """_first_draw of every route: once right after the server started (or the previous
    profile ran), then `runs` times; p50 / max of the cold and the warm runs."""
    first: dict = {}
    name = "pi" if profile is PI else "desktop"
    for route, (path, pred) in ROUTES.items():
        first_visit = _first_draw(browser, base + path, pred, profile=profile)
        samples = [_first_draw(browser, base + path, pred, profile=profile) for _ in range(runs)]
        cold = [s["cold_ms"] for s in samples if "cold_ms" in s]
        warm = [s["warm_ms"] for s in samples if "warm_ms" in s]
        first[route] = {
            "first_visit_after_start": first_visit,
            "cold_browser_p50_ms": percentile(cold, 0.5), "cold_browser_max_ms": max(cold, default=None),
            "warm_browser_p50_ms": percentile(warm, 0.5), "warm_browser_max_ms": max(warm, default=None),
            "runs": len(cold), "errors": sorted({s["error"] for s in samples if "error" in s}),
            "viewport": list(profile["viewport"]), "cpu_throttle": profile["cpu_throttle"],
        }
        log(f"  first draw {route} ({name}): p50 {first[route]['cold_browser_p50_ms']} ms "
            f"(first visit {first_visit.get('cold_ms', first_visit.get('error'))})")
    return first


def _frame_size(payload) -> int:
    return len(payload) if isinstance(payload, (bytes, bytearray)) else len(payload.encode("utf-8"))


def _wait_quiet(page, frames: list, quiet_s: float = 0.4, max_s: float = 8.0) -> None:
    t_end = time.monotonic() + max_s
    n, t_last = len(frames), time.monotonic()
    while time.monotonic() < t_end:
        page.wait_for_timeout(100)
        if len(frames) != n:
            n, t_last = len(frames), time.monotonic()
        elif time.monotonic() - t_last >= quiet_s:
            return


def _payloads(browser, base: str, route: str, codes: list[str]) -> dict:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    frames: list[tuple[float, int]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append((time.monotonic(), _frame_size(p)))))
    query = f"?window={codes[-1]}" + (f"&tag={TAG}" if route != "/" else "")
    out: dict = {}
    try:
        page.goto(f"{base}{route}{query}")
        page.wait_for_selector("[data-testid=brand]", timeout=30_000)
        page.wait_for_function("document.querySelector('[data-testid=loading]') === null", timeout=30_000)
        _wait_quiet(page, frames)
        out["initial_load"] = {"max_frame": max((s for _, s in frames), default=0),
                               "total": sum(s for _, s in frames), "frames": len(frames)}
        for code in codes:
            start = len(frames)
            t0 = time.monotonic()
            page.select_option("[data-testid=window-select]", code)
            page.wait_for_function(
                "c => document.querySelector('[data-testid=window-select]').value === c"
                " && document.querySelector('[data-testid=loading]') === null", arg=code, timeout=30_000)
            page.wait_for_function("c => location.search.includes('window=' + c)", arg=code, timeout=30_000)
            ready_ms = (time.monotonic() - t0) * 1000
            _wait_quiet(page, frames)
            sizes = [s for _, s in frames[start:]]
            out[code] = {"max_frame": max(sizes, default=0), "total": sum(sizes), "frames": len(sizes),
                         "update_ms": round(ready_ms, 1)}
    except Exception as exc:  # noqa: BLE001
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        ctx.close()
    return out


def _zoom_steps(browser, base: str, runs: int) -> dict:
    """/trend at 1400 px (issue 17): ms from releasing a drag across the chart to the zoomed
    chart drawn (a new URL, its range's points in the chart), the largest websocket frame of
    each step; then the largest frame with 8 pens over 30 days."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(_frame_size(p))))
    steps: list[float] = []
    step_frames: list[int] = []
    out: dict = {}
    drawn = ("f => { const z = document.querySelector('[data-testid=zoomable]');"
             " const c = document.querySelector('[data-testid=trend-chart] .recharts-line-curve');"
             " return z && c && z.getAttribute('data-first-ms') !== f && location.search.includes('from='); }")
    try:
        for _ in range(runs):
            page.goto(f"{base}/trend?tag={TAG}&window=24h")
            page.wait_for_selector("[data-testid=trend-chart] .recharts-line-curve", timeout=30_000)
            page.wait_for_function("document.querySelector('[data-testid=loading]') === null", timeout=30_000)
            first = page.get_attribute("[data-testid=zoomable]", "data-first-ms")
            box = page.locator("[data-testid=trend-chart] .recharts-cartesian-grid").bounding_box()
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * 0.3, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)
            page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=4)
            start = len(frames)
            t0 = time.monotonic()
            page.mouse.up()
            page.wait_for_function(drawn, arg=first, timeout=30_000)
            steps.append((time.monotonic() - t0) * 1000)
            _wait_quiet(page, frames)
            step_frames.append(max(frames[start:], default=0))
        out["zoom_step_ms"] = {"p50": percentile(steps, 0.5), "max": round(max(steps), 1), "runs": len(steps)}
        out["zoom_step_max_frame"] = max(step_frames, default=0)
        tags = page.eval_on_selector_all("[data-testid=tag-select] option", "os => os.map(o => o.value)")[:8]
        start = len(frames)
        page.goto(f"{base}/trend?tag={tags[0]}&window=30d&pens={','.join(tags[1:])}")
        page.wait_for_function("n => document.querySelectorAll('[data-testid=trend-chart] .recharts-line').length === n",
                               arg=len(tags), timeout=30_000)
        _wait_quiet(page, frames)
        out["pens_30d"] = {"pens": len(tags), "max_frame": max(frames[start:], default=0)}
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        ctx.close()
    return out


def _sample_rss(server: Server, seconds: float, every: float = 0.5) -> dict:
    samples = []
    cpu0, t0 = server.cpu_s(), time.monotonic()
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        last = server.rss()
        samples.append(last["total_mb"])
        time.sleep(every)
    cpu = (server.cpu_s() - cpu0) / max(1e-6, time.monotonic() - t0)
    return {"max_mb": max(samples), "mean_mb": round(sum(samples) / len(samples), 1),
            "cpu_cores": round(cpu, 2), "processes": last["processes"] if last else []}


def _sessions(browser, server: Server, n: int, hold_s: float) -> dict:
    contexts, pages = [], []
    t0 = time.monotonic()
    out: dict = {"sessions": n}
    try:
        for _ in range(n):
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(ctx)
            page = ctx.new_page()
            page.goto(f"{server.url}/", wait_until="commit")
            pages.append(page)
        shown = 0
        for page in pages:
            try:
                page.wait_for_selector("[data-testid=kpi-tile]", timeout=60_000)
                shown += 1
            except Exception:  # noqa: BLE001
                pass
        out["all_loaded_s"] = round(time.monotonic() - t0, 1)
        out["sessions_with_tiles"] = shown
        out.update(_sample_rss(server, hold_s))
    finally:
        for ctx in contexts:
            ctx.close()
    return out


def measure_pages(workdir: Path, ro_dsn: str, quick: bool) -> dict:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"error": "chromium is not installed (make system-deps)"}
    out: dict = {}
    log("starting the dashboard (private copy; the first start exports the frontend)")
    server = Server(workdir, ro_dsn)
    out["server_start_s"] = server.start_s
    try:
        time.sleep(3)
        out["rss_after_start"] = _sample_rss(server, 3)
        runs = 3 if quick else 7
        codes = ["60m", "24h", "7d", "30d", "12m"] if quick else list(WINDOW_CODES)
        n_sessions = 10 if quick else 20
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                out["first_chart"] = _first_draws(browser, server.url, runs, DESKTOP)
                out["first_chart_pi"] = _first_draws(browser, server.url, runs, PI)
                out["window_codes"] = codes
                out["payload"] = {route: _payloads(browser, server.url, route, codes) for route in WINDOW_PAGES}
                for route, res in out["payload"].items():
                    worst = max((v["max_frame"] for k, v in res.items() if isinstance(v, dict)), default=None)
                    log(f"  payload {route}: largest frame {worst} bytes {res.get('error', '')}")
                out["zoom"] = _zoom_steps(browser, server.url, runs)
                log(f"  zoom step {out['zoom'].get('zoom_step_ms')} (largest frame {out['zoom'].get('zoom_step_max_frame')}),"
                    f" 8 pens 30d {out['zoom'].get('pens_30d')} {out['zoom'].get('error', '')}")
                time.sleep(5)
                out["rss_idle"] = _sample_rss(server, 5)
                log(f"  RSS idle {out['rss_idle']['max_mb']} MB; opening {n_sessions} sessions on /")
                out["rss_sessions"] = _sessions(browser, server, n_sessions, hold_s=10 if quick else 20)
                time.sleep(5)
                out["rss_after_sessions_closed"] = _sample_rss(server, 3)
                log(f"  RSS with {n_sessions} sessions {out['rss_sessions']['max_mb']} MB")
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - recorded with the server's log
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["server_log_tail"] = server.log_tail()
    finally:
        server.stop()
    return out


if __name__ == "__main__":  # python -m bench.pages DSN: pages only, against an existing database
    import tempfile

    wd = Path(tempfile.mkdtemp(prefix="ksys-bench-pages-"))
    try:
        print(json.dumps(measure_pages(wd, sys.argv[1], quick="--quick" in sys.argv), indent=1))
    finally:
        shutil.rmtree(wd, ignore_errors=True)
