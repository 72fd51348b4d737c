-- influx_latest for a tag not yet in ksys.tag_registry (its first readings, before the
-- scheduler registers it) showed any of its last five minutes' readings, not the newest:
-- the view's ORDER BY 1, 3 DESC sorts the whole UNION, so the DISTINCT ON branch had
-- no order of its own and kept whichever row came first. The branch now orders itself.
-- The registered branch is 0012's, unchanged.
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
SELECT u.tag_name, u.value, u.ts
FROM (
  SELECT DISTINCT ON (h.tag_name) h.tag_name, h.value, h.ts
  FROM public.influx_hist h
  WHERE h.ts > now() - interval '5 minutes'
    AND NOT EXISTS (SELECT 1 FROM ksys.tag_registry r WHERE r.tag_name = h.tag_name)
  ORDER BY h.tag_name, h.ts DESC
) u
ORDER BY 1, 3 DESC;
