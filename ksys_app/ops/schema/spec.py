"""The PRD's relations and columns (12.1, 27.3, 28.1; resolution 28), which doctor verifies."""

AGG_COLUMNS = [("bucket", "timestamp with time zone"), ("tag_name", "text"), ("n", "bigint"),
               ("avg", "double precision"), ("sum", "double precision"), ("min", "double precision"),
               ("max", "double precision"), ("last", "double precision"), ("first", "double precision"),
               ("diff", "double precision")]

PRD_RELATIONS: dict[str, list[tuple[str, str]]] = {
    "influx_hist": [("ts", "timestamp with time zone"), ("tag_name", "text"), ("value", "double precision"),
                    ("qc", "smallint"), ("meta", "jsonb")],
    "influx_qc_rule": [("tag_name", "text"), ("min_val", "double precision"), ("max_val", "double precision"),
                       ("max_step", "double precision"), ("max_gap_seconds", "integer"),
                       ("allow_negative", "boolean"), ("enabled", "boolean"), ("meta", "jsonb"),
                       ("warn_min", "double precision"), ("warn_max", "double precision"),
                       ("crit_min", "double precision"), ("crit_max", "double precision"),
                       ("roc_max_per_min", "double precision"), ("spike_zscore", "double precision"),
                       ("deadband_pct", "double precision"),
                       # the alarm delays (resolution 28, migration 0016)
                       ("alarm_on_delay_s", "integer"), ("alarm_off_delay_s", "integer")],
    "influx_agg_1m": AGG_COLUMNS,
    "influx_agg_10m": AGG_COLUMNS,
    "influx_agg_1h": AGG_COLUMNS,
    "influx_agg_1d": AGG_COLUMNS,
    "features_5m": [("bucket", "timestamp with time zone"), ("tag_name", "text"),
                    ("mean_5m", "double precision"), ("std_5m", "double precision"),
                    ("min_5m", "double precision"), ("max_5m", "double precision"),
                    ("p10_5m", "double precision"), ("p90_5m", "double precision"), ("n_5m", "bigint")],
    "tech_ind_1m_mv": [("bucket", "timestamp with time zone"), ("tag_name", "text"), ("avg", "double precision"),
                       ("sma_10", "double precision"), ("sma_60", "double precision"),
                       ("bb_top", "double precision"), ("bb_bot", "double precision"),
                       ("slope_60", "double precision")],
    "influx_latest": [("tag_name", "text"), ("value", "double precision"), ("ts", "timestamp with time zone")],
    "predictions": [("ts", "timestamp with time zone"), ("tag_name", "text"), ("horizon", "interval"),
                    ("yhat", "double precision"), ("pi_low", "double precision"), ("pi_high", "double precision"),
                    ("model_id", "text"), ("version", "text"), ("features", "jsonb")],
    "anomalies": [("ts", "timestamp with time zone"), ("tag_name", "text"), ("score", "double precision"),
                  ("level", "text"), ("context", "jsonb")],
    "ingest_expectation": [("tag_name", "text"), ("exp_per_min", "integer"), ("slo_warn", "numeric"),
                           ("slo_crit", "numeric"), ("updated_at", "timestamp with time zone")],
    "comm_success_1h": [("bucket", "timestamp with time zone"), ("tag_name", "text"), ("recv_msgs", "bigint"),
                        ("exp_msgs", "bigint"), ("success_rate", "numeric"), ("missing_msgs", "bigint"),
                        ("last_seen_min", "timestamp with time zone")],
}

# influx_hist_ts_idx of the PRD is gone since migration 0009 (PRD.md resolution 22).
PRD_INDEXES = ["influx_hist_pkey", "idx_hist_tag_ts", "predictions_pkey", "idx_pred_tag_ts",
               "predictions_ts_idx", "anomalies_pkey", "anomalies_ts_idx", "anomalies_tag_ts_desc"]
