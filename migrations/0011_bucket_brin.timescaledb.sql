-- The plain-PostgreSQL twin of this migration turns the (bucket) B-trees of the
-- rollup tables into BRIN indexes (see 0011_bucket_brin.postgres.sql for the
-- measurement). Here the rollups are continuous aggregates with TimescaleDB's
-- own (tag_name, bucket) indexes, which the planner already uses; only the
-- indicator table is a plain table on both engines.
DROP INDEX IF EXISTS public.tech_ind_1m_mv_bucket_idx;
CREATE INDEX tech_ind_1m_mv_bucket_brin ON public.tech_ind_1m_mv USING brin (bucket) WITH (autosummarize = on);
