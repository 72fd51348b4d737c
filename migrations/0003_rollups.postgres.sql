-- Plain PostgreSQL (no TimescaleDB): the same relation names and columns as the
-- continuous aggregates, kept as tables. ksys.tick() refreshes each one over its
-- policy's trailing window when due, and its newest buckets on every tick, so no
-- tick recomputes all history. Buckets use date_bin with TimescaleDB's origin
-- (2000-01-03 UTC), which gives time_bucket's boundaries; first/last pick the
-- value at the earliest/latest time, as TimescaleDB's first()/last() do.

CREATE TABLE IF NOT EXISTS public.influx_agg_1m (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  n        bigint           NOT NULL,
  avg      double precision,
  sum      double precision,
  min      double precision,
  max      double precision,
  last     double precision,
  first    double precision,
  diff     double precision,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS influx_agg_1m_bucket_idx ON public.influx_agg_1m (bucket);
CREATE TABLE IF NOT EXISTS public.influx_agg_10m (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  n        bigint           NOT NULL,
  avg      double precision,
  sum      double precision,
  min      double precision,
  max      double precision,
  last     double precision,
  first    double precision,
  diff     double precision,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS influx_agg_10m_bucket_idx ON public.influx_agg_10m (bucket);
CREATE TABLE IF NOT EXISTS public.influx_agg_1h (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  n        bigint           NOT NULL,
  avg      double precision,
  sum      double precision,
  min      double precision,
  max      double precision,
  last     double precision,
  first    double precision,
  diff     double precision,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS influx_agg_1h_bucket_idx ON public.influx_agg_1h (bucket);
CREATE TABLE IF NOT EXISTS public.influx_agg_1d (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  n        bigint           NOT NULL,
  avg      double precision,
  sum      double precision,
  min      double precision,
  max      double precision,
  last     double precision,
  first    double precision,
  diff     double precision,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS influx_agg_1d_bucket_idx ON public.influx_agg_1d (bucket);
CREATE TABLE IF NOT EXISTS public.features_5m (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  mean_5m  double precision,
  std_5m   double precision,
  min_5m   double precision,
  max_5m   double precision,
  p10_5m   double precision,
  p90_5m   double precision,
  n_5m     bigint           NOT NULL,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS features_5m_bucket_idx ON public.features_5m (bucket);

CREATE TABLE IF NOT EXISTS ksys.comm_recv_1h (
  bucket        timestamptz NOT NULL,
  tag_name      text        NOT NULL,
  recv_msgs     bigint      NOT NULL,
  last_seen_min timestamptz,
  PRIMARY KEY (tag_name, bucket)
);

-- Source queries, one per rollup: rows for buckets starting in [p_from, p_to).
CREATE OR REPLACE FUNCTION ksys.src_influx_agg_1m(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.influx_agg_1m LANGUAGE sql STABLE AS $$
  SELECT bucket, tag_name, n, avg, sum, min, max, last, first, last - first
  FROM (SELECT date_bin('1 minute', ts, ksys.bucket_origin())  AS bucket,
               tag_name,
               count(*)                                   AS n,
               avg(value)                                 AS avg,
               sum(value)                                 AS sum,
               min(value)                                 AS min,
               max(value)                                 AS max,
               (array_agg(value ORDER BY ts DESC))[1]     AS last,
               (array_agg(value ORDER BY ts ASC))[1]      AS first
        FROM public.influx_hist
        WHERE ts >= p_from AND ts < p_to
        GROUP BY 1, 2) b
$$;

CREATE OR REPLACE FUNCTION ksys.src_influx_agg_10m(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.influx_agg_10m LANGUAGE sql STABLE AS $$
  SELECT bucket, tag_name, n, sum / n, sum, min, max, last, first, last - first
  FROM (SELECT date_bin('10 minutes', s.bucket, ksys.bucket_origin()) AS bucket,
               s.tag_name,
               sum(s.n)::bigint                              AS n,
               sum(s.sum)                                    AS sum,
               min(s.min)                                    AS min,
               max(s.max)                                    AS max,
               (array_agg(s.last  ORDER BY s.bucket DESC))[1] AS last,
               (array_agg(s.first ORDER BY s.bucket ASC))[1]  AS first
        FROM public.influx_agg_1m s
        WHERE s.bucket >= p_from AND s.bucket < p_to
        GROUP BY 1, 2) b
$$;

CREATE OR REPLACE FUNCTION ksys.src_influx_agg_1h(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.influx_agg_1h LANGUAGE sql STABLE AS $$
  SELECT bucket, tag_name, n, sum / n, sum, min, max, last, first, last - first
  FROM (SELECT date_bin('1 hour', s.bucket, ksys.bucket_origin()) AS bucket,
               s.tag_name,
               sum(s.n)::bigint                              AS n,
               sum(s.sum)                                    AS sum,
               min(s.min)                                    AS min,
               max(s.max)                                    AS max,
               (array_agg(s.last  ORDER BY s.bucket DESC))[1] AS last,
               (array_agg(s.first ORDER BY s.bucket ASC))[1]  AS first
        FROM public.influx_agg_10m s
        WHERE s.bucket >= p_from AND s.bucket < p_to
        GROUP BY 1, 2) b
$$;

CREATE OR REPLACE FUNCTION ksys.src_influx_agg_1d(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.influx_agg_1d LANGUAGE sql STABLE AS $$
  SELECT bucket, tag_name, n, sum / n, sum, min, max, last, first, last - first
  FROM (SELECT date_bin('1 day', s.bucket, ksys.bucket_origin()) AS bucket,
               s.tag_name,
               sum(s.n)::bigint                              AS n,
               sum(s.sum)                                    AS sum,
               min(s.min)                                    AS min,
               max(s.max)                                    AS max,
               (array_agg(s.last  ORDER BY s.bucket DESC))[1] AS last,
               (array_agg(s.first ORDER BY s.bucket ASC))[1]  AS first
        FROM public.influx_agg_1h s
        WHERE s.bucket >= p_from AND s.bucket < p_to
        GROUP BY 1, 2) b
$$;

CREATE OR REPLACE FUNCTION ksys.src_features_5m(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.features_5m LANGUAGE sql STABLE AS $$
  SELECT date_bin('5 minutes', ts, ksys.bucket_origin()),
         tag_name,
         avg(value),
         stddev_samp(value),
         min(value),
         max(value),
         percentile_cont(0.1) WITHIN GROUP (ORDER BY value),
         percentile_cont(0.9) WITHIN GROUP (ORDER BY value),
         count(*)
  FROM public.influx_hist
  WHERE ts >= p_from AND ts < p_to
  GROUP BY 1, 2
$$;

CREATE OR REPLACE FUNCTION ksys.src_comm_recv_1h(p_from timestamptz, p_to timestamptz)
RETURNS SETOF ksys.comm_recv_1h LANGUAGE sql STABLE AS $$
  SELECT date_bin('1 hour', bucket, ksys.bucket_origin()), tag_name,
         sum(n)::bigint, max(bucket) FILTER (WHERE n > 0)
  FROM public.influx_agg_1m
  WHERE bucket >= p_from AND bucket < p_to
  GROUP BY 1, 2
$$;

INSERT INTO ksys.jobs (job_name, run_order, schedule_interval, start_offset, end_offset) VALUES
  ('refresh_influx_agg_1m',  30, interval '1 minute',   interval '2 hours',  interval '1 minute'),
  ('refresh_features_5m',    35, interval '5 minutes',  interval '2 hours',  interval '5 minutes'),
  ('refresh_influx_agg_10m', 40, interval '10 minutes', interval '1 day',    interval '10 minutes'),
  ('refresh_influx_agg_1h',  50, interval '1 hour',     interval '7 days',   interval '1 hour'),
  ('refresh_influx_agg_1d',  60, interval '1 day',      interval '730 days', interval '1 day'),
  ('refresh_comm_recv_1h',   70, interval '15 minutes', interval '30 days',  interval '1 hour')
ON CONFLICT (job_name) DO NOTHING;

INSERT INTO ksys.rollup_def (job_name, target, bucket_width, src_function) VALUES
  ('refresh_influx_agg_1m',  'public.influx_agg_1m',  interval '1 minute',   'src_influx_agg_1m'),
  ('refresh_features_5m',    'public.features_5m',    interval '5 minutes',  'src_features_5m'),
  ('refresh_influx_agg_10m', 'public.influx_agg_10m', interval '10 minutes', 'src_influx_agg_10m'),
  ('refresh_influx_agg_1h',  'public.influx_agg_1h',  interval '1 hour',     'src_influx_agg_1h'),
  ('refresh_influx_agg_1d',  'public.influx_agg_1d',  interval '1 day',      'src_influx_agg_1d'),
  ('refresh_comm_recv_1h',   'ksys.comm_recv_1h',     interval '1 hour',     'src_comm_recv_1h')
ON CONFLICT (job_name) DO NOTHING;
