"""The database half of the bench: throwaway cluster, dataset load (COPY), index cost,
rollup refresh, and the scheduler's jobs (virtual tags, ksys.tick / cagg policies).

Everything here uses psycopg (autocommit) as the superuser of the bench's own cluster.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg.types.json import Jsonb

from bench.common import Stopwatch, log, summary_ms
from ksys_app.ops.schema.history import database_engine
from ksys_app.ops.schema.migrate import migrate
from ksys_app.ops.schema.refresh import refresh_range
from ksys_app.ops.simulator import load, signals
from ksys_app.ops.simulator import tags as tagdefs
from ksys_dev.localpg import LocalCluster, free_port

SEED = 42
# Standard header / trailer of PostgreSQL's binary COPY format.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
COPY_SQL = "COPY {table} (ts, tag_name, value, qc, meta) FROM STDIN (FORMAT BINARY)"
DAY_S = 86400


# ---------------------------------------------------------------------- cluster

@dataclass
class Bench:
    cluster: LocalCluster
    base: Path
    engine: str
    admin_dsn: str
    ro_dsn: str
    facts: dict = field(default_factory=dict)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)


def start_cluster(engine: str) -> Bench:
    base = Path(tempfile.mkdtemp(prefix="ksys-bench-pg-"))
    os.chmod(base, 0o755)  # the server runs as the postgres account when we are root
    cluster = LocalCluster(base / "data", free_port(), fast=False)
    cluster.init()
    cluster.start()
    admin = cluster.dsn()
    lines: list[str] = []
    with Stopwatch() as sw:
        migrate(admin, engine=engine, out=lines.append)
    bench = Bench(cluster, base, engine, admin, cluster.dsn(user="eco_ro"))
    with bench.connect() as conn:
        settings = dict(conn.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'max_wal_size', 'effective_cache_size', 'fsync', "
            "'synchronous_commit', 'jit', 'max_parallel_workers_per_gather', 'shared_preload_libraries')"
        ).fetchall())
        ts_version = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        bench.facts = {
            "postgresql": conn.execute("SHOW server_version").fetchone()[0],
            "timescaledb": ts_version[0] if ts_version else None,
            "engine": engine,
            "server_settings": settings,
            "migrate_s": round(sw.s, 2),
            "migrate_output": lines,
        }
        bench.facts["background_jobs_paused"] = pause_background_jobs(conn, engine)
    return bench


def pause_background_jobs(conn: psycopg.Connection, engine: str) -> list[str]:
    """Stop pg_cron's ksys.tick and TimescaleDB's policies: the bench runs each job itself,
    so nothing runs beside a measurement unannounced."""
    paused: list[str] = []
    if conn.execute("SELECT to_regclass('cron.job') IS NOT NULL").fetchone()[0]:
        for (name,) in conn.execute("SELECT jobname FROM cron.job").fetchall():
            conn.execute("SELECT cron.unschedule(%s)", (name,))
            paused.append(f"pg_cron {name}")
    if engine == "timescaledb":
        rows = conn.execute(
            "SELECT job_id, proc_name FROM timescaledb_information.jobs WHERE proc_name IN "
            "('policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention')").fetchall()
        for job_id, proc in rows:
            conn.execute("SELECT alter_job(%s, scheduled => false)", (job_id,))
            paused.append(f"timescaledb job {job_id} {proc}")
        deadline = time.monotonic() + 60
        while conn.execute("SELECT count(*) FROM timescaledb_information.job_stats "
                           "WHERE job_status = 'Running'").fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
    return paused


def stop_cluster(bench: Bench) -> None:
    bench.cluster.destroy()
    shutil.rmtree(bench.base, ignore_errors=True)


# ---------------------------------------------------------------------- dataset

def tag_plan(n: int) -> list[tuple[str, str, int]]:
    """(name, simulator tag it imitates, seed): the simulator's 13 tags first, then copies
    of the D-register tags with their own seed (so their values differ)."""
    plan = [(t, t, SEED) for t in tagdefs.TAG_NAMES[:n]]
    d_tags = [t for t in tagdefs.TAG_NAMES if t.startswith("D")]
    k = 0
    while len(plan) < n:
        base = d_tags[k % len(d_tags)]
        copy_no = k // len(d_tags) + 1
        plan.append((f"{base}_B{copy_no}", base, SEED + 1000 * copy_no + k))
        k += 1
    return plan


def insert_rules(conn: psycopg.Connection, plan: list[tuple[str, str, int]], interval_s: int) -> None:
    cols = tagdefs.QC_COLUMNS
    with conn.transaction():
        for name, base, _ in plan:
            rule = dict(tagdefs.qc_rule(tagdefs.BY_NAME[base], interval_s), tag_name=name)
            conn.execute(f"INSERT INTO influx_qc_rule ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                         "ON CONFLICT (tag_name) DO NOTHING",
                         [Jsonb(rule[c]) if c == "meta" else rule[c] for c in cols])
            e = tagdefs.expectation(name, interval_s)
            conn.execute("INSERT INTO ingest_expectation (tag_name, exp_per_min, slo_warn, slo_crit) "
                         "VALUES (%s, %s, %s, %s) ON CONFLICT (tag_name) DO NOTHING",
                         (name, e["exp_per_min"], e["slo_warn"], e["slo_crit"]))


def day_blocks(plan: list[tuple[str, str, int]], lo: int, hi: int, interval_s: int) -> Iterator[tuple[list[int], dict]]:
    """Hour blocks of readings in (lo, hi] for every planned tag, timestamp-major."""
    sim = [name for name, base, seed in plan if name == base]
    copies = [(name, base, seed) for name, base, seed in plan if name != base]
    gens = [signals.generate(SEED, sim, lo, hi, interval_s)] if sim else []
    gens += [signals.generate(seed, [base], lo, hi, interval_s) for _, base, seed in copies]
    for parts in zip(*gens):
        ts = parts[0][0]
        block: dict = {}
        if sim:
            block.update(parts[0][1])
        for (name, base, _), (_, b) in zip(copies, parts[len(gens) - len(copies):]):
            block[name] = b[base]
        yield ts, block


def encode_day(plan, lo: int, hi: int, interval_s: int) -> tuple[bytes, int]:
    chunks, rows = [], 0
    for ts, block in day_blocks(plan, lo, hi, interval_s):
        data, n = load.binary_block(ts, block)
        chunks.append(data)
        rows += n
    return b"".join(chunks), rows


def copy_bytes(conn: psycopg.Connection, table: str, data: bytes) -> None:
    with conn.transaction():
        with conn.cursor() as cur:
            with cur.copy(COPY_SQL.format(table=table)) as copy:
                copy.write(COPY_SIGNATURE)
                view = memoryview(data)
                step = 8 << 20
                for i in range(0, len(view), step):
                    copy.write(view[i:i + step])
                copy.write(COPY_TRAILER)


def load_dataset(bench: Bench, n_tags: int, days: float, interval_s: int) -> dict:
    """Generate and COPY the dataset day by day (one transaction a day, oldest first).

    Generation and COPY are timed apart: rows/s of COPY is the server's ingest rate,
    not the Python generator's.
    """
    plan = tag_plan(n_tags)
    now = datetime.now(timezone.utc)
    end = signals.grid_floor(now, interval_s)
    start = end - int(days * DAY_S)
    gen_s = copy_s = 0.0
    rows = 0
    per_day: list[float] = []
    with bench.connect() as conn:
        insert_rules(conn, plan, interval_s)
        lo = start
        while lo < end:
            hi = min(end, lo + DAY_S)
            with Stopwatch() as g:
                data, n = encode_day(plan, lo, hi, interval_s)
            with Stopwatch() as c:
                copy_bytes(conn, "influx_hist", data)
            gen_s += g.s
            copy_s += c.s
            rows += n
            per_day.append(n / c.s if c.s else 0.0)
            if len(per_day) % 10 == 0:
                log(f"  loaded {len(per_day)} days, {rows:,} rows, COPY {rows / copy_s:,.0f} rows/s")
            lo = hi
        sizes = relation_sizes(conn)
        indexes = " + ".join(_hist_index_columns(conn))
    return {
        "tags": [p[0] for p in plan], "days": days, "interval_s": interval_s,
        "start": signals.to_datetime(start).isoformat(), "end": signals.to_datetime(end).isoformat(),
        "rows": rows, "generate_s": round(gen_s, 2), "copy_s": round(copy_s, 2), "indexes": indexes,
        "copy_rows_per_s": round(rows / copy_s) if copy_s else None,
        "end_to_end_rows_per_s": round(rows / (gen_s + copy_s)) if gen_s + copy_s else None,
        "copy_rows_per_s_first_day": round(per_day[0]) if per_day else None,
        "copy_rows_per_s_last_day": round(per_day[-1]) if per_day else None,
        "sizes_after_load": sizes,
    }


def top_up(bench: Bench, dataset: dict) -> dict:
    """Readings from the dataset's end up to now, then refresh_range over that span, so
    that the short windows (5m, 60m) hold data when they are measured minutes later."""
    plan = tag_plan(len(dataset["tags"]))
    interval_s = dataset["interval_s"]
    lo = int(datetime.fromisoformat(dataset["end"]).timestamp())
    hi = signals.grid_floor(datetime.now(timezone.utc), interval_s)
    if hi <= lo:
        return {"rows": 0}
    rows = 0
    with bench.connect() as conn, Stopwatch() as sw:
        t = lo
        while t < hi:
            data, n = encode_day(plan, t, min(hi, t + DAY_S), interval_s)
            copy_bytes(conn, "influx_hist", data)
            rows += n
            t = min(hi, t + DAY_S)
        refresh_range(conn, signals.to_datetime(lo), signals.to_datetime(hi))
    dataset["end"] = signals.to_datetime(hi).isoformat()
    return {"rows": rows, "from": signals.to_datetime(lo).isoformat(), "to": dataset["end"], "s": round(sw.s, 2)}


def relation_sizes(conn: psycopg.Connection) -> dict:
    """MB of influx_hist (heap, each index) and the derived relations (hypertables: all chunks)."""
    engine = database_engine(conn)
    out: dict[str, float] = {}
    if engine == "timescaledb":
        row = conn.execute("SELECT table_bytes, index_bytes, toast_bytes, total_bytes "
                           "FROM hypertable_detailed_size('public.influx_hist')").fetchone()
        out["influx_hist_total_mb"] = round((row[3] or 0) / 2**20, 1)
        out["influx_hist_indexes_mb"] = round((row[1] or 0) / 2**20, 1)
        for idx in _hist_indexes(conn):
            size = conn.execute("SELECT hypertable_index_size(%s)", (f"public.{idx}",)).fetchone()[0]
            out[f"{idx}_mb"] = round((size or 0) / 2**20, 1)
        for cagg in ("influx_agg_1m", "influx_agg_10m", "influx_agg_1h", "influx_agg_1d", "features_5m"):
            size = conn.execute(
                "SELECT sum(total_bytes) FROM timescaledb_information.continuous_aggregates c, "
                "LATERAL hypertable_detailed_size(format('%%I.%%I', c.materialization_hypertable_schema, "
                "c.materialization_hypertable_name)::regclass) WHERE c.view_name = %s", (cagg,)).fetchone()[0]
            out[f"{cagg}_mb"] = round((size or 0) / 2**20, 1)
    else:
        out["influx_hist_total_mb"] = round(conn.execute(
            "SELECT pg_total_relation_size('public.influx_hist')").fetchone()[0] / 2**20, 1)
        out["influx_hist_heap_mb"] = round(conn.execute(
            "SELECT pg_relation_size('public.influx_hist')").fetchone()[0] / 2**20, 1)
        for idx in _hist_indexes(conn):
            out[f"{idx}_mb"] = round(conn.execute("SELECT pg_relation_size(%s::regclass)",
                                                  (f"public.{idx}",)).fetchone()[0] / 2**20, 1)
        for rel in ("influx_agg_1m", "influx_agg_10m", "influx_agg_1h", "influx_agg_1d", "features_5m",
                    "tech_ind_1m_mv"):
            out[f"{rel}_mb"] = round(conn.execute("SELECT pg_total_relation_size(%s::regclass)",
                                                  (f"public.{rel}",)).fetchone()[0] / 2**20, 1)
    out["database_mb"] = round(conn.execute(
        "SELECT pg_database_size(current_database())").fetchone()[0] / 2**20, 1)
    return out


def _hist_index_columns(conn: psycopg.Connection) -> list[str]:
    """influx_hist's indexes as "PK (ts, tag_name)", "(tag_name, ts)", ... for the report."""
    return [r[0] for r in conn.execute(
        "SELECT CASE WHEN indisprimary THEN 'PK ' ELSE '' END "
        "       || substring(pg_get_indexdef(indexrelid) from '\\(.*\\)') "
        "FROM pg_index WHERE indrelid = 'public.influx_hist'::regclass "
        "ORDER BY indisprimary DESC, indexrelid::regclass::text").fetchall()]


