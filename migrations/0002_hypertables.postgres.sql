-- Plain PostgreSQL: influx_hist stays a regular table. Retention (365 days) is a
-- daily job of ksys.tick(); there is no compression.
INSERT INTO ksys.settings (key, value) VALUES ('engine', 'postgres')
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

INSERT INTO ksys.jobs (job_name, run_order, schedule_interval, start_offset)
VALUES ('retention_influx_hist', 90, interval '1 day', interval '365 days')
ON CONFLICT (job_name) DO NOTHING;
