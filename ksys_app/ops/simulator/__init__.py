"""Telemetry simulator (`ksys simulate`): deterministic readings for the ksys tags.

    signals  pure functions of (seed, tag, ts): value, is_dropped, excursion, dropout, grid (no I/O)
    tags     tag definitions, QC rules, ingest expectations, db/qc/influx_qc_rule.csv (no I/O)
    load     binary COPY / staging loads, live inserts, rule upserts, gap query
    runner   fill (backfill = gap-fill), follow (live), run, list_gaps

Nothing is imported here, so `signals` and `tags` load without psycopg.
"""
