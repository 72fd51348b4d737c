-- Operators, their sessions, and the functions through which the dashboard acts
-- for them (issue 16). The dashboard reaches these as eco_operator (0020), a role
-- that may call the functions below and nothing else: each is SECURITY DEFINER,
-- checks its arguments, and writes only through ksys.alarm_apply (0017).
--
-- Passwords are argon2 hashes made and checked by the dashboard and the CLI
-- (argon2-cffi); the database keeps the hash and never sees a password. A login
-- is two calls: operator_begin_login gives the hash (or NULL: unknown or
-- disabled, which the caller must not tell apart from a wrong password) unless
-- the name or the client has failed too often; operator_finish_login records
-- the outcome and, on success, opens a session whose token the caller keeps.
-- Every action names its session token, never an operator: what the journal
-- says someone did, they logged in to do.

CREATE TABLE IF NOT EXISTS ksys.operators (
  name          text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9._-]{0,31}$'),
  display_name  text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
  password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2%'),
  enabled       boolean     NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);

CREATE TABLE IF NOT EXISTS ksys.operator_sessions (
  token_sha256 bytea       PRIMARY KEY,
  operator     text        NOT NULL REFERENCES ksys.operators (name),
  client       text,
  opened_at    timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  closed_at    timestamptz
);

