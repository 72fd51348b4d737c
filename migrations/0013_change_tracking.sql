-- Change tracking: derived data follows every write to influx_hist, whenever the
-- reading is for and whatever order it arrives in.
--
-- Until now the jobs recomputed fixed trailing windows (10 minutes of virtual
-- tags, each rollup policy's start offset) plus whatever lay after a watermark.
-- A reading 10-60 minutes late never got its virtual tags, a backfill froze the
-- hour and the day in progress, and watermarks set by a tick during a bulk load
-- made the next ticks recompute a month one day at a time.
--
-- Now every statement that writes influx_hist (COPY, INSERT .. ON CONFLICT,
-- UPDATE, DELETE, TRUNCATE) records the time ranges it touched in
-- ksys.hist_changes, one row per UTC hour it touched. Each tick moves those rows
-- to the pending ranges of every consumer (ksys.change_consumers), merged, and
-- each consumer recomputes exactly its pending ranges:
--   virtual_tags  changes of their input tags; a minute's change reaches the
--                 next 59 minutes (TOTAL_PRODUCT_VOLUME_1H), and only complete
--                 minutes are computed, so the minute in progress stays pending.
--   derived       everything built on raw readings, in dependency order:
--                 plain PostgreSQL 1m -> features_5m -> 10m -> 1h -> 1d -> comm,
--                 then tech_ind_1m_mv and the tag registry; TimescaleDB: the
--                 continuous aggregates are refreshed over the same ranges (their
--                 own invalidation log decides what to recompute; nothing past a
--                 policy's end offset is materialized), then tech_ind_1m_mv.
-- Virtual-tag rows are writes to influx_hist too, so what virtual_tags computes
-- is picked up by `derived` in the same tick.
--
-- Retention deletes are not logged (set ksys.skip_change_log): the rollups
-- outlive raw retention (PRD.md resolution 14).
--
-- A consumer works through at most one day of pending time per tick, newest
-- first, so the minute in progress stays current during a long catch-up and a
-- virtual-tag upsert into compressed TimescaleDB chunks stays under the
-- decompression limit (0010_job_catchup.sql). A bulk load (simulate, backfill)
-- ticks until what it wrote is done (ksys_app/ops/refresh.py).
--
-- The scheduler calls the procedure ksys.run_tick(): TimescaleDB's
-- refresh_continuous_aggregate commits by itself and cannot run inside a
-- function, so the jobs run first (ksys.tick(), one transaction) and the
-- continuous aggregates after it, each range in its own transactions.

CREATE OR REPLACE FUNCTION ksys.engine() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT value FROM ksys.settings WHERE key = 'engine' $$;

-- Tags the virtual tags are computed from (migration 0004's compute_virtual_tags).
CREATE OR REPLACE FUNCTION ksys.virtual_inputs() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ARRAY['INLET_PRESSURE', 'OUTLET_PRESSURE', 'FEED_FLOW', 'PRODUCT_FLOW'] $$;

CREATE OR REPLACE FUNCTION ksys.virtual_tag_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ARRAY['PRESSURE_DIFF', 'RECOVERY_RATE', 'OPERATING_TIME', 'TOTAL_PRODUCT_VOLUME_1H'] $$;

-- Raw readings older than this are never recomputed into derived data (the
-- retention job is about to delete them; their rollups must survive it).
CREATE OR REPLACE FUNCTION ksys.retention_horizon() RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT now() - interval '365 days' $$;

-- What writers touched, not yet handed to the consumers. [lo, hi) in data time.
CREATE TABLE IF NOT EXISTS ksys.hist_changes (
  lo        timestamptz NOT NULL,
  hi        timestamptz NOT NULL,
  inputs    boolean     NOT NULL,      -- touched an input of the virtual tags
  logged_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ksys.change_consumers (
  consumer    text PRIMARY KEY,
  inputs_only boolean  NOT NULL,       -- only changes of ksys.virtual_inputs()
  grain       interval,                -- ranges widened to this grid ...
  reach       interval,                -- ... and this much past their end
  merge_gap   interval NOT NULL        -- ranges closer than this are worked on as one
);
-- merge_gap: every piece costs a fixed set of statements (six rollups, the
-- indicators' look-ups), about what recomputing an hour of a few dozen tags
-- costs; so ranges less than an hour apart are one piece. Measured with
-- bench/soak.py (20 late readings a second, anywhere in 3 days): a tick took
-- 53 s with ranges merged only when 10 minutes apart, one per late reading.
INSERT INTO ksys.change_consumers VALUES
  ('virtual_tags', true,  interval '1 minute', interval '59 minutes', interval '1 hour'),
  ('derived',      false, NULL,                NULL,                  interval '1 hour')
ON CONFLICT (consumer) DO NOTHING;

-- Disjoint, merged [lo, hi) per consumer; logged_at is the oldest change inside
-- (doctor's lag). No key: ranges are rewritten as a whole when they merge.
CREATE TABLE IF NOT EXISTS ksys.pending_ranges (
  consumer  text        NOT NULL REFERENCES ksys.change_consumers,
  lo        timestamptz NOT NULL,
  hi        timestamptz NOT NULL,
  logged_at timestamptz NOT NULL,
  CHECK (lo < hi)
);
CREATE INDEX IF NOT EXISTS pending_ranges_consumer ON ksys.pending_ranges (consumer, hi);

-- The trigger runs as the writer (eco_writer, the simulator, backfill), which has
-- no rights in schema ksys: SECURITY DEFINER with a fixed search_path.
CREATE OR REPLACE FUNCTION ksys.log_hist_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF current_setting('ksys.skip_change_log', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO ksys.hist_changes (lo, hi, inputs)
    VALUES (ksys.retention_horizon(), now() + interval '1 day', true);
    RETURN NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO ksys.hist_changes (lo, hi, inputs)
    SELECT min(ts), max(ts) + interval '1 microsecond', bool_or(tag_name = ANY (ksys.virtual_inputs()))
    FROM new_rows
    GROUP BY date_bin('1 hour', ts, ksys.bucket_origin());
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO ksys.hist_changes (lo, hi, inputs)
    SELECT min(ts), max(ts) + interval '1 microsecond', bool_or(tag_name = ANY (ksys.virtual_inputs()))
    FROM old_rows
    GROUP BY date_bin('1 hour', ts, ksys.bucket_origin());
  END IF;
  RETURN NULL;
END
$$;

-- DELETE on a compressed TimescaleDB hypertable cannot have a transition table:
-- a row-level trigger logs each UTC hour once per transaction (the hours logged
-- so far are kept in transaction-local settings; collect_changes clears them,
-- since it takes the rows they stand for).
CREATE OR REPLACE FUNCTION ksys.log_hist_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  v_ts    timestamptz;
  v_tag   text;
  v_hour  timestamptz;
  v_key   text;
  v_seen  text;
BEGIN
  IF current_setting('ksys.skip_change_log', true) = 'on' THEN
    RETURN NULL;
  END IF;
  FOR i IN 1 .. CASE WHEN TG_OP = 'UPDATE' THEN 2 ELSE 1 END LOOP
    IF i = 1 AND TG_OP <> 'INSERT' THEN
      v_ts := OLD.ts; v_tag := OLD.tag_name;
    ELSE
      v_ts := NEW.ts; v_tag := NEW.tag_name;
    END IF;
    v_hour := date_bin('1 hour', v_ts, ksys.bucket_origin());
    v_key := extract(epoch FROM v_hour)::bigint::text
             || CASE WHEN v_tag = ANY (ksys.virtual_inputs()) THEN 'i' ELSE 'o' END;
    CONTINUE WHEN current_setting('ksys.change_last', true) = v_key;
    v_seen := coalesce(current_setting('ksys.change_seen', true), '');
    IF strpos(v_seen, '/' || v_key || '/') = 0 THEN
      INSERT INTO ksys.hist_changes (lo, hi, inputs)
      VALUES (v_hour, v_hour + interval '1 hour', v_tag = ANY (ksys.virtual_inputs()));
      PERFORM set_config('ksys.change_seen', v_seen || '/' || v_key || '/', true);
    END IF;
    PERFORM set_config('ksys.change_last', v_key, true);
  END LOOP;
  RETURN NULL;
END
$$;

-- Statement-level triggers with transition tables where the engine has them:
-- one aggregate per statement, so a COPY of millions of rows logs one row per
-- hour it covers. (PostgreSQL allows a transition table only on a trigger for a
-- single event.)
DROP TRIGGER IF EXISTS influx_hist_changes_ins ON public.influx_hist;
DROP TRIGGER IF EXISTS influx_hist_changes_upd ON public.influx_hist;
DROP TRIGGER IF EXISTS influx_hist_changes_del ON public.influx_hist;
DROP TRIGGER IF EXISTS influx_hist_changes_trunc ON public.influx_hist;
CREATE TRIGGER influx_hist_changes_ins AFTER INSERT ON public.influx_hist
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();
CREATE TRIGGER influx_hist_changes_upd AFTER UPDATE ON public.influx_hist
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();
DO $$
BEGIN
  IF ksys.engine() = 'timescaledb' THEN
    -- a row trigger, which also makes TimescaleDB decompress batches instead of
    -- dropping whole compressed batches unseen by any trigger
    CREATE TRIGGER influx_hist_changes_del AFTER DELETE ON public.influx_hist
      FOR EACH ROW EXECUTE FUNCTION ksys.log_hist_row_change();
  ELSE
    CREATE TRIGGER influx_hist_changes_del AFTER DELETE ON public.influx_hist
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();
  END IF;
END$$;
CREATE TRIGGER influx_hist_changes_trunc AFTER TRUNCATE ON public.influx_hist
  FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();

-- Hand the logged changes to every consumer and merge overlapping or touching
-- ranges. Returns the number of log rows taken.
CREATE OR REPLACE FUNCTION ksys.collect_changes() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
  PERFORM set_config('ksys.change_seen', '', true), set_config('ksys.change_last', '', true);
  WITH taken AS (
    DELETE FROM ksys.hist_changes RETURNING lo, hi, inputs, logged_at
  ), fan AS (
    SELECT c.consumer,
           CASE WHEN c.grain IS NULL THEN t.lo
                ELSE date_bin(c.grain, t.lo, ksys.bucket_origin()) END AS lo,
           CASE WHEN c.grain IS NULL THEN t.hi
                ELSE date_bin(c.grain, t.hi - interval '1 microsecond', ksys.bucket_origin())
                     + c.grain + coalesce(c.reach, interval '0') END AS hi,
           t.logged_at
    FROM taken t
    JOIN ksys.change_consumers c ON t.inputs OR NOT c.inputs_only
  ), old AS (
    DELETE FROM ksys.pending_ranges p
    WHERE p.consumer IN (SELECT consumer FROM fan)
    RETURNING p.consumer, p.lo, p.hi, p.logged_at
  ), ranges AS (
    SELECT r.*, c.merge_gap
    FROM (SELECT * FROM old UNION ALL SELECT * FROM fan) r JOIN ksys.change_consumers c USING (consumer)
  ), marked AS (
    SELECT consumer, lo, hi, logged_at,
           CASE WHEN lo <= max(hi) OVER (PARTITION BY consumer ORDER BY lo, hi
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + merge_gap
                THEN 0 ELSE 1 END AS starts_group
    FROM ranges
  ), grouped AS (
    SELECT *, sum(starts_group) OVER (PARTITION BY consumer ORDER BY lo, hi ROWS UNBOUNDED PRECEDING) AS g
    FROM marked
  ), ins AS (
    INSERT INTO ksys.pending_ranges (consumer, lo, hi, logged_at)
    SELECT consumer, min(lo), max(hi), min(logged_at) FROM grouped GROUP BY consumer, g
    RETURNING 1
  )
  SELECT count(*) INTO v_n FROM taken;
  RETURN v_n;
END
$$;

-- Every piece a tick takes, until p_budget of data time is used (the last piece
-- cut to its newest part): first a range reaching into the last hour (the live
-- minutes stay current during a long catch-up), then the longest-waiting ones
-- (so that late data spread over days, arriving faster than a tick works it
-- off, cannot starve older ranges), newest first among equals (one bulk load).
CREATE OR REPLACE FUNCTION ksys.pending_pieces(p_consumer text, p_bound timestamptz, p_budget interval)
RETURNS TABLE (lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT greatest(r.lo, r.hi - (p_budget - r.used)), r.hi
  FROM (SELECT p.lo, least(p.hi, p_bound) AS hi, p.turn,
               coalesce(sum(least(p.hi, p_bound) - p.lo) OVER (ORDER BY p.turn
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), interval '0') AS used
        FROM (SELECT q.*, row_number() OVER (ORDER BY q.hi > now() - interval '1 hour' DESC, q.logged_at,
                                                      q.hi DESC) AS turn
              FROM ksys.pending_ranges q
              WHERE q.consumer = p_consumer AND q.lo < p_bound) p) r
  WHERE r.used < p_budget
  ORDER BY r.turn
$$;

-- [p_lo, p_hi) of a consumer is done: cut it out of its pending ranges.
CREATE OR REPLACE FUNCTION ksys.mark_done(p_consumer text, p_lo timestamptz, p_hi timestamptz)
RETURNS void LANGUAGE sql AS $$
  WITH hit AS (
    DELETE FROM ksys.pending_ranges
    WHERE consumer = p_consumer AND lo < p_hi AND hi > p_lo
    RETURNING consumer, lo, hi, logged_at
  )
  INSERT INTO ksys.pending_ranges (consumer, lo, hi, logged_at)
  SELECT consumer, lo, p_lo, logged_at FROM hit WHERE lo < p_lo
  UNION ALL
  SELECT consumer, p_hi, hi, logged_at FROM hit WHERE hi > p_hi
$$;

-- Where each consumer may work up to: virtual tags only for complete minutes.
CREATE OR REPLACE FUNCTION ksys.consumer_bound(p_consumer text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE p_consumer WHEN 'virtual_tags' THEN date_bin('1 minute', now(), ksys.bucket_origin())
                         ELSE 'infinity'::timestamptz END
$$;

-- Work that exists and may be done now: log rows not yet collected, and pending
-- ranges below their consumer's bound; optionally only what was logged before
-- p_before. `oldest` is since when the oldest of it could have been done.
CREATE OR REPLACE FUNCTION ksys.backlog(p_before timestamptz DEFAULT 'infinity')
RETURNS TABLE (consumer text, ranges bigint, oldest timestamptz, span interval)
LANGUAGE sql STABLE AS $$
  SELECT c.consumer,
         count(p.lo) + (SELECT count(*) FROM ksys.hist_changes h
                         WHERE h.logged_at < p_before AND (h.inputs OR NOT c.inputs_only)),
         -- a range of minutes not yet complete when it was logged waits from its end, not its logging
         least(min(greatest(p.logged_at, p.lo + coalesce(c.grain, interval '0'))),
               (SELECT min(h.logged_at) FROM ksys.hist_changes h
                                   WHERE h.logged_at < p_before AND (h.inputs OR NOT c.inputs_only))),
         coalesce(sum(least(p.hi, ksys.consumer_bound(c.consumer)) - p.lo), interval '0')
  FROM ksys.change_consumers c
  LEFT JOIN ksys.pending_ranges p
    ON p.consumer = c.consumer AND p.lo < ksys.consumer_bound(c.consumer) AND p.logged_at < p_before
  GROUP BY c.consumer
$$;

-- Virtual tags (seed 000) as in 0004, and a minute whose inputs are gone loses
-- the virtual rows that needed them (a deleted or corrected input reading).
CREATE OR REPLACE FUNCTION ksys.compute_virtual_tags(p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
  WITH per_minute AS (
    SELECT date_bin('1 minute', ts, ksys.bucket_origin()) AS minute, tag_name, avg(value) AS v
    FROM public.influx_hist
    WHERE tag_name = ANY (ksys.virtual_inputs())
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
    SELECT minute AS ts, tag_name, value FROM (
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
    ) d
    WHERE minute >= p_from AND minute < p_to
  ), del AS (
    -- the rows deleted and the rows upserted are disjoint, so one statement does both.
    -- The tag names are literals: TimescaleDB then decompresses only the virtual
    -- tags' batches (segmentby tag_name) to find what to delete, not every tag's.
    DELETE FROM public.influx_hist h
    WHERE h.tag_name IN ('PRESSURE_DIFF', 'RECOVERY_RATE', 'OPERATING_TIME', 'TOTAL_PRODUCT_VOLUME_1H')
      AND h.ts >= p_from AND h.ts < p_to
      AND NOT EXISTS (SELECT 1 FROM derived v WHERE v.ts = h.ts AND v.tag_name = h.tag_name)
    RETURNING 1
  ), up AS (
    INSERT INTO public.influx_hist AS h (ts, tag_name, value, qc, meta)
    SELECT ts, tag_name, value, 0, '{"virtual": true}'::jsonb FROM derived
    ON CONFLICT (ts, tag_name) DO UPDATE SET value = excluded.value
      WHERE h.value IS DISTINCT FROM excluded.value
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM del) INTO v_n;
  RETURN v_n;
END
$$;

-- Technical indicators after their source changed in [p_lo, p_hi): a bucket's
-- indicators depend on it and the 60 rows before it, so the rows from p_lo up to
-- each affected tag's 60th bucket after the change are recomputed (all later
-- rows when that bucket is not within a day: sparse tags).
CREATE OR REPLACE FUNCTION ksys.refresh_tech_span(p_lo timestamptz, p_hi timestamptz)
RETURNS bigint LANGUAGE plpgsql SET jit = off AS $$
DECLARE
  v_lo   timestamptz := date_bin('1 minute', p_lo, ksys.bucket_origin());
  v_last timestamptz := date_bin('1 minute', p_hi - interval '1 microsecond', ksys.bucket_origin());
  v_to   timestamptz;
BEGIN
  SELECT max(coalesce(
           (SELECT m.bucket FROM public.influx_agg_1m m
             WHERE m.tag_name = t.tag_name AND m.bucket > v_last AND m.bucket <= v_last + interval '1 day'
             ORDER BY m.bucket OFFSET 59 LIMIT 1) + interval '1 minute',
           'infinity'::timestamptz))
    INTO v_to
  FROM (SELECT DISTINCT tag_name FROM public.influx_agg_1m WHERE bucket >= v_lo AND bucket <= v_last
        UNION
        SELECT DISTINCT tag_name FROM public.tech_ind_1m_mv WHERE bucket >= v_lo AND bucket <= v_last) t;
  IF v_to IS NULL THEN
    RETURN 0;
  END IF;
  RETURN ksys.refresh_tech_ind(v_lo, v_to);
END
$$;

-- Plain PostgreSQL: every rollup table over [p_lo, p_hi), in dependency order
-- (refresh_rollup widens the span to each table's bucket width).
CREATE OR REPLACE FUNCTION ksys.refresh_rollups_span(p_lo timestamptz, p_hi timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_job text;
  v_lo  timestamptz := greatest(p_lo, ksys.retention_horizon());
BEGIN
  IF v_lo >= p_hi THEN
    RETURN;
  END IF;
  FOREACH v_job IN ARRAY ARRAY['refresh_influx_agg_1m', 'refresh_features_5m', 'refresh_influx_agg_10m',
                               'refresh_influx_agg_1h', 'refresh_influx_agg_1d', 'refresh_comm_recv_1h'] LOOP
    PERFORM ksys.refresh_rollup(v_job, v_lo, p_hi);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ksys.register_tags_in(p_lo timestamptz, p_hi timestamptz)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO ksys.tag_registry (tag_name)
  SELECT DISTINCT tag_name FROM public.influx_hist WHERE ts >= p_lo AND ts < p_hi
  ON CONFLICT (tag_name) DO NOTHING
$$;

-- One consumer's pending work, newest first, at most p_budget of data time.
-- `derived` on TimescaleDB is done by ksys.run_tick() (continuous aggregates
-- cannot be refreshed inside a function).
CREATE OR REPLACE FUNCTION ksys.process_pending(p_consumer text, p_budget interval)
RETURNS interval LANGUAGE plpgsql AS $$
DECLARE
  r      record;
  v_done interval := interval '0';
BEGIN
  PERFORM ksys.collect_changes();
  FOR r IN SELECT * FROM ksys.pending_pieces(p_consumer, ksys.consumer_bound(p_consumer), p_budget) LOOP
    IF p_consumer = 'virtual_tags' THEN
      PERFORM ksys.compute_virtual_tags(greatest(r.lo, ksys.retention_horizon()), r.hi);
    ELSIF p_consumer = 'derived' THEN
      PERFORM ksys.refresh_rollups_span(r.lo, r.hi);
      PERFORM ksys.refresh_tech_span(greatest(r.lo, ksys.retention_horizon()), r.hi);
      PERFORM ksys.register_tags_in(r.lo, r.hi);
    ELSE
      RAISE EXCEPTION 'unknown change consumer %', p_consumer;
    END IF;
    PERFORM ksys.mark_done(p_consumer, r.lo, r.hi);
    v_done := v_done + (r.hi - r.lo);
  END LOOP;
  RETURN v_done;
END
$$;

-- The jobs: what was scheduled before, with the trailing windows and watermarks
-- replaced by the consumers' pending ranges.
CREATE OR REPLACE FUNCTION ksys.run_job(p_job text, p_due boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c_budget constant interval := interval '1 day';
  j ksys.jobs;
BEGIN
  SELECT * INTO STRICT j FROM ksys.jobs WHERE job_name = p_job;

  IF p_job = 'virtual_tags' THEN
    PERFORM ksys.process_pending('virtual_tags', c_budget);

  ELSIF p_job = 'derived' THEN
    IF ksys.engine() = 'postgres' THEN
      PERFORM ksys.process_pending('derived', c_budget);
    ELSE
      PERFORM ksys.collect_changes();   -- the rest: ksys.run_tick()
    END IF;

  ELSIF p_job = 'tag_registry' THEN
    INSERT INTO ksys.tag_registry (tag_name)
    SELECT DISTINCT tag_name FROM public.influx_hist WHERE ts >= now() - j.start_offset
    ON CONFLICT (tag_name) DO NOTHING;

  ELSIF p_job = 'retention_influx_hist' THEN
    IF p_due THEN
      PERFORM set_config('ksys.skip_change_log', 'on', true);
      DELETE FROM public.influx_hist WHERE ts < now() - j.start_offset;
      PERFORM set_config('ksys.skip_change_log', 'off', true);
    END IF;

  ELSE
    RAISE EXCEPTION 'unknown ksys job %', p_job;
  END IF;
END
$$;

-- The continuous aggregates in dependency order with their policies' end offsets.
CREATE OR REPLACE FUNCTION ksys.cagg_chain()
RETURNS TABLE (cagg regclass, width interval, end_offset interval)
LANGUAGE sql STABLE AS $$
  SELECT c.cagg::regclass, c.width, c.end_offset
  FROM (VALUES (1, 'public.influx_agg_1m',  interval '1 minute',   interval '1 minute'),
               (2, 'public.features_5m',    interval '5 minutes',  interval '5 minutes'),
               (3, 'public.influx_agg_10m', interval '10 minutes', interval '10 minutes'),
               (4, 'public.influx_agg_1h',  interval '1 hour',     interval '1 hour'),
               (5, 'public.influx_agg_1d',  interval '1 day',      interval '1 day'),
               (6, 'ksys.comm_recv_1h',     interval '1 hour',     interval '1 hour')) c(pos, cagg, width, end_offset)
  ORDER BY c.pos
$$;

-- TimescaleDB: the window of one continuous aggregate to refresh for a changed
-- span: whole buckets, never past the policy's end offset (real-time
-- aggregation serves what is newer) unless buckets there were materialized
-- already (by an older bulk refresh): those are refreshed up to the watermark.
CREATE OR REPLACE FUNCTION ksys.cagg_window(p_cagg regclass, p_width interval, p_end_offset interval,
                                            p_lo timestamptz, p_hi timestamptz,
                                            OUT w_lo timestamptz, OUT w_hi timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_mark timestamptz;
BEGIN
  SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(c.mat_hypertable_id))
    INTO v_mark
  FROM _timescaledb_catalog.continuous_agg c
  WHERE c.user_view_schema = (SELECT nspname FROM pg_namespace n JOIN pg_class k ON k.relnamespace = n.oid
                               WHERE k.oid = p_cagg)
    AND c.user_view_name = (SELECT relname FROM pg_class WHERE oid = p_cagg);
  w_lo := date_bin(p_width, greatest(p_lo, ksys.retention_horizon()), ksys.bucket_origin());
  w_hi := least(date_bin(p_width, p_hi - interval '1 microsecond', ksys.bucket_origin()) + p_width,
                greatest(date_bin(p_width, now() - p_end_offset, ksys.bucket_origin()), v_mark));
  IF w_hi <= w_lo THEN
    w_lo := NULL;
    w_hi := NULL;
  END IF;
END
$$;

-- The refreshes for a tick's pieces: per continuous aggregate, each piece's
-- window, windows less than an hour apart merged into one call.
CREATE OR REPLACE FUNCTION ksys.cagg_windows(p_los timestamptz[], p_his timestamptz[])
RETURNS TABLE (pos bigint, cagg regclass, w_lo timestamptz, w_hi timestamptz)
LANGUAGE sql STABLE AS $$
  WITH w AS (
    SELECT c.ordinality AS pos, c.cagg, x.w_lo, x.w_hi
    FROM ksys.cagg_chain() WITH ORDINALITY c
    CROSS JOIN unnest(p_los, p_his) AS p(lo, hi)
    CROSS JOIN LATERAL ksys.cagg_window(c.cagg, c.width, c.end_offset, p.lo, p.hi) x
    WHERE x.w_lo IS NOT NULL
  ), marked AS (
    SELECT *, CASE WHEN w_lo <= max(w_hi) OVER (PARTITION BY pos ORDER BY w_lo
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + interval '1 hour'
                   THEN 0 ELSE 1 END AS starts_group
    FROM w
  ), grouped AS (
    SELECT *, sum(starts_group) OVER (PARTITION BY pos ORDER BY w_lo ROWS UNBOUNDED PRECEDING) AS g FROM marked
  )
  SELECT pos, min(cagg::text)::regclass, min(w_lo), max(w_hi) FROM grouped GROUP BY pos, g ORDER BY pos, 3
$$;

-- The scheduler's entry point (pg_cron, `ksys worker`): the jobs, then on
-- TimescaleDB the continuous aggregates and indicators over the pending ranges.
-- failures: failed jobs, or -1 when another tick is running.
CREATE OR REPLACE PROCEDURE ksys.run_tick(INOUT failures integer DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  c_budget constant interval := interval '1 day';
  c_lock   constant bigint := hashtext('ksys.tick');
  v_plos   timestamptz[];
  v_phis   timestamptz[];
  v_caggs  regclass[];
  v_los    timestamptz[];
  v_his    timestamptz[];
BEGIN
  -- A session lock: it must outlive the commits below. ksys.tick() takes the
  -- same key per transaction, which a session holding it already gets.
  IF NOT pg_try_advisory_lock(c_lock) THEN
    failures := -1;
    RETURN;
  END IF;
  failures := ksys.tick();
  COMMIT;
  IF ksys.engine() = 'timescaledb' AND EXISTS (SELECT 1 FROM ksys.jobs WHERE job_name = 'derived' AND enabled) THEN
    SELECT array_agg(p.lo ORDER BY p.hi DESC), array_agg(p.hi ORDER BY p.hi DESC) INTO v_plos, v_phis
    FROM ksys.pending_pieces('derived', 'infinity', c_budget) p;
    IF v_plos IS NOT NULL THEN
      -- force => true: every bucket of the changed windows is recomputed, whatever
      -- TimescaleDB's own invalidation log says. The log tells which windows
      -- changed; TimescaleDB 2.28.3 leaves a bucket stale when a late write's
      -- newest timestamp lies exactly on that bucket's start (a virtual-tag row,
      -- a reading on a whole minute): its invalidation is processed as if that
      -- bucket were excluded.
      SELECT array_agg(x.cagg ORDER BY x.pos, x.w_lo), array_agg(x.w_lo ORDER BY x.pos, x.w_lo),
             array_agg(x.w_hi ORDER BY x.pos, x.w_lo)
        INTO v_caggs, v_los, v_his
      FROM ksys.cagg_windows(v_plos, v_phis) x;
      COMMIT;   -- each refresh commits by itself, which an open query loop would not survive
      FOR i IN 1 .. coalesce(array_length(v_caggs, 1), 0) LOOP
        CALL refresh_continuous_aggregate(v_caggs[i], v_los[i], v_his[i], force => true);
      END LOOP;
      FOR i IN 1 .. array_length(v_plos, 1) LOOP
        PERFORM ksys.refresh_tech_span(greatest(v_plos[i], ksys.retention_horizon()), v_phis[i]);
        PERFORM ksys.register_tags_in(v_plos[i], v_phis[i]);
        PERFORM ksys.mark_done('derived', v_plos[i], v_phis[i]);
      END LOOP;
      COMMIT;
    END IF;
  END IF;
  PERFORM pg_advisory_unlock(c_lock);
END
$$;

-- The rollup tables of plain PostgreSQL are no longer jobs of their own: the
-- `derived` job refreshes them with the indicators. rollup_def stays (it maps
-- each table to its source function for refresh_rollup).
ALTER TABLE ksys.rollup_def DROP CONSTRAINT IF EXISTS rollup_def_job_name_fkey;
DELETE FROM ksys.jobs WHERE job_name IN ('refresh_influx_agg_1m', 'refresh_features_5m', 'refresh_influx_agg_10m',
                                         'refresh_influx_agg_1h', 'refresh_influx_agg_1d', 'refresh_comm_recv_1h',
                                         'tech_ind_1m_mv');
UPDATE ksys.jobs SET watermark = NULL WHERE job_name = 'virtual_tags';
INSERT INTO ksys.jobs (job_name, run_order, schedule_interval) VALUES ('derived', 30, interval '1 minute')
ON CONFLICT (job_name) DO NOTHING;

-- A database migrated with data may hold what the trailing windows missed:
-- recompute the last 7 days once (the lateness the log is made for).
INSERT INTO ksys.hist_changes (lo, hi, inputs)
SELECT now() - interval '7 days', now() + interval '1 minute', true
WHERE EXISTS (SELECT 1 FROM public.influx_hist WHERE ts > now() - interval '7 days');

-- Nothing here may run from the app's read-only role.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA ksys FROM PUBLIC;
