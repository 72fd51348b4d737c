import psycopg


def test_migrated_database_answers(migrated_dsn, engine):
    with psycopg.connect(migrated_dsn) as conn:
        assert conn.execute("SELECT value FROM ksys.settings WHERE key = 'engine'").fetchone()[0] == engine
