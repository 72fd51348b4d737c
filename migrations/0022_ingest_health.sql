-- What /api/health shows of ingest (issue 18): each `ksys ingest` instance's rates, lag,
-- spool and refusals, and whether it is alive (a beat within three periods, at least
-- 30 s: doctor's rule). The dashboard reads public as eco_ro; ksys.ingest_status itself
-- stays out of its reach, and last_error is left out: it may name hosts and ports, which
-- page visitors are not shown (docs/security.md).
CREATE OR REPLACE VIEW public.ingest_health AS
SELECT client_id, started_at, beat_at, connected, messages, readings, rejected, rejects_by_kind,
       messages_per_s, readings_per_s, lag_s, spool_bytes, spool_max_bytes, spool_full,
       beat_at > now() - make_interval(secs => greatest(3 * beat_every_s, 30)) AS alive
FROM ksys.ingest_status;
