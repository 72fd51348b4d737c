-- Retention of ksys.ingest_dead_letters (migration 0021), which grew without bound:
-- a plant that publishes one malformed message a second adds 86,400 rows a day.
-- Refusals older than the job's start_offset (30 days, about a month of history to
-- find when a source went wrong) are deleted once a day, by the same scheduler as
-- raw retention (ksys.tick(): pg_cron or `ksys worker`), on both engines. To keep
-- another span: UPDATE ksys.jobs SET start_offset = interval '90 days'
-- WHERE job_name = 'retention_dead_letters' (a later migrate keeps it: DO NOTHING).
-- The delete uses ingest_dead_letters_received and touches nothing else.

INSERT INTO ksys.jobs (job_name, run_order, schedule_interval, start_offset)
VALUES ('retention_dead_letters', 91, interval '1 day', interval '30 days')
ON CONFLICT (job_name) DO NOTHING;

-- run_job as 0016 left it, with the branch for the new job.
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

  ELSIF p_job = 'retention_dead_letters' THEN
    IF p_due THEN
      DELETE FROM ksys.ingest_dead_letters WHERE received_at < now() - j.start_offset;
    END IF;

  ELSE
    RAISE EXCEPTION 'unknown ksys job %', p_job;
  END IF;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
