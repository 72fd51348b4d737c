"""Every write an app role might try, against every relation and schema of a migrated
database: each is refused unless the role's grants (migrations 0005, 0006, 0015, 0020) allow
it, and afterwards no row, large object, role or role setting has changed.

The statements are generated from the catalog, not listed by hand, so a relation a
later migration adds is probed too. Each runs in its own transaction with
default_transaction_read_only switched off first: the grants alone must stop it.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

# what each role may write, per its migrations (anything else must be refused)
MAY_WRITE = {
    "eco_ro": {},
    "eco_ext": {},
    # UPDATE brings row locks and LOCK TABLE with it (PostgreSQL grants both to any role that
    # may update or delete): a writer can stall readers of influx_hist; its statement_timeout
    # (5 min) bounds how long
    "eco_writer": {**{f"public.{t}": {"INSERT", "UPDATE", "LOCK_ROWS", "LOCK"}
                      for t in ("influx_hist", "predictions", "anomalies")},
                   "ksys.ingest_dead_letters": {"INSERT"},
                   "ksys.ingest_status": {"INSERT", "UPDATE", "LOCK_ROWS", "LOCK"}},  # 0021
    "eco_operator": {},  # writes only through the alarm functions (tests/schema/test_operators.py)
}

# How PostgreSQL refuses a write the role has no right to: no privilege; a relation kind
# nobody writes this way (a view that is not updatable, a continuous aggregate); a
# relation or schema the role may not even look up. Any other error (a NOT NULL
# violation) would come after the privilege check, so it counts as a write allowed.
REFUSALS = {"42501", "55000", "0A000", "42809", "42P01", "3F000"}

# Beyond the relations: what PostgreSQL lets a role try on its own behalf.
ROLE_STATEMENTS = [
    "CREATE SCHEMA probe_s",
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
    "CREATE ROLE probe_r",
    "ALTER ROLE {role} SUPERUSER",
    "ALTER ROLE {role} CREATEROLE",
    "ALTER ROLE {role} BYPASSRLS",
    "ALTER ROLE {role} CONNECTION LIMIT -1",
    "ALTER ROLE postgres PASSWORD 'x'",
    "ALTER DATABASE {db} SET default_transaction_read_only = off",
    "GRANT {role} TO PUBLIC",
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
    "SELECT lo_import('/etc/hostname')",
    "COPY (SELECT 1) TO '/tmp/ksys-probe-out'",
    "COPY (SELECT 1) TO PROGRAM 'true'",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT pg_ls_dir('.')",
    "SELECT pg_reload_conf()",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
    "SELECT pg_advisory_lock(4242)",  # allowed to anyone: migrate's lock has a timeout that names the holder
    "CREATE TEMP TABLE probe_t (x int)",
    "CREATE FUNCTION pg_temp.probe_f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE VIEW pg_temp.probe_v AS SELECT 1",
    "CREATE TYPE probe_ty AS (x int)",
    "SELECT ksys.tick()",
    "CALL ksys.run_tick()",
    "SELECT ksys.collect_changes()",
    "SELECT ksys.alarm_apply('ack', ARRAY['T'], ARRAY['crit_high'], 'probe', NULL, NULL)",
    "SELECT ksys.alarm_replay('T', 'crit_high', '-infinity')",
    "SELECT ksys.operator_of('x')",
]
# Advisory locks are not a write; PostgreSQL grants them to every role (0015's note).
# eco_writer keeps TEMPORARY (0015): an ingest may stage rows in a temp table.
_TEMP = {"CREATE TEMP TABLE probe_t (x int)", "CREATE FUNCTION pg_temp.probe_f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
         "CREATE VIEW pg_temp.probe_v AS SELECT 1"}
ALLOWED_ROLE_STATEMENTS = {"eco_ro": {"SELECT pg_advisory_lock(4242)"}, "eco_ext": {"SELECT pg_advisory_lock(4242)"},
                           "eco_writer": {"SELECT pg_advisory_lock(4242)", *_TEMP},
                           "eco_operator": {"SELECT pg_advisory_lock(4242)"}}


def _relations(conn: psycopg.Connection) -> list[tuple[str, str, str, str]]:
    """(schema, name, kind, first column an UPDATE may set) of every table, view, matview and
    foreign table (an identity column refuses `SET id = id` before any privilege check)."""
    return conn.execute(
        """SELECT n.nspname, c.relname, c.relkind,
                  (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
                     AND attidentity <> 'a' ORDER BY attnum LIMIT 1)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
             AND n.nspname NOT LIKE 'pg_temp%'
           ORDER BY 1, 2""").fetchall()


def _schemas(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%' ORDER BY 1")]


def _state(conn: psycopg.Connection) -> dict:
    """What a write would change: every table's row count, large objects, roles, role settings."""
    counts = {}
    for schema, name, kind, _col in _relations(conn):
        # TimescaleDB's and pg_cron's own catalogs change under their background
        # workers (a policy run, its job stats): probed for writes, not counted
        if kind in ("r", "p", "m") and not schema.startswith(("_timescaledb", "timescaledb_")) and schema != "cron":
            counts[f"{schema}.{name}"] = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name))).fetchone()[0]
    return {
        "rows": counts,
        "large_objects": conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()[0],
        "roles": conn.execute("SELECT array_agg((rolname, rolsuper, rolcreaterole, rolbypassrls, rolconnlimit)::text "
                              "ORDER BY rolname) FROM pg_roles").fetchone()[0],
        "role_settings": conn.execute("SELECT array_agg((setrole, setdatabase, setconfig)::text ORDER BY 1) "
                                      "FROM pg_db_role_setting").fetchone()[0],
        "schemas": _schemas(conn),
    }


