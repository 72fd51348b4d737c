-- `ksys ingest` (issue 18): MQTT messages it could not turn into readings, and
-- each ingest instance's heartbeat with its counters. Idempotent: `ksys restore`
-- runs the grants again after pg_restore --no-acl.

-- Messages refused by the payload rules (ksys_app/domain/ingest_payloads.py), kept
-- for inspection instead of written to influx_hist. The payload is bounded: its
-- first 4 KiB (a 1 MB message of garbage needs no more to be recognised), with
-- its full size beside it.
CREATE TABLE IF NOT EXISTS ksys.ingest_dead_letters (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at   timestamptz NOT NULL,
  client_id     text        NOT NULL,
  topic         text        NOT NULL CHECK (length(topic) <= 65535),
  kind          text        NOT NULL CHECK (length(kind) <= 64),
  message       text        NOT NULL CHECK (length(message) <= 1000),
  payload       bytea       NOT NULL CHECK (length(payload) <= 4096),
  payload_bytes integer     NOT NULL CHECK (payload_bytes >= 0)
);
CREATE INDEX IF NOT EXISTS ingest_dead_letters_received ON ksys.ingest_dead_letters (received_at DESC);

-- One row per ingest instance (its MQTT client id), updated every few seconds:
-- `ksys doctor` says an instance is down when its beat is old, and reads the
-- spool alarm from here. Counters are totals since `started_at`; rates are over
-- the last status period.
CREATE TABLE IF NOT EXISTS ksys.ingest_status (
  client_id        text PRIMARY KEY CHECK (length(client_id) <= 256),
  started_at       timestamptz NOT NULL,
  beat_at          timestamptz NOT NULL,
  beat_every_s     real        NOT NULL CHECK (beat_every_s > 0),
  broker           text        NOT NULL,
  topics           text[]      NOT NULL,
  connected        boolean     NOT NULL,
  messages         bigint      NOT NULL DEFAULT 0,
  readings         bigint      NOT NULL DEFAULT 0,
  rejected         bigint      NOT NULL DEFAULT 0,
  rejects_by_kind  jsonb       NOT NULL DEFAULT '{}'::jsonb,
  messages_per_s   real        NOT NULL DEFAULT 0,
  readings_per_s   real        NOT NULL DEFAULT 0,
  lag_s            real,                              -- write time - newest reading of the last batch written
  spool_bytes      bigint      NOT NULL DEFAULT 0,
  spool_max_bytes  bigint      NOT NULL,
  spool_full       boolean     NOT NULL DEFAULT false,
  rules            integer     NOT NULL DEFAULT 0,    -- QC rules in use
  rules_loaded_at  timestamptz,
  last_error       text CHECK (length(last_error) <= 1000),
  last_error_at    timestamptz
);

-- eco_writer needs schema ksys for these two tables only: every function in ksys
-- stays revoked from PUBLIC (below), so USAGE lets it reach nothing else.
-- SELECT on the status: its upsert reads the row it updates.
GRANT USAGE ON SCHEMA ksys TO eco_writer;
GRANT INSERT ON ksys.ingest_dead_letters TO eco_writer;
GRANT SELECT, INSERT, UPDATE ON ksys.ingest_status TO eco_writer;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA ksys FROM PUBLIC;
