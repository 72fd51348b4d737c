--
-- PostgreSQL database dump
--

--
-- Name: ksys; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA ksys;

--
-- Name: public; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA public;

--
-- Name: alarm_ack(text, text[], text[], text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_ack(p_token text, p_tags text[], p_kinds text[], p_note text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  RETURN ksys.alarm_apply('ack', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note), NULL);
END$$;

--
-- Name: alarm_apply(text, text[], text[], text, text, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_apply(p_action text, p_tags text[], p_kinds text[], p_operator text, p_note text, p_until timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
  a record;
  v_at timestamptz := clock_timestamp();
  v_n integer := 0;
BEGIN
  IF p_action NOT IN ('ack', 'shelve', 'unshelve', 'remove', 'restore') THEN
    RAISE EXCEPTION 'unknown alarm action %', p_action USING ERRCODE = '22023';
  END IF;
  IF coalesce(cardinality(p_tags), 0) <> coalesce(cardinality(p_kinds), 0) THEN
    RAISE EXCEPTION 'tags and limits must pair up' USING ERRCODE = '22023';
  END IF;
  IF (p_action = 'shelve') <> (p_until IS NOT NULL) THEN
    RAISE EXCEPTION 'an end time goes with shelve and only with it' USING ERRCODE = '22023';
  END IF;
  IF p_until IS NOT NULL AND p_until <= v_at THEN
    RAISE EXCEPTION 'a shelve must end in the future' USING ERRCODE = '22023';
  END IF;
  IF p_until - v_at > (SELECT shelve_max FROM ksys.alarm_settings) THEN
    RAISE EXCEPTION 'a shelve may last at most %', (SELECT shelve_max FROM ksys.alarm_settings)
      USING ERRCODE = '22023';
  END IF;
  PERFORM ksys.refresh_alarm_states();  -- act on the state as it is now (expired shelves included)
  FOR a IN
    SELECT s.tag_name, s.kind, s.state, s.active
    FROM ksys.alarm_state s
    JOIN (SELECT DISTINCT t, k FROM unnest(p_tags, p_kinds) AS x(t, k)) x ON x.t = s.tag_name AND x.k = s.kind
    ORDER BY s.tag_name, s.kind
    FOR UPDATE OF s
  LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM ksys.alarm_next(a.state, a.active, p_action));
    INSERT INTO ksys.alarm_actions (at, tag_name, kind, action, operator, note, until)
    VALUES (v_at, a.tag_name, a.kind, p_action, p_operator, nullif(p_note, ''), p_until);
    PERFORM ksys.alarm_replay(a.tag_name, a.kind, v_at);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END$$;

--
-- Name: alarm_conditions(text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_conditions(p_tag text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(kind text, at timestamp with time zone, active boolean, value double precision, priority text)
    LANGUAGE sql STABLE
    AS $$
  SELECT l.kind, w.at, w.active, w.value, l.priority
  FROM ksys.alarm_limits(p_tag) l
  CROSS JOIN LATERAL (SELECT make_interval(secs => q.alarm_on_delay_s) AS on_d,
                             make_interval(secs => q.alarm_off_delay_s) AS off_d
                      FROM public.influx_qc_rule q WHERE q.tag_name = p_tag) d
  CROSS JOIN LATERAL ksys.alarm_walk(p_tag, l.kind, l.threshold, l.deadband, l.high, l.inclusive, d.on_d, d.off_d,
                                     false, p_from - interval '1 microsecond', p_to, NULL) w
$$;

--
-- Name: alarm_limits(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_limits(p_tag text) RETURNS TABLE(kind text, threshold double precision, deadband double precision, high boolean, inclusive boolean, priority text)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: alarm_mark_dirty(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_mark_dirty() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO ksys.alarm_dirty AS d (tag_name, kind, from_at)
  SELECT c.tag_name, c.kind, min(c.at) FROM changed c GROUP BY 1, 2
  ON CONFLICT (tag_name, kind) DO UPDATE SET from_at = least(d.from_at, EXCLUDED.from_at);
  RETURN NULL;
END$$;

--
-- Name: alarm_next(text, boolean, text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_next(p_state text, p_active boolean, p_action text) RETURNS TABLE(state text, active boolean)
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT s, a FROM (SELECT
    CASE p_action
      WHEN 'activate' THEN CASE WHEN p_active THEN NULL
                                WHEN p_state IN ('shelved', 'out_of_service') THEN p_state ELSE 'unack' END
      WHEN 'clear' THEN CASE WHEN NOT p_active THEN NULL
                             WHEN p_state = 'unack' THEN 'rtn_unack'
                             WHEN p_state = 'acked' THEN 'normal' ELSE p_state END
      WHEN 'ack' THEN CASE p_state WHEN 'unack' THEN 'acked' WHEN 'rtn_unack' THEN 'normal' END
      WHEN 'shelve' THEN CASE WHEN p_state <> 'out_of_service' THEN 'shelved' END
      WHEN 'unshelve' THEN CASE WHEN p_state = 'shelved' THEN CASE WHEN p_active THEN 'unack' ELSE 'normal' END END
      WHEN 'shelve_expired' THEN CASE WHEN p_state = 'shelved' THEN CASE WHEN p_active THEN 'unack' ELSE 'normal' END END
      WHEN 'remove' THEN CASE WHEN p_state <> 'out_of_service' THEN 'out_of_service' END
      WHEN 'restore' THEN CASE WHEN p_state = 'out_of_service' THEN CASE WHEN p_active THEN 'unack' ELSE 'normal' END END
    END AS s,
    CASE p_action WHEN 'activate' THEN true WHEN 'clear' THEN false ELSE p_active END AS a) t
  WHERE s IS NOT NULL
$$;

--
-- Name: alarm_replay(text, text, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_replay(p_tag text, p_kind text, p_from timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_limit record;
  prev record;
  ev record;
  nx record;
  s_state text := 'normal';
  s_active boolean := false;
  s_value double precision;
  s_until timestamptz;
  s_active_since timestamptz;
  s_state_since timestamptz;
  s_operator text;
  s_note text;
  v_last_at timestamptz;
  v_seq integer := 0;
  v_n bigint := 0;
  e_at timestamptz;
  e_action text;
  e_value double precision;
  e_operator text;
  e_note text;
  e_until timestamptz;
  v_round integer;
BEGIN
  SELECT * INTO v_limit FROM ksys.alarm_limits(p_tag) l WHERE l.kind = p_kind;
  IF NOT FOUND THEN
    DELETE FROM ksys.alarm_journal j WHERE j.tag_name = p_tag AND j.kind = p_kind;
    DELETE FROM ksys.alarm_state s WHERE s.tag_name = p_tag AND s.kind = p_kind;
    RETURN 0;
  END IF;
  DELETE FROM ksys.alarm_journal j WHERE j.tag_name = p_tag AND j.kind = p_kind AND j.at >= p_from;
  SELECT * INTO prev FROM ksys.alarm_journal j WHERE j.tag_name = p_tag AND j.kind = p_kind
  ORDER BY j.at DESC, j.seq DESC LIMIT 1;
  IF FOUND THEN
    s_state := prev.new_state; s_active := prev.active; s_value := prev.value; s_until := prev.shelved_until;
    s_active_since := prev.active_since; s_state_since := prev.state_since;
    s_operator := prev.operator; s_note := prev.note;
    v_last_at := prev.at; v_seq := prev.seq;
  END IF;

  FOR ev IN
    SELECT c.at, 0 AS src, 0::bigint AS id, CASE WHEN c.active THEN 'activate' ELSE 'clear' END AS action,
           c.value, NULL::text AS operator, NULL::text AS note, NULL::timestamptz AS until
    FROM ksys.alarm_condition_changes c
    WHERE c.tag_name = p_tag AND c.kind = p_kind AND c.at >= p_from
    UNION ALL
    SELECT a.at, 1, a.id, a.action, NULL, a.operator, a.note, a.until
    FROM ksys.alarm_actions a
    WHERE a.tag_name = p_tag AND a.kind = p_kind AND a.at >= p_from
    UNION ALL  -- a sentinel: shelves that ended before now expire
    SELECT now(), 2, 0, NULL, NULL, NULL, NULL, NULL
    ORDER BY 1, 2, 3
  LOOP
    -- round 0: a shelve that ended before this event expires first; round 1: the event
    FOR v_round IN 0..1 LOOP
      IF v_round = 0 THEN
        CONTINUE WHEN NOT (s_state = 'shelved' AND s_until <= ev.at);
        e_at := s_until; e_action := 'shelve_expired'; e_value := NULL; e_operator := NULL; e_note := NULL;
        e_until := NULL;
      ELSE
        CONTINUE WHEN ev.action IS NULL;
        e_at := ev.at; e_action := ev.action; e_value := ev.value; e_operator := ev.operator; e_note := ev.note;
        e_until := ev.until;
      END IF;
      SELECT * INTO nx FROM ksys.alarm_next(s_state, s_active, e_action);
      CONTINUE WHEN NOT FOUND;
      IF nx.active AND NOT s_active THEN s_active_since := e_at; END IF;
      IF NOT nx.active THEN s_active_since := NULL; END IF;
      IF e_action IN ('activate', 'clear') THEN s_value := e_value; END IF;
      IF nx.state <> s_state OR s_state_since IS NULL THEN s_state_since := e_at; END IF;
      s_until := CASE WHEN nx.state = 'shelved' THEN coalesce(e_until, s_until) END;
      v_seq := CASE WHEN e_at = v_last_at THEN v_seq + 1 ELSE 0 END;
      v_last_at := e_at;
      INSERT INTO ksys.alarm_journal (at, tag_name, kind, seq, action, old_state, new_state, active, value, priority,
                                      operator, note, shelved_until, active_since, state_since)
      VALUES (e_at, p_tag, p_kind, v_seq, e_action, s_state, nx.state, nx.active, s_value, v_limit.priority,
              e_operator, e_note, s_until, s_active_since, s_state_since);
      v_n := v_n + 1;
      s_state := nx.state; s_active := nx.active; s_operator := e_operator; s_note := e_note;
    END LOOP;
  END LOOP;

  INSERT INTO ksys.alarm_state AS s (tag_name, kind, priority, threshold, state, active, value, active_since,
                                     state_since, shelved_until, operator, note)
  VALUES (p_tag, p_kind, v_limit.priority, v_limit.threshold, s_state, s_active, s_value, s_active_since,
          s_state_since, s_until, s_operator, s_note)
  ON CONFLICT (tag_name, kind) DO UPDATE SET
    priority = EXCLUDED.priority, threshold = EXCLUDED.threshold, state = EXCLUDED.state, active = EXCLUDED.active,
    value = EXCLUDED.value, active_since = EXCLUDED.active_since, state_since = EXCLUDED.state_since,
    shelved_until = EXCLUDED.shelved_until, operator = EXCLUDED.operator, note = EXCLUDED.note;
  RETURN v_n;
END$$;

--
-- Name: alarm_shelve(text, text[], text[], integer, text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_shelve(p_token text, p_tags text[], p_kinds text[], p_minutes integer, p_note text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
  v_max interval := (SELECT shelve_max FROM ksys.alarm_settings);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  IF p_minutes IS NULL OR p_minutes < 1 OR make_interval(mins => p_minutes) > v_max THEN
    RAISE EXCEPTION 'shelve for 1 minute to % (asked: % minutes)', v_max, coalesce(p_minutes::text, 'none')
      USING ERRCODE = '22023';
  END IF;
  RETURN ksys.alarm_apply('shelve', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note),
                          clock_timestamp() + make_interval(mins => p_minutes));
END$$;

--
-- Name: alarm_toward(double precision, boolean, double precision, double precision, boolean, boolean); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_toward(p_value double precision, p_active boolean, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT CASE
    WHEN NOT p_active OR p_deadband <= 0 THEN
      p_active <> CASE WHEN p_high THEN (CASE WHEN p_inclusive THEN p_value >= p_threshold ELSE p_value > p_threshold END)
                       ELSE (CASE WHEN p_inclusive THEN p_value <= p_threshold ELSE p_value < p_threshold END) END
    WHEN p_high THEN p_value < p_threshold - p_deadband
    ELSE p_value > p_threshold + p_deadband
  END
$$;

--
-- Name: alarm_unshelve(text, text[], text[], text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_unshelve(p_token text, p_tags text[], p_kinds text[], p_note text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  RETURN ksys.alarm_apply('unshelve', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note), NULL);
END$$;

--
-- Name: alarm_walk(text, text, double precision, double precision, boolean, boolean, interval, interval, boolean, timestamp with time zone, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.alarm_walk(p_tag text, p_kind text, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean, p_on interval, p_off interval, p_active boolean, p_after timestamp with time zone, p_to timestamp with time zone, p_converge_from timestamp with time zone) RETURNS TABLE(at timestamp with time zone, active boolean, value double precision, converged boolean)
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: backlog(timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.backlog(p_before timestamp with time zone DEFAULT 'infinity'::timestamp with time zone) RETURNS TABLE(consumer text, ranges bigint, oldest timestamp with time zone, span interval)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: bucket_origin(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.bucket_origin() RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT TIMESTAMPTZ '2000-01-03 00:00:00+00' $$;

--
-- Name: cagg_chain(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.cagg_chain() RETURNS TABLE(cagg regclass, width interval, end_offset interval)
    LANGUAGE sql STABLE
    AS $$
  SELECT c.cagg::regclass, c.width, c.end_offset
  FROM (VALUES (1, 'public.influx_agg_1m',  interval '1 minute',   interval '1 minute'),
               (2, 'public.features_5m',    interval '5 minutes',  interval '5 minutes'),
               (3, 'public.influx_agg_10m', interval '10 minutes', interval '10 minutes'),
               (4, 'public.influx_agg_1h',  interval '1 hour',     interval '1 hour'),
               (5, 'public.influx_agg_1d',  interval '1 day',      interval '1 day'),
               (6, 'ksys.comm_recv_1h',     interval '1 hour',     interval '1 hour')) c(pos, cagg, width, end_offset)
  ORDER BY c.pos
$$;

--
-- Name: cagg_window(regclass, interval, interval, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.cagg_window(p_cagg regclass, p_width interval, p_end_offset interval, p_lo timestamp with time zone, p_hi timestamp with time zone, OUT w_lo timestamp with time zone, OUT w_hi timestamp with time zone) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: cagg_windows(timestamp with time zone[], timestamp with time zone[]); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.cagg_windows(p_los timestamp with time zone[], p_his timestamp with time zone[]) RETURNS TABLE(pos bigint, cagg regclass, w_lo timestamp with time zone, w_hi timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: collect_changes(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.collect_changes() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: compute_virtual_tags(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.compute_virtual_tags(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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

--
-- Name: consumer_bound(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.consumer_bound(p_consumer text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
  SELECT CASE p_consumer WHEN 'virtual_tags' THEN date_bin('1 minute', now(), ksys.bucket_origin())
                         ELSE 'infinity'::timestamptz END
$$;

--
-- Name: engine(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.engine() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT value FROM ksys.settings WHERE key = 'engine' $$;

--
-- Name: log_hist_changes(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.log_hist_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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

--
-- Name: log_hist_row_change(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.log_hist_row_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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

--
-- Name: mark_done(text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.mark_done(p_consumer text, p_lo timestamp with time zone, p_hi timestamp with time zone) RETURNS void
    LANGUAGE sql
    AS $$
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

--
-- Name: next_reading_minute(timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.next_reading_minute(p_from timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
  SELECT date_bin('1 minute', min(ts), ksys.bucket_origin()) FROM public.influx_hist WHERE ts >= p_from
$$;

--
-- Name: operator_begin_login(text, text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_begin_login(p_name text, p_client text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  cfg ksys.alarm_settings;
  v_client text := ksys.operator_client(p_client);
  v_until timestamptz;
BEGIN
  PERFORM ksys.operator_check_name(p_name);
  SELECT * INTO cfg FROM ksys.alarm_settings;
  SELECT max(at) + cfg.login_window INTO v_until FROM (
    SELECT at FROM ksys.operator_logins
    WHERE operator = p_name AND NOT ok AND at > clock_timestamp() - cfg.login_window
    ORDER BY at DESC OFFSET cfg.login_fails_per_name - 1 LIMIT 1) f;
  IF v_until IS NULL THEN
    SELECT max(at) + cfg.login_window INTO v_until FROM (
      SELECT at FROM ksys.operator_logins
      WHERE client = v_client AND NOT ok AND at > clock_timestamp() - cfg.login_window
      ORDER BY at DESC OFFSET cfg.login_fails_per_client - 1 LIMIT 1) f;
  END IF;
  IF v_until IS NOT NULL THEN
    RAISE EXCEPTION 'too many failed logins: try again after %', to_char(v_until, 'YYYY-MM-DD HH24:MI:SS TZ')
      USING ERRCODE = 'KS429';
  END IF;
  RETURN (SELECT o.password_hash FROM ksys.operators o WHERE o.name = p_name AND o.enabled);
END$$;

--
-- Name: operator_check_alarms(text[], text[]); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_check_alarms(p_tags text[], p_kinds text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  IF p_tags IS NULL OR p_kinds IS NULL OR cardinality(p_tags) <> cardinality(p_kinds) OR cardinality(p_tags) = 0 THEN
    RAISE EXCEPTION 'name the alarms as pairs of tag and limit' USING ERRCODE = '22023';
  END IF;
  IF cardinality(p_tags) > 1000 THEN
    RAISE EXCEPTION 'at most 1000 alarms at once' USING ERRCODE = '22023';
  END IF;
END$$;

--
-- Name: operator_check_name(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_check_name(p_name text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
BEGIN
  IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9._-]{0,31}$' THEN
    RAISE EXCEPTION 'an operator name is 1-32 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"'
      USING ERRCODE = '22023';
  END IF;
END$_$;

--
-- Name: operator_check_note(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_check_note(p_note text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  IF length(p_note) > 1000 THEN
    RAISE EXCEPTION 'a note may be at most 1000 characters (this one has %)', length(p_note) USING ERRCODE = '22023';
  END IF;
  IF p_note ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
    RAISE EXCEPTION 'a note may not hold control characters' USING ERRCODE = '22023';
  END IF;
  RETURN nullif(btrim(p_note), '');
END$$;

--
-- Name: operator_client(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_client(p_client text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT left(regexp_replace(coalesce(p_client, ''), '[^0-9A-Za-z:.\-\[\]]', '', 'g'), 64)
$$;

--
-- Name: operator_finish_login(text, text, boolean); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_finish_login(p_name text, p_client text, p_ok boolean) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  v_token text;
  v_ok boolean;
BEGIN
  PERFORM ksys.operator_check_name(p_name);
  v_ok := coalesce(p_ok, false) AND EXISTS (SELECT 1 FROM ksys.operators o WHERE o.name = p_name AND o.enabled);
  INSERT INTO ksys.operator_logins (operator, client, ok) VALUES (p_name, ksys.operator_client(p_client), v_ok);
  IF NOT v_ok THEN
    RETURN NULL;
  END IF;
  v_token := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
  INSERT INTO ksys.operator_sessions (token_sha256, operator, client, expires_at)
  VALUES (sha256(convert_to(v_token, 'UTF8')), p_name, ksys.operator_client(p_client),
          now() + (SELECT session_ttl FROM ksys.alarm_settings));
  RETURN v_token;
END$$;

--
-- Name: operator_logout(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_logout(p_token text) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  UPDATE ksys.operator_sessions SET closed_at = now()
  WHERE token_sha256 = sha256(convert_to(coalesce(p_token, ''), 'UTF8')) AND closed_at IS NULL
$$;

--
-- Name: operators; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.operators (
    name text NOT NULL,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone,
    CONSTRAINT operators_display_name_check CHECK (((length(display_name) >= 1) AND (length(display_name) <= 64))),
    CONSTRAINT operators_name_check CHECK ((name ~ '^[a-z][a-z0-9._-]{0,31}$'::text)),
    CONSTRAINT operators_password_hash_check CHECK ((password_hash ~~ '$argon2%'::text))
);

--
-- Name: operator_of(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_of(p_token text) RETURNS ksys.operators
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  o ksys.operators;
BEGIN
  SELECT op.* INTO o FROM ksys.operator_sessions s JOIN ksys.operators op ON op.name = s.operator
  WHERE s.token_sha256 = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
    AND s.closed_at IS NULL AND s.expires_at > now() AND op.enabled;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not logged in (the session ended or expired)' USING ERRCODE = 'KS401';
  END IF;
  RETURN o;
END$$;

--
-- Name: operator_whoami(text); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.operator_whoami(p_token text) RETURNS TABLE(operator text, display_name text, expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  RETURN QUERY SELECT o.name, o.display_name, s.expires_at FROM ksys.operator_sessions s
               WHERE s.token_sha256 = sha256(convert_to(p_token, 'UTF8'));
END$$;

--
-- Name: pending_pieces(text, timestamp with time zone, interval); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.pending_pieces(p_consumer text, p_bound timestamp with time zone, p_budget interval) RETURNS TABLE(lo timestamp with time zone, hi timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: process_pending(text, interval); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.process_pending(p_consumer text, p_budget interval) RETURNS interval
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: refresh_alarm_conditions(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_alarm_conditions(p_lo timestamp with time zone, p_hi timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: refresh_alarm_states(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_alarm_states() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
  a record;
  v_n bigint := 0;
BEGIN
  INSERT INTO ksys.alarm_dirty AS d (tag_name, kind, from_at)
  SELECT s.tag_name, s.kind, s.shelved_until FROM ksys.alarm_state s
  WHERE s.state = 'shelved' AND s.shelved_until <= now()
  UNION ALL
  SELECT q.tag_name, l.kind, '-infinity' FROM public.influx_qc_rule q CROSS JOIN LATERAL ksys.alarm_limits(q.tag_name) l
  WHERE NOT EXISTS (SELECT 1 FROM ksys.alarm_state s WHERE s.tag_name = q.tag_name AND s.kind = l.kind)
  UNION ALL
  SELECT s.tag_name, s.kind, '-infinity' FROM ksys.alarm_state s
  WHERE NOT EXISTS (SELECT 1 FROM ksys.alarm_limits(s.tag_name) l WHERE l.kind = s.kind)
  ON CONFLICT (tag_name, kind) DO UPDATE SET from_at = least(d.from_at, EXCLUDED.from_at);

  FOR a IN SELECT * FROM ksys.alarm_dirty ORDER BY tag_name, kind LOOP
    v_n := v_n + ksys.alarm_replay(a.tag_name, a.kind, a.from_at);
    DELETE FROM ksys.alarm_dirty d WHERE d.tag_name = a.tag_name AND d.kind = a.kind AND d.from_at = a.from_at;
  END LOOP;
  RETURN v_n;
END$$;

--
-- Name: refresh_rollup(text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_rollup(p_job text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    AS $_$
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
$_$;

--
-- Name: refresh_rollups_span(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_rollups_span(p_lo timestamp with time zone, p_hi timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: refresh_tech_ind(timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_tech_ind(p_from timestamp with time zone) RETURNS bigint
    LANGUAGE sql
    AS $$
  SELECT ksys.refresh_tech_ind(p_from, 'infinity'::timestamptz)
$$;

--
-- Name: refresh_tech_ind(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_tech_ind(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    SET jit TO 'off'
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

--
-- Name: refresh_tech_span(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.refresh_tech_span(p_lo timestamp with time zone, p_hi timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$
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

--
-- Name: register_all_tags(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.register_all_tags() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: register_tags_in(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.register_tags_in(p_lo timestamp with time zone, p_hi timestamp with time zone) RETURNS void
    LANGUAGE sql
    AS $$
  INSERT INTO ksys.tag_registry (tag_name)
  SELECT DISTINCT tag_name FROM public.influx_hist WHERE ts >= p_lo AND ts < p_hi
  ON CONFLICT (tag_name) DO NOTHING
$$;

--
-- Name: retention_horizon(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.retention_horizon() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$ SELECT now() - interval '365 days' $$;

--
-- Name: run_alarms(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.run_alarms() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_lo timestamptz;
  v_hi timestamptz;
  v_n  bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('ksys.tick'));
  PERFORM ksys.collect_changes();
  SELECT min(lo), max(hi) INTO v_lo, v_hi FROM ksys.pending_ranges WHERE consumer = 'alarms';
  v_n := ksys.refresh_alarm_conditions(coalesce(v_lo, 'infinity'), coalesce(v_hi, 'infinity'));
  DELETE FROM ksys.pending_ranges WHERE consumer = 'alarms' AND hi <= coalesce(v_hi, '-infinity');
  RETURN v_n + ksys.refresh_alarm_states();
END$$;

--
-- Name: run_job(text, boolean); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.run_job(p_job text, p_due boolean) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

  ELSIF p_job = 'retention_dead_letters' THEN
    IF p_due THEN
      DELETE FROM ksys.ingest_dead_letters WHERE received_at < now() - j.start_offset;
    END IF;

  ELSE
    RAISE EXCEPTION 'unknown ksys job %', p_job;
  END IF;
END
$$;

--
-- Name: run_tick(integer); Type: PROCEDURE; Schema: ksys; Owner: -
--

CREATE PROCEDURE ksys.run_tick(INOUT failures integer DEFAULT NULL::integer)
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: comm_recv_1h; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.comm_recv_1h (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    recv_msgs bigint NOT NULL,
    last_seen_min timestamp with time zone
);

--
-- Name: src_comm_recv_1h(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_comm_recv_1h(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF ksys.comm_recv_1h
    LANGUAGE sql STABLE
    AS $$
  SELECT date_bin('1 hour', bucket, ksys.bucket_origin()), tag_name,
         sum(n)::bigint, max(bucket) FILTER (WHERE n > 0)
  FROM public.influx_agg_1m
  WHERE bucket >= p_from AND bucket < p_to
  GROUP BY 1, 2
$$;

--
-- Name: features_5m; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.features_5m (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    mean_5m double precision,
    std_5m double precision,
    min_5m double precision,
    max_5m double precision,
    p10_5m double precision,
    p90_5m double precision,
    n_5m bigint NOT NULL
);

--
-- Name: src_features_5m(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_features_5m(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF public.features_5m
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: influx_agg_10m; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_agg_10m (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    n bigint NOT NULL,
    avg double precision,
    sum double precision,
    min double precision,
    max double precision,
    last double precision,
    first double precision,
    diff double precision
);

--
-- Name: src_influx_agg_10m(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_influx_agg_10m(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF public.influx_agg_10m
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: influx_agg_1d; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_agg_1d (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    n bigint NOT NULL,
    avg double precision,
    sum double precision,
    min double precision,
    max double precision,
    last double precision,
    first double precision,
    diff double precision
);

--
-- Name: src_influx_agg_1d(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_influx_agg_1d(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF public.influx_agg_1d
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: influx_agg_1h; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_agg_1h (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    n bigint NOT NULL,
    avg double precision,
    sum double precision,
    min double precision,
    max double precision,
    last double precision,
    first double precision,
    diff double precision
);

--
-- Name: src_influx_agg_1h(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_influx_agg_1h(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF public.influx_agg_1h
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: influx_agg_1m; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_agg_1m (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    n bigint NOT NULL,
    avg double precision,
    sum double precision,
    min double precision,
    max double precision,
    last double precision,
    first double precision,
    diff double precision
);

--
-- Name: src_influx_agg_1m(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.src_influx_agg_1m(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS SETOF public.influx_agg_1m
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: tick(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.tick() RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: virtual_inputs(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.virtual_inputs() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['INLET_PRESSURE', 'OUTLET_PRESSURE', 'FEED_FLOW', 'PRODUCT_FLOW'] $$;

--
-- Name: virtual_tag_names(); Type: FUNCTION; Schema: ksys; Owner: -
--

CREATE FUNCTION ksys.virtual_tag_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['PRESSURE_DIFF', 'RECOVERY_RATE', 'OPERATING_TIME', 'TOTAL_PRODUCT_VOLUME_1H'] $$;

--
-- Name: alarm_actions; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_actions (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    tag_name text NOT NULL,
    kind text NOT NULL,
    action text NOT NULL,
    operator text NOT NULL,
    note text,
    until timestamp with time zone,
    CONSTRAINT alarm_actions_action_check CHECK ((action = ANY (ARRAY['ack'::text, 'shelve'::text, 'unshelve'::text, 'remove'::text, 'restore'::text]))),
    CONSTRAINT alarm_actions_check CHECK (((action = 'shelve'::text) = (until IS NOT NULL))),
    CONSTRAINT alarm_actions_note_check CHECK ((length(note) <= 1000))
);

--
-- Name: alarm_actions_id_seq; Type: SEQUENCE; Schema: ksys; Owner: -
--

ALTER TABLE ksys.alarm_actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ksys.alarm_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: alarm_condition_changes; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_condition_changes (
    tag_name text NOT NULL,
    kind text NOT NULL,
    at timestamp with time zone NOT NULL,
    active boolean NOT NULL,
    value double precision NOT NULL,
    priority text NOT NULL
);

--
-- Name: alarm_dirty; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_dirty (
    tag_name text NOT NULL,
    kind text NOT NULL,
    from_at timestamp with time zone NOT NULL
);

--
-- Name: alarm_journal; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_journal (
    at timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    kind text NOT NULL,
    seq integer NOT NULL,
    action text NOT NULL,
    old_state text NOT NULL,
    new_state text NOT NULL,
    active boolean NOT NULL,
    value double precision,
    priority text NOT NULL,
    operator text,
    note text,
    shelved_until timestamp with time zone,
    active_since timestamp with time zone,
    state_since timestamp with time zone NOT NULL
);

--
-- Name: alarm_limit_seen; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_limit_seen (
    tag_name text NOT NULL,
    kind text NOT NULL,
    threshold double precision NOT NULL,
    deadband double precision NOT NULL,
    on_delay interval NOT NULL,
    off_delay interval NOT NULL
);

--
-- Name: alarm_settings; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_settings (
    only_row boolean DEFAULT true NOT NULL,
    shelve_max interval DEFAULT '12:00:00'::interval NOT NULL,
    session_ttl interval DEFAULT '12:00:00'::interval NOT NULL,
    login_window interval DEFAULT '00:15:00'::interval NOT NULL,
    login_fails_per_name integer DEFAULT 5 NOT NULL,
    login_fails_per_client integer DEFAULT 20 NOT NULL,
    CONSTRAINT alarm_settings_only_row_check CHECK (only_row),
    CONSTRAINT alarm_settings_session_ttl_check CHECK ((session_ttl > '00:00:00'::interval)),
    CONSTRAINT alarm_settings_shelve_max_check CHECK ((shelve_max > '00:00:00'::interval))
);

--
-- Name: alarm_state; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.alarm_state (
    tag_name text NOT NULL,
    kind text NOT NULL,
    priority text NOT NULL,
    threshold double precision NOT NULL,
    state text NOT NULL,
    active boolean NOT NULL,
    value double precision,
    active_since timestamp with time zone,
    state_since timestamp with time zone,
    shelved_until timestamp with time zone,
    operator text,
    note text
);

--
-- Name: change_consumers; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.change_consumers (
    consumer text NOT NULL,
    inputs_only boolean NOT NULL,
    grain interval,
    reach interval,
    merge_gap interval NOT NULL
);

--
-- Name: hist_changes; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.hist_changes (
    lo timestamp with time zone NOT NULL,
    hi timestamp with time zone NOT NULL,
    inputs boolean NOT NULL,
    logged_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: ingest_dead_letters; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.ingest_dead_letters (
    id bigint NOT NULL,
    received_at timestamp with time zone NOT NULL,
    client_id text NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    message text NOT NULL,
    payload bytea NOT NULL,
    payload_bytes integer NOT NULL,
    CONSTRAINT ingest_dead_letters_kind_check CHECK ((length(kind) <= 64)),
    CONSTRAINT ingest_dead_letters_message_check CHECK ((length(message) <= 1000)),
    CONSTRAINT ingest_dead_letters_payload_bytes_check CHECK ((payload_bytes >= 0)),
    CONSTRAINT ingest_dead_letters_payload_check CHECK ((length(payload) <= 4096)),
    CONSTRAINT ingest_dead_letters_topic_check CHECK ((length(topic) <= 65535))
);

--
-- Name: ingest_dead_letters_id_seq; Type: SEQUENCE; Schema: ksys; Owner: -
--

ALTER TABLE ksys.ingest_dead_letters ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ksys.ingest_dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ingest_status; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.ingest_status (
    client_id text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    beat_at timestamp with time zone NOT NULL,
    beat_every_s real NOT NULL,
    broker text NOT NULL,
    topics text[] NOT NULL,
    connected boolean NOT NULL,
    messages bigint DEFAULT 0 NOT NULL,
    readings bigint DEFAULT 0 NOT NULL,
    rejected bigint DEFAULT 0 NOT NULL,
    rejects_by_kind jsonb DEFAULT '{}'::jsonb NOT NULL,
    messages_per_s real DEFAULT 0 NOT NULL,
    readings_per_s real DEFAULT 0 NOT NULL,
    lag_s real,
    spool_bytes bigint DEFAULT 0 NOT NULL,
    spool_max_bytes bigint NOT NULL,
    spool_full boolean DEFAULT false NOT NULL,
    rules integer DEFAULT 0 NOT NULL,
    rules_loaded_at timestamp with time zone,
    last_error text,
    last_error_at timestamp with time zone,
    CONSTRAINT ingest_status_beat_every_s_check CHECK ((beat_every_s > (0)::double precision)),
    CONSTRAINT ingest_status_client_id_check CHECK ((length(client_id) <= 256)),
    CONSTRAINT ingest_status_last_error_check CHECK ((length(last_error) <= 1000))
);

--
-- Name: jobs; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.jobs (
    job_name text NOT NULL,
    run_order integer NOT NULL,
    schedule_interval interval NOT NULL,
    start_offset interval,
    end_offset interval,
    watermark timestamp with time zone,
    enabled boolean DEFAULT true NOT NULL,
    next_start timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    last_run_started_at timestamp with time zone,
    last_successful_finish timestamp with time zone,
    last_run_status text,
    last_error text,
    total_runs bigint DEFAULT 0 NOT NULL,
    total_failures bigint DEFAULT 0 NOT NULL
);

--
-- Name: operator_logins; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.operator_logins (
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    operator text NOT NULL,
    client text NOT NULL,
    ok boolean NOT NULL
);

--
-- Name: operator_sessions; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.operator_sessions (
    token_sha256 bytea NOT NULL,
    operator text NOT NULL,
    client text,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    closed_at timestamp with time zone
);

--
-- Name: pending_ranges; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.pending_ranges (
    consumer text NOT NULL,
    lo timestamp with time zone NOT NULL,
    hi timestamp with time zone NOT NULL,
    logged_at timestamp with time zone NOT NULL,
    CONSTRAINT pending_ranges_check CHECK ((lo < hi))
);

--
-- Name: rollup_def; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.rollup_def (
    job_name text NOT NULL,
    target regclass NOT NULL,
    bucket_width interval NOT NULL,
    src_function text NOT NULL
);

--
-- Name: schema_migrations; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    engine text NOT NULL,
    file text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    duration_ms integer NOT NULL
);

--
-- Name: settings; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.settings (
    key text NOT NULL,
    value text NOT NULL
);

--
-- Name: tag_registry; Type: TABLE; Schema: ksys; Owner: -
--

CREATE TABLE ksys.tag_registry (
    tag_name text NOT NULL,
    first_seen timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: alarm_journal; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.alarm_journal AS
 SELECT alarm_journal.at,
    alarm_journal.tag_name,
    alarm_journal.kind,
    alarm_journal.seq,
    alarm_journal.action,
    alarm_journal.old_state,
    alarm_journal.new_state,
    alarm_journal.active,
    alarm_journal.value,
    alarm_journal.priority,
    alarm_journal.operator,
    alarm_journal.note,
    alarm_journal.shelved_until
   FROM ksys.alarm_journal;

--
-- Name: alarm_states; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.alarm_states AS
 SELECT alarm_state.tag_name,
    alarm_state.kind,
    alarm_state.priority,
    alarm_state.threshold,
    alarm_state.state,
    alarm_state.active,
    alarm_state.value,
    alarm_state.active_since,
    alarm_state.state_since,
    alarm_state.shelved_until,
    alarm_state.operator,
    alarm_state.note
   FROM ksys.alarm_state;

--
-- Name: anomalies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.anomalies (
    ts timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    score double precision NOT NULL,
    level text NOT NULL,
    context jsonb DEFAULT '{}'::jsonb
);

--
-- Name: ingest_expectation; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ingest_expectation (
    tag_name text NOT NULL,
    exp_per_min integer DEFAULT 1 NOT NULL,
    slo_warn numeric DEFAULT 0.98 NOT NULL,
    slo_crit numeric DEFAULT 0.95 NOT NULL,
    updated_at timestamp with time zone DEFAULT now(),
    CONSTRAINT ingest_expectation_exp_per_min_check CHECK ((exp_per_min > 0))
);

--
-- Name: comm_success_1h; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.comm_success_1h AS
 WITH expected AS (
         SELECT r.bucket,
            r.tag_name,
            r.recv_msgs,
            r.last_seen_min,
            (((COALESCE(e.exp_per_min, 1))::numeric * LEAST((60)::numeric, GREATEST((1)::numeric, floor((EXTRACT(epoch FROM (now() - r.bucket)) / (60)::numeric))))))::bigint AS exp_msgs
           FROM (ksys.comm_recv_1h r
             LEFT JOIN public.ingest_expectation e USING (tag_name))
        )
 SELECT expected.bucket,
    expected.tag_name,
    expected.recv_msgs,
    expected.exp_msgs,
    LEAST(1.0, GREATEST(0.0, ((expected.recv_msgs)::numeric / (expected.exp_msgs)::numeric))) AS success_rate,
    GREATEST((0)::bigint, (expected.exp_msgs - expected.recv_msgs)) AS missing_msgs,
    expected.last_seen_min
   FROM expected;

--
-- Name: influx_hist; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_hist (
    ts timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    value double precision NOT NULL,
    qc smallint DEFAULT 0,
    meta jsonb DEFAULT '{}'::jsonb
);

--
-- Name: influx_latest; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.influx_latest AS
 SELECT r.tag_name,
    l.value,
    l.ts
   FROM (ksys.tag_registry r
     CROSS JOIN LATERAL ( SELECT h.tag_name,
            h.value,
            h.ts
           FROM public.influx_hist h
          WHERE (h.tag_name <= r.tag_name)
          ORDER BY h.tag_name DESC, h.ts DESC
         LIMIT 1) l)
  WHERE (l.tag_name = r.tag_name)
UNION ALL
 SELECT u.tag_name,
    u.value,
    u.ts
   FROM ( SELECT DISTINCT ON (h.tag_name) h.tag_name,
            h.value,
            h.ts
           FROM public.influx_hist h
          WHERE ((h.ts > (now() - '00:05:00'::interval)) AND (NOT (EXISTS ( SELECT 1
                   FROM ksys.tag_registry r
                  WHERE (r.tag_name = h.tag_name)))))
          ORDER BY h.tag_name, h.ts DESC) u
  ORDER BY 1, 3 DESC;

--
-- Name: influx_qc_rule; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.influx_qc_rule (
    tag_name text NOT NULL,
    min_val double precision,
    max_val double precision,
    max_step double precision,
    max_gap_seconds integer,
    allow_negative boolean,
    enabled boolean,
    meta jsonb DEFAULT '{}'::jsonb,
    warn_min double precision,
    warn_max double precision,
    crit_min double precision,
    crit_max double precision,
    roc_max_per_min double precision,
    spike_zscore double precision,
    deadband_pct double precision,
    alarm_on_delay_s integer DEFAULT 0 NOT NULL,
    alarm_off_delay_s integer DEFAULT 0 NOT NULL,
    CONSTRAINT influx_qc_rule_alarm_off_delay_s_check CHECK ((alarm_off_delay_s >= 0)),
    CONSTRAINT influx_qc_rule_alarm_on_delay_s_check CHECK ((alarm_on_delay_s >= 0))
);

--
-- Name: ingest_health; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.ingest_health AS
 SELECT ingest_status.client_id,
    ingest_status.started_at,
    ingest_status.beat_at,
    ingest_status.connected,
    ingest_status.messages,
    ingest_status.readings,
    ingest_status.rejected,
    ingest_status.rejects_by_kind,
    ingest_status.messages_per_s,
    ingest_status.readings_per_s,
    ingest_status.lag_s,
    ingest_status.spool_bytes,
    ingest_status.spool_max_bytes,
    ingest_status.spool_full,
    (ingest_status.beat_at > (now() - make_interval(secs => GREATEST(((3)::double precision * ingest_status.beat_every_s), (30)::double precision)))) AS alive
   FROM ksys.ingest_status;

--
-- Name: predictions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.predictions (
    ts timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    horizon interval NOT NULL,
    yhat double precision NOT NULL,
    pi_low double precision,
    pi_high double precision,
    model_id text NOT NULL,
    version text NOT NULL,
    features jsonb DEFAULT '{}'::jsonb
);

--
-- Name: tech_ind_1m_mv; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tech_ind_1m_mv (
    bucket timestamp with time zone NOT NULL,
    tag_name text NOT NULL,
    avg double precision,
    sma_10 double precision,
    sma_60 double precision,
    bb_top double precision,
    bb_bot double precision,
    slope_60 double precision
);

--
-- Name: alarm_actions alarm_actions_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_actions
    ADD CONSTRAINT alarm_actions_pkey PRIMARY KEY (id);

--
-- Name: alarm_condition_changes alarm_condition_changes_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_condition_changes
    ADD CONSTRAINT alarm_condition_changes_pkey PRIMARY KEY (tag_name, kind, at);

--
-- Name: alarm_dirty alarm_dirty_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_dirty
    ADD CONSTRAINT alarm_dirty_pkey PRIMARY KEY (tag_name, kind);

--
-- Name: alarm_journal alarm_journal_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_journal
    ADD CONSTRAINT alarm_journal_pkey PRIMARY KEY (tag_name, kind, at, seq);

--
-- Name: alarm_limit_seen alarm_limit_seen_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_limit_seen
    ADD CONSTRAINT alarm_limit_seen_pkey PRIMARY KEY (tag_name, kind);

--
-- Name: alarm_settings alarm_settings_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_settings
    ADD CONSTRAINT alarm_settings_pkey PRIMARY KEY (only_row);

--
-- Name: alarm_state alarm_state_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.alarm_state
    ADD CONSTRAINT alarm_state_pkey PRIMARY KEY (tag_name, kind);

--
-- Name: change_consumers change_consumers_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.change_consumers
    ADD CONSTRAINT change_consumers_pkey PRIMARY KEY (consumer);

--
-- Name: comm_recv_1h comm_recv_1h_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.comm_recv_1h
    ADD CONSTRAINT comm_recv_1h_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: ingest_dead_letters ingest_dead_letters_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.ingest_dead_letters
    ADD CONSTRAINT ingest_dead_letters_pkey PRIMARY KEY (id);

--
-- Name: ingest_status ingest_status_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.ingest_status
    ADD CONSTRAINT ingest_status_pkey PRIMARY KEY (client_id);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (job_name);

--
-- Name: operator_sessions operator_sessions_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.operator_sessions
    ADD CONSTRAINT operator_sessions_pkey PRIMARY KEY (token_sha256);

--
-- Name: operators operators_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.operators
    ADD CONSTRAINT operators_pkey PRIMARY KEY (name);

--
-- Name: rollup_def rollup_def_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.rollup_def
    ADD CONSTRAINT rollup_def_pkey PRIMARY KEY (job_name);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

--
-- Name: tag_registry tag_registry_pkey; Type: CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.tag_registry
    ADD CONSTRAINT tag_registry_pkey PRIMARY KEY (tag_name);

--
-- Name: anomalies anomalies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.anomalies
    ADD CONSTRAINT anomalies_pkey PRIMARY KEY (ts, tag_name);

--
-- Name: features_5m features_5m_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.features_5m
    ADD CONSTRAINT features_5m_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: influx_agg_10m influx_agg_10m_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_agg_10m
    ADD CONSTRAINT influx_agg_10m_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: influx_agg_1d influx_agg_1d_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_agg_1d
    ADD CONSTRAINT influx_agg_1d_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: influx_agg_1h influx_agg_1h_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_agg_1h
    ADD CONSTRAINT influx_agg_1h_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: influx_agg_1m influx_agg_1m_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_agg_1m
    ADD CONSTRAINT influx_agg_1m_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: influx_hist influx_hist_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_hist
    ADD CONSTRAINT influx_hist_pkey PRIMARY KEY (ts, tag_name);

--
-- Name: influx_qc_rule influx_qc_rule_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.influx_qc_rule
    ADD CONSTRAINT influx_qc_rule_pkey PRIMARY KEY (tag_name);

--
-- Name: ingest_expectation ingest_expectation_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ingest_expectation
    ADD CONSTRAINT ingest_expectation_pkey PRIMARY KEY (tag_name);

--
-- Name: predictions predictions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.predictions
    ADD CONSTRAINT predictions_pkey PRIMARY KEY (ts, tag_name, horizon, model_id, version);

--
-- Name: tech_ind_1m_mv tech_ind_1m_mv_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tech_ind_1m_mv
    ADD CONSTRAINT tech_ind_1m_mv_pkey PRIMARY KEY (tag_name, bucket);

--
-- Name: alarm_actions_alarm_at; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX alarm_actions_alarm_at ON ksys.alarm_actions USING btree (tag_name, kind, at);

--
-- Name: alarm_journal_at; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX alarm_journal_at ON ksys.alarm_journal USING btree (at DESC);

--
-- Name: ingest_dead_letters_received; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX ingest_dead_letters_received ON ksys.ingest_dead_letters USING btree (received_at DESC);

--
-- Name: operator_logins_client_at; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX operator_logins_client_at ON ksys.operator_logins USING btree (client, at);

--
-- Name: operator_logins_operator_at; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX operator_logins_operator_at ON ksys.operator_logins USING btree (operator, at);

--
-- Name: pending_ranges_consumer; Type: INDEX; Schema: ksys; Owner: -
--

CREATE INDEX pending_ranges_consumer ON ksys.pending_ranges USING btree (consumer, hi);

--
-- Name: anomalies_tag_ts_desc; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX anomalies_tag_ts_desc ON public.anomalies USING btree (tag_name, ts DESC);

--
-- Name: anomalies_ts_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX anomalies_ts_idx ON public.anomalies USING btree (ts DESC);

--
-- Name: features_5m_bucket_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX features_5m_bucket_brin ON public.features_5m USING brin (bucket) WITH (autosummarize='on');

--
-- Name: idx_hist_tag_ts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_hist_tag_ts ON public.influx_hist USING btree (tag_name, ts);

--
-- Name: idx_pred_tag_ts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_pred_tag_ts ON public.predictions USING btree (tag_name, ts DESC);

--
-- Name: influx_agg_10m_bucket_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX influx_agg_10m_bucket_brin ON public.influx_agg_10m USING brin (bucket) WITH (autosummarize='on');

--
-- Name: influx_agg_1d_bucket_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX influx_agg_1d_bucket_brin ON public.influx_agg_1d USING brin (bucket) WITH (autosummarize='on');

--
-- Name: influx_agg_1h_bucket_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX influx_agg_1h_bucket_brin ON public.influx_agg_1h USING brin (bucket) WITH (autosummarize='on');

--
-- Name: influx_agg_1m_bucket_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX influx_agg_1m_bucket_brin ON public.influx_agg_1m USING brin (bucket) WITH (autosummarize='on');

--
-- Name: predictions_ts_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX predictions_ts_idx ON public.predictions USING btree (ts DESC);

--
-- Name: tech_ind_1m_mv_bucket_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tech_ind_1m_mv_bucket_idx ON public.tech_ind_1m_mv USING btree (bucket);

--
-- Name: alarm_condition_changes alarm_conditions_deleted; Type: TRIGGER; Schema: ksys; Owner: -
--

CREATE TRIGGER alarm_conditions_deleted AFTER DELETE ON ksys.alarm_condition_changes REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ksys.alarm_mark_dirty();

--
-- Name: alarm_condition_changes alarm_conditions_inserted; Type: TRIGGER; Schema: ksys; Owner: -
--

CREATE TRIGGER alarm_conditions_inserted AFTER INSERT ON ksys.alarm_condition_changes REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ksys.alarm_mark_dirty();

--
-- Name: influx_hist influx_hist_changes_del; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER influx_hist_changes_del AFTER DELETE ON public.influx_hist REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();

--
-- Name: influx_hist influx_hist_changes_ins; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER influx_hist_changes_ins AFTER INSERT ON public.influx_hist REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();

--
-- Name: influx_hist influx_hist_changes_trunc; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER influx_hist_changes_trunc AFTER TRUNCATE ON public.influx_hist FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();

--
-- Name: influx_hist influx_hist_changes_upd; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER influx_hist_changes_upd AFTER UPDATE ON public.influx_hist REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ksys.log_hist_changes();

--
-- Name: operator_sessions operator_sessions_operator_fkey; Type: FK CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.operator_sessions
    ADD CONSTRAINT operator_sessions_operator_fkey FOREIGN KEY (operator) REFERENCES ksys.operators(name);

--
-- Name: pending_ranges pending_ranges_consumer_fkey; Type: FK CONSTRAINT; Schema: ksys; Owner: -
--

ALTER TABLE ONLY ksys.pending_ranges
    ADD CONSTRAINT pending_ranges_consumer_fkey FOREIGN KEY (consumer) REFERENCES ksys.change_consumers(consumer);

--
-- Name: SCHEMA ksys; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA ksys TO eco_operator;
GRANT USAGE ON SCHEMA ksys TO eco_writer;

--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA public TO eco_ro;
GRANT USAGE ON SCHEMA public TO eco_writer;
GRANT USAGE ON SCHEMA public TO eco_ext;

--
-- Name: FUNCTION alarm_ack(p_token text, p_tags text[], p_kinds text[], p_note text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_ack(p_token text, p_tags text[], p_kinds text[], p_note text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.alarm_ack(p_token text, p_tags text[], p_kinds text[], p_note text) TO eco_operator;

--
-- Name: FUNCTION alarm_apply(p_action text, p_tags text[], p_kinds text[], p_operator text, p_note text, p_until timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_apply(p_action text, p_tags text[], p_kinds text[], p_operator text, p_note text, p_until timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION alarm_conditions(p_tag text, p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_conditions(p_tag text, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION alarm_limits(p_tag text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_limits(p_tag text) FROM PUBLIC;

--
-- Name: FUNCTION alarm_mark_dirty(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_mark_dirty() FROM PUBLIC;

--
-- Name: FUNCTION alarm_next(p_state text, p_active boolean, p_action text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_next(p_state text, p_active boolean, p_action text) FROM PUBLIC;

--
-- Name: FUNCTION alarm_replay(p_tag text, p_kind text, p_from timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_replay(p_tag text, p_kind text, p_from timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION alarm_shelve(p_token text, p_tags text[], p_kinds text[], p_minutes integer, p_note text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_shelve(p_token text, p_tags text[], p_kinds text[], p_minutes integer, p_note text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.alarm_shelve(p_token text, p_tags text[], p_kinds text[], p_minutes integer, p_note text) TO eco_operator;

--
-- Name: FUNCTION alarm_toward(p_value double precision, p_active boolean, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_toward(p_value double precision, p_active boolean, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean) FROM PUBLIC;

--
-- Name: FUNCTION alarm_unshelve(p_token text, p_tags text[], p_kinds text[], p_note text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_unshelve(p_token text, p_tags text[], p_kinds text[], p_note text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.alarm_unshelve(p_token text, p_tags text[], p_kinds text[], p_note text) TO eco_operator;

--
-- Name: FUNCTION alarm_walk(p_tag text, p_kind text, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean, p_on interval, p_off interval, p_active boolean, p_after timestamp with time zone, p_to timestamp with time zone, p_converge_from timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.alarm_walk(p_tag text, p_kind text, p_threshold double precision, p_deadband double precision, p_high boolean, p_inclusive boolean, p_on interval, p_off interval, p_active boolean, p_after timestamp with time zone, p_to timestamp with time zone, p_converge_from timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION backlog(p_before timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.backlog(p_before timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION bucket_origin(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.bucket_origin() FROM PUBLIC;

--
-- Name: FUNCTION cagg_chain(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.cagg_chain() FROM PUBLIC;

--
-- Name: FUNCTION cagg_window(p_cagg regclass, p_width interval, p_end_offset interval, p_lo timestamp with time zone, p_hi timestamp with time zone, OUT w_lo timestamp with time zone, OUT w_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.cagg_window(p_cagg regclass, p_width interval, p_end_offset interval, p_lo timestamp with time zone, p_hi timestamp with time zone, OUT w_lo timestamp with time zone, OUT w_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION cagg_windows(p_los timestamp with time zone[], p_his timestamp with time zone[]); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.cagg_windows(p_los timestamp with time zone[], p_his timestamp with time zone[]) FROM PUBLIC;

--
-- Name: FUNCTION collect_changes(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.collect_changes() FROM PUBLIC;

--
-- Name: FUNCTION compute_virtual_tags(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.compute_virtual_tags(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION consumer_bound(p_consumer text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.consumer_bound(p_consumer text) FROM PUBLIC;

--
-- Name: FUNCTION engine(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.engine() FROM PUBLIC;

--
-- Name: FUNCTION log_hist_changes(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.log_hist_changes() FROM PUBLIC;

--
-- Name: FUNCTION log_hist_row_change(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.log_hist_row_change() FROM PUBLIC;

--
-- Name: FUNCTION mark_done(p_consumer text, p_lo timestamp with time zone, p_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.mark_done(p_consumer text, p_lo timestamp with time zone, p_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION next_reading_minute(p_from timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.next_reading_minute(p_from timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION operator_begin_login(p_name text, p_client text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_begin_login(p_name text, p_client text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.operator_begin_login(p_name text, p_client text) TO eco_operator;

--
-- Name: FUNCTION operator_check_alarms(p_tags text[], p_kinds text[]); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_check_alarms(p_tags text[], p_kinds text[]) FROM PUBLIC;

--
-- Name: FUNCTION operator_check_name(p_name text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_check_name(p_name text) FROM PUBLIC;

--
-- Name: FUNCTION operator_check_note(p_note text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_check_note(p_note text) FROM PUBLIC;

--
-- Name: FUNCTION operator_client(p_client text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_client(p_client text) FROM PUBLIC;

--
-- Name: FUNCTION operator_finish_login(p_name text, p_client text, p_ok boolean); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_finish_login(p_name text, p_client text, p_ok boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.operator_finish_login(p_name text, p_client text, p_ok boolean) TO eco_operator;

--
-- Name: FUNCTION operator_logout(p_token text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_logout(p_token text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.operator_logout(p_token text) TO eco_operator;

--
-- Name: FUNCTION operator_of(p_token text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_of(p_token text) FROM PUBLIC;

--
-- Name: FUNCTION operator_whoami(p_token text); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.operator_whoami(p_token text) FROM PUBLIC;
GRANT ALL ON FUNCTION ksys.operator_whoami(p_token text) TO eco_operator;

--
-- Name: FUNCTION pending_pieces(p_consumer text, p_bound timestamp with time zone, p_budget interval); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.pending_pieces(p_consumer text, p_bound timestamp with time zone, p_budget interval) FROM PUBLIC;

--
-- Name: FUNCTION process_pending(p_consumer text, p_budget interval); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.process_pending(p_consumer text, p_budget interval) FROM PUBLIC;

--
-- Name: FUNCTION refresh_alarm_conditions(p_lo timestamp with time zone, p_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_alarm_conditions(p_lo timestamp with time zone, p_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION refresh_alarm_states(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_alarm_states() FROM PUBLIC;

--
-- Name: FUNCTION refresh_rollup(p_job text, p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_rollup(p_job text, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION refresh_rollups_span(p_lo timestamp with time zone, p_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_rollups_span(p_lo timestamp with time zone, p_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION refresh_tech_ind(p_from timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_tech_ind(p_from timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION refresh_tech_ind(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_tech_ind(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION refresh_tech_span(p_lo timestamp with time zone, p_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.refresh_tech_span(p_lo timestamp with time zone, p_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION register_all_tags(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.register_all_tags() FROM PUBLIC;

--
-- Name: FUNCTION register_tags_in(p_lo timestamp with time zone, p_hi timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.register_tags_in(p_lo timestamp with time zone, p_hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION retention_horizon(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.retention_horizon() FROM PUBLIC;

--
-- Name: FUNCTION run_alarms(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.run_alarms() FROM PUBLIC;

--
-- Name: FUNCTION run_job(p_job text, p_due boolean); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.run_job(p_job text, p_due boolean) FROM PUBLIC;

--
-- Name: PROCEDURE run_tick(INOUT failures integer); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON PROCEDURE ksys.run_tick(INOUT failures integer) FROM PUBLIC;

--
-- Name: FUNCTION src_comm_recv_1h(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_comm_recv_1h(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: TABLE features_5m; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.features_5m TO eco_ro;
GRANT SELECT ON TABLE public.features_5m TO eco_ext;

--
-- Name: FUNCTION src_features_5m(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_features_5m(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: TABLE influx_agg_10m; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_agg_10m TO eco_ro;
GRANT SELECT ON TABLE public.influx_agg_10m TO eco_ext;

--
-- Name: FUNCTION src_influx_agg_10m(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_influx_agg_10m(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: TABLE influx_agg_1d; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_agg_1d TO eco_ro;
GRANT SELECT ON TABLE public.influx_agg_1d TO eco_ext;

--
-- Name: FUNCTION src_influx_agg_1d(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_influx_agg_1d(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: TABLE influx_agg_1h; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_agg_1h TO eco_ro;
GRANT SELECT ON TABLE public.influx_agg_1h TO eco_ext;

--
-- Name: FUNCTION src_influx_agg_1h(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_influx_agg_1h(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: TABLE influx_agg_1m; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_agg_1m TO eco_ro;
GRANT SELECT ON TABLE public.influx_agg_1m TO eco_ext;

--
-- Name: FUNCTION src_influx_agg_1m(p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.src_influx_agg_1m(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION tick(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.tick() FROM PUBLIC;

--
-- Name: FUNCTION virtual_inputs(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.virtual_inputs() FROM PUBLIC;

--
-- Name: FUNCTION virtual_tag_names(); Type: ACL; Schema: ksys; Owner: -
--

REVOKE ALL ON FUNCTION ksys.virtual_tag_names() FROM PUBLIC;

--
-- Name: TABLE ingest_dead_letters; Type: ACL; Schema: ksys; Owner: -
--

GRANT INSERT ON TABLE ksys.ingest_dead_letters TO eco_writer;

--
-- Name: TABLE ingest_status; Type: ACL; Schema: ksys; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE ksys.ingest_status TO eco_writer;

--
-- Name: TABLE alarm_journal; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.alarm_journal TO eco_ro;

--
-- Name: TABLE alarm_states; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.alarm_states TO eco_ro;

--
-- Name: TABLE anomalies; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.anomalies TO eco_ro;
GRANT SELECT,INSERT,UPDATE ON TABLE public.anomalies TO eco_writer;

--
-- Name: TABLE ingest_expectation; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.ingest_expectation TO eco_ro;
GRANT SELECT ON TABLE public.ingest_expectation TO eco_writer;

--
-- Name: TABLE comm_success_1h; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.comm_success_1h TO eco_ro;
GRANT SELECT ON TABLE public.comm_success_1h TO eco_ext;

--
-- Name: TABLE influx_hist; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_hist TO eco_ro;
GRANT SELECT,INSERT,UPDATE ON TABLE public.influx_hist TO eco_writer;

--
-- Name: TABLE influx_latest; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_latest TO eco_ro;
GRANT SELECT ON TABLE public.influx_latest TO eco_ext;

--
-- Name: TABLE influx_qc_rule; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.influx_qc_rule TO eco_ro;
GRANT SELECT ON TABLE public.influx_qc_rule TO eco_writer;

--
-- Name: TABLE ingest_health; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.ingest_health TO eco_ro;

--
-- Name: TABLE predictions; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.predictions TO eco_ro;
GRANT SELECT,INSERT,UPDATE ON TABLE public.predictions TO eco_writer;

--
-- Name: TABLE tech_ind_1m_mv; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.tech_ind_1m_mv TO eco_ro;
GRANT SELECT ON TABLE public.tech_ind_1m_mv TO eco_ext;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES  TO eco_ro;

--
-- PostgreSQL database dump complete
--
