"""One batch into the database, in one transaction: readings into influx_hist, refusals
into ksys.ingest_dead_letters.

Readings go through binary COPY into a temporary table, then one INSERT ... SELECT
into influx_hist, so the change-tracking trigger sees one statement per batch.

Duplicates (decided for issue 18): `ON CONFLICT (ts, tag_name) DO UPDATE ... WHERE
the value differs`. A redelivered message (QoS 1 is at least once) or a spool record
replayed twice carries the same value and changes nothing, not even the change log;
a source that sends a new value for a (ts, tag) it sent before (a gateway's
correction) is taken, the latest word winning, as `ksys backfill` does. The qc of a
row already there is kept when only the flags differ: a reading's flags are those it
got when it first arrived (a redelivery after a restart sees another history).
Within a batch the last reading of a (ts, tag) wins before the insert (PostgreSQL
refuses one statement that updates a row twice).
"""

from __future__ import annotations

import psycopg

from ksys_app.ops.ingest.batch import Batch

STAGE = ("CREATE TEMP TABLE IF NOT EXISTS ingest_stage "
         "(ts timestamptz NOT NULL, tag_name text NOT NULL, value double precision NOT NULL, qc smallint NOT NULL) "
         "ON COMMIT DELETE ROWS")
UPSERT = ("INSERT INTO public.influx_hist AS h (ts, tag_name, value, qc) "
          "SELECT ts, tag_name, value, qc FROM ingest_stage "
          "ON CONFLICT (ts, tag_name) DO UPDATE SET value = excluded.value, qc = excluded.qc "
          "WHERE h.value IS DISTINCT FROM excluded.value")
DEAD = ("INSERT INTO ksys.ingest_dead_letters (received_at, client_id, topic, kind, message, payload, payload_bytes) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)")


def prepare(conn: psycopg.Connection) -> None:
    conn.execute(STAGE)


def write_batch(conn: psycopg.Connection, batch: Batch, client_id: str) -> int:
    """Rows inserted or changed (duplicates of what is there count 0)."""
    latest = {(r.ts, r.tag): r for r in batch.rows}
    changed = 0
    with conn.transaction():
        if latest:
            with conn.cursor() as cur:
                with cur.copy("COPY ingest_stage (ts, tag_name, value, qc) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["timestamptz", "text", "float8", "int2"])
                    for r in latest.values():
                        copy.write_row(r)   # a Row is the tuple (ts, tag_name, value, qc)
                cur.execute(UPSERT)
                changed = cur.rowcount
        if batch.dead:
            with conn.cursor() as cur:
                cur.executemany(DEAD, [(d.received_at, client_id, d.topic, d.kind, d.message, d.payload, d.payload_bytes)
                                       for d in batch.dead])
    return changed
