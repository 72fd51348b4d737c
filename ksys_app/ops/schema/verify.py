"""`ksys verify`: recompute every derived relation from influx_hist and diff.

Independent of the incremental path (change log, pending ranges, refresh
functions, continuous aggregates): each relation is recomputed here from raw
readings with the PRD's definitions (PRD.md section 2), one UTC day at a time,
each day in one read-only REPEATABLE READ transaction under a statement timeout,
and compared with what the dashboard reads. Buckets that pending changes (not
yet worked off by the scheduler) overlap are not compared, but counted: they are
lag, which `ksys doctor` measures, not a wrong number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import psycopg

from ksys_app.domain.timefmt import format_local
from ksys_app.ops.db import connect, first_line
from ksys_app.ops.errors import OpsError

DAY = timedelta(days=1)
DEFAULT_DAYS = 7
EXAMPLES = 3
ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"


def _close(a: str, b: str) -> str:
    """SQL: two floats equal up to rounding (sums added in another order)."""
    return f"({a} IS NOT DISTINCT FROM {b} OR abs({a} - {b}) <= 1e-9 * greatest(1.0, abs({a}), abs({b})))"


# Pending work visible in the day's snapshot: [lo, hi) of data time per consumer,
# widened by how far a change reaches in each relation.
PENDING = """
  SELECT lo, hi FROM ksys.hist_changes
  UNION ALL SELECT lo, hi FROM ksys.pending_ranges WHERE consumer = %(consumer)s
"""


def _diff_sql(ctes: str, problems: str, pending_if: str) -> str:
    """Compare CTEs `ref` (recomputed) and `got` (stored), both keyed (bucket, tag_name).

    `problems`: further `WHEN ... THEN text` arms after missing / extra rows;
    `pending_if`: when a pending change range p (lo, hi) overlaps what the row depends on.
    """
    return f"""
WITH {ctes}, pending AS ({PENDING}), cmp AS (
  SELECT coalesce(r.bucket, g.bucket) AS bucket, coalesce(r.tag_name, g.tag_name) AS tag_name,
         CASE WHEN r.bucket IS NULL THEN 'extra row'
              WHEN g.bucket IS NULL THEN 'missing row'
              {problems}
         END AS problem
  FROM ref r FULL JOIN got g USING (bucket, tag_name)
)
SELECT bucket, tag_name, problem, EXISTS (SELECT 1 FROM pending p WHERE {pending_if}) AS pending
FROM cmp
"""


def _any_differs(cols: tuple[str, ...]) -> str:
    return " OR ".join(f"NOT {_close('r.' + c, 'g.' + c)}" for c in cols)


def _overlaps(width: str, before: str = "0") -> str:
    return f"p.lo < bucket + interval '{width}' AND p.hi > bucket - interval '{before}'"


IN_DAY = "ts >= %(d0)s AND ts < %(d1)s AND ts >= %(horizon)s"
BUCKETS_IN_DAY = "bucket >= %(d0)s AND bucket < %(d1)s AND bucket >= %(horizon)s"


def _rollup_sql(view: str, width: str) -> str:
    return _diff_sql(f"""
