"""Every SQL statement the dashboard runs, by name.

Rules (docs/architecture.md "Rules of the house", PRD B9/B15):
  * values travel only as bind parameters ($1, $2, ...), never in the text;
  * every statement ends in LIMIT (a parameter: callers pass limit + 1 to see
    whether the limit cut anything, see Repository);
  * relation names are fixed here. A window picks its rollup through the
    whitelists SERIES_BY_VIEW / KPI_BY_VIEW, keyed by the view names of
    ksys_app.domain.windows; an unknown view is a KeyError, not SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

# Most tags a latest / QC-rule / tag-list read returns. PRD A.7 says "LIMIT 1000";
# issue 19 sizes a plant at 2,000 tags, and what the browser gets is now a page of
# tiles and of snapshot rows, not every tag, so the bound moved up.
MAX_TAGS = 5000
# 30 local days of hours; 31 x 24 leaves room for a DST fall-back day.
MAX_HEATMAP_HOURS = 31 * 24


@dataclass(frozen=True, slots=True)
class Query:
    name: str  # stable identifier for logs (PRD A.9 "query fingerprint")
    sql: str

    def __post_init__(self) -> None:
        if "LIMIT" not in self.sql.upper():
            raise ValueError(f"query {self.name} has no LIMIT")


# The rollups of domain.windows, in resolution order. Fixed text, not input.
ROLLUP_VIEWS: tuple[str, ...] = ("influx_agg_1m", "influx_agg_10m", "influx_agg_1h", "influx_agg_1d")
# Each rollup's bucket width: buckets sit on a fixed UTC grid, so the bucket
# before B, when it exists, is B - width.
# Written as make_interval(...) text: the statements carry no quoted literals.
BUCKET_WIDTH: Mapping[str, str] = MappingProxyType({
    "influx_agg_1m": "make_interval(mins => 1)", "influx_agg_10m": "make_interval(mins => 10)",
    "influx_agg_1h": "make_interval(hours => 1)", "influx_agg_1d": "make_interval(days => 1)",
})

# Newest first so a LIMIT keeps the newest buckets; the repository returns them
# ascending.
_SERIES_SQL = """
SELECT bucket, tag_name, avg, min, max, last, first, n
FROM public.{view}
WHERE tag_name = $1
  AND bucket >= now() - $2::interval
ORDER BY bucket DESC
LIMIT $3
"""

# Per tag over the window's rollup: count = sum of n, extremes, first of the
# earliest bucket, last of the newest bucket, prev_last = last of the bucket
# before it (delta_pct compares the last two buckets, PRD 4 / B10); the tile's
# value and time are one reading's (see `last` below).
# One hash aggregate finds each tag's bucket range; first / last / prev_last are
# then primary-key probes (prev_last searches backwards only after a gap).
# Ordered aggregates (array_agg(... ORDER BY bucket)) sorted every row of the
# window twice: 44 ms p95 at 24 h x 20 tags (bench/).
_KPI_SQL = """
WITH w AS (
  SELECT a.tag_name,
         sum(a.n)::bigint AS n,
         min(a.min)       AS min,
         max(a.max)       AS max,
         min(a.bucket)    AS first_bucket,
         max(a.bucket)    AS last_bucket
  FROM public.{view} a
  WHERE a.bucket >= now() - $1::interval{only}
  GROUP BY a.tag_name
)
SELECT w.tag_name, w.n, w.min, w.max,
       (SELECT f.first FROM public.{view} f
         WHERE f.tag_name = w.tag_name AND f.bucket = w.first_bucket) AS first,
       -- value and time of the tile come from one reading: the newest raw one when
       -- it falls in the newest bucket or after it (the snapshot row), else the
       -- last value of the newest bucket with the time of that bucket
       CASE WHEN lt.ts >= w.last_bucket THEN lt.value
            ELSE (SELECT l.last FROM public.{view} l
                   WHERE l.tag_name = w.tag_name AND l.bucket = w.last_bucket) END AS last,
       coalesce(
         (SELECT p.last FROM public.{view} p
           WHERE p.tag_name = w.tag_name AND p.bucket = w.last_bucket - {width}
             AND p.bucket >= now() - $1::interval),
         (SELECT p.last FROM public.{view} p
           WHERE p.tag_name = w.tag_name AND p.bucket < w.last_bucket
             AND p.bucket >= now() - $1::interval
           ORDER BY p.bucket DESC LIMIT 1))                            AS prev_last,
       w.last_bucket,
       CASE WHEN lt.ts >= w.last_bucket THEN lt.ts ELSE w.last_bucket END AS last_ts