def _hist_indexes(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'public.influx_hist'::regclass "
        "ORDER BY 1").fetchall()]


# ---------------------------------------------------------------------- index cost of COPY

PK, TAG_TS_DESC, TS_DESC, TAG_TS = "pk", "(tag_name, ts DESC)", "(ts DESC)", "(tag_name, ts)"
INDEX_VARIANTS = {
    # name: the indexes the table has while rows are copied in
    "before_0009": (PK, TAG_TS_DESC, TS_DESC),    # influx_hist up to migration 0009
    "pk_and_tag_ts_desc": (PK, TAG_TS_DESC),      # 0009 without making the tag index ascending
    "as_migrated": (PK, TAG_TS),                  # influx_hist now
    "pk_only": (PK,),
    "no_indexes": (),
}


def index_experiment(bench: Bench, n_tags: int, days: float, interval_s: int) -> dict:
    """COPY the same pre-encoded rows into fresh copies of influx_hist with fewer indexes,
    and into a bare table whose indexes are built afterwards (the bulk-load recipe)."""
    plan = tag_plan(n_tags)
    end = signals.grid_floor(datetime.now(timezone.utc), interval_s) - 400 * DAY_S  # outside the dataset
    start = end - int(days * DAY_S)
    days_data: list[bytes] = []
    rows = 0
    lo = start
    while lo < end:
        hi = min(end, lo + DAY_S)
        data, n = encode_day(plan, lo, hi, interval_s)
        days_data.append(data)
        rows += n
        lo = hi
    out: dict = {"rows": rows, "days": days, "note": "each variant starts from an empty table"}
    with bench.connect() as conn:
        for name, indexes in INDEX_VARIANTS.items():
            table = f"bench_copy_{name}"
            _create_variant(conn, bench.engine, table, indexes)
            conn.execute("CHECKPOINT")
            with Stopwatch() as sw:
                for data in days_data:
                    copy_bytes(conn, table, data)
            out[name] = {"indexes": list(indexes), "copy_s": round(sw.s, 2), "rows_per_s": round(rows / sw.s),
                         "index_mb": _index_mb(conn, table)}
            if name == "no_indexes":
                with Stopwatch() as build:
                    _add_indexes(conn, table, INDEX_VARIANTS["as_migrated"])
                out["no_indexes_then_build"] = {
                    "copy_s": round(sw.s, 2), "index_build_s": round(build.s, 2),
                    "rows_per_s": round(rows / (sw.s + build.s)), "index_mb": _index_mb(conn, table)}
            conn.execute(f"DROP TABLE {table}")
            log(f"  COPY with {name}: {out[name]['rows_per_s']:,} rows/s")
    return out


