-- Alarm states and the alarm journal (issue 16): what operators see and act on,
-- built on the condition changes of 0016.
--
-- The state of one alarm (tag, limit) follows the ISA-18.2 state machine of
-- ksys_app/domain/alarms.py (`transition`), driven by two kinds of event in time
-- order: its condition becoming active / clearing (ksys.alarm_condition_changes,
-- at the reading's time) and what operators and administrators did
-- (ksys.alarm_actions, at the time they did it), plus a shelve expiring at its
-- end time. The journal is that replay written out, one row per transition, so
-- it is a derived relation like the rollups: a late reading that changes a
-- condition in the past replays its alarm from there, and the journal and state
-- are always what the events give, whatever order the readings arrived in
-- (tests/schema/test_alarm_states.py compares them with the domain's replay).
--
-- What operators did is kept apart in ksys.alarm_actions, append-only, and never
-- rewritten: if a late reading shows that an acknowledged alarm had cleared
-- before the acknowledgement, the replay has nothing to acknowledge there (the
-- journal shows no such row) but the action stays on record.
--
-- The journal follows the limits in force: editing a limit recomputes its
-- conditions from the first reading (0016), and its journal with them; a limit
-- removed takes its state and journal along (its actions stay).

-- What operators and administrators did. `until`: the end of a shelve.
CREATE TABLE IF NOT EXISTS ksys.alarm_actions (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  tag_name text        NOT NULL,
  kind     text        NOT NULL,
  action   text        NOT NULL CHECK (action IN ('ack', 'shelve', 'unshelve', 'remove', 'restore')),
  operator text        NOT NULL,
  note     text        CHECK (length(note) <= 1000),
  until    timestamptz,
  CHECK ((action = 'shelve') = (until IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS alarm_actions_alarm_at ON ksys.alarm_actions (tag_name, kind, at);

-- One row per transition: the event (action: activate, clear, ack, shelve,
-- unshelve, shelve_expired, remove, restore), the state before and after, and
-- the alarm as it stood after it (active, value of the last condition change,
-- since when active, since when in this state, end of the shelve).
CREATE TABLE IF NOT EXISTS ksys.alarm_journal (
  at            timestamptz      NOT NULL,
  tag_name      text             NOT NULL,
  kind          text             NOT NULL,
  seq           integer          NOT NULL,  -- order of rows of one alarm at the same instant
  action        text             NOT NULL,
  old_state     text             NOT NULL,
  new_state     text             NOT NULL,
  active        boolean          NOT NULL,
  value         double precision,
  priority      text             NOT NULL,
  operator      text,
  note          text,
  shelved_until timestamptz,
  active_since  timestamptz,
  state_since   timestamptz      NOT NULL,
  PRIMARY KEY (tag_name, kind, at, seq)
);
CREATE INDEX IF NOT EXISTS alarm_journal_at ON ksys.alarm_journal (at DESC);

-- The current state of every alarm (tag, limit) of an enabled rule: the last
-- journal row, or normal. Small: what the pages read.
CREATE TABLE IF NOT EXISTS ksys.alarm_state (
  tag_name      text             NOT NULL,
  kind          text             NOT NULL,
  priority      text             NOT NULL,
  threshold     double precision NOT NULL,
  state         text             NOT NULL,
  active        boolean          NOT NULL,
  value         double precision,
  active_since  timestamptz,
  state_since   timestamptz,
  shelved_until timestamptz,
  operator      text,  -- who caused the last transition, if someone did
  note          text,
  PRIMARY KEY (tag_name, kind)
);

-- Alarms whose events changed at or after from_at and whose journal must be
-- replayed from there; filled by triggers on the condition changes and by the
-- action functions, emptied by the `alarms` job.
CREATE TABLE IF NOT EXISTS ksys.alarm_dirty (
  tag_name text        NOT NULL,
  kind     text        NOT NULL,
  from_at  timestamptz NOT NULL,
  PRIMARY KEY (tag_name, kind)
);

-- Settings of the alarm system (one row): the longest shelve an operator may set.
CREATE TABLE IF NOT EXISTS ksys.alarm_settings (
  only_row   boolean  PRIMARY KEY DEFAULT true CHECK (only_row),
  shelve_max interval NOT NULL DEFAULT interval '12 hours' CHECK (shelve_max > interval '0')
);
INSERT INTO ksys.alarm_settings DEFAULT VALUES ON CONFLICT DO NOTHING;

-- The ISA-18.2 transitions, as in domain/alarms.py `transition`: the state and
-- condition after `p_action`, or no row when the state refuses it.
CREATE OR REPLACE FUNCTION ksys.alarm_next(p_state text, p_active boolean, p_action text)
RETURNS TABLE (state text, active boolean)
LANGUAGE sql IMMUTABLE AS $$
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

-- Replay one alarm's events from p_from (inclusive): its journal rows from there
-- are rewritten and its state row set to where the replay ends (now). The state
-- before p_from is the last journal row before it. Refused actions (no longer
-- applicable after a late reading) write nothing.
CREATE OR REPLACE FUNCTION ksys.alarm_replay(p_tag text, p_kind text, p_from timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
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

-- Any write to the stored condition changes marks its alarms dirty from the
-- earliest instant written (two triggers: a trigger with transition tables
-- serves one event).
CREATE OR REPLACE FUNCTION ksys.alarm_mark_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ksys.alarm_dirty AS d (tag_name, kind, from_at)
  SELECT c.tag_name, c.kind, min(c.at) FROM changed c GROUP BY 1, 2
  ON CONFLICT (tag_name, kind) DO UPDATE SET from_at = least(d.from_at, EXCLUDED.from_at);
  RETURN NULL;
END$$;

DROP TRIGGER IF EXISTS alarm_conditions_inserted ON ksys.alarm_condition_changes;
CREATE TRIGGER alarm_conditions_inserted AFTER INSERT ON ksys.alarm_condition_changes
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ksys.alarm_mark_dirty();
DROP TRIGGER IF EXISTS alarm_conditions_deleted ON ksys.alarm_condition_changes;
CREATE TRIGGER alarm_conditions_deleted AFTER DELETE ON ksys.alarm_condition_changes
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ksys.alarm_mark_dirty();

-- Bring states and journal up to date: replay every dirty alarm, every shelve
-- that has ended, every limit without a state row yet; drop the states of
-- limits that no longer exist. Alarms in (tag, kind) order, the order the
-- action functions lock them in, so the two never deadlock.
CREATE OR REPLACE FUNCTION ksys.refresh_alarm_states() RETURNS bigint
LANGUAGE plpgsql AS $$
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

-- Record what someone did to alarms and replay them: the one way actions are
-- written, used by `ksys alarms` (administrators, as the owner) and by the
-- operators' functions (0019). Each (tag, kind) is checked against its current
-- state; those that refuse the action are skipped, and the count of alarms
-- acted on is returned (0: nothing applied, nothing written). Alarms are locked
-- in (tag, kind) order, as refresh_alarm_states takes them.
CREATE OR REPLACE FUNCTION ksys.alarm_apply(p_action text, p_tags text[], p_kinds text[], p_operator text,
                                            p_note text, p_until timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
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

-- The `alarms` job: conditions first (0016), then the states and journal.
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
  RETURN v_n + ksys.refresh_alarm_states();
END$$;

-- What the pages read (eco_ro reads public): every alarm's state, and the
-- journal.
CREATE OR REPLACE VIEW public.alarm_states AS
SELECT tag_name, kind, priority, threshold, state, active, value, active_since, state_since, shelved_until,
       operator, note
FROM ksys.alarm_state;

CREATE OR REPLACE VIEW public.alarm_journal AS
SELECT at, tag_name, kind, seq, action, old_state, new_state, active, value, priority, operator, note,
       shelved_until
FROM ksys.alarm_journal;

-- Nothing in ksys may run from the app roles (0019 grants the operators' functions).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