FROM w
LEFT JOIN public.influx_latest lt ON lt.tag_name = w.tag_name
ORDER BY w.tag_name
LIMIT $2
"""


def _per_view(name: str, template: str, **extra: str) -> Mapping[str, Query]:
    return MappingProxyType(
        {view: Query(f"{name}_{view}", template.format(view=view, width=BUCKET_WIDTH[view], **extra))
         for view in ROLLUP_VIEWS}
    )


SERIES_BY_VIEW: Mapping[str, Query] = _per_view("series", _SERIES_SQL)

# The raw readings of a raw window (domain.windows.RAW_WINDOWS) as series rows:
# each reading a "bucket" of one (n = 1), so the chart and the history table take
# them as they take rollup buckets. A range scan of idx_hist_tag_ts, newest first
# so the LIMIT keeps the newest readings.
SERIES_RAW = Query("series_raw", """
SELECT ts AS bucket, tag_name, value AS avg, value AS min, value AS max,
       value AS last, value AS first, 1::bigint AS n
FROM public.influx_hist
WHERE tag_name = $1
  AND ts >= now() - $2::interval
ORDER BY ts DESC
LIMIT $3
""")
KPI_BY_VIEW: Mapping[str, Query] = _per_view("kpi_window_stats", _KPI_SQL, only="")
# The same statistics for the tags in $3 only (the tiles `/` shows: one group, or one
# page of tags): the rollup is read through its (tag_name, bucket) key for those tags,
# so the read grows with the tiles shown, not with the plant (issue 19).
KPI_TAGS_BY_VIEW: Mapping[str, Query] = _per_view("kpi_window_stats_tags", _KPI_SQL,
                                                  only="\n    AND a.tag_name = ANY($3::text[])")

# An absolute range of a rollup or of the raw readings (/trend's from / to,
# domain/time_range.py), oldest first: the source was chosen for the range and the
# chart's width (domain/m4.source_for), so the LIMIT is a safety net, not a cut.
_SERIES_RANGE_SQL = """
SELECT bucket, tag_name, avg, min, max, last, first, n
FROM public.{view}
WHERE tag_name = $1
  AND bucket >= $2 AND bucket < $3
ORDER BY bucket
LIMIT $4
"""
SERIES_RANGE_BY_VIEW: Mapping[str, Query] = _per_view("series_range", _SERIES_RANGE_SQL)
SERIES_RAW_RANGE = Query("series_raw_range", """
SELECT ts AS bucket, tag_name, value AS avg, value AS min, value AS max,
       value AS last, value AS first, 1::bigint AS n
FROM public.influx_hist
WHERE tag_name = $1
  AND ts >= $2 AND ts < $3
ORDER BY ts
LIMIT $4
""")

FEATURES = Query("features_5m", """
SELECT bucket, tag_name, mean_5m, std_5m, min_5m, max_5m, p10_5m, p90_5m, n_5m
FROM public.features_5m
WHERE tag_name = $1
  AND bucket >= now() - $2::interval
ORDER BY bucket DESC
LIMIT $3
""")

# /trend's features table: how many rows the window has, then one page of them
# (newest first), so neither the read nor the browser holds more than a page.
FEATURES_COUNT = Query("features_5m_count", """
SELECT count(*) AS n
FROM public.features_5m
WHERE tag_name = $1
  AND bucket >= now() - $2::interval
LIMIT $3
""")

FEATURES_PAGE = Query("features_5m_page", """
SELECT bucket, tag_name, mean_5m, std_5m, min_5m, max_5m, p10_5m, p90_5m, n_5m
FROM public.features_5m
WHERE tag_name = $1
  AND bucket >= now() - $2::interval
