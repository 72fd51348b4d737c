-- ksys.run_alarms() called by itself (an operator script, `SELECT ksys.run_alarms()` after
-- a bulk edit, the tests) while the scheduler's tick ran in the same database could
-- deadlock with it: both hand out the change log (collect_changes deletes and re-inserts
-- ksys.pending_ranges rows) and cut pending ranges (mark_done), in their own order.
-- It now takes the tick's lock for its transaction first: it waits for a running tick,
-- and a tick that starts meanwhile skips (ksys.tick() only tries the lock). Inside the
-- tick the session holds that lock already, and advisory locks are re-entrant, so the
-- `alarms` job runs as before. The body is 0017's.
CREATE OR REPLACE FUNCTION ksys.run_alarms() RETURNS bigint
LANGUAGE plpgsql AS $$
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