def _index_mb(conn, table: str) -> dict:
    """MB of each index of a variant table (all chunks of a hypertable)."""
    rows = conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i "
        "WHERE i.indrelid = %s::regclass", (table,)).fetchall()
    out = {}
    for ddl, name in rows:
        cols = ddl[ddl.rfind("("):]
        if conn.execute("SELECT to_regproc('hypertable_index_size') IS NOT NULL").fetchone()[0] and \
                conn.execute("SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
                             (table,)).fetchone()[0]:
            size = conn.execute("SELECT hypertable_index_size(%s)", (name,)).fetchone()[0]
        else:
            size = conn.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()[0]
        out[cols] = round((size or 0) / 2**20, 1)
    return out


def _create_variant(conn, engine: str, table: str, indexes: tuple[str, ...]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (ts timestamptz NOT NULL, tag_name text NOT NULL, "
                 "value double precision NOT NULL, qc smallint DEFAULT 0, meta jsonb DEFAULT '{}'::jsonb)")
    if engine == "timescaledb":
        conn.execute("SELECT create_hypertable(%s, 'ts', chunk_time_interval => interval '7 days', "
                     "create_default_indexes => false)", (table,))
    _add_indexes(conn, table, indexes)


def _add_indexes(conn, table: str, indexes: tuple[str, ...]) -> None:
    for idx in indexes:
        if idx == PK:
            conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (ts, tag_name)")
        else:
            conn.execute(f"CREATE INDEX ON {table} {idx}")


# ---------------------------------------------------------------------- refresh after the load

class TimedConnection:
    """A psycopg connection whose execute() records each statement's duration."""

    def __init__(self, conn: psycopg.Connection):
        self._conn = conn
        self.steps: list[dict] = []

    def execute(self, query, params=None):
        t0 = time.perf_counter()
        cur = self._conn.execute(query, params)
        label = " ".join(str(query).split())[:70]
        if params and "refresh_rollup" in label:
            label = f"refresh_rollup {params[0]}"
        elif params and "refresh_continuous_aggregate" in label:
            label = "refresh_continuous_aggregate " + label.split("'")[1]
        self.steps.append({"step": label, "s": round(time.perf_counter() - t0, 2)})
        return cur

    def __getattr__(self, name):
        return getattr(self._conn, name)


def refresh_after_load(bench: Bench, dataset: dict) -> dict:
    start = datetime.fromisoformat(dataset["start"])
    end = datetime.fromisoformat(dataset["end"])
    out: dict = {}
    with bench.connect() as conn:
        timed = TimedConnection(conn)
        with Stopwatch() as sw:
            refresh_range(timed, start, end)  # type: ignore[arg-type]
        out["refresh_range_s"] = round(sw.s, 2)
        out["steps"] = [s for s in timed.steps if s["s"] >= 0.01]
        if bench.engine == "timescaledb":
            with Stopwatch() as comp:
                n = conn.execute("SELECT count(compress_chunk(c, if_not_compressed => true)) "
                                 "FROM show_chunks('public.influx_hist', older_than => interval '7 days') c"
                                 ).fetchone()[0]
            out["compress_chunks_older_than_7d"] = {"chunks": n, "s": round(comp.s, 2)}
        with Stopwatch() as vac:
            conn.execute("VACUUM (ANALYZE)")
        out["vacuum_analyze_s"] = round(vac.s, 2)
        out["sizes"] = relation_sizes(conn)
        out["rows"] = {rel: conn.execute(f"SELECT count(*) FROM {rel}").fetchone()[0] for rel in
                       ("public.influx_agg_1m", "public.influx_agg_1h", "public.tech_ind_1m_mv",
                        "ksys.tag_registry")}
        out["rows"]["virtual_tag_rows"] = conn.execute(
            "SELECT count(*) FROM influx_hist WHERE tag_name IN ('PRESSURE_DIFF', 'RECOVERY_RATE', "
            "'OPERATING_TIME', 'TOTAL_PRODUCT_VOLUME_1H')").fetchone()[0]
    return out


# ---------------------------------------------------------------------- scheduler jobs

def measure_jobs(bench: Bench, quick: bool) -> dict:
    """The virtual-tag job and refresh ticks at the loaded scale.

    first_tick_after_load: the first ksys.tick() after a bulk load (watermarks empty,
      every job due) - what pg_cron / `ksys worker` run next after a backfill.
    minute_tick: a tick where the 1-minute jobs are due (the common case).
    all_due_tick: every job due (e.g. at midnight UTC, when the 1 h / 1 d jobs run too).
    On TimescaleDB the rollups are refreshed by policies, not ksys.tick(): each policy
    job is run once with CALL run_job.
    """
    reps = 3 if quick else 5
    out: dict = {}
    with bench.connect() as conn:
        with Stopwatch() as sw:
            failed = conn.execute("SELECT ksys.tick()").fetchone()[0]
        out["first_tick_after_load"] = {"s": round(sw.s, 2), "failed_jobs": failed,
                                        "jobs": _job_durations(conn)}
        minute: list[float] = []
        for _ in range(reps):
            conn.execute("UPDATE ksys.jobs SET next_start = '-infinity' "
                         "WHERE schedule_interval <= interval '1 minute'")
            with Stopwatch() as sw:
                conn.execute("SELECT ksys.tick()")
            minute.append(sw.s)
        out["minute_tick"] = summary_ms(minute)
        out["minute_tick"]["jobs"] = _job_durations(conn)
        due: list[float] = []
        for _ in range(max(2, reps - 2)):
            conn.execute("UPDATE ksys.jobs SET next_start = '-infinity'")
            with Stopwatch() as sw:
                conn.execute("SELECT ksys.tick()")
            due.append(sw.s)
        out["all_due_tick"] = summary_ms(due)
        out["all_due_tick"]["jobs"] = _job_durations(conn)
        vt: list[float] = []
        for _ in range(reps * 2):
            with Stopwatch() as sw:
                conn.execute("SELECT ksys.compute_virtual_tags("
                             "date_bin('1 minute', now(), ksys.bucket_origin()) - interval '10 minutes', "
                             "date_bin('1 minute', now(), ksys.bucket_origin()))")
            vt.append(sw.s)
        out["virtual_tags_10min"] = summary_ms(vt)
        with Stopwatch() as sw:
            conn.execute("SELECT ksys.compute_virtual_tags("
                         "date_bin('1 minute', now(), ksys.bucket_origin()) - interval '1 day', "
                         "date_bin('1 minute', now(), ksys.bucket_origin()))")
        out["virtual_tags_1day_catchup_s"] = round(sw.s, 2)
        if bench.engine == "timescaledb":
            out["cagg_policies"] = _run_policies(conn)
    return out


def _job_durations(conn) -> dict:
    """Duration of each job's last due run as recorded by ksys.tick()."""
    rows = conn.execute("SELECT job_name, extract(epoch FROM last_successful_finish - last_run_started_at), "
                        "last_run_status, last_error FROM ksys.jobs ORDER BY run_order").fetchall()
    return {name: {"s": round(float(s), 3) if s is not None and st == "Success" else None, "status": st,
                   **({"error": err[:300]} if err and st != "Success" else {})} for name, s, st, err in rows}


def _run_policies(conn) -> dict:
    jobs = conn.execute(
        "SELECT j.job_id, coalesce(c.view_name, j.hypertable_name) FROM timescaledb_information.jobs j "
        "LEFT JOIN timescaledb_information.continuous_aggregates c "
        "  ON c.materialization_hypertable_name = j.hypertable_name "
        "WHERE j.proc_name = 'policy_refresh_continuous_aggregate' ORDER BY j.job_id").fetchall()
    out = {}
    total = 0.0
    for job_id, view in jobs:
        with Stopwatch() as sw:
            conn.execute("CALL run_job(%s)", (job_id,))
        out[view] = round(sw.s, 3)
        total += sw.s
    out["all_policies_s"] = round(total, 2)
    return out


if __name__ == "__main__":  # python -m bench.dataset --destroy DIR: remove a cluster left by --keep
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--destroy":
        base = Path(sys.argv[2])
        LocalCluster(base / "data", 0).destroy()
        shutil.rmtree(base, ignore_errors=True)
    else:
        sys.exit("usage: python -m bench.dataset --destroy DIR")