ORDER BY bucket DESC
LIMIT $3 OFFSET $4
""")

# ... and over an absolute range [$2, $3) of /trend (?from=&to=): the features of the
# buckets that start inside it, like the chart's.
FEATURES_RANGE_COUNT = Query("features_5m_range_count", """
SELECT count(*) AS n
FROM public.features_5m
WHERE tag_name = $1
  AND bucket >= $2 AND bucket < $3
LIMIT $4
""")

FEATURES_RANGE_PAGE = Query("features_5m_range_page", """
SELECT bucket, tag_name, mean_5m, std_5m, min_5m, max_5m, p10_5m, p90_5m, n_5m
FROM public.features_5m
WHERE tag_name = $1
  AND bucket >= $2 AND bucket < $3
ORDER BY bucket DESC
LIMIT $4 OFFSET $5
""")

TECH = Query("tech_ind_1m", """
SELECT bucket, tag_name, avg, sma_10, sma_60, bb_top, bb_bot, slope_60
FROM public.tech_ind_1m_mv
WHERE tag_name = $1
  AND bucket >= now() - $2::interval
ORDER BY bucket DESC
LIMIT $3
""")

# Long windows on the Tech page: the indicator rows on a grid of $3 (every k-th
# minute, aligned like time_bucket to 2000-01-03 UTC), one primary-key probe
# per grid point, so the cost does not grow with the window (see
# data.repository.reads.Reads.tech_sampled).
TECH_SAMPLED = Query("tech_ind_1m_sampled", """
SELECT t.bucket, t.tag_name, t.avg, t.sma_10, t.sma_60, t.bb_top, t.bb_bot, t.slope_60
FROM generate_series(
       date_bin($3::interval, now() - $2::interval, TIMESTAMPTZ '2000-01-03 00:00:00+00'),
       now(), $3::interval) AS g(ts)
JOIN public.tech_ind_1m_mv t ON t.tag_name = $1 AND t.bucket = g.ts
WHERE g.ts >= now() - $2::interval
ORDER BY t.bucket DESC
LIMIT $4
""")

LATEST_ALL = Query("latest_all", """
SELECT tag_name, value, ts
FROM public.influx_latest
ORDER BY tag_name
LIMIT $1
""")

LATEST_ONE = Query("latest_one", """
SELECT tag_name, value, ts
FROM public.influx_latest
WHERE tag_name = $1
ORDER BY tag_name
LIMIT $2
""")

# PRD 28.2 eco_tags
TAGS = Query("tags", """
SELECT tag_name
FROM public.influx_latest
ORDER BY tag_name
LIMIT $1
""")

# The snapshot table a page at a time (issue 19): how many tags match the search, then
# one page of them by name. $1 is an ILIKE pattern (the repository escapes the
# wildcards of what was typed) or NULL for every tag; it matches the tag name, and
# the group ($2) and unit ($3) keys of the tag's QC rule meta.
_SNAPSHOT_MATCH = """
FROM public.influx_latest l
LEFT JOIN public.influx_qc_rule q ON q.tag_name = l.tag_name
WHERE $1::text IS NULL
   OR l.tag_name ILIKE $1 OR q.meta->>$2::text ILIKE $1 OR q.meta->>$3::text ILIKE $1"""

SNAPSHOT_COUNT = Query("snapshot_count", f"""
SELECT count(*)::bigint AS n{_SNAPSHOT_MATCH}
LIMIT $4
""")

SNAPSHOT_PAGE = Query("snapshot_page", f"""
SELECT l.tag_name, l.value, l.ts{_SNAPSHOT_MATCH}
ORDER BY l.tag_name
LIMIT $4 OFFSET $5
""")

# A rule row with enabled NULL counts as enabled: the flag exists to switch a
# rule off, and a half-filled CSV import should not silently disable alarms.
QC_RULES = Query("qc_rules", """
SELECT tag_name, min_val, max_val, warn_min, warn_max, crit_min, crit_max,
       coalesce(enabled, true) AS enabled, max_gap_seconds, left(meta->>$2::text, 16) AS unit,
       left(meta->>$3::text, 41) AS tag_group
