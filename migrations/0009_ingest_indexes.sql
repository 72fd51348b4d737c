-- Found by the benchmark (bench/README.md): COPY into influx_hist ran at
-- 150-165 k rows/s, short of 200 k, because both secondary indexes were
-- descending on ts. Every new (newest) reading then lands at the *left* edge of
-- its range, where B-tree pages split 50/50 with no rightmost fast path: at 90
-- days idx_hist_tag_ts was 911 MB at 50 % leaf density. PRD.md resolution 22.
--
--   * idx_hist_tag_ts becomes (tag_name, ts) ascending: a backward scan gives
--     `WHERE tag_name = $1 ORDER BY ts DESC` the same order, and inserts append.
--   * influx_hist_ts_idx (ts DESC) goes: the primary key (ts, tag_name) leads
--     with ts, so every time-range scan already has an index. On TimescaleDB it
--     was also the hypertable's default time index; the PK serves the same role.
--
-- Rebuilding the index holds a write lock on influx_hist for as long as the
-- build takes (tens of seconds per ten million rows); readings sent meanwhile
-- wait, none are lost. Compressed TimescaleDB chunks carry no B-tree indexes.
DROP INDEX IF EXISTS public.influx_hist_ts_idx;
DROP INDEX IF EXISTS public.idx_hist_tag_ts;
CREATE INDEX idx_hist_tag_ts ON public.influx_hist (tag_name, ts);

-- influx_latest (0008) ordered the lookup by (tag_name, ts DESC) so that only
-- the tag index could serve it; with the index ascending the same trick reads
-- it backwards: the newest reading of the greatest tag_name <= the registered
-- one, which is that tag's newest reading when it has any.
CREATE OR REPLACE VIEW public.influx_latest AS
SELECT r.tag_name, l.value, l.ts
FROM ksys.tag_registry r
CROSS JOIN LATERAL (
  SELECT h.tag_name, h.value, h.ts
  FROM public.influx_hist h
  WHERE h.tag_name <= r.tag_name
  ORDER BY h.tag_name DESC, h.ts DESC
  LIMIT 1
) l
WHERE l.tag_name = r.tag_name
UNION ALL
SELECT DISTINCT ON (h.tag_name) h.tag_name, h.value, h.ts
FROM public.influx_hist h
WHERE h.ts > now() - interval '5 minutes'
  AND NOT EXISTS (SELECT 1 FROM ksys.tag_registry r WHERE r.tag_name = h.tag_name)
ORDER BY 1, 3 DESC;
