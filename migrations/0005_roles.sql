-- Roles (PRD 27.2). No password here: set one with
--   ALTER ROLE eco_ro PASSWORD '...';   (see README, "Database roles")
-- eco_ro     the dashboard: login, SELECT only, read-only transactions.
-- eco_writer ingest (Node-RED, simulator, backfill): writes raw readings.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eco_ro') THEN
    CREATE ROLE eco_ro LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eco_writer') THEN
    CREATE ROLE eco_writer LOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO eco_ro, eco_writer', current_database());
END$$;

ALTER ROLE eco_ro SET default_transaction_read_only = on;

GRANT USAGE ON SCHEMA public TO eco_ro, eco_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO eco_ro;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO eco_ro;

GRANT SELECT, INSERT, UPDATE ON public.influx_hist, public.predictions, public.anomalies TO eco_writer;
GRANT SELECT ON public.influx_qc_rule, public.ingest_expectation TO eco_writer;
