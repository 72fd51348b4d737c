-- The operators' role (issue 16): the dashboard connects as eco_operator to log
-- operators in and to acknowledge, shelve and unshelve alarms for them. It may
-- call those functions (0019) and nothing else: no table, no view, no other
-- function of ksys. Idempotent: `ksys restore` runs it again after
-- pg_restore --no-acl. No password here:
--   ALTER ROLE eco_operator PASSWORD '...';   (or KSYS_OPERATOR_ROLE_PASSWORD for `ksys migrate`)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eco_operator') THEN
    CREATE ROLE eco_operator LOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO eco_operator', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM eco_operator', current_database());
END$$;

GRANT USAGE ON SCHEMA ksys TO eco_operator;
GRANT EXECUTE ON FUNCTION
  ksys.operator_begin_login(text, text),
  ksys.operator_finish_login(text, text, boolean),
  ksys.operator_whoami(text),
  ksys.operator_logout(text),
  ksys.alarm_ack(text, text[], text[], text),
  ksys.alarm_shelve(text, text[], text[], integer, text),
  ksys.alarm_unshelve(text, text[], text[], text)
TO eco_operator;

-- A person clicks these; nothing of theirs takes seconds.
ALTER ROLE eco_operator SET statement_timeout = '5s';
ALTER ROLE eco_operator SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE eco_operator CONNECTION LIMIT 16;
