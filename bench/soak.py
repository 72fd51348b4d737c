"""`python -m bench.soak`: late and out-of-order readings for a while; lag to every relation.

    python -m bench.soak [--engine postgres|timescaledb] [--minutes M] [--tick-s S] [--tags N]

A throwaway cluster with one day of readings for N tags every 10 s. Then, for
--minutes, a writer sends batches every second: the live readings of that
second plus late ones (anywhere up to 3 days back, any order), re-sent
duplicates, corrected values and deletes; a ticker calls ksys.run_tick() every
--tick-s seconds (the worker's default is 15 s, pg_cron's 60 s). After every
tick the oldest change still pending is read from ksys.backlog(): every batch
committed before it (all batches, when nothing is pending) is reflected in every
derived relation at that moment. Its lag = that moment - its commit. At the end
the scheduler settles and `ksys verify` must find no difference.

Writes bench/results/<date>-soak-<engine>.json; bench/README.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg

from bench.common import ROOT, loadavg, log, machine_facts, percentile, summary_ms
from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.refresh import settle, tick
from ksys_app.ops.schema.verify import verify_relations
from ksys_dev.localpg import temporary_cluster

INPUTS = ("INLET_PRESSURE", "OUTLET_PRESSURE", "FEED_FLOW", "PRODUCT_FLOW")


def _tags(n: int) -> list[str]:
    return list(INPUTS) + [f"T{i:03d}" for i in range(max(0, n - len(INPUTS)))]


def _load_day(conn: psycopg.Connection, tags: list[str], now: datetime) -> int:
    start = now - timedelta(days=1)
    rows = 0
    with conn.cursor() as cur, cur.copy("COPY influx_hist (ts, tag_name, value) FROM STDIN") as copy:
        t = start
        while t < now:
            for tag in tags:
                copy.write_row((t, tag, (hash((t, tag)) % 4000) / 4))
                rows += 1
            t += timedelta(seconds=10)
    return rows


def _writer(dsn: str, tags: list[str], stop: threading.Event, commits: list[float], seed: int) -> None:
    rng = random.Random(seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            now = datetime.now(timezone.utc)
            batch = [(now, tag, rng.randrange(0, 4000) / 4) for tag in tags]
            for _ in range(rng.randrange(0, 20)):                  # late, out of order
                late = now - timedelta(seconds=rng.randrange(60, 3 * 86400))
                batch.append((late.replace(microsecond=rng.randrange(0, 10**6)), rng.choice(tags),
                              rng.randrange(0, 4000) / 4))
            conn.execute("INSERT INTO influx_hist (ts, tag_name, value) SELECT * FROM unnest(%s::timestamptz[], "
                         "%s::text[], %s::float8[]) ON CONFLICT (ts, tag_name) DO NOTHING",
                         ([r[0] for r in batch], [r[1] for r in batch], [r[2] for r in batch]))
            if rng.random() < 0.1:                                  # a corrected value
                lo = now - timedelta(seconds=rng.randrange(60, 86400))
                conn.execute("UPDATE influx_hist SET value = value + 0.25 WHERE tag_name = %s AND ts >= %s "
                             "AND ts < %s", (rng.choice(tags), lo, lo + timedelta(seconds=30)))
            if rng.random() < 0.05:                                 # a deleted reading
                lo = now - timedelta(seconds=rng.randrange(60, 86400))
                conn.execute("DELETE FROM influx_hist WHERE tag_name = %s AND ts >= %s AND ts < %s",
                             (rng.choice(tags), lo, lo + timedelta(seconds=20)))
            commits.append(time.time())
            stop.wait(1.0)


def run(engine: str, minutes: float, tick_s: float, n_tags: int) -> dict:
    with temporary_cluster("ksys-soak-") as cluster:
        dsn = cluster.dsn(dbname="soak")
        with psycopg.connect(cluster.dsn(dbname="postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE soak")
        migrate(dsn, engine=engine, out=lambda _l: None)
        tags = _tags(n_tags)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with psycopg.connect(dsn, autocommit=True) as conn:
            if engine == "timescaledb":
                conn.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
                             "WHERE proc_name = 'policy_compression'")
            rows = _load_day(conn, tags, now)
            t0 = time.perf_counter()
            settle(conn)
            log(f"loaded {rows} rows, settled in {time.perf_counter() - t0:.1f} s")
        # pg_cron (where installed) ticks this database too; the soak is the only ticker it measures
        commits: list[float] = []
        stop = threading.Event()
        writer = threading.Thread(target=_writer, args=(dsn, tags, stop, commits, 7), daemon=True)
        writer.start()
        lags: list[float] = []
        tick_times: list[float] = []
        reflected = 0
        deadline = time.time() + minutes * 60
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.time() < deadline:
                time.sleep(tick_s)
                t_start = time.perf_counter()
                while tick(conn) == -1:
                    time.sleep(0.1)
                tick_times.append(time.perf_counter() - t_start)
                done_at = time.time()
                oldest = conn.execute("SELECT extract(epoch FROM min(oldest)) FROM ksys.backlog()").fetchone()[0]
                cut = float(oldest) if oldest is not None else done_at
                n = len(commits)
                while reflected < n and commits[reflected] < cut:
                    lags.append(done_at - commits[reflected])
                    reflected += 1
            stop.set()
            writer.join(timeout=10)
            settle(conn)
            results = verify_relations(conn, now - timedelta(days=3), datetime.now(timezone.utc) + timedelta(minutes=1))
        differ = {r.name: r.differ for r in results if r.differ}
        return {"engine": engine, "minutes": minutes, "tick_s": tick_s, "tags": len(tags),
                "batches": len(commits), "batches_measured": len(lags),
                "lag_s": {"p50": round(percentile(lags, 0.5) or 0, 2), "p95": round(percentile(lags, 0.95) or 0, 2),
                          "max": round(max(lags, default=0), 2)},
                "tick_ms": summary_ms(tick_times), "verify_differences": differ,
                "load_end": loadavg()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=("postgres", "timescaledb"), default="postgres")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--tick-s", type=float, default=15.0, help="seconds between ticks (ksys worker's default)")
    p.add_argument("--tags", type=int, default=20)
    args = p.parse_args(argv)
    started = datetime.now(timezone.utc)
    log(f"soak {args.engine}: {args.minutes} min, a tick every {args.tick_s} s, {args.tags} tags")
    result = {"started_at": started.isoformat(timespec="seconds"), "machine": machine_facts(),
              "load_start": loadavg(), **run(args.engine, args.minutes, args.tick_s, args.tags)}
    out = ROOT / "bench" / "results" / f"{started:%Y-%m-%d}-soak-{args.engine}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    log(f"lag p50 {result['lag_s']['p50']} s, p95 {result['lag_s']['p95']} s; tick p50 "
        f"{result['tick_ms'].get('p50')} ms; verify differences: {result['verify_differences'] or 'none'} -> {out}")
    return 1 if result["verify_differences"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
