#!/bin/sh
# Start PostgreSQL with TimescaleDB and pg_cron preloaded. cron.database_name is
# taken from POSTGRES_DB, the database the image's init scripts create the
# extensions in, so the two can never disagree. pg_cron runs its jobs in
# background workers (no localhost password needed), and there are enough
# workers for every policy to fire at once after a restore.
set -eu
db="${POSTGRES_DB:-ecoanp}"
exec docker-entrypoint.sh "$@" \
  -c shared_preload_libraries=timescaledb,pg_cron \
  -c cron.database_name="${db}" \
  -c cron.use_background_workers=on \
  -c max_worker_processes="${KSYS_MAX_WORKER_PROCESSES:-32}" \
  -c timescaledb.max_background_workers="${KSYS_TSDB_BACKGROUND_WORKERS:-16}" \
  -c timescaledb.telemetry_level=off \
  -c timezone=UTC
