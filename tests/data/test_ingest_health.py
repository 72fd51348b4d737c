"""What /api/health shows of `ksys ingest` (migration 0022): each instance's rates, lag,
spool and refusals, alive by doctor's rule, read as eco_ro, without its last error."""

from __future__ import annotations

import psycopg
import pytest

STATUS = ("INSERT INTO ksys.ingest_status (client_id, started_at, beat_at, beat_every_s, broker, topics, connected, "
          "messages, readings, rejected, rejects_by_kind, readings_per_s, lag_s, spool_bytes, spool_max_bytes, "
          "last_error) VALUES (%s, now() - interval '1 hour', now() - %s::interval, 5, 'mqtt://127.0.0.1:1883', "
          "ARRAY['ksys/#'], true, 10, 100, 2, '{\"not_json\": 2}', 20.5, 0.4, 0, 1048576, "
          "'connection to 10.1.2.3:5432 refused')")


@pytest.mark.asyncio
async def test_instances_with_alive_and_no_error_text(new_migrated_database, pg_server, make_repo):
    admin = new_migrated_database("postgres")
    db = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(STATUS, ("plant-a", "2 seconds"))
        conn.execute(STATUS, ("plant-b", "10 minutes"))  # silent for 10 minutes: not alive
    repo = make_repo(pg_server.dsn(db, user="eco_ro"))
    result = await repo.ingest_health()
    assert result.ok, result.error
    rows = {r["client_id"]: r for r in result.rows}
    assert rows["plant-a"]["alive"] is True and rows["plant-b"]["alive"] is False
    a = rows["plant-a"]
    assert (a["readings"], a["rejected"], a["rejects_by_kind"], a["readings_per_s"], a["lag_s"]) == \
        (100, 2, {"not_json": 2}, 20.5, pytest.approx(0.4))
    assert all("10.1.2.3" not in str(r) for r in result.rows)  # last_error never leaves the database


@pytest.mark.asyncio
async def test_no_ingest_is_no_rows(new_migrated_database, pg_server, make_repo):
    admin = new_migrated_database("postgres")
    db = psycopg.conninfo.conninfo_to_dict(admin)["dbname"]
    result = await make_repo(pg_server.dsn(db, user="eco_ro")).ingest_health()
    assert result.ok and result.rows == ()
