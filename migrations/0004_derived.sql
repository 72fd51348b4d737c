-- Objects shared by both engines on top of the rollups: influx_latest,
-- comm_success_1h, tech_ind_1m_mv, virtual tags and ksys.tick(), the entry point
-- pg_cron (or `ksys worker`) calls every minute.

-- Latest value per tag: one index probe per registered tag instead of DISTINCT ON
-- over the whole history. Tags newer than the last registry run (at most one tick)
-- come from the last few minutes of raw data, so a new tag shows at once.
CREATE OR REPLACE VIEW public.influx_latest AS
SELECT r.tag_name, l.value, l.ts
FROM ksys.tag_registry r
CROSS JOIN LATERAL (
  SELECT h.value, h.ts
  FROM public.influx_hist h
  WHERE h.tag_name = r.tag_name
  ORDER BY h.ts DESC
  LIMIT 1
) l
UNION ALL
SELECT DISTINCT ON (h.tag_name) h.tag_name, h.value, h.ts
FROM public.influx_hist h
WHERE h.ts > now() - interval '5 minutes'
  AND NOT EXISTS (SELECT 1 FROM ksys.tag_registry r WHERE r.tag_name = h.tag_name)
ORDER BY 1, 3 DESC;

-- Hourly communication success (PRD 28.1). The expectation is joined at read time.
CREATE OR REPLACE VIEW public.comm_success_1h AS
SELECT r.bucket,
       r.tag_name,
       r.recv_msgs,
       (coalesce(e.exp_per_min, 1) * 60)::bigint                            AS exp_msgs,
       least(1.0, greatest(0.0,
             r.recv_msgs::numeric / (coalesce(e.exp_per_min, 1) * 60)))      AS success_rate,
       greatest(0, coalesce(e.exp_per_min, 1) * 60 - r.recv_msgs)::bigint    AS missing_msgs,
       r.last_seen_min
FROM ksys.comm_recv_1h r
LEFT JOIN public.ingest_expectation e USING (tag_name);

-- Technical indicators over 1-minute averages (PRD 12.1 #4). Window functions
-- cannot live in a continuous aggregate and a materialized view would recompute
-- all history, so this is a table refreshed from a point in time onwards.
CREATE TABLE IF NOT EXISTS public.tech_ind_1m_mv (
  bucket   timestamptz      NOT NULL,
  tag_name text             NOT NULL,
  avg      double precision,
  sma_10   double precision,
  sma_60   double precision,
  bb_top   double precision,
  bb_bot   double precision,
  slope_60 double precision,
  PRIMARY KEY (tag_name, bucket)
);
CREATE INDEX IF NOT EXISTS tech_ind_1m_mv_bucket_idx ON public.tech_ind_1m_mv (bucket);

-- Recompute indicator rows with bucket >= p_from. Each tag's 60 preceding rows are
-- read too, so the ROWS windows and lag(60) see exactly what a full recompute would.
CREATE OR REPLACE FUNCTION ksys.refresh_tech_ind(p_from timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
  WITH tags AS (
    SELECT DISTINCT tag_name FROM public.influx_agg_1m WHERE bucket >= p_from
  ), ctx AS (
    SELECT c.bucket, t.tag_name, c.avg
    FROM tags t
    CROSS JOIN LATERAL (
      (SELECT m.bucket, m.avg FROM public.influx_agg_1m m
        WHERE m.tag_name = t.tag_name AND m.bucket < p_from
        ORDER BY m.bucket DESC LIMIT 60)
      UNION ALL
      (SELECT m.bucket, m.avg FROM public.influx_agg_1m m
        WHERE m.tag_name = t.tag_name AND m.bucket >= p_from)
    ) c
  ), calc AS (
    SELECT bucket, tag_name, avg,
           avg(avg) OVER w10                      AS sma_10,
           avg(avg) OVER w60                      AS sma_60,
           avg + 2 * stddev_samp(avg) OVER w20    AS bb_top,
           avg - 2 * stddev_samp(avg) OVER w20    AS bb_bot,
           avg - lag(avg, 60) OVER (PARTITION BY tag_name ORDER BY bucket) AS slope_60
    FROM ctx
    WINDOW w10 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 9  PRECEDING AND CURRENT ROW),
           w20 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
           w60 AS (PARTITION BY tag_name ORDER BY bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)
  ), fresh AS (
    SELECT * FROM calc WHERE bucket >= p_from
  ), del AS (
    DELETE FROM public.tech_ind_1m_mv t
    WHERE t.bucket >= p_from
      AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.tag_name = t.tag_name AND f.bucket = t.bucket)
    RETURNING 1
  ), up AS (
    INSERT INTO public.tech_ind_1m_mv AS t (bucket, tag_name, avg, sma_10, sma_60, bb_top, bb_bot, slope_60)
    SELECT bucket, tag_name, avg, sma_10, sma_60, bb_top, bb_bot, slope_60 FROM fresh
    ON CONFLICT (tag_name, bucket) DO UPDATE
      SET avg = excluded.avg, sma_10 = excluded.sma_10, sma_60 = excluded.sma_60,
          bb_top = excluded.bb_top, bb_bot = excluded.bb_bot, slope_60 = excluded.slope_60
      WHERE (t.*) IS DISTINCT FROM (excluded.*)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM del) INTO v_n;
  RETURN v_n;
