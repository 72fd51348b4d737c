"""Dead letters are kept for the retention job's span (30 days unless changed), then
deleted by ksys.tick() like raw readings past theirs (migration 0023)."""

from __future__ import annotations

import psycopg

ROW = ("INSERT INTO ksys.ingest_dead_letters (received_at, client_id, topic, kind, message, payload, payload_bytes) "
       "VALUES (now() - %s::interval, 'c', 'ksys/x', 'not_json', 'payload is not JSON', '\\x00'::bytea, 1)")


def _ages(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT round(extract(epoch FROM now() - received_at) / 86400)::int FROM ksys.ingest_dead_letters ORDER BY 1")]


def _due(conn: psycopg.Connection) -> None:
    conn.execute("UPDATE ksys.jobs SET next_start = '-infinity' WHERE job_name = 'retention_dead_letters'")


def test_dead_letters_older_than_the_span_are_deleted_by_the_tick(migrated_dsn):
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        job = conn.execute("SELECT schedule_interval, start_offset, enabled FROM ksys.jobs "
                           "WHERE job_name = 'retention_dead_letters'").fetchone()
        assert job is not None and str(job[1]) == "30 days, 0:00:00" and job[2]
        for age in ("1 day", "29 days", "31 days", "400 days"):
            conn.execute(ROW, (age,))

        _due(conn)
        assert conn.execute("SELECT ksys.tick()").fetchone()[0] == 0
        assert _ages(conn) == [1, 29]
        status = conn.execute("SELECT last_run_status, next_start > now() FROM ksys.jobs "
                              "WHERE job_name = 'retention_dead_letters'").fetchone()
        assert status == ("Success", True)

        # not due again before its day is over: a new old row waits for the next run
        conn.execute(ROW, ("60 days",))
        conn.execute("SELECT ksys.tick()")
        assert _ages(conn) == [1, 29, 60]

        # the span is the job's start_offset: an operator keeps a week only
        conn.execute("UPDATE ksys.jobs SET start_offset = interval '7 days' WHERE job_name = 'retention_dead_letters'")
        _due(conn)
        conn.execute("SELECT ksys.tick()")
        assert _ages(conn) == [1]


def test_migrate_again_keeps_a_changed_span(migrated_dsn, engine):
    from ksys_app.ops.schema.migrate import migrate

    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("UPDATE ksys.jobs SET start_offset = interval '90 days' WHERE job_name = 'retention_dead_letters'")
    migrate(migrated_dsn, engine=engine, out=lambda _l: None)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        span = conn.execute("SELECT start_offset FROM ksys.jobs WHERE job_name = 'retention_dead_letters'").fetchone()[0]
    assert str(span) == "90 days, 0:00:00"
