"""The target database of a restore: does it exist, is it empty, create it, clear it (--force)."""

from __future__ import annotations

from typing import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ksys_app.ops.db import connect, describe, first_line, with_dbname
from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.probe import ServerInfo
from ksys_app.ops.schema.schedule import TICK_COMMANDS, cron_job_name

Out = Callable[[str], None]

def target_dbname(dsn: str) -> str:
    name = conninfo_to_dict(dsn).get("dbname")
    if not name:
        raise OpsError("the target DSN names no database (add /dbname)")
    return str(name)


def database_exists(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5):
            return True
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise OpsError(f"cannot connect to {describe(dsn)}: {first_line(exc)}") from None
    return False


def create_database(dsn: str, dbname: str, maintenance_db: str, like: tuple | None = None) -> None:
    with connect(with_dbname(dsn, maintenance_db)) as m:
        parts = [sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(dbname))]
        if like:
            owner, encoding, collate, ctype = like
            parts.append(sql.SQL("OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                sql.Identifier(owner), sql.Literal(encoding), sql.Literal(collate), sql.Literal(ctype)))
        try:
            m.execute(sql.SQL(" ").join(parts))
        except psycopg.Error as exc:
            raise OpsError(f"cannot create database {dbname}: {first_line(exc)}") from None


def contents(conn: psycopg.Connection) -> list[str]:
    """What makes a database non-empty for a restore: a ksys schema, user relations, influx_hist rows."""
    found = []
    schemas = [r[0] for r in conn.execute(
        """SELECT n.nspname FROM pg_namespace n
           WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                             AND d.objid = n.oid AND d.deptype = 'e')
           ORDER BY 1""")]
    if schemas:
        found.append(f"schema {', '.join(schemas)}")
    relations = conn.execute(
        """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')""").fetchone()[0]
    if relations:
        found.append(f"{relations} relations in schema public")
    if conn.execute("SELECT to_regclass('public.influx_hist') IS NOT NULL").fetchone()[0]:
        n = conn.execute("SELECT count(*) FROM (SELECT 1 FROM public.influx_hist LIMIT 1000001) x").fetchone()[0]
        if n:
            found.append(f"{'more than 1000000' if n > 1000000 else n} rows in influx_hist")
    return found


def _cron_conn_dsn(dsn: str, info: ServerInfo) -> str | None:
    if not info.pg_cron_usable:
        return None
    return with_dbname(dsn, info.cron_database)


def unschedule_stale(dsn: str, info: ServerInfo, dbname: str, out: Out) -> None:
    """A cron job left for this database name would call ksys.tick() in the middle of the restore."""
    cron_dsn = _cron_conn_dsn(dsn, info)
    if cron_dsn is None:
        return
    try:
        with connect(cron_dsn) as cron:
            if not cron.execute("SELECT to_regclass('cron.job') IS NOT NULL").fetchone()[0]:
                return
            rows = cron.execute("SELECT jobid FROM cron.job WHERE jobname = %s OR (database = %s AND command = ANY(%s))",
                                (cron_job_name(dbname), dbname, list(TICK_COMMANDS))).fetchall()
            for (jobid,) in rows:
                cron.execute("SELECT cron.unschedule(%s::bigint)", (jobid,))
            if rows:
                out(f"  removed {len(rows)} pg_cron job(s) left for {dbname}; the tick is scheduled again at the end")
    except psycopg.Error as exc:
        out(f"  warning: could not check pg_cron jobs in {info.cron_database}: {first_line(exc)}")


def _clean_in_place(dsn: str, dbname: str, out: Out) -> None:
    """--force on cron.database_name: empty it without dropping it.

    Dropping that database stops pg_cron's launcher for good (it does not come
    back until PostgreSQL restarts) and would lose other databases' jobs, so
    every schema but public and cron, every extension but plpgsql and pg_cron,
    and every object of ours in public are dropped instead.
    """
    ext_dep = ("EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{cat}'::regclass "
               "AND d.objid = {oid} AND d.deptype = 'e')")
    with connect(dsn) as conn:
        try:
            schemas = conn.execute(
                f"""SELECT n.nspname FROM pg_namespace n
                    WHERE n.nspname NOT IN ('public', 'cron', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                      AND NOT {ext_dep.format(cat='pg_namespace', oid='n.oid')}""").fetchall()
            for (name,) in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            extensions = conn.execute(
                "SELECT extname FROM pg_extension WHERE extname NOT IN ('plpgsql', 'pg_cron')").fetchall()
            for (name,) in extensions:
                conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE",
                     "S": "SEQUENCE"}
            relations = conn.execute(
                f"""SELECT c.oid::regclass::text, c.relkind FROM pg_class c
                    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                      AND NOT {ext_dep.format(cat='pg_class', oid='c.oid')}""").fetchall()
            for name, kind in relations:
                conn.execute(f"DROP {kinds[kind]} IF EXISTS {name} CASCADE")
            routines = conn.execute(
                f"""SELECT p.oid::regprocedure::text FROM pg_proc p
                    WHERE p.pronamespace = 'public'::regnamespace
                      AND NOT {ext_dep.format(cat='pg_proc', oid='p.oid')}""").fetchall()
            for (name,) in routines:
                conn.execute(f"DROP ROUTINE IF EXISTS {name} CASCADE")
            types = conn.execute(
                f"""SELECT t.oid::regtype::text FROM pg_type t
                    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
                      AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
                      AND NOT {ext_dep.format(cat='pg_type', oid='t.oid')}""").fetchall()
            for (name,) in types:
                conn.execute(f"DROP TYPE IF EXISTS {name} CASCADE")
        except psycopg.Error as exc:
            raise OpsError(f"cannot empty database {dbname}: {first_line(exc)}") from None
        left = contents(conn)
    if left:
        raise OpsError(f"database {dbname} still holds {'; '.join(left)} after --force; empty it by hand")
    out(f"  --force: emptied {dbname} in place (it is cron.database_name: dropping it would stop pg_cron "
        "until a restart); pg_cron and its jobs are kept")


def drop_and_recreate(dsn: str, dbname: str, maintenance_db: str, info: ServerInfo, out: Out) -> None:
    if info.pg_cron_usable and info.cron_database == dbname:
        _clean_in_place(dsn, dbname, out)
        return
    if maintenance_db == dbname:
        raise OpsError(f"--maintenance-db must differ from the target database {dbname}")
    with connect(with_dbname(dsn, maintenance_db)) as m:
        like = m.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype "
                         "FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        try:
            m.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        except psycopg.Error as exc:
            raise OpsError(f"cannot drop database {dbname}: {first_line(exc)}") from None
    create_database(dsn, dbname, maintenance_db, like)
    out(f"  --force: dropped and re-created database {dbname} (same owner, encoding and locale)")


