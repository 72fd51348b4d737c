-- Read-only role for external systems (seed 004: another PostgreSQL reading
-- ksys through postgres_fdw, BI tools). It sees the rollups and views only,
-- never raw influx_hist, the QC rules or the ksys schema. No password here:
--   ALTER ROLE eco_ext PASSWORD '...';   (docs/operations.md, "FDW read path")
-- Views and continuous aggregates are read with their owner's rights, so
-- SELECT on them is all the role needs.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eco_ext') THEN
    CREATE ROLE eco_ext LOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO eco_ext', current_database());
END$$;

ALTER ROLE eco_ext SET default_transaction_read_only = on;
ALTER ROLE eco_ext SET statement_timeout = '30s';

GRANT USAGE ON SCHEMA public TO eco_ext;
GRANT SELECT ON public.influx_agg_1m, public.influx_agg_10m, public.influx_agg_1h, public.influx_agg_1d,
                public.features_5m, public.tech_ind_1m_mv, public.influx_latest, public.comm_success_1h
  TO eco_ext;
