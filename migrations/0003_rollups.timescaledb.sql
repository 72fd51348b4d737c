-- TimescaleDB: hierarchical continuous aggregates 1m -> 10m -> 1h -> 1d with
-- real-time aggregation on (materialized_only = false is not the default since
-- 2.13), so the dashboard sees the current minute. avg is recomputed from sum/n
-- above the 1-minute level. Policies use the PRD 27.3.2 / 28.1 offsets.

CREATE MATERIALIZED VIEW IF NOT EXISTS public.influx_agg_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('1 minute', ts) AS bucket,
       tag_name,
       count(*)                           AS n,
       avg(value)                         AS avg,
       sum(value)                         AS sum,
       min(value)                         AS min,
       max(value)                         AS max,
       last(value, ts)                    AS last,
       first(value, ts)                   AS first,
       last(value, ts) - first(value, ts) AS diff
FROM public.influx_hist
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS public.influx_agg_10m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('10 minutes', bucket)                  AS bucket,
       tag_name,
       sum(n)::bigint                                     AS n,
       sum(sum) / sum(n)::double precision                AS avg,
       sum(sum)                                           AS sum,
       min(min)                                           AS min,
       max(max)                                           AS max,
       last(last, bucket)                                 AS last,
       first(first, bucket)                               AS first,
       last(last, bucket) - first(first, bucket)          AS diff
FROM public.influx_agg_1m
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS public.influx_agg_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('1 hour', bucket)                      AS bucket,
       tag_name,
       sum(n)::bigint                                     AS n,
       sum(sum) / sum(n)::double precision                AS avg,
       sum(sum)                                           AS sum,
       min(min)                                           AS min,
       max(max)                                           AS max,
       last(last, bucket)                                 AS last,
       first(first, bucket)                               AS first,
       last(last, bucket) - first(first, bucket)          AS diff
FROM public.influx_agg_10m
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS public.influx_agg_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('1 day', bucket)                       AS bucket,
       tag_name,
       sum(n)::bigint                                     AS n,
       sum(sum) / sum(n)::double precision                AS avg,
       sum(sum)                                           AS sum,
       min(min)                                           AS min,
       max(max)                                           AS max,
       last(last, bucket)                                 AS last,
       first(first, bucket)                               AS first,
       last(last, bucket) - first(first, bucket)          AS diff
FROM public.influx_agg_1h
GROUP BY 1, 2
WITH NO DATA;

-- Percentiles: exact percentile_cont, identical on both engines (the PRD's
-- approx_percentile needs the toolkit, which is optional).
CREATE MATERIALIZED VIEW IF NOT EXISTS public.features_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('5 minutes', ts)                              AS bucket,
       tag_name,
       avg(value)                                                AS mean_5m,
       stddev_samp(value)                                        AS std_5m,
       min(value)                                                AS min_5m,
       max(value)                                                AS max_5m,
       percentile_cont(0.1) WITHIN GROUP (ORDER BY value)        AS p10_5m,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY value)        AS p90_5m,
       count(*)                                                  AS n_5m
FROM public.influx_hist
GROUP BY 1, 2
WITH NO DATA;

-- Received messages per hour; comm_success_1h (a view, migration 0004) adds the
-- expectation so that editing ingest_expectation applies at once instead of
-- being frozen into materialized rows.
CREATE MATERIALIZED VIEW IF NOT EXISTS ksys.comm_recv_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket('1 hour', bucket) AS bucket,
       tag_name,
       sum(n)::bigint                AS recv_msgs,
       max(bucket)                   AS last_seen_min
FROM public.influx_agg_1m
GROUP BY 1, 2
WITH NO DATA;

SELECT add_continuous_aggregate_policy('public.influx_agg_1m',
  start_offset => interval '2 hours', end_offset => interval '1 minute',
  schedule_interval => interval '1 minute', if_not_exists => true);
SELECT add_continuous_aggregate_policy('public.influx_agg_10m',
  start_offset => interval '1 day', end_offset => interval '10 minutes',
  schedule_interval => interval '10 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('public.influx_agg_1h',
  start_offset => interval '7 days', end_offset => interval '1 hour',
  schedule_interval => interval '1 hour', if_not_exists => true);
SELECT add_continuous_aggregate_policy('public.influx_agg_1d',
  start_offset => interval '730 days', end_offset => interval '1 day',
  schedule_interval => interval '1 day', if_not_exists => true);
SELECT add_continuous_aggregate_policy('public.features_5m',
  start_offset => interval '2 hours', end_offset => interval '5 minutes',
  schedule_interval => interval '5 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('ksys.comm_recv_1h',
  start_offset => interval '30 days', end_offset => interval '1 hour',
  schedule_interval => interval '15 minutes', if_not_exists => true);
