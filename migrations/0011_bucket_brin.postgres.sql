-- Found by the benchmark (bench/README.md): on plain PostgreSQL the planner read
-- `WHERE tag_name = $1 AND bucket >= now() - $2 ORDER BY bucket DESC` through
-- the B-tree on (bucket) and filtered every other tag's rows out (24 h of
-- influx_agg_1m: 34 k rows read for 1,380 kept, 8.8 ms) because bucket order
-- and heap order match perfectly. A BRIN index serves the scans that really
-- span all tags (KPI windows, refresh deletes) at a fraction of the size, and
-- leaves per-tag reads to the primary key (tag_name, bucket): 1.4 ms.
-- Rollup rows are written in bucket order (each refresh covers a time span), so
-- the block ranges stay narrow; a backfill of old readings widens the ranges it
-- appends to (slower, never wrong). tech_ind_1m_mv keeps its B-tree: a bulk
-- refresh writes it tag by tag, so its heap is not in bucket order.
DROP INDEX IF EXISTS public.influx_agg_1m_bucket_idx;
DROP INDEX IF EXISTS public.influx_agg_10m_bucket_idx;
DROP INDEX IF EXISTS public.influx_agg_1h_bucket_idx;
DROP INDEX IF EXISTS public.influx_agg_1d_bucket_idx;
DROP INDEX IF EXISTS public.features_5m_bucket_idx;

CREATE INDEX influx_agg_1m_bucket_brin  ON public.influx_agg_1m  USING brin (bucket) WITH (autosummarize = on);
CREATE INDEX influx_agg_10m_bucket_brin ON public.influx_agg_10m USING brin (bucket) WITH (autosummarize = on);
CREATE INDEX influx_agg_1h_bucket_brin  ON public.influx_agg_1h  USING brin (bucket) WITH (autosummarize = on);
CREATE INDEX influx_agg_1d_bucket_brin  ON public.influx_agg_1d  USING brin (bucket) WITH (autosummarize = on);
CREATE INDEX features_5m_bucket_brin    ON public.features_5m    USING brin (bucket) WITH (autosummarize = on);
