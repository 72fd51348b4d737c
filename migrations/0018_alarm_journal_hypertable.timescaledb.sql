-- On TimescaleDB the alarm journal is a hypertable on its time: it only grows
-- (the journal is kept, no retention), and the pages read recent stretches of
-- it. Monthly chunks: a plant's alarm rate (EEMUA 191: about 6 an hour per
-- operator, a few rows each) fills one with thousands of rows, not millions.
SELECT create_hypertable('ksys.alarm_journal', 'at', if_not_exists => true, migrate_data => true,
                         chunk_time_interval => interval '30 days');
