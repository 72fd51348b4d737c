"""`python -m bench`: generate a dataset in a throwaway cluster and measure ksys at that scale.

    python -m bench [--quick] [--engine postgres|timescaledb] [--label L]
                    [--tags N --days D --interval S] [--runs N] [--skip-pages]

Writes bench/results/<date>-<label>.json and regenerates the tables in bench/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import alarms, contracts, dataset, investigation, pages, report
from bench.common import Stopwatch, loadavg, log, machine_facts

DEFAULTS = {"tags": 20, "days": 90.0, "interval": 10}
QUICK = {"tags": 20, "days": 3.0, "interval": 10}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small run: 20 tags x 10 s x 3 days, fewer page runs")
    p.add_argument("--engine", choices=("postgres", "timescaledb"), default="postgres")
    p.add_argument("--label", help="result file label (default: <engine>[-quick])")
    p.add_argument("--tags", type=int, help="number of tags (default 20)")
    p.add_argument("--days", type=float, help="days of readings ending now (default 90; quick 3)")
    p.add_argument("--interval", type=int, help="seconds between readings (default 10)")
    p.add_argument("--runs", type=int, help="timed runs per contract (default 50; quick 30; at least 30)")
    p.add_argument("--index-days", type=float, help="days of rows for the COPY index experiment "
                                                    "(default 10; quick 3)")
    p.add_argument("--skip-pages", action="store_true", help="no browser / memory measurements")
    p.add_argument("--skip-index-experiment", action="store_true")
    p.add_argument("--tag", default="D100", help="tag whose series / heatmap are read (default D100)")
    p.add_argument("--keep", action="store_true", help="leave the cluster running afterwards (for EXPLAIN, "
                                                      "profiles); prints its DSN and how to remove it")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    n_tags = args.tags or base["tags"]
    days = args.days or base["days"]
    interval = args.interval or base["interval"]
    runs = max(30, args.runs or (30 if args.quick else 50))
    index_days = args.index_days or (min(days, 3.0) if args.quick else min(days, 10.0))
    label = args.label or (args.engine + ("-quick" if args.quick else ""))
    started = datetime.now(timezone.utc)
    result: dict = {
        "label": label, "engine": args.engine, "quick": args.quick,
        "date": started.strftime("%Y-%m-%d"), "started_at": started.isoformat(timespec="seconds"),
        "params": {"tags": n_tags, "days": days, "interval_s": interval, "runs": runs,
                   "index_experiment_days": index_days, "tag": args.tag},
        "loadavg_start": loadavg(), "machine": machine_facts(),
    }
    t_all = time.perf_counter()
    log(f"{label}: {n_tags} tags x {interval} s x {days:g} days, engine {args.engine}; "
        f"load average {result['loadavg_start']}")
    bench = None
    workdir = Path(tempfile.mkdtemp(prefix="ksys-bench-"))
    try:
        with Stopwatch() as sw:
            bench = dataset.start_cluster(args.engine)
        result["machine"].update({k: v for k, v in bench.facts.items() if k != "migrate_output"})
        result["cluster_start_s"] = round(sw.s, 2)
        log(f"cluster up: PostgreSQL {bench.facts['postgresql']}, engine {args.engine} "
            f"(paused: {', '.join(bench.facts['background_jobs_paused']) or 'nothing'})")

        log("loading the dataset (binary COPY, one transaction per day)")
        result["dataset"] = dataset.load_dataset(bench, n_tags, days, interval)
        ds = result["dataset"]
        log(f"loaded {ds['rows']:,} rows: COPY {ds['copy_s']} s ({ds['copy_rows_per_s']:,} rows/s), "
            f"generation {ds['generate_s']} s")

        if not args.skip_index_experiment:
            log(f"COPY index experiment ({index_days:g} days of rows per variant)")
            result["copy_indexes"] = dataset.index_experiment(bench, n_tags, index_days, interval)

        log("refreshing rollups, virtual tags, indicators over the whole span")
        result["refresh"] = dataset.refresh_after_load(bench, ds)
        log(f"refresh_range {result['refresh']['refresh_range_s']} s, VACUUM ANALYZE "
            f"{result['refresh']['vacuum_analyze_s']} s")

        log("scheduler jobs (first tick after the load, minute ticks, all-due ticks, virtual tags)")
        result["jobs"] = dataset.measure_jobs(bench, args.quick)
        log(f"first tick {result['jobs']['first_tick_after_load']['s']} s, minute tick p50 "
            f"{result['jobs']['minute_tick']['p50']} ms")

        log("alarms (first evaluation, minute tick, late readings, acknowledge all)")
        result["alarms"] = alarms.measure_alarms(bench, args.quick)
        al = result["alarms"]
        log(f"  {al['limits']} alarms: first evaluation {al['first_evaluation_s']} s, minute tick p50 "
            f"{al['minute_tick']['p50']} ms p95 {al['minute_tick']['p95']} ms, late readings {al['late_readings_1day_ms']} ms")

        result["top_ups"] = [dataset.top_up(bench, ds)]
        log(f"topped up to now: {result['top_ups'][-1]}")
        log(f"data-layer contracts: {runs} runs each, cache off / on, raw asyncpg beside")
        result["contracts"] = contracts.run(contracts.measure_contracts(bench.ro_dsn, args.tag, runs))
        for name, e in result["contracts"].items():
            log(f"  {name:18s} p50 {e['cache_off']['p50']:8.2f} p95 {e['cache_off']['p95']:8.2f} ms  raw p50 "
                f"{e['raw_asyncpg']['p50']:8.2f}  x{e['overhead_p50']}  rows {e['rows']}"
                + (f"  errors {e['errors']}" if e["errors"] else ""))

        log("absolute ranges of one tag (1 h raw to 12 months) and 8 pens over 30 days")
        result["ranges"] = contracts.run(investigation.measure_ranges(bench.ro_dsn, args.tag, runs))
        for name, e in result["ranges"]["one_tag"].items():
            log(f"  range {name:4s} {e['view']:14s} rows {e['rows']:6d} p50 {e['p50']:8.2f} p95 {e['p95']:8.2f} ms")
        pr = result["ranges"]["pens_30d"]
        log(f"  {pr['pens']} pens 30d: rows {pr['rows']} p50 {pr['p50']} p95 {pr['p95']} ms")

        log("rollup vs raw (30-day hourly series)")
        result["rollup_vs_raw"] = contracts.run(contracts.rollup_vs_raw(bench.ro_dsn, args.tag, 30))
        rv = result["rollup_vs_raw"]
        log(f"  rollup p50 {rv['rollup']['p50']} ms, raw p50 {rv['raw']['p50']} ms: {rv['speedup_p50']}x")

        if not args.skip_pages:
            result["top_ups"].append(dataset.top_up(bench, ds))
            log("pages in Chromium")
            result["pages"] = pages.measure_pages(workdir, bench.ro_dsn, args.quick)
    except Exception as exc:  # noqa: BLE001 - whatever was measured is still written
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        log(f"FAILED: {result['error']}")
    finally:
        if bench is not None and args.keep:
            result["kept_cluster"] = {"admin_dsn": bench.admin_dsn, "ro_dsn": bench.ro_dsn, "dir": str(bench.base)}
            log(f"cluster kept: {bench.admin_dsn} (app role: {bench.ro_dsn}); remove it with "
                f"`python -m bench.dataset --destroy {bench.base}`")
        elif bench is not None:
            dataset.stop_cluster(bench)
        shutil.rmtree(workdir, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - t_all, 1)
    result["loadavg_end"] = loadavg()
    path = report.write_result(result)
    report.update_readme()
    log(f"wrote {path.relative_to(report.BENCH_DIR.parent)} and bench/README.md in {result['total_s']} s "
        f"(load average {result['loadavg_end']})")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
