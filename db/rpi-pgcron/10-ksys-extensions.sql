-- Run once by the image's entrypoint in POSTGRES_DB (= cron.database_name).
-- Everything else (schema, roles, the pg_cron tick) comes from `ksys migrate`.
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS pg_cron;