FROM public.influx_qc_rule
ORDER BY tag_name
LIMIT $1
""")

# Hourly rows of one tag for UTC instants [$2, $3): the local days of the grid.
# success_rate is numeric in the view; as double precision it decodes straight to
# a float instead of a Decimal per hour (bench finding 5). hour_exp_msgs is the
# full hour's expectation, from which domain.comm recomputes the running hour.
COMM_HOURS = Query("comm_heatmap_hours", """
SELECT c.bucket, c.tag_name, c.recv_msgs, c.exp_msgs, c.success_rate::double precision AS success_rate,
       c.missing_msgs, c.last_seen_min, (coalesce(e.exp_per_min, 1) * 60)::bigint AS hour_exp_msgs
FROM public.comm_success_1h c
LEFT JOIN public.ingest_expectation e ON e.tag_name = c.tag_name
WHERE c.tag_name = $1
  AND c.bucket >= $2
  AND c.bucket < $3
ORDER BY c.bucket
LIMIT $4
""")

INGEST_EXPECTATIONS = Query("ingest_expectations", """
SELECT tag_name, exp_per_min
FROM public.ingest_expectation
ORDER BY tag_name
LIMIT $1
""")

COMM_SLO = Query("comm_slo", """
SELECT slo_warn::double precision AS slo_warn, slo_crit::double precision AS slo_crit
FROM public.ingest_expectation
WHERE tag_name = $1
LIMIT 1
""")

# The health probe (ksys_app.data.probe): one round trip that touches no relation,
# so it says whether the server answers, not how fast a rollup reads. Every
# statement here has a LIMIT; this one keeps the rule with a constant.
# On a streaming replica (issue 19: the dashboard may read one) it also says how far
# the replica's replay is behind: 0 when it has replayed all it received (an idle
# primary sends nothing, so the last replayed transaction's age would grow while the
# data is current), else the age of the last transaction it replayed.
# On a streaming replica it also says whether the replica is being fed, and how far
# behind it is. lag_s is 0 when it replayed all it received, which is only "up to date"
# while a WAL receiver is connected (`receiving`: an unprivileged role sees the
# receiver's pid only, and the row only once it has connected); with the primary gone
# the replica replays all it has and would look current for ever. behind_bytes is WAL
# received and not replayed yet, the one measure a fresh replica has before it replayed
# its first transaction (lag_s NULL); replay_age_s is how long ago it replayed the last one.
PROBE = Query("probe", """
SELECT 1 AS ok,
       pg_is_in_recovery() AS replica,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0.0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
       END AS lag_s,
       pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL) AS receiving,
       CASE WHEN pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8
       END AS behind_bytes,
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
       END AS replay_age_s
LIMIT 1
""")

# ---------------------------------------------------------------------- alarms (issue 16)

# Most alarms a read returns: six limits per tag of MAX_TAGS would be 6000; the active
# list and the banner never need more than this.
MAX_ALARMS = 2000
MAX_JOURNAL_EXPORT = 20_000  # rows of one CSV export of the journal

# Every alarm not in state $1 (normal): active, returned unacknowledged, shelved, out of service.
ALARM_STATES = Query("alarm_states", """
SELECT tag_name, kind, priority, threshold, state, active, value, active_since, state_since,
       shelved_until, operator, note
