-- TimescaleDB: hypertables, compression after 7 days, retention 365 days (PRD 27.3).
CREATE EXTENSION IF NOT EXISTS timescaledb;

DO $$
BEGIN
  -- The toolkit is optional (PRD B16); percentiles fall back to percentile_cont.
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb_toolkit') THEN
    CREATE EXTENSION IF NOT EXISTS timescaledb_toolkit;
  END IF;
END$$;

SELECT create_hypertable('public.influx_hist', 'ts', if_not_exists => true,
                         migrate_data => true, chunk_time_interval => interval '7 days');
SELECT create_hypertable('public.predictions', 'ts', if_not_exists => true, migrate_data => true);
SELECT create_hypertable('public.anomalies',   'ts', if_not_exists => true, migrate_data => true);

ALTER TABLE public.influx_hist SET (
  timescaledb.compress,
  timescaledb.compress_orderby   = 'ts DESC',
  timescaledb.compress_segmentby = 'tag_name'
);
SELECT add_compression_policy('public.influx_hist', interval '7 days',   if_not_exists => true);
SELECT add_retention_policy  ('public.influx_hist', interval '365 days', if_not_exists => true);

INSERT INTO ksys.settings (key, value) VALUES ('engine', 'timescaledb')
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
