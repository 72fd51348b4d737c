"""Many sessions against several app workers (issue 19): N websocket sessions on /trend,
each changing window and tag in turn for a while, against `ksys serve` with KSYS_WORKERS
workers and the page state in a redis-server this run starts itself.

    python -m bench.sessions RO_DSN [--sessions 100] [--seconds 300] [--workers 4]
        [--pause 1.0] [--label NAME]

A session is what a browser tab's socket does (ksys_dev/wsclient.py: the same frames, no
browser): connect, the page's on_load, then every `--pause` seconds a set_window or a
set_tag with a random choice. The round trip of an event is the time from sending it to
the update that carries the new chart (the page's reads included); an event with no such
update within 10 s, a dropped connection or an update with an error on the page counts
as an error. Prints and writes bench/results/<date>-sessions-<label>.json: round trips
p50 / p95 / max, errors, and the server's RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from bench.common import ROOT, log, percentile

TREND = "reflex___state____state.ksys_app___states___trend____trend_state"
WINDOWS = ("5m", "10m", "60m", "12h", "24h")
ANSWER_S = 10.0


def _chart_update(update: dict) -> bool:
    delta = (update.get("delta") or {}).get(TREND) or {}
    return "chart_rx_state_" in delta


def _page_error(update: dict) -> str:
    delta = (update.get("delta") or {}).get(TREND) or {}
    return delta.get("error_code_rx_state_") or ""


def _session(url: str, tags: list[str], seconds: float, pause: float, seed: int, out: dict) -> None:
    from ksys_dev.wsclient import ReflexSocket

    rng = random.Random(seed)
    trips: list[float] = []
    errors: list[str] = []
    try:
        sock = ReflexSocket(url)
    except Exception as exc:  # noqa: BLE001 - recorded
        out[seed] = {"trips": [], "errors": [f"connect: {type(exc).__name__}: {exc}"[:200]]}
        return
    tag, window = rng.choice(tags), rng.choice(WINDOWS)
    route = {"pathname": "/trend", "asPath": f"/trend?tag={tag}&window={window}"}
    try:
        since = len(sock.updates)
        sock.emit(f"{TREND}.on_load", {}, route)
        if sock.wait_for(_chart_update, ANSWER_S, since) is None:
            errors.append("on_load: no chart")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not sock.disconnected:
            sock.drain(pause * rng.uniform(0.5, 1.5))
            if rng.random() < 0.5:
                choices = [w for w in WINDOWS if w != window]
                window = rng.choice(choices)
                name, payload = "set_window", {"code": window}
            else:
                tag = rng.choice([t for t in tags if t != tag] or tags)
                name, payload = "set_tag", {"tag": tag}
            since = len(sock.updates)
            t0 = time.monotonic()
            sock.emit(f"{TREND}.{name}", payload, route)
            update = sock.wait_for(_chart_update, ANSWER_S, since)
            if update is None:
                errors.append(f"{name}: no answer in {ANSWER_S:g} s" + (" (disconnected)" if sock.disconnected else ""))
                continue
            trips.append((time.monotonic() - t0) * 1000)
            if code := _page_error(update):
                errors.append(f"{name}: the page shows {code}")
        if sock.disconnected:
            errors.append("disconnected")
    finally:
        sock.close()
        out[seed] = {"trips": trips, "errors": errors}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def measure(ro_dsn: str, sessions: int, seconds: float, workers: int, pause: float) -> dict:
    import psycopg

    from bench.pages import Server
    from ksys_dev.redis import Redis

    with psycopg.connect(ro_dsn) as conn:
        tags = [r[0] for r in conn.execute("SELECT tag_name FROM influx_latest ORDER BY 1 LIMIT 50")]
    redis = Redis().start()
    saved = {k: os.environ.get(k) for k in ("KSYS_REDIS_URL", "KSYS_WORKERS")}
    os.environ.update(KSYS_REDIS_URL=redis.url, KSYS_WORKERS=str(workers))
    workdir = Path(tempfile.mkdtemp(prefix="ksys-bench-sessions-"))
    server = None
    try:
        server = Server(workdir, ro_dsn)
        log(f"server up on {server.url} with {workers} workers (start {server.start_s} s); "
            f"{sessions} sessions for {seconds:g} s over {len(tags)} tags")
        rss_idle = server.rss()
        out: dict = {}
        threads = [threading.Thread(target=_session, args=(server.url, tags, seconds, pause, i, out), daemon=True)
                   for i in range(sessions)]
        load0 = os.getloadavg()
        for th in threads:
            th.start()
            time.sleep(0.05)  # tabs open over a few seconds, not in one instant
        rss_peak = rss_idle
        while any(th.is_alive() for th in threads):
            time.sleep(2)
            rss = server.rss()
            if rss["total_mb"] > rss_peak["total_mb"]:
                rss_peak = rss
        trips = [t for s in out.values() for t in s["trips"]]
        errors = [e for s in out.values() for e in s["errors"]]
        kinds: dict[str, int] = {}
        for e in errors:
            kinds[e] = kinds.get(e, 0) + 1
        result = {
            "sessions": sessions, "seconds": seconds, "workers": workers, "pause_s": pause,
            "events": len(trips) + sum(1 for e in errors if "no answer" in e),
            "round_trip_ms": {"p50": _ms(percentile(trips, 0.5)), "p95": _ms(percentile(trips, 0.95)),
                              "max": round(max(trips), 1) if trips else None, "n": len(trips)},
            "errors": len(errors), "errors_by_kind": kinds,
            "rss_idle": rss_idle, "rss_peak": rss_peak,
            "load_average": [load0, os.getloadavg()], "cores": os.cpu_count(),
        }
        log(f"round trip p50 {result['round_trip_ms']['p50']} ms, p95 {result['round_trip_ms']['p95']} ms, "
            f"max {result['round_trip_ms']['max']} ms over {len(trips)} events; errors {len(errors)} {kinds}")
        return result
    finally:
        if server is not None:
            server.stop()
        redis.destroy()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ro_dsn")
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between a session's events (about)")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    result = measure(args.ro_dsn, args.sessions, args.seconds, args.workers, args.pause)
    name = f"{date.today():%Y-%m-%d}-sessions{'-' + args.label if args.label else ''}.json"
    path = ROOT / "bench" / "results" / name
    path.write_text(json.dumps(result, indent=1) + "\n")
    log(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
