-- Found by the benchmark at 90 days on TimescaleDB: influx_latest as 0009 wrote it
-- (`tag_name <= $tag ORDER BY tag_name DESC, ts DESC LIMIT 1`, a trick against
-- plain PostgreSQL's planner) has no index order on compressed chunks, so every
-- chunk sorted its batches for each tag: past the 900 ms statement timeout at
-- 15 M rows (100-600 ms at 0.8 M). On a hypertable the plain per-tag lookup is
-- the fast one: ChunkAppend walks chunks newest first, an index probe on each
-- uncompressed chunk and a segment lookup on each compressed one, so a tag
-- silent for 80 days costs ~20 ms for all tags together.
CREATE OR REPLACE VIEW public.influx_latest AS
SELECT r.tag_name, l.value, l.ts
FROM ksys.tag_registry r
CROSS JOIN LATERAL (
  SELECT h.tag_name, h.value, h.ts
  FROM public.influx_hist h
  WHERE h.tag_name = r.tag_name
  ORDER BY h.ts DESC
  LIMIT 1
) l
WHERE l.tag_name = r.tag_name
UNION ALL
SELECT DISTINCT ON (h.tag_name) h.tag_name, h.value, h.ts
FROM public.influx_hist h
WHERE h.ts > now() - interval '5 minutes'
  AND NOT EXISTS (SELECT 1 FROM ksys.tag_registry r WHERE r.tag_name = h.tag_name)
ORDER BY 1, 3 DESC;
