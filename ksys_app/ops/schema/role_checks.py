"""`ksys doctor`'s checks of the app roles: what each may do, against what it should.

PostgreSQL lets a role change its own settings (ALTER ROLE eco_ro SET
default_transaction_read_only = off) and its password, and nothing can stop it;
grants can be added by an owner by mistake. So doctor does not trust the
migrations' intent: it reads the catalog. For the read-only roles: no right to
write, truncate or create in any schema or relation, no temporary objects, no
large objects (none owned either), and the role-level settings and connection
limits of migrations 0005, 0006 and 0015.
"""

from __future__ import annotations

import psycopg

from ksys_app.ops.schema.checks import FAIL, OK, Check, Checks

READ_ONLY_ROLES = ("eco_ro", "eco_ext")
# roles that write nothing themselves: eco_operator acts through SECURITY DEFINER functions only
NO_WRITE_ROLES = READ_ONLY_ROLES + ("eco_operator",)
# role -> (settings, connection limit) as the migrations leave them
EXPECTED = {
    "eco_ro": ({"default_transaction_read_only": "on", "statement_timeout": "10s",
                "idle_in_transaction_session_timeout": "60s"}, 64),
    "eco_ext": ({"default_transaction_read_only": "on", "statement_timeout": "30s",
                 "idle_in_transaction_session_timeout": "60s"}, 16),
    "eco_writer": ({"statement_timeout": "5min", "idle_in_transaction_session_timeout": "5min"}, 32),
    "eco_operator": ({"statement_timeout": "5s", "idle_in_transaction_session_timeout": "60s"}, 16),
}
# the functions of schema ksys eco_operator may call (migration 0020), by name
OPERATOR_FUNCTIONS = frozenset({"operator_begin_login", "operator_finish_login", "operator_whoami", "operator_logout",
                                "alarm_ack", "alarm_shelve", "alarm_unshelve"})
SHOW = 3  # relations named in a failing check


WRITE_RIGHTS = "INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES"


def _relations_with(conn: psycopg.Connection, role: str, rights: str = WRITE_RIGHTS) -> list[str]:
    """Relations outside the catalogs and extensions on which `role` has any of `rights`."""
    rows = conn.execute(
        """SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
             -- an extension's own tables keep its grants (pg_cron lets every role delete its
             -- own rows of cron.job_run_details, under row-level security)
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                               AND d.objid = c.oid AND d.deptype = 'e')
             AND has_table_privilege(%s, c.oid, %s)
           ORDER BY 1""", (role, rights)).fetchall()
    return [r[0] for r in rows]


