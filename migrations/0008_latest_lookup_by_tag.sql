-- Found by the benchmark at 90 days of data.
--
-- influx_latest: with a tag silent for weeks, the planner walked the (ts DESC)
-- index filtering on tag_name (seconds, past the statement timeout). Ordering by
-- (tag_name, ts DESC) from the tag onwards leaves only idx_hist_tag_ts to serve it.
CREATE OR REPLACE VIEW public.influx_latest AS
SELECT r.tag_name, l.value, l.ts
FROM ksys.tag_registry r
CROSS JOIN LATERAL (
  SELECT h.tag_name, h.value, h.ts
  FROM public.influx_hist h
  WHERE h.tag_name >= r.tag_name
  ORDER BY h.tag_name, h.ts DESC
  LIMIT 1
) l
WHERE l.tag_name = r.tag_name
UNION ALL
SELECT DISTINCT ON (h.tag_name) h.tag_name, h.value, h.ts
FROM public.influx_hist h
WHERE h.ts > now() - interval '5 minutes'
  AND NOT EXISTS (SELECT 1 FROM ksys.tag_registry r WHERE r.tag_name = h.tag_name)
ORDER BY 1, 3 DESC;
