-- Alarm conditions (issue 16, first part): when each alarm limit of a tag was
-- active, computed from raw readings in time order. The rule is that of
-- ksys_app/domain/alarms.py (module docstring: limits, priorities, deadband,
-- delays); tests/schema/test_alarm_conditions.py compares the two on random
-- readings inserted in random order. The alarm state table and journal that
-- operators act on build on this.
--
-- On/off delays per tag: a limit becomes active only when every reading for
-- alarm_on_delay_s violates it, and clears only when every reading for
-- alarm_off_delay_s is back inside by the deadband. 0 (the default) acts on the
-- first reading: no alarm is delayed unless someone chose to delay it; the
-- deadband (deadband_pct of the tag's range) is what keeps a value hovering on
-- a limit from chattering.
ALTER TABLE public.influx_qc_rule
  ADD COLUMN IF NOT EXISTS alarm_on_delay_s  integer NOT NULL DEFAULT 0 CHECK (alarm_on_delay_s >= 0),
  ADD COLUMN IF NOT EXISTS alarm_off_delay_s integer NOT NULL DEFAULT 0 CHECK (alarm_off_delay_s >= 0);

-- The limits of a tag's enabled rule: kind, threshold, absolute deadband, side,
-- inclusive comparison, priority (hard and crit limits high, warn medium).
CREATE OR REPLACE FUNCTION ksys.alarm_limits(p_tag text)
RETURNS TABLE (kind text, threshold double precision, deadband double precision, high boolean,
               inclusive boolean, priority text)
LANGUAGE sql STABLE AS $$
  WITH r AS (
    SELECT q.*,
           CASE WHEN q.min_val IS NOT NULL AND q.max_val IS NOT NULL AND q.max_val > q.min_val
                     AND q.min_val NOT IN ('NaN', 'Infinity', '-Infinity')
                     AND q.max_val NOT IN ('NaN', 'Infinity', '-Infinity')
                THEN q.max_val - q.min_val END AS span
    FROM public.influx_qc_rule q
    WHERE q.tag_name = p_tag AND q.enabled IS DISTINCT FROM false
  )
  SELECT l.kind, l.threshold,
         CASE WHEN r.deadband_pct > 0 AND r.deadband_pct <> 'Infinity'
              THEN coalesce(r.span, abs(l.threshold)) * r.deadband_pct / 100.0 ELSE 0 END,
         l.high, l.inclusive, l.priority
  FROM r, LATERAL (VALUES
      ('hard_low',  r.min_val,  false, false, 'high'),
      ('hard_high', r.max_val,  true,  false, 'high'),
      ('crit_low',  r.crit_min, false, true,  'high'),
      ('crit_high', r.crit_max, true,  true,  'high'),
      ('warn_low',  r.warn_min, false, true,  'medium'),
      ('warn_high', r.warn_max, true,  true,  'medium')
  ) AS l(kind, threshold, high, inclusive, priority)
  WHERE l.threshold IS NOT NULL AND l.threshold NOT IN ('NaN', 'Infinity', '-Infinity')
$$;

-- Whether a reading points toward a change of a limit's condition: toward
-- "active" when not active (the limit is violated), toward "cleared" when active
-- (back inside by the deadband; with no deadband, simply not violated).
CREATE OR REPLACE FUNCTION ksys.alarm_toward(p_value double precision, p_active boolean, p_threshold double precision,
                                             p_deadband double precision, p_high boolean, p_inclusive boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN NOT p_active OR p_deadband <= 0 THEN
      p_active <> CASE WHEN p_high THEN (CASE WHEN p_inclusive THEN p_value >= p_threshold ELSE p_value > p_threshold END)
                       ELSE (CASE WHEN p_inclusive THEN p_value <= p_threshold ELSE p_value < p_threshold END) END
    WHEN p_high THEN p_value < p_threshold - p_deadband
    ELSE p_value > p_threshold + p_deadband
  END
$$;

-- One limit's condition changes over a tag's readings after p_after (exclusive)
-- and before p_to, from the state p_active with no delay running. With
-- p_converge_from: stop at the first reading at or after it where no delay is
-- running and the condition equals what ksys.alarm_condition_changes held for it
-- before (p_kind's stored state): from there on the stored changes are right
-- (a change depends on the readings up to it only), and the last row returned
-- has converged = true (its active is the state there, not a change).
CREATE OR REPLACE FUNCTION ksys.alarm_walk(p_tag text, p_kind text, p_threshold double precision,
                                           p_deadband double precision, p_high boolean, p_inclusive boolean,
                                           p_on interval, p_off interval, p_active boolean,
                                           p_after timestamptz, p_to timestamptz, p_converge_from timestamptz)
RETURNS TABLE (at timestamptz, active boolean, value double precision, converged boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  reading record;
  is_active boolean := p_active;
  since timestamptz;
  stored boolean;
BEGIN
  FOR reading IN
    SELECT h.ts, h.value FROM public.influx_hist h
    WHERE h.tag_name = p_tag AND h.ts > p_after AND h.ts < p_to
      AND h.value NOT IN ('NaN', 'Infinity', '-Infinity')
    ORDER BY h.ts
  LOOP
    IF NOT ksys.alarm_toward(reading.value, is_active, p_threshold, p_deadband, p_high, p_inclusive) THEN
      since := NULL;
    ELSE
      since := coalesce(since, reading.ts);
      IF reading.ts - since >= (CASE WHEN is_active THEN p_off ELSE p_on END) THEN
        is_active := NOT is_active;
        since := NULL;
        at := reading.ts; active := is_active; value := reading.value; converged := false;
        RETURN NEXT;
      END IF;
    END IF;
    IF p_converge_from IS NOT NULL AND reading.ts >= p_converge_from AND since IS NULL THEN
      SELECT c.active INTO stored FROM ksys.alarm_condition_changes c
      WHERE c.tag_name = p_tag AND c.kind = p_kind AND c.at <= reading.ts ORDER BY c.at DESC LIMIT 1;
      IF coalesce(stored, false) = is_active THEN
        at := reading.ts; active := is_active; value := NULL; converged := true;
        RETURN NEXT;
        RETURN;
      END IF;
    END IF;
  END LOOP;
END$$;

-- The changes of every limit's condition for one tag over readings in
-- [p_from, p_to), starting from "not active" at p_from: (kind, at, active,
-- value, priority), recomputed from raw (the reference the stored changes
-- below must always equal).
CREATE OR REPLACE FUNCTION ksys.alarm_conditions(p_tag text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (kind text, at timestamptz, active boolean, value double precision, priority text)
LANGUAGE sql STABLE AS $$
  SELECT l.kind, w.at, w.active, w.value, l.priority
  FROM ksys.alarm_limits(p_tag) l
  CROSS JOIN LATERAL (SELECT make_interval(secs => q.alarm_on_delay_s) AS on_d,
                             make_interval(secs => q.alarm_off_delay_s) AS off_d
                      FROM public.influx_qc_rule q WHERE q.tag_name = p_tag) d
  CROSS JOIN LATERAL ksys.alarm_walk(p_tag, l.kind, l.threshold, l.deadband, l.high, l.inclusive, d.on_d, d.off_d,
                                     false, p_from - interval '1 microsecond', p_to, NULL) w
$$;

-- The stored condition changes (a derived relation: always equal to
-- ksys.alarm_conditions over all readings), kept by the `alarms` job.
CREATE TABLE IF NOT EXISTS ksys.alarm_condition_changes (
  tag_name text             NOT NULL,
  kind     text             NOT NULL,
  at       timestamptz      NOT NULL,
  active   boolean          NOT NULL,
  value    double precision NOT NULL,
  priority text             NOT NULL,
  PRIMARY KEY (tag_name, kind, at)
);

-- The limits the stored changes were computed with: a rule edited since means a
-- recompute of that limit from its first reading.
CREATE TABLE IF NOT EXISTS ksys.alarm_limit_seen (
  tag_name  text             NOT NULL,
  kind      text             NOT NULL,
  threshold double precision NOT NULL,
  deadband  double precision NOT NULL,
  on_delay  interval         NOT NULL,
  off_delay interval         NOT NULL,
  PRIMARY KEY (tag_name, kind)
);

-- Bring the stored changes up to date after readings changed in [p_lo, p_hi)
-- (and nowhere before p_lo since the last refresh). Per tag with limits and per
-- limit: the stored changes before p_lo are right (they depend on readings
-- before p_lo only); the walk restarts after the last reading before p_lo that
-- pointed toward no change (no delay was running there), in the state of the
-- last stored change before p_lo, and runs until it converges with the stored
-- changes at or after p_hi (or to the newest reading). Every tag with limits is
-- walked, not only those with readings in the range: a deleted reading can
-- shift a delay without leaving a reading behind.
CREATE OR REPLACE FUNCTION ksys.refresh_alarm_conditions(p_lo timestamptz, p_hi timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  t record;
  l record;
  v_active boolean;
  v_anchor timestamptz;
  v_after timestamptz;
  v_stop timestamptz;
  v_seen record;
  v_from timestamptz;  -- where the readings may have changed (NULL: everywhere)
  w record;
  v_ats timestamptz[];
  v_actives boolean[];
  v_values double precision[];
  v_rows bigint;
  v_n bigint := 0;
BEGIN
  FOR t IN SELECT q.tag_name, make_interval(secs => q.alarm_on_delay_s) AS on_d,
                  make_interval(secs => q.alarm_off_delay_s) AS off_d
           FROM public.influx_qc_rule q WHERE q.enabled IS DISTINCT FROM false LOOP
    FOR l IN SELECT * FROM ksys.alarm_limits(t.tag_name) LOOP
      SELECT c.at, c.active INTO v_anchor, v_active FROM ksys.alarm_condition_changes c
      WHERE c.tag_name = t.tag_name AND c.kind = l.kind AND c.at < p_lo ORDER BY c.at DESC LIMIT 1;
      -- a limit whose rule changed (threshold, deadband, delays) is recomputed from the start
      SELECT * INTO v_seen FROM ksys.alarm_limit_seen s WHERE s.tag_name = t.tag_name AND s.kind = l.kind;
      IF v_seen IS NULL OR (v_seen.threshold, v_seen.deadband, v_seen.on_delay, v_seen.off_delay)
                           IS DISTINCT FROM (l.threshold, l.deadband, t.on_d, t.off_d) THEN
        DELETE FROM ksys.alarm_condition_changes c WHERE c.tag_name = t.tag_name AND c.kind = l.kind;
        INSERT INTO ksys.alarm_limit_seen VALUES (t.tag_name, l.kind, l.threshold, l.deadband, t.on_d, t.off_d)
        ON CONFLICT (tag_name, kind) DO UPDATE SET threshold = EXCLUDED.threshold, deadband = EXCLUDED.deadband,
                                                   on_delay = EXCLUDED.on_delay, off_delay = EXCLUDED.off_delay;
        v_anchor := NULL;
        v_active := NULL;
        v_from := NULL;  -- from the first reading, to the newest: nothing stored to converge with
      ELSE
        v_from := p_lo;
      END IF;
      v_anchor := coalesce(v_anchor, '-infinity');
      v_active := coalesce(v_active, false);
      SELECT max(h.ts) INTO v_after FROM (
        SELECT h.ts FROM public.influx_hist h
        WHERE h.tag_name = t.tag_name AND h.ts > v_anchor AND h.ts < v_from
          AND h.value NOT IN ('NaN', 'Infinity', '-Infinity')
          AND NOT ksys.alarm_toward(h.value, v_active, l.threshold, l.deadband, l.high, l.inclusive)
        ORDER BY h.ts DESC LIMIT 1) h;
      v_after := coalesce(v_after, v_anchor);
      v_stop := 'infinity';
      v_ats := '{}'; v_actives := '{}'; v_values := '{}';
      FOR w IN SELECT * FROM ksys.alarm_walk(t.tag_name, l.kind, l.threshold, l.deadband, l.high, l.inclusive,
                                              t.on_d, t.off_d, v_active, v_after, 'infinity',
                                              CASE WHEN v_from IS NOT NULL THEN p_hi END) LOOP
        IF w.converged THEN
          v_stop := w.at;
        ELSE
          v_ats := v_ats || w.at; v_actives := v_actives || w.active; v_values := v_values || w.value;
        END IF;
      END LOOP;
      DELETE FROM ksys.alarm_condition_changes c
      WHERE c.tag_name = t.tag_name AND c.kind = l.kind AND c.at > v_after AND c.at <= v_stop;
      INSERT INTO ksys.alarm_condition_changes (tag_name, kind, at, active, value, priority)
      SELECT t.tag_name, l.kind, x.at, x.active, x.value, l.priority
      FROM unnest(v_ats, v_actives, v_values) AS x(at, active, value);
      GET DIAGNOSTICS v_rows = ROW_COUNT;
      v_n := v_n + v_rows;
    END LOOP;
  END LOOP;
  -- limits that no longer exist (a rule disabled or deleted, a limit cleared) keep nothing
  WITH live AS (SELECT q.tag_name, lim.kind FROM public.influx_qc_rule q CROSS JOIN LATERAL ksys.alarm_limits(q.tag_name) lim)
  DELETE FROM ksys.alarm_condition_changes c WHERE (c.tag_name, c.kind) NOT IN (SELECT tag_name, kind FROM live);
  WITH live AS (SELECT q.tag_name, lim.kind FROM public.influx_qc_rule q CROSS JOIN LATERAL ksys.alarm_limits(q.tag_name) lim)
  DELETE FROM ksys.alarm_limit_seen s WHERE (s.tag_name, s.kind) NOT IN (SELECT tag_name, kind FROM live);
  RETURN v_n;
END$$;

-- The `alarms` job: every pending range of its change consumer at once, oldest
-- to newest (the stored changes before a range are right only when nothing
-- earlier is still pending).
INSERT INTO ksys.change_consumers VALUES ('alarms', false, NULL, NULL, interval '1 hour')
ON CONFLICT (consumer) DO NOTHING;

-- The job: every pending range of the `alarms` consumer at once (or none: then
-- only the newest readings of each tag are walked, which also picks up an edited
-- rule), then those ranges are done.
CREATE OR REPLACE FUNCTION ksys.run_alarms() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_lo timestamptz;
  v_hi timestamptz;
  v_n  bigint;
BEGIN
  PERFORM ksys.collect_changes();
  SELECT min(lo), max(hi) INTO v_lo, v_hi FROM ksys.pending_ranges WHERE consumer = 'alarms';
  v_n := ksys.refresh_alarm_conditions(coalesce(v_lo, 'infinity'), coalesce(v_hi, 'infinity'));
  DELETE FROM ksys.pending_ranges WHERE consumer = 'alarms' AND hi <= coalesce(v_hi, '-infinity');
  RETURN v_n;
END$$;

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

  ELSIF p_job = 'alarms' THEN
    PERFORM ksys.run_alarms();

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

INSERT INTO ksys.jobs (job_name, run_order, schedule_interval) VALUES ('alarms', 40, interval '1 minute')
ON CONFLICT (job_name) DO NOTHING;

-- Nothing here may run from the app roles.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
