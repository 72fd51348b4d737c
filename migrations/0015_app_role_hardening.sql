-- The app roles may do what their job needs and nothing the server lets any role
-- do by default (issue 15). Idempotent: `ksys restore` runs it again after
-- pg_restore --no-acl.
--
-- Temporary objects: every role may create temp tables (and functions in
-- pg_temp) through the database's TEMPORARY right given to PUBLIC. Only
-- eco_writer keeps it (an ingest may stage rows); the dashboard and external
-- readers need none.
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM eco_ro, eco_ext', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO eco_writer', current_database());
END$$;

-- Large objects: lo_create / lo_creat / lo_from_bytea are executable by PUBLIC and
-- write pg_largeobject even in a read-only transaction. Nothing in ksys uses them.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
                           pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;

-- Role-level limits, for any client of these roles (the dashboard sets tighter
-- ones per session: KSYS_STATEMENT_TIMEOUT_MS, 900 ms). A role can change its own
-- settings and password (PostgreSQL allows it and cannot be stopped from it), so
-- `ksys doctor` compares them with these.
ALTER ROLE eco_ro SET statement_timeout = '10s';
ALTER ROLE eco_ro SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE eco_ro CONNECTION LIMIT 64;
ALTER ROLE eco_ext SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE eco_ext CONNECTION LIMIT 16;
ALTER ROLE eco_writer SET statement_timeout = '5min';
ALTER ROLE eco_writer SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE eco_writer CONNECTION LIMIT 32;
