-- Found by the benchmark at 90 days x 20 tags (bench/README.md, findings 7 and 8).
--
-- 1. refresh_tech_ind read each tag's whole history for its "60 preceding rows":
--    on TimescaleDB influx_agg_1m is a real-time continuous aggregate (a UNION ALL
--    of the materialized hypertable and the raw tail), so `ORDER BY bucket DESC
--    LIMIT 60` cannot stop early and sorted every bucket of every tag (10-12 s a
--    minute tick at 90 days). Now each tag's lookup starts at the 60th bucket
--    before p_from, found within the day before p_from (an index range; on plain
--    PostgreSQL 60 entries of the primary key, as before), or, when that day holds
--    fewer than 60 buckets (sparse tags, tags resuming after a gap), anywhere
--    before p_from. A day that holds 60 buckets holds the 60 newest, so the rows
--    read are exactly the unbounded lookup's either way. JIT is off for the
--    function: the plan's estimate over the view is far above jit_above_cost
--    and compiling took 0.7-1.0 s per call, more than the query itself.
--    Measured at 21 days x 20 tags, TimescaleDB: 1.38 s -> 0.10 s a call.
--
-- 2. Catch-up from a watermark far behind (after an outage or a backfill) ran as
--    one statement up to now. On TimescaleDB the virtual-tag upsert into
--    compressed chunks (older than 7 days) decompresses every batch it might
--    conflict with and stopped at timescaledb.max_tuples_decompressed_per_dml_
--    transaction (100 000); the whole tick is one transaction, so the watermark
--    was rolled back and every later tick failed the same way. Now each run
--    computes at most one day from its watermark and advances the watermark to
--    the end of that day; the next ticks continue until caught up (1 440 times
--    real time). Caught up, a run is what it was: the trailing start_offset
--    again, up to the current minute. Time without any raw reading is skipped
--    (no virtual tag, no 1-minute bucket to compute there), so after restoring
--    an old backup the first tick is still current at once.
--
--    Why one day: a virtual tag has one row a minute, and a compressed batch at
--    most 1 000 rows of one segment (tag_name), so one batch covers at least
--    1 000 minutes when the segment is whole. A day (1 440 minutes) overlaps at
--    most 3 batches per tag in one chunk, 4 when it crosses a chunk boundary:
--    4 tags x 4 batches x 1 000 = 16 000 tuples, and even a fragmented segment
--    (small batches after recompression) cannot exceed the day's own 4 x 1 440
--    rows plus two partial batches per tag and chunk (4 x (1 440 + 4 000) =
--    21 760), about a fifth of the default limit. Measured (TimescaleDB 2.28.3):
--    9 000 tuples for a day inside one chunk, 7 790 for one across a boundary.
--
--    tech_ind_1m_mv gets the same bound. It is a plain table (nothing to
--    decompress), but a multi-week catch-up in one tick is one window sort and
--    upsert of every minute of every tag (0.6-0.8 s a day of 24 tags: 20 s for
--    three weeks, about a minute for 90 days), holding the tick's lock and
--    transaction, with the virtual-tag rows written earlier in the same tick,
--    for all that time. A day per tick keeps every tick around a second; caught
--    up it still recomputes everything from the trailing start_offset on, the
--    bucket in progress included, as before.

