-- The current hour is not over: expect messages only for its elapsed minutes,
-- so an hour in progress is not shown (or counted) as an outage.
CREATE OR REPLACE VIEW public.comm_success_1h AS
WITH expected AS (
  SELECT r.bucket, r.tag_name, r.recv_msgs, r.last_seen_min,
         (coalesce(e.exp_per_min, 1)
          * least(60, greatest(1, floor(extract(epoch FROM now() - r.bucket) / 60))))::bigint AS exp_msgs
  FROM ksys.comm_recv_1h r
  LEFT JOIN public.ingest_expectation e USING (tag_name)
)
SELECT bucket,
       tag_name,
       recv_msgs,
       exp_msgs,
       least(1.0, greatest(0.0, recv_msgs::numeric / exp_msgs)) AS success_rate,
       greatest(0, exp_msgs - recv_msgs)::bigint                AS missing_msgs,
       last_seen_min
FROM expected;
