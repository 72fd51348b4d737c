"""What the page fuzz tests share: the server log since a mark, and what must never be in it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.pages.conftest import SERVER_LOG

KSYS_STATES = {"DashboardState", "TrendState", "TechState", "CommState", "KioskState", "LangState", "DisplayState"}


def log_mark(path: Path = SERVER_LOG) -> int:
    return len(path.read_text(errors="replace").splitlines()) if path.exists() else 0


def log_since(mark: int, path: Path = SERVER_LOG) -> list[str]:
    return path.read_text(errors="replace").splitlines()[mark:] if path.exists() else []


def events_in(lines: list[str], event: str) -> list[dict]:
    out = []
    for line in lines:
        if line.startswith("{") and f'"{event}"' in line:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("event") == event:
                out.append(obj)
    return out


def log_problems(lines: list[str]) -> list[str]:
    """Lines of the server log that say an exception escaped: a traceback, a logging error,
    Reflex's own exception banner, or an event_failed line pointing into ksys_app code."""
    bad = []
    for line in lines:
        if ("Traceback (most recent call last)" in line or "--- Logging error ---" in line
                or "[Reflex Backend Exception]" in line or "message async handler error" in line):
            bad.append(line)
    bad += [json.dumps(e) for e in events_in(lines, "event_failed")
            if " at " in (e.get("handler") or "") or (e.get("handler") or "").split(".")[0] in KSYS_STATES]
    return bad


SCHEDULER_BOOKKEEPING = frozenset({"ksys.jobs"})


def db_fingerprint(admin_dsn: str) -> dict[str, tuple]:
    """Row count and a hash of the rows of every table the migrations made (not the
    catalogs): equal before and after means nothing was written."""
    out: dict[str, tuple] = {}
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname <> 'cron'"
            " ORDER BY 1").fetchall()
        # the scheduler's own bookkeeping: pg_cron's tick each minute writes its jobs' last
        # run there, whatever the app did (the tick's data work shows in the other tables)
        tables = [t for t in tables if t[0] not in SCHEDULER_BOOKKEEPING]
        for (table,) in tables:
            out[table] = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t").fetchone()
    return out
