import time, psycopg
from datetime import datetime, timedelta, timezone
from tests.data import seed
from ksys_app.ops.refresh import refresh_range

def test_t(migrated_dsn, engine):
    now = datetime.now(timezone.utc)
    rows = seed.readings(now, (now - timedelta(days=40)).date())
    days = sorted({r[0].date() for r in rows})
    runs = []
    for d in days:
        if runs and d - runs[-1][1] <= timedelta(days=1):
            runs[-1][1] = d
        else:
            runs.append([d, d])
    print(len(runs))
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        seed.insert_master_data(conn)
        seed.insert_readings(conn, rows)
        t=time.time()
        for a, b in runs:
            refresh_range(conn, datetime.combine(a, datetime.min.time(), timezone.utc), datetime.combine(b, datetime.min.time(), timezone.utc))
        print(engine, time.time()-t)