CREATE OR REPLACE FUNCTION ksys.refresh_tech_ind(p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE plpgsql
SET jit = off
AS $$
-- Recompute indicator rows with p_from <= bucket < p_to. Indicators of a bucket
-- depend only on it and the 60 rows before it, so any span is exact.
DECLARE v_n bigint;
BEGIN
  WITH tags AS (
    SELECT DISTINCT tag_name FROM public.influx_agg_1m WHERE bucket >= p_from AND bucket < p_to
  ), ctx AS (
    SELECT c.bucket, t.tag_name, c.avg
    FROM tags t
    CROSS JOIN LATERAL (
      (SELECT m.bucket, m.avg FROM public.influx_agg_1m m
        WHERE m.tag_name = t.tag_name AND m.bucket < p_from
          -- from the 60th bucket before p_from when the day before p_from holds
          -- 60; otherwise all history (sparse tags, tags resuming after a gap)
          AND m.bucket >= coalesce(
                (SELECT x.bucket FROM public.influx_agg_1m x
                  WHERE x.tag_name = t.tag_name AND x.bucket < p_from
                    AND x.bucket >= p_from - interval '1 day'
                  ORDER BY x.bucket DESC OFFSET 59 LIMIT 1),
                '-infinity')
        ORDER BY m.bucket DESC LIMIT 60)
      UNION ALL
      (SELECT m.bucket, m.avg FROM public.influx_agg_1m m
        WHERE m.tag_name = t.tag_name AND m.bucket >= p_from AND m.bucket < p_to)
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
    WHERE t.bucket >= p_from AND t.bucket < p_to
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

-- Every row with bucket >= p_from (refresh_range, ad-hoc use).
CREATE OR REPLACE FUNCTION ksys.refresh_tech_ind(p_from timestamptz)
RETURNS bigint LANGUAGE sql AS $$
  SELECT ksys.refresh_tech_ind(p_from, 'infinity'::timestamptz)
$$;

-- Catching up, time without a single raw reading has nothing to compute (the
-- plant was off; the time between a backup and its restore): start at the minute
-- of the next reading, NULL when there is none. One probe of the primary key
-- (ts, tag_name); 2 ms inside compressed chunks.
CREATE OR REPLACE FUNCTION ksys.next_reading_minute(p_from timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT date_bin('1 minute', min(ts), ksys.bucket_origin()) FROM public.influx_hist WHERE ts >= p_from
$$;

-- As in 0004, except the virtual_tags and tech_ind_1m_mv branches: at most
-- c_catchup from the watermark per run, skipping time without readings (see
-- the top of this file).
CREATE OR REPLACE FUNCTION ksys.run_job(p_job text, p_due boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c_catchup constant interval := interval '1 day';
  j      ksys.jobs;
  d      ksys.rollup_def;
  v_now  timestamptz := now();
  v_end  timestamptz;
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
    v_end := date_bin('1 minute', v_now, ksys.bucket_origin());
    -- From the watermark (fills every minute missed while down), and always the
    -- trailing start_offset again for readings that arrived late; behind by more
    -- than c_catchup, one c_catchup at a time.
    v_from := date_bin('1 minute',
                       least(coalesce(j.watermark,
                                      (SELECT min(ts) FROM public.influx_hist
                                        WHERE tag_name IN ('INLET_PRESSURE', 'OUTLET_PRESSURE',
                                                           'FEED_FLOW', 'PRODUCT_FLOW'))),
                             v_end - j.start_offset),
                       ksys.bucket_origin());
    IF v_from < v_end - j.start_offset THEN
      v_from := least(ksys.next_reading_minute(v_from), v_end - j.start_offset);
    END IF;
    v_to := least(v_end, v_from + c_catchup);
    PERFORM ksys.compute_virtual_tags(v_from, v_to);
    UPDATE ksys.jobs SET watermark = v_to WHERE job_name = p_job;

  ELSIF p_job = 'tech_ind_1m_mv' THEN
    v_end := date_bin('1 minute', v_now, ksys.bucket_origin());
    v_from := least(coalesce(j.watermark, date_bin('1 minute', (SELECT min(ts) FROM public.influx_hist),
                                                   ksys.bucket_origin())),
                    v_end - j.start_offset);
    IF v_from < v_end - j.start_offset THEN
      v_from := least(ksys.next_reading_minute(v_from), v_end - j.start_offset);
    END IF;
    IF v_from + c_catchup < v_end THEN
      v_to := v_from + c_catchup;
      PERFORM ksys.refresh_tech_ind(v_from, v_to);
    ELSE
      v_to := v_end;
      PERFORM ksys.refresh_tech_ind(v_from);  -- up to the bucket in progress
    END IF;
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

-- Nothing here may run from the app's read-only role.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