def _other_rights(conn: psycopg.Connection, role: str) -> list[tuple[str, str]]:
    """Rights beyond reading, each with the statement that takes it away: CREATE in a
    schema, temporary objects, creating large objects, large objects it owns."""
    db, schemas, temp, lo, owned = conn.execute(
        """SELECT current_database(),
                  (SELECT string_agg(quote_ident(nspname), ', ' ORDER BY nspname) FROM pg_namespace
                    WHERE nspname NOT LIKE 'pg_%%' AND nspname <> 'information_schema'
                      AND has_schema_privilege(%s, oid, 'CREATE')),
                  has_database_privilege(%s, current_database(), 'TEMP'),
                  has_function_privilege(%s, 'pg_catalog.lo_create(oid)', 'EXECUTE'),
                  (SELECT count(*) FROM pg_largeobject_metadata m JOIN pg_roles r ON r.oid = m.lomowner
                    WHERE r.rolname = %s)""", (role, role, role, role)).fetchone()
    found = []
    if schemas:
        found.append((f"CREATE in schema {schemas}", f"REVOKE CREATE ON SCHEMA {schemas} FROM PUBLIC, {role}"))
    if temp:
        found.append(("temporary tables", f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC, {role}'))
    if lo:
        found.append(("lo_create", "REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), "
                                   "lo_from_bytea(oid, bytea) FROM PUBLIC"))
    if owned:
        found.append((f"owns {owned} large object(s)",
                      f"SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE lomowner = '{role}'::regrole"))
    return found


def _extra_functions(conn: psycopg.Connection, role: str) -> list[str]:
    """ksys functions the role may execute beyond OPERATOR_FUNCTIONS (a grant to PUBLIC counts)."""
    rows = conn.execute(
        """SELECT p.proname, p.oid::regprocedure::text FROM pg_proc p
           WHERE p.pronamespace = 'ksys'::regnamespace AND has_function_privilege(%s, p.oid, 'EXECUTE')
           ORDER BY 2""", (role,)).fetchall()
    return [signature for name, signature in rows if name not in OPERATOR_FUNCTIONS]


def _settings(conn: psycopg.Connection, role: str) -> tuple[dict[str, str], int] | None:
    row = conn.execute(
        """SELECT r.rolconnlimit,
                  (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0)
           FROM pg_roles r WHERE r.rolname = %s""", (role,)).fetchone()
    if row is None:
        return None
    limit, config = row
    return dict(item.split("=", 1) for item in (config or [])), limit


def _settings_drift(role: str, found: tuple[dict[str, str], int]) -> tuple[list[str], list[str]]:
    """(what differs, the statements that restore it)."""
    want, want_limit = EXPECTED[role]
    have, limit = found
    drift, fixes = [], []
    for key, value in want.items():
        if have.get(key) != value:
            drift.append(f"{key}={have.get(key, '(unset)')} (expected {value})")
            fixes.append(f"ALTER ROLE {role} SET {key} = '{value}'")
    if limit != want_limit:
        drift.append(f"connection limit {limit} (expected {want_limit})")
        fixes.append(f"ALTER ROLE {role} CONNECTION LIMIT {want_limit}")
    return drift, fixes


def check_app_roles(conn: psycopg.Connection, out: Checks) -> None:
    for role in EXPECTED:
        found = _settings(conn, role)
        if found is None:
            out.append(Check(f"app role {role}", FAIL, "missing", "ksys migrate --dsn <admin DSN>"))
            continue
        problems, fixes = _settings_drift(role, found)
        if role == "eco_operator":
            extra = _extra_functions(conn, role)
            if extra:
                problems.append(f"may call {len(extra)} other ksys function(s): {', '.join(extra[:SHOW])}"
                                + (" …" if len(extra) > SHOW else ""))
                fixes.append(f"REVOKE EXECUTE ON FUNCTION {', '.join(extra[:SHOW])} FROM PUBLIC, {role}")
            # it reads nothing either: ksys.operators holds the password hashes
            readable = _relations_with(conn, role, rights="SELECT")
            if readable:
                problems.append(f"may read {len(readable)} relation(s): {', '.join(readable[:SHOW])}"
                                + (" …" if len(readable) > SHOW else ""))
                fixes.append(f"REVOKE SELECT ON {', '.join(readable[:SHOW])} FROM PUBLIC, {role}")
        if role in NO_WRITE_ROLES:
            writable = _relations_with(conn, role)
            if writable:
                problems.append(f"may write {len(writable)} relation(s): {', '.join(writable[:SHOW])}"
                                + (" …" if len(writable) > SHOW else ""))
                fixes.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "
                             f"{', '.join(writable[:SHOW])} FROM {role}")
            for problem, fix in _other_rights(conn, role):
                problems.append(f"may use {problem}" if not problem.startswith("owns") else problem)
                fixes.append(fix)
        if problems:
            out.append(Check(f"app role {role}", FAIL, "; ".join(problems), "; ".join(fixes)))
        else:
            out.append(Check(f"app role {role}", OK, "read-only, limits as set" if role in READ_ONLY_ROLES
                             else "alarm functions only, limits as set" if role == "eco_operator"
                             else "limits as set"))
