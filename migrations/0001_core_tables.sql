-- Core relations shared by both engines (PRD 12.1, 27.3, 28.1).
-- Names and columns are the PRD's; internal helpers live in schema ksys.

CREATE SCHEMA IF NOT EXISTS ksys;

-- TimescaleDB's time_bucket origin for sub-month buckets; date_bin with it gives
-- the same boundaries.
CREATE OR REPLACE FUNCTION ksys.bucket_origin() RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT TIMESTAMPTZ '2000-01-03 00:00:00+00' $$;


-- Raw readings, UTC. PK (ts, tag_name) makes re-sent readings idempotent.
CREATE TABLE IF NOT EXISTS public.influx_hist (
  ts       timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  value    double precision NOT NULL,
  qc       smallint         DEFAULT 0,
  meta     jsonb            DEFAULT '{}'::jsonb,
  PRIMARY KEY (ts, tag_name)
);
CREATE INDEX IF NOT EXISTS idx_hist_tag_ts    ON public.influx_hist (tag_name, ts DESC);
CREATE INDEX IF NOT EXISTS influx_hist_ts_idx ON public.influx_hist (ts DESC);

CREATE TABLE IF NOT EXISTS public.influx_qc_rule (
  tag_name        text PRIMARY KEY,
  min_val         double precision,
  max_val         double precision,
  max_step        double precision,
  max_gap_seconds integer,
  allow_negative  boolean,
  enabled         boolean,
  meta            jsonb DEFAULT '{}'::jsonb,
  warn_min        double precision,
  warn_max        double precision,
  crit_min        double precision,
  crit_max        double precision,
  roc_max_per_min double precision,
  spike_zscore    double precision,
  deadband_pct    double precision
);

CREATE TABLE IF NOT EXISTS public.predictions (
  ts       timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  horizon  interval         NOT NULL,
  yhat     double precision NOT NULL,
  pi_low   double precision,
  pi_high  double precision,
  model_id text             NOT NULL,
  version  text             NOT NULL,
  features jsonb DEFAULT '{}'::jsonb,
  PRIMARY KEY (ts, tag_name, horizon, model_id, version)
);
CREATE INDEX IF NOT EXISTS idx_pred_tag_ts     ON public.predictions (tag_name, ts DESC);
CREATE INDEX IF NOT EXISTS predictions_ts_idx  ON public.predictions (ts DESC);

CREATE TABLE IF NOT EXISTS public.anomalies (
  ts       timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  score    double precision NOT NULL,
  level    text             NOT NULL,
  context  jsonb DEFAULT '{}'::jsonb,
  PRIMARY KEY (ts, tag_name)
);
CREATE INDEX IF NOT EXISTS anomalies_ts_idx      ON public.anomalies (ts DESC);
CREATE INDEX IF NOT EXISTS anomalies_tag_ts_desc ON public.anomalies (tag_name, ts DESC);

CREATE TABLE IF NOT EXISTS public.ingest_expectation (
  tag_name    text PRIMARY KEY,
  exp_per_min integer NOT NULL DEFAULT 1 CHECK (exp_per_min > 0),
  slo_warn    numeric NOT NULL DEFAULT 0.98,
  slo_crit    numeric NOT NULL DEFAULT 0.95,
  updated_at  timestamptz DEFAULT now()
);

-- Every tag ever seen. influx_latest walks this list with one index probe per
-- tag, which stays in milliseconds at any table size (DISTINCT ON does not).
CREATE TABLE IF NOT EXISTS ksys.tag_registry (
  tag_name   text PRIMARY KEY,
  first_seen timestamptz NOT NULL DEFAULT now()
);

-- Engine chosen by `ksys migrate` ('timescaledb' or 'postgres'); read by ksys.tick().
CREATE TABLE IF NOT EXISTS ksys.settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Scheduled work that the database itself does not run as a TimescaleDB policy:
-- on plain PostgreSQL every rollup refresh, on both engines the virtual tags,
-- technical indicators and the tag registry. ksys.tick() runs what is due;
-- pg_cron or `ksys worker` call ksys.tick().
CREATE TABLE IF NOT EXISTS ksys.jobs (
  job_name               text PRIMARY KEY,
  run_order              integer  NOT NULL,
  schedule_interval      interval NOT NULL,
  start_offset           interval,
  end_offset             interval,
  watermark              timestamptz,          -- data time done so far (watermark jobs)
  enabled                boolean  NOT NULL DEFAULT true,
  next_start             timestamptz NOT NULL DEFAULT '-infinity',
  last_run_started_at    timestamptz,
  last_successful_finish timestamptz,
  last_run_status        text,
  last_error             text,
  total_runs             bigint NOT NULL DEFAULT 0,
  total_failures         bigint NOT NULL DEFAULT 0
);

-- Plain PostgreSQL only: which table each rollup job maintains (empty on TimescaleDB,
-- where continuous aggregates and their policies do this work).
CREATE TABLE IF NOT EXISTS ksys.rollup_def (
  job_name     text PRIMARY KEY REFERENCES ksys.jobs (job_name),
  target       regclass NOT NULL,
  bucket_width interval NOT NULL,
  src_function text     NOT NULL
);