FROM public.alarm_states
WHERE state <> $1
ORDER BY tag_name, kind
LIMIT $2
""")

# The banner: unacknowledged alarms (states $1) per priority.
ALARM_COUNTS = Query("alarm_counts", """
SELECT priority, count(*)::bigint AS n
FROM public.alarm_states
WHERE state = ANY($1::text[])
GROUP BY priority
ORDER BY priority
LIMIT $2
""")

_JOURNAL_COLUMNS = """at, tag_name, kind, seq, action, old_state, new_state, active, value, priority,
       operator, note, shelved_until"""

ALARM_JOURNAL_COUNT = Query("alarm_journal_count", """
SELECT count(*)::bigint AS n
FROM public.alarm_journal
WHERE at >= $1 AND at < $2
LIMIT $3
""")

# One page, newest first ($3 rows from $4).
ALARM_JOURNAL_PAGE = Query("alarm_journal_page", f"""
SELECT {_JOURNAL_COLUMNS}
FROM public.alarm_journal
WHERE at >= $1 AND at < $2
ORDER BY at DESC, tag_name, kind, seq DESC
LIMIT $3 OFFSET $4
""")

# /alarms' KPIs: the announced activations (not shelved, not out of service) in
# [$1, $2), newest first, and the alarms active now with the time they became active.
MAX_KPI_ACTIVATIONS = 50_000
ALARM_ACTIVATIONS = Query("alarm_activations", """
SELECT tag_name, kind, priority, at
FROM public.alarm_journal
WHERE action = $4 AND new_state = $5 AND at >= $1 AND at < $2
ORDER BY at DESC
LIMIT $3
""")
ALARM_STANDING = Query("alarm_standing", """
SELECT tag_name, kind, priority, active_since
FROM public.alarm_states
WHERE active AND active_since IS NOT NULL
ORDER BY active_since
LIMIT $1
""")

# /trend's alarm marks: one tag's condition changes in [$2, $3) (the newest $4 of
# them) and, per limit, the last one before $2 (its state when the chart begins): a
# backward probe of the journal's primary key (tag_name, kind, at) per limit.
ALARM_MARKS = Query("alarm_marks", """
(SELECT kind, priority, at, action = $5 AS active
 FROM public.alarm_journal
 WHERE tag_name = $1 AND action = ANY($6::text[]) AND at >= $2 AND at < $3
 ORDER BY at DESC
 LIMIT $4)
UNION ALL
(SELECT l.kind, b.priority, b.at, b.action = $5
 FROM unnest($7::text[]) AS l(kind)
 CROSS JOIN LATERAL (SELECT j.priority, j.at, j.action FROM public.alarm_journal j
                     WHERE j.tag_name = $1 AND j.kind = l.kind AND j.action = ANY($6::text[]) AND j.at < $2
                     ORDER BY j.at DESC LIMIT 1) b)
LIMIT $4 + 6
""")


# /api/health's view of `ksys ingest` (migration 0022): one row per instance.
INGEST_HEALTH = Query("ingest_health", """
SELECT client_id, alive, connected, beat_at, readings, rejected, rejects_by_kind, messages_per_s, readings_per_s,
       lag_s, spool_bytes, spool_full
FROM public.ingest_health
ORDER BY client_id
LIMIT $1
""")

# ---------------------------------------------------------------------- operators (issue 16)
# The statements of the operators' pool (data/operator.py), as eco_operator: one call each
# of the SECURITY DEFINER functions of migration 0019, the only thing that role may run.

OP_BEGIN_LOGIN = Query("operator_begin_login", "SELECT ksys.operator_begin_login($1::text, $2::text) AS v LIMIT 1")
OP_FINISH_LOGIN = Query("operator_finish_login",
                     "SELECT ksys.operator_finish_login($1::text, $2::text, $3::boolean) AS v LIMIT 1")
OP_WHOAMI = Query("operator_whoami",
               "SELECT operator, display_name, expires_at FROM ksys.operator_whoami($1::text) LIMIT 1")
OP_LOGOUT = Query("operator_logout", "SELECT ksys.operator_logout($1::text) AS v LIMIT 1")
OP_ACK = Query("alarm_ack", "SELECT ksys.alarm_ack($1::text, $2::text[], $3::text[], $4::text) AS n LIMIT 1")
OP_SHELVE = Query("alarm_shelve",
               "SELECT ksys.alarm_shelve($1::text, $2::text[], $3::text[], $4::integer, $5::text) AS n LIMIT 1")
OP_UNSHELVE = Query("alarm_unshelve",
                 "SELECT ksys.alarm_unshelve($1::text, $2::text[], $3::text[], $4::text) AS n LIMIT 1")
