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

-- The changes of every limit's condition for one tag over readings in
-- [p_from, p_to), starting from "not active" at p_from: (kind, at, active,
-- value, priority). Readings are walked in time order, whatever order they were
-- written in; NaN and infinite values are skipped.
CREATE OR REPLACE FUNCTION ksys.alarm_conditions(p_tag text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (kind text, at timestamptz, active boolean, value double precision, priority text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lim record;
  reading record;
  on_delay interval;
  off_delay interval;
  is_active boolean;
  since timestamptz;
  toward boolean;
  violated boolean;
BEGIN
  SELECT make_interval(secs => q.alarm_on_delay_s), make_interval(secs => q.alarm_off_delay_s)
    INTO on_delay, off_delay
  FROM public.influx_qc_rule q WHERE q.tag_name = p_tag;
  FOR lim IN SELECT * FROM ksys.alarm_limits(p_tag) LOOP
    is_active := false;
    since := NULL;
    FOR reading IN
      SELECT h.ts, h.value FROM public.influx_hist h
      WHERE h.tag_name = p_tag AND h.ts >= p_from AND h.ts < p_to
        AND h.value NOT IN ('NaN', 'Infinity', '-Infinity')
      ORDER BY h.ts
    LOOP
      violated := CASE WHEN lim.high THEN (CASE WHEN lim.inclusive THEN reading.value >= lim.threshold
                                                ELSE reading.value > lim.threshold END)
                       ELSE (CASE WHEN lim.inclusive THEN reading.value <= lim.threshold
                                  ELSE reading.value < lim.threshold END) END;
      IF NOT is_active THEN
        toward := violated;
      ELSIF lim.deadband <= 0 THEN
        toward := NOT violated;
      ELSE
        toward := CASE WHEN lim.high THEN reading.value < lim.threshold - lim.deadband
                       ELSE reading.value > lim.threshold + lim.deadband END;
      END IF;
      IF NOT toward THEN
        since := NULL;
        CONTINUE;
      END IF;
      since := coalesce(since, reading.ts);
      IF reading.ts - since >= (CASE WHEN is_active THEN off_delay ELSE on_delay END) THEN
        is_active := NOT is_active;
        since := NULL;
        kind := lim.kind; at := reading.ts; active := is_active; value := reading.value;
        priority := lim.priority;
        RETURN NEXT;
      END IF;
    END LOOP;
  END LOOP;
END$$;