ref AS (
  SELECT date_bin('{width}', ts, {ORIGIN}) AS bucket, tag_name, count(*)::float8 AS n, sum(value) AS sum,
         min(value) AS min, max(value) AS max,
         (array_agg(value ORDER BY ts ASC))[1] AS first, (array_agg(value ORDER BY ts DESC))[1] AS last
  FROM public.influx_hist WHERE {IN_DAY}
  GROUP BY 1, 2
), got AS (
  SELECT bucket, tag_name, n::float8 AS n, sum, min, max, first, last, avg, diff
  FROM public.{view} WHERE {BUCKETS_IN_DAY}
)""", f"""
              WHEN {_any_differs(("n", "sum", "min", "max", "first", "last"))}
                THEN format('n %%s/%%s sum %%s/%%s min %%s/%%s max %%s/%%s first %%s/%%s last %%s/%%s',
                            g.n, r.n, g.sum, r.sum, g.min, r.min, g.max, r.max, g.first, r.first, g.last, r.last)
              WHEN NOT {_close('g.avg', 'r.sum / r.n')} THEN format('avg %%s, sum/n %%s', g.avg, r.sum / r.n)
              WHEN NOT {_close('g.diff', 'r.last - r.first')}
                THEN format('diff %%s, last-first %%s', g.diff, r.last - r.first)""", _overlaps(width))


FEATURES_SQL = _diff_sql(f"""
ref AS (
  SELECT date_bin('5 minutes', ts, {ORIGIN}) AS bucket, tag_name, avg(value) AS mean, stddev_samp(value) AS std,
         min(value) AS min, max(value) AS max,
         percentile_cont(0.1) WITHIN GROUP (ORDER BY value) AS p10,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY value) AS p90, count(*)::float8 AS n
  FROM public.influx_hist WHERE {IN_DAY}
  GROUP BY 1, 2
), got AS (
  SELECT bucket, tag_name, mean_5m AS mean, std_5m AS std, min_5m AS min, max_5m AS max, p10_5m AS p10,
         p90_5m AS p90, n_5m::float8 AS n
  FROM public.features_5m WHERE {BUCKETS_IN_DAY}
)""", f"""
              WHEN {_any_differs(("mean", "std", "min", "max", "p10", "p90", "n"))}
                THEN format('mean %%s/%%s std %%s/%%s p10 %%s/%%s p90 %%s/%%s n %%s/%%s', g.mean, r.mean,
                            g.std, r.std, g.p10, r.p10, g.p90, r.p90, g.n, r.n)""", _overlaps("5 minutes"))

COMM_SQL = _diff_sql(f"""
ref AS (
  SELECT date_bin('1 hour', ts, {ORIGIN}) AS bucket, tag_name, count(*) AS recv,
         max(date_bin('1 minute', ts, {ORIGIN})) AS last_seen
  FROM public.influx_hist WHERE {IN_DAY}
  GROUP BY 1, 2
), got AS (
  SELECT bucket, tag_name, recv_msgs AS recv, last_seen_min AS last_seen
  FROM public.comm_success_1h WHERE {BUCKETS_IN_DAY}
)""", """
              WHEN r.recv <> g.recv OR r.last_seen IS DISTINCT FROM g.last_seen
                THEN format('recv %%s/%%s last_seen %%s/%%s', g.recv, r.recv, g.last_seen, r.last_seen)""",
                     _overlaps("1 hour"))

# PRD.md "Virtual tags": complete minutes only, from the minute averages of the inputs.
VIRTUAL_SQL = _diff_sql(f"""
m AS (
  SELECT date_bin('1 minute', ts, {ORIGIN}) AS minute, tag_name, avg(value) AS v
  FROM public.influx_hist
  WHERE tag_name IN ('INLET_PRESSURE', 'OUTLET_PRESSURE', 'FEED_FLOW', 'PRODUCT_FLOW')
    AND ts >= %(d0)s - interval '59 minutes' AND ts < %(d1)s
  GROUP BY 1, 2
), minutes AS (
  SELECT minute,
         max(v) FILTER (WHERE tag_name = 'INLET_PRESSURE') AS inlet,
         max(v) FILTER (WHERE tag_name = 'OUTLET_PRESSURE') AS outlet,
         max(v) FILTER (WHERE tag_name = 'FEED_FLOW') AS feed,
         max(v) FILTER (WHERE tag_name = 'PRODUCT_FLOW') AS product
  FROM m GROUP BY minute
), ref AS (
  SELECT a.minute AS bucket, t.tag_name, t.value
  FROM minutes a
  CROSS JOIN LATERAL (VALUES
    ('PRESSURE_DIFF', CASE WHEN a.inlet IS NOT NULL AND a.outlet IS NOT NULL THEN a.inlet - a.outlet END),
    ('RECOVERY_RATE', CASE WHEN a.product IS NOT NULL AND a.feed > 0 THEN a.product / a.feed * 100 END),
    ('OPERATING_TIME', CASE WHEN a.feed IS NOT NULL THEN CASE WHEN a.feed > 1.0 THEN 1.0 ELSE 0.0 END END),
    ('TOTAL_PRODUCT_VOLUME_1H', CASE WHEN a.product IS NOT NULL THEN
        (SELECT sum(b.product / 60.0) FROM minutes b
          WHERE b.minute > a.minute - interval '60 minutes' AND b.minute <= a.minute) END)
  ) t(tag_name, value)
  WHERE t.value IS NOT NULL AND a.minute >= %(d0)s AND a.minute < %(d1)s
    AND a.minute < date_bin('1 minute', now(), {ORIGIN}) AND a.minute >= %(horizon)s
), got AS (
  SELECT ts AS bucket, tag_name, value FROM public.influx_hist
  WHERE tag_name IN ('PRESSURE_DIFF', 'RECOVERY_RATE', 'OPERATING_TIME', 'TOTAL_PRODUCT_VOLUME_1H')
    AND {IN_DAY} AND ts < date_bin('1 minute', now(), {ORIGIN})
)""", f"""
              WHEN NOT {_close('r.value', 'g.value')} THEN format('value %%s, PRD %%s', g.value, r.value)""",
                        _overlaps("1 minute", before="59 minutes"))

# PRD.md "Technical indicators" over 1-minute averages from raw. The 60 rows
# before the day come from the two days before it, or from all history for
# tags that have fewer there.
TECH_SQL = _diff_sql(f"""
recent AS (
  SELECT date_bin('1 minute', ts, {ORIGIN}) AS bucket, tag_name, avg(value) AS avg
  FROM public.influx_hist WHERE ts >= %(d0)s - interval '2 days' AND ts < %(d1)s
  GROUP BY 1, 2
), sparse AS (
  SELECT tag_name FROM recent GROUP BY tag_name HAVING count(*) FILTER (WHERE bucket < %(d0)s) < 60
), older AS (
  SELECT date_bin('1 minute', ts, {ORIGIN}) AS bucket, tag_name, avg(value) AS avg
  FROM public.influx_hist WHERE ts < %(d0)s - interval '2 days' AND tag_name IN (SELECT tag_name FROM sparse)
  GROUP BY 1, 2
), series AS (
  SELECT * FROM recent UNION ALL SELECT * FROM older
), calc AS (
  SELECT bucket, tag_name, avg,
         avg(avg) OVER (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS sma_10,
         avg(avg) OVER (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW) AS sma_60,
         stddev_samp(avg) OVER (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS sd,
         lag(avg, 60) OVER (PARTITION BY tag_name ORDER BY bucket) AS avg_60
  FROM series
), ref AS (
  SELECT bucket, tag_name, avg, sma_10, sma_60, avg + 2 * sd AS bb_top, avg - 2 * sd AS bb_bot,
         avg - avg_60 AS slope_60
  FROM calc WHERE bucket >= %(d0)s AND bucket >= %(horizon)s
), got AS (
  SELECT * FROM public.tech_ind_1m_mv WHERE {BUCKETS_IN_DAY}
)""", f"""
              WHEN {_any_differs(("avg", "sma_10", "sma_60", "bb_top", "bb_bot", "slope_60"))}
                THEN format('avg %%s/%%s sma_10 %%s/%%s sma_60 %%s/%%s bb %%s/%%s slope_60 %%s/%%s', g.avg, r.avg,
                            g.sma_10, r.sma_10, g.sma_60, r.sma_60, g.bb_top, r.bb_top, g.slope_60, r.slope_60)""",
                     # a row depends on the 60 rows before it: up to a day back for dense tags
                     _overlaps("1 minute", before="1 day"))

# name -> (SQL, consumer whose pending ranges it follows)
RELATIONS: dict[str, tuple[str, str]] = {
    "virtual_tags": (VIRTUAL_SQL, "virtual_tags"),
    "influx_agg_1m": (_rollup_sql("influx_agg_1m", "1 minute"), "derived"),
    "influx_agg_10m": (_rollup_sql("influx_agg_10m", "10 minutes"), "derived"),
    "influx_agg_1h": (_rollup_sql("influx_agg_1h", "1 hour"), "derived"),
    "influx_agg_1d": (_rollup_sql("influx_agg_1d", "1 day"), "derived"),
    "features_5m": (FEATURES_SQL, "derived"),
    "comm_success_1h": (COMM_SQL, "derived"),
    "tech_ind_1m_mv": (TECH_SQL, "derived"),
}


@dataclass
class RelationResult:
    name: str
    compared: int = 0
    differ: int = 0
    pending: int = 0
    examples: list[str] = field(default_factory=list)


def parse_time(text: str, flag: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"{flag} must be an ISO date or time with a zone, e.g. 2026-11-30 or "
                       f"2026-11-30T00:00:00+09:00; got {text!r}") from None
    if value.tzinfo is None:
        if len(text) > 10:
            raise OpsError(f"{flag} {text!r} has no time zone; add one, e.g. {text}+09:00")
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def resolve_span(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    end = parse_time(until, "--until") if until else now
    start = parse_time(since, "--since") if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise OpsError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    return start, end


def verify_relations(conn: psycopg.Connection, start: datetime, end: datetime,
                     relations: list[str] | None = None, timeout_s: float = 60.0,
                     progress: Callable[[str], None] | None = None) -> list[RelationResult]:
    names = relations or list(RELATIONS)
    results = {name: RelationResult(name) for name in names}
    # whole UTC days, so that every bucket (up to a day wide) is compared in full
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        d0, d1 = day, day + DAY
        if progress:
            progress(f"  {day:%Y-%m-%d}")
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            conn.execute(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
            horizon = conn.execute("SELECT now() - interval '365 days'").fetchone()[0]
            for name in names:
                sql, consumer = RELATIONS[name]
                rows = conn.execute(sql, {"d0": d0, "d1": d1, "horizon": horizon, "consumer": consumer}).fetchall()
                r = results[name]
                for bucket, tag, problem, pending in rows:
                    if pending:
                        r.pending += 1
                        continue
                    r.compared += 1
                    if problem:
                        r.differ += 1
                        if len(r.examples) < EXAMPLES:
                            r.examples.append(f"{format_local(bucket)} {tag}: {problem}")
        day += DAY
    return list(results.values())


def render(results: list[RelationResult], start: datetime, end: datetime) -> str:
    lines = [f"verify {format_local(start)} .. {format_local(end)}: each relation recomputed from influx_hist"]
    width = max(len(r.name) for r in results)
    for r in results:
        status = "OK  " if r.differ == 0 else "DIFF"
        line = f"{status} {r.name:<{width}}  {r.differ} of {r.compared} rows differ"
        if r.pending:
            line += f"; {r.pending} not compared (changes still pending: see `ksys doctor`)"
        lines.append(line)
        lines += [f"       {e}" for e in r.examples]
    total = sum(r.differ for r in results)
    lines.append(f"{total} difference(s)" if total else "no differences")
    return "\n".join(lines)


def verify(dsn: str, since: str | None = None, until: str | None = None, relation: list[str] | None = None,
           timeout_s: float = 60.0, out: Callable[[str], None] = print) -> int:
    for name in relation or []:
        if name not in RELATIONS:
            raise OpsError(f"--relation {name!r} is not a derived relation; choose from {', '.join(RELATIONS)}")
    with connect(dsn, autocommit=False) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]
        conn.rollback()
        start, end = resolve_span(since, until, now)
        try:
            results = verify_relations(conn, start, end, relation, timeout_s)
        except psycopg.errors.QueryCanceled:
            raise OpsError(f"a day's recompute took longer than {timeout_s:g} s (statement timeout); "
                           "pass --timeout-s or a narrower --relation") from None
        except psycopg.errors.UndefinedTable as exc:
            raise OpsError(f"not a migrated ksys database (run `ksys migrate`): {first_line(exc)}") from None
    out(render(results, start, end))
    return 1 if any(r.differ for r in results) else 0