END
$$;

-- Virtual tags (seed 000), one row per complete minute in [p_from, p_to), from the
-- minute averages of their inputs. Units (PRD.md): pressures in bar, flows in m3/h.
--   PRESSURE_DIFF           = INLET_PRESSURE - OUTLET_PRESSURE            [bar]
--   RECOVERY_RATE           = PRODUCT_FLOW / FEED_FLOW * 100              [%]  (no row when FEED_FLOW <= 0)
--   OPERATING_TIME          = 1 when FEED_FLOW > 1.0 else 0               [min of operation in that minute]
--   TOTAL_PRODUCT_VOLUME_1H = sum over the trailing 60 minutes of PRODUCT_FLOW / 60   [m3]
-- Upserts on the (ts, tag_name) key, so re-running a minute writes the same rows.
CREATE OR REPLACE FUNCTION ksys.compute_virtual_tags(p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
  WITH per_minute AS (
    SELECT date_bin('1 minute', ts, ksys.bucket_origin()) AS minute, tag_name, avg(value) AS v
    FROM public.influx_hist
    WHERE tag_name IN ('INLET_PRESSURE', 'OUTLET_PRESSURE', 'FEED_FLOW', 'PRODUCT_FLOW')
      AND ts >= p_from - interval '59 minutes' AND ts < p_to
    GROUP BY 1, 2
  ), wide AS (
    SELECT minute,
           max(v) FILTER (WHERE tag_name = 'INLET_PRESSURE')  AS inlet,
           max(v) FILTER (WHERE tag_name = 'OUTLET_PRESSURE') AS outlet,
           max(v) FILTER (WHERE tag_name = 'FEED_FLOW')       AS feed,
           max(v) FILTER (WHERE tag_name = 'PRODUCT_FLOW')    AS product
    FROM per_minute
    GROUP BY minute
  ), with_volume AS (
    SELECT *,
           sum(product / 60.0) OVER (ORDER BY minute
                                     RANGE BETWEEN interval '59 minutes' PRECEDING AND CURRENT ROW) AS volume_1h
    FROM wide
  ), derived AS (
    SELECT minute, 'PRESSURE_DIFF' AS tag_name, inlet - outlet AS value
      FROM with_volume WHERE inlet IS NOT NULL AND outlet IS NOT NULL
    UNION ALL
    SELECT minute, 'RECOVERY_RATE', product / feed * 100
      FROM with_volume WHERE product IS NOT NULL AND feed > 0
    UNION ALL
    SELECT minute, 'OPERATING_TIME', CASE WHEN feed > 1.0 THEN 1.0 ELSE 0.0 END
      FROM with_volume WHERE feed IS NOT NULL
    UNION ALL
    SELECT minute, 'TOTAL_PRODUCT_VOLUME_1H', volume_1h
      FROM with_volume WHERE product IS NOT NULL
  ), up AS (
    INSERT INTO public.influx_hist AS h (ts, tag_name, value, qc, meta)
    SELECT minute, tag_name, value, 0, '{"virtual": true}'::jsonb
    FROM derived
    WHERE minute >= p_from AND minute < p_to
    ON CONFLICT (ts, tag_name) DO UPDATE SET value = excluded.value
      WHERE h.value IS DISTINCT FROM excluded.value
    RETURNING 1
  )
  SELECT count(*) INTO v_n FROM up;
  RETURN v_n;
END
$$;

-- Register every tag in influx_hist (loose index scan over idx_hist_tag_ts).
-- Called after migrations, restores and backfills; ticks register recent tags.
CREATE OR REPLACE FUNCTION ksys.register_all_tags() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
  WITH RECURSIVE t AS (
    (SELECT tag_name FROM public.influx_hist ORDER BY tag_name LIMIT 1)
    UNION ALL
    SELECT (SELECT h.tag_name FROM public.influx_hist h
             WHERE h.tag_name > t.tag_name ORDER BY h.tag_name LIMIT 1)
    FROM t WHERE t.tag_name IS NOT NULL
  ), ins AS (
    INSERT INTO ksys.tag_registry (tag_name)
    SELECT tag_name FROM t WHERE tag_name IS NOT NULL
    ON CONFLICT (tag_name) DO NOTHING
    RETURNING 1
  )
  SELECT count(*) INTO v_n FROM ins;
  RETURN v_n;
END
$$;

-- Recompute the buckets overlapping [p_from, p_to) of one rollup from its source:
-- upsert rows that changed, delete buckets whose source rows are gone.
CREATE OR REPLACE FUNCTION ksys.refresh_rollup(p_job text, p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  d      ksys.rollup_def;
  v_from timestamptz;
  v_to   timestamptz;
  v_cols text;
  v_set  text;
  v_n    bigint;
BEGIN
  SELECT * INTO STRICT d FROM ksys.rollup_def WHERE job_name = p_job;
  v_from := date_bin(d.bucket_width, p_from, ksys.bucket_origin());
  v_to   := date_bin(d.bucket_width, p_to, ksys.bucket_origin());
  IF v_to < p_to THEN
    v_to := v_to + d.bucket_width;
  END IF;

  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
         string_agg(format('%1$I = excluded.%1$I', attname), ', ' ORDER BY attnum)
           FILTER (WHERE attname NOT IN ('bucket', 'tag_name'))
    INTO v_cols, v_set
  FROM pg_attribute
  WHERE attrelid = d.target AND attnum > 0 AND NOT attisdropped;

  EXECUTE format($q$
    WITH src AS (SELECT * FROM ksys.%1$I($1, $2)),
    del AS (
      DELETE FROM %2$s t
      WHERE t.bucket >= $1 AND t.bucket < $2
        AND NOT EXISTS (SELECT 1 FROM src WHERE src.tag_name = t.tag_name AND src.bucket = t.bucket)
      RETURNING 1),
    up AS (
      INSERT INTO %2$s AS t (%3$s) SELECT %3$s FROM src
      ON CONFLICT (tag_name, bucket) DO UPDATE SET %4$s
      WHERE (t.*) IS DISTINCT FROM (excluded.*)
      RETURNING 1)
    SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM del)$q$,
    d.src_function, d.target, v_cols, v_set)
  INTO v_n USING v_from, v_to;
  RETURN v_n;
END
$$;

-- One job; p_due = its schedule says a full run is due. Rollup jobs that are not
-- due still recompute their newest two buckets, so plain PostgreSQL shows the
-- current minute after one tick, like TimescaleDB's real-time aggregation.
CREATE OR REPLACE FUNCTION ksys.run_job(p_job text, p_due boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  j      ksys.jobs;
  d      ksys.rollup_def;
  v_now  timestamptz := now();
  v_from timestamptz;
  v_to   timestamptz;
BEGIN
  SELECT * INTO STRICT j FROM ksys.jobs WHERE job_name = p_job;
  SELECT * INTO d FROM ksys.rollup_def WHERE job_name = p_job;

  IF d.job_name IS NOT NULL THEN
    v_to := v_now + d.bucket_width;
    IF p_due THEN
      -- Never recompute buckets older than the oldest raw reading: retention
      -- dropped their source, and their rollups must survive it.
      v_from := greatest(v_now - j.start_offset,
                         (SELECT min(ts) FROM public.influx_hist));
    ELSE
      v_from := date_bin(d.bucket_width, v_now, ksys.bucket_origin()) - d.bucket_width;
    END IF;
    IF v_from IS NOT NULL THEN
      PERFORM ksys.refresh_rollup(p_job, v_from, v_to);
    END IF;

  ELSIF p_job = 'virtual_tags' THEN
    v_to := date_bin('1 minute', v_now, ksys.bucket_origin());
    -- From the watermark (fills every minute missed while down), and always the
    -- trailing start_offset again for readings that arrived late.
    v_from := least(coalesce(j.watermark,
                             (SELECT min(ts) FROM public.influx_hist
                               WHERE tag_name IN ('INLET_PRESSURE', 'OUTLET_PRESSURE',
                                                  'FEED_FLOW', 'PRODUCT_FLOW'))),
                    v_to - j.start_offset);
    PERFORM ksys.compute_virtual_tags(date_bin('1 minute', v_from, ksys.bucket_origin()), v_to);
    UPDATE ksys.jobs SET watermark = v_to WHERE job_name = p_job;

  ELSIF p_job = 'tech_ind_1m_mv' THEN
    v_to := date_bin('1 minute', v_now, ksys.bucket_origin());
    v_from := least(coalesce(j.watermark, date_bin('1 minute', (SELECT min(ts) FROM public.influx_hist),
                                                   ksys.bucket_origin())),
                    v_to - j.start_offset);
    PERFORM ksys.refresh_tech_ind(v_from);
    UPDATE ksys.jobs SET watermark = v_to WHERE job_name = p_job;

  ELSIF p_job = 'tag_registry' THEN
    INSERT INTO ksys.tag_registry (tag_name)
    SELECT DISTINCT tag_name FROM public.influx_hist WHERE ts >= v_now - j.start_offset
    ON CONFLICT (tag_name) DO NOTHING;

  ELSIF p_job = 'retention_influx_hist' THEN
    IF p_due THEN
      DELETE FROM public.influx_hist WHERE ts < v_now - j.start_offset;
    END IF;

  ELSE
    RAISE EXCEPTION 'unknown ksys job %', p_job;
  END IF;
END
$$;

-- Run every enabled job in order; record each due run's outcome like
-- timescaledb_information.job_stats does. A failing job does not stop the others.
-- Returns the number of failed jobs, or -1 when another tick holds the lock.
CREATE OR REPLACE FUNCTION ksys.tick() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  j          ksys.jobs;
  v_due      boolean;
  v_started  timestamptz;
  v_failures integer := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('ksys.tick')) THEN
    RETURN -1;
  END IF;
  FOR j IN SELECT * FROM ksys.jobs WHERE enabled ORDER BY run_order, job_name LOOP
    v_due := j.next_start <= now();
    v_started := clock_timestamp();
    BEGIN
      PERFORM ksys.run_job(j.job_name, v_due);
      IF v_due THEN
        UPDATE ksys.jobs
           SET last_run_started_at = v_started,
               last_successful_finish = clock_timestamp(),
               last_run_status = 'Success',
               last_error = NULL,
               total_runs = total_runs + 1,
               -- next boundary of the schedule grid, so a tick a few ms early still finds it due
               next_start = date_bin(schedule_interval, now(), ksys.bucket_origin()) + schedule_interval
         WHERE job_name = j.job_name;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      v_failures := v_failures + 1;
      UPDATE ksys.jobs
         SET last_run_started_at = v_started,
             last_run_status = 'Failed',
             last_error = SQLERRM,
             total_runs = total_runs + 1,
             total_failures = total_failures + 1,
             next_start = now() + least(schedule_interval, interval '1 minute')
       WHERE job_name = j.job_name;
      RAISE WARNING 'ksys job % failed: %', j.job_name, SQLERRM;
    END;
  END LOOP;
  RETURN v_failures;
END
$$;

INSERT INTO ksys.jobs (job_name, run_order, schedule_interval, start_offset) VALUES
  ('virtual_tags',   20, interval '1 minute', interval '10 minutes'),
  ('tag_registry',   25, interval '1 minute', interval '2 hours'),
  ('tech_ind_1m_mv', 80, interval '1 minute', interval '2 hours')
ON CONFLICT (job_name) DO NOTHING;

-- Nothing here may run from the app's read-only role.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