-- Every login attempt (the audit, and what rate-limits guessing).
CREATE TABLE IF NOT EXISTS ksys.operator_logins (
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  operator text        NOT NULL,
  client   text        NOT NULL,
  ok       boolean     NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_logins_operator_at ON ksys.operator_logins (operator, at);
CREATE INDEX IF NOT EXISTS operator_logins_client_at ON ksys.operator_logins (client, at);

-- How long a session lasts (a shift and a bit), and the guessing limits: this
-- many failures for one name, or from one client, within the window lock
-- logins of that name / client until the window has passed.
ALTER TABLE ksys.alarm_settings
  ADD COLUMN IF NOT EXISTS session_ttl     interval NOT NULL DEFAULT interval '12 hours' CHECK (session_ttl > interval '0'),
  ADD COLUMN IF NOT EXISTS login_window    interval NOT NULL DEFAULT interval '15 minutes',
  ADD COLUMN IF NOT EXISTS login_fails_per_name   integer NOT NULL DEFAULT 5,
  ADD COLUMN IF NOT EXISTS login_fails_per_client integer NOT NULL DEFAULT 20;

CREATE OR REPLACE FUNCTION ksys.operator_check_name(p_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9._-]{0,31}$' THEN
    RAISE EXCEPTION 'an operator name is 1-32 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"'
      USING ERRCODE = '22023';
  END IF;
END$$;

-- The client as the dashboard saw it (an address), bounded: it is a key of the
-- rate limit, not something to trust or display.
CREATE OR REPLACE FUNCTION ksys.operator_client(p_client text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT left(regexp_replace(coalesce(p_client, ''), '[^0-9A-Za-z:.\-\[\]]', '', 'g'), 64)
$$;

CREATE OR REPLACE FUNCTION ksys.operator_begin_login(p_name text, p_client text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  cfg ksys.alarm_settings;
  v_client text := ksys.operator_client(p_client);
  v_until timestamptz;
BEGIN
  PERFORM ksys.operator_check_name(p_name);
  SELECT * INTO cfg FROM ksys.alarm_settings;
  SELECT max(at) + cfg.login_window INTO v_until FROM (
    SELECT at FROM ksys.operator_logins
    WHERE operator = p_name AND NOT ok AND at > clock_timestamp() - cfg.login_window
    ORDER BY at DESC OFFSET cfg.login_fails_per_name - 1 LIMIT 1) f;
  IF v_until IS NULL THEN
    SELECT max(at) + cfg.login_window INTO v_until FROM (
      SELECT at FROM ksys.operator_logins
      WHERE client = v_client AND NOT ok AND at > clock_timestamp() - cfg.login_window
      ORDER BY at DESC OFFSET cfg.login_fails_per_client - 1 LIMIT 1) f;
  END IF;
  IF v_until IS NOT NULL THEN
    RAISE EXCEPTION 'too many failed logins: try again after %', to_char(v_until, 'YYYY-MM-DD HH24:MI:SS TZ')
      USING ERRCODE = 'KS429';
  END IF;
  RETURN (SELECT o.password_hash FROM ksys.operators o WHERE o.name = p_name AND o.enabled);
END$$;

CREATE OR REPLACE FUNCTION ksys.operator_finish_login(p_name text, p_client text, p_ok boolean) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_token text;
  v_ok boolean;
BEGIN
  PERFORM ksys.operator_check_name(p_name);
  v_ok := coalesce(p_ok, false) AND EXISTS (SELECT 1 FROM ksys.operators o WHERE o.name = p_name AND o.enabled);
  INSERT INTO ksys.operator_logins (operator, client, ok) VALUES (p_name, ksys.operator_client(p_client), v_ok);
  IF NOT v_ok THEN
    RETURN NULL;
  END IF;
  v_token := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
  INSERT INTO ksys.operator_sessions (token_sha256, operator, client, expires_at)
  VALUES (sha256(convert_to(v_token, 'UTF8')), p_name, ksys.operator_client(p_client),
          now() + (SELECT session_ttl FROM ksys.alarm_settings));
  RETURN v_token;
END$$;

-- The operator of a live session (not closed, not expired, operator enabled).
CREATE OR REPLACE FUNCTION ksys.operator_of(p_token text) RETURNS ksys.operators
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o ksys.operators;
BEGIN
  SELECT op.* INTO o FROM ksys.operator_sessions s JOIN ksys.operators op ON op.name = s.operator
  WHERE s.token_sha256 = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
    AND s.closed_at IS NULL AND s.expires_at > now() AND op.enabled;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not logged in (the session ended or expired)' USING ERRCODE = 'KS401';
  END IF;
  RETURN o;
END$$;

CREATE OR REPLACE FUNCTION ksys.operator_whoami(p_token text)
RETURNS TABLE (operator text, display_name text, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  RETURN QUERY SELECT o.name, o.display_name, s.expires_at FROM ksys.operator_sessions s
               WHERE s.token_sha256 = sha256(convert_to(p_token, 'UTF8'));
END$$;

CREATE OR REPLACE FUNCTION ksys.operator_logout(p_token text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  UPDATE ksys.operator_sessions SET closed_at = now()
  WHERE token_sha256 = sha256(convert_to(coalesce(p_token, ''), 'UTF8')) AND closed_at IS NULL
$$;

-- A note as an operator types it: at most 1000 characters, no control
-- characters but line breaks and tabs. Refused, not trimmed: the operator sees
-- why and nothing is written.
CREATE OR REPLACE FUNCTION ksys.operator_check_note(p_note text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF length(p_note) > 1000 THEN
    RAISE EXCEPTION 'a note may be at most 1000 characters (this one has %)', length(p_note) USING ERRCODE = '22023';
  END IF;
  IF p_note ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
    RAISE EXCEPTION 'a note may not hold control characters' USING ERRCODE = '22023';
  END IF;
  RETURN nullif(btrim(p_note), '');
END$$;

CREATE OR REPLACE FUNCTION ksys.operator_check_alarms(p_tags text[], p_kinds text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_tags IS NULL OR p_kinds IS NULL OR cardinality(p_tags) <> cardinality(p_kinds) OR cardinality(p_tags) = 0 THEN
    RAISE EXCEPTION 'name the alarms as pairs of tag and limit' USING ERRCODE = '22023';
  END IF;
  IF cardinality(p_tags) > 1000 THEN
    RAISE EXCEPTION 'at most 1000 alarms at once' USING ERRCODE = '22023';
  END IF;
END$$;

CREATE OR REPLACE FUNCTION ksys.alarm_ack(p_token text, p_tags text[], p_kinds text[], p_note text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  RETURN ksys.alarm_apply('ack', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note), NULL);
END$$;

CREATE OR REPLACE FUNCTION ksys.alarm_unshelve(p_token text, p_tags text[], p_kinds text[], p_note text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  RETURN ksys.alarm_apply('unshelve', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note), NULL);
END$$;

-- Shelve for p_minutes (1 .. the configured maximum, ksys.alarm_settings.shelve_max).
CREATE OR REPLACE FUNCTION ksys.alarm_shelve(p_token text, p_tags text[], p_kinds text[], p_minutes integer,
                                             p_note text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  o ksys.operators := ksys.operator_of(p_token);
  v_max interval := (SELECT shelve_max FROM ksys.alarm_settings);
BEGIN
  PERFORM ksys.operator_check_alarms(p_tags, p_kinds);
  IF p_minutes IS NULL OR p_minutes < 1 OR make_interval(mins => p_minutes) > v_max THEN
    RAISE EXCEPTION 'shelve for 1 minute to % (asked: % minutes)', v_max, coalesce(p_minutes::text, 'none')
      USING ERRCODE = '22023';
  END IF;
  RETURN ksys.alarm_apply('shelve', p_tags, p_kinds, o.name, ksys.operator_check_note(p_note),
                          clock_timestamp() + make_interval(mins => p_minutes));
END$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ksys FROM PUBLIC;