def _relation_statements(conn: psycopg.Connection) -> list[tuple[str, str, sql.Composable]]:
    out = []
    for schema, name, kind, col in _relations(conn):
        rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        qualified = f"{schema}.{name}"
        out.append((qualified, "INSERT", sql.SQL("INSERT INTO {} DEFAULT VALUES").format(rel)))
        if col is not None:
            out.append((qualified, "UPDATE", sql.SQL("UPDATE {} SET {} = {}").format(
                rel, sql.Identifier(col), sql.Identifier(col))))
        out.append((qualified, "DELETE", sql.SQL("DELETE FROM {}").format(rel)))
        out.append((qualified, "TRUNCATE", sql.SQL("TRUNCATE {}").format(rel)))
        # what an owner may do to a relation, and locks that would stall every reader
        out.append((qualified, "LOCK_ROWS", sql.SQL("SELECT 1 FROM {} FOR UPDATE LIMIT 1").format(rel)))
        out.append((qualified, "LOCK", sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(rel)))
        out.append((qualified, "ALTER", sql.SQL("ALTER TABLE {} RENAME TO probe_renamed").format(rel)))
        out.append((qualified, "DROP", sql.SQL("DROP TABLE {}").format(rel)))
        out.append((qualified, "COMMENT", sql.SQL("COMMENT ON TABLE {} IS 'probe'").format(rel)))
        out.append((qualified, "REINDEX", sql.SQL("REINDEX TABLE {}").format(rel)))
        if col is not None:
            out.append((qualified, "INDEX", sql.SQL("CREATE INDEX probe_i ON {} ({})").format(rel, sql.Identifier(col))))
        if kind == "m":
            out.append((qualified, "REFRESH", sql.SQL("REFRESH MATERIALIZED VIEW {}").format(rel)))
    for schema in _schemas(conn):
        s = sql.Identifier(schema)
        out.append((schema, "CREATE", sql.SQL("CREATE TABLE {}.probe_t (x int)").format(s)))
        out.append((schema, "CREATE", sql.SQL("CREATE FUNCTION {}.probe_f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
                    .format(s)))
    return out


@pytest.mark.parametrize("role", sorted(MAY_WRITE))
def test_an_app_role_writes_nothing_beyond_its_grants(migrated_dsn, pg_server, role):
    db = psycopg.conninfo.conninfo_to_dict(migrated_dsn)["dbname"]
    with psycopg.connect(migrated_dsn, autocommit=True) as owner:
        before = _state(owner)
        relation_statements = _relation_statements(owner)
    allowed = dict(MAY_WRITE[role])
    if role == "eco_writer":
        # TimescaleDB gives a hypertable's compressed table the hypertable's grants: the same
        # row and table locks (its rows are written by TimescaleDB only: direct DML is refused)
        allowed.update({r: {"LOCK_ROWS", "LOCK"} for r, _v, _s in relation_statements
                        if r.startswith("_timescaledb_internal._compressed_hypertable_")})
    tried, granted, unexpected, states = 0, [], [], {}
    with psycopg.connect(pg_server.dsn(db, user=role), autocommit=True) as conn:
        def attempt(statement) -> str | None:
            """None when the statement went through (rolled back), else its SQLSTATE."""
            nonlocal tried
            tried += 1
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL default_transaction_read_only = off")
                    conn.execute("SET LOCAL transaction_read_only = off")
                    conn.execute(statement)
                    raise _Undo()  # a write that was allowed is undone: the probe changes nothing
            except _Undo:
                return None
            except psycopg.Error as exc:
                return exc.sqlstate or "?"

        for relation, verb, statement in relation_statements:
            state = attempt(statement)
            if verb in allowed.get(relation, set()):
                # granted: it may still fail on a constraint (DEFAULT VALUES), never on privileges
                assert state != "42501", f"{role} lost {verb} on {relation}"
                granted.append(f"{verb} {relation}")
            elif state is None or state not in REFUSALS:
                # an error past the privilege check (a NOT NULL violation, say) means the role may write
                unexpected.append(f"{verb} {relation} ({state or 'went through'})")
            states[state] = states.get(state, 0) + 1
        for text in ROLE_STATEMENTS:
            statement = text.format(role=role, db=f'"{db}"')
            if attempt(statement) is None and text not in ALLOWED_ROLE_STATEMENTS[role]:
                unexpected.append(statement)
    with psycopg.connect(migrated_dsn, autocommit=True) as owner:
        after = _state(owner)
    print(f"\n{role}: {tried} statements, {len(granted)} within its grants, {len(unexpected)} beyond them; {states}")
    assert unexpected == []
    assert sorted(granted) == sorted(f"{v} {r}" for r, verbs in allowed.items() for v in verbs)
    assert after == before


class _Undo(Exception):
    """Raised inside a probe's transaction to roll back a statement that was allowed."""
