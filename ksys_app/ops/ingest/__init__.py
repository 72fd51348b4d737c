"""`ksys ingest` (issue 18): MQTT from the plant into influx_hist, QC-tagged, nothing lost.

    config     what it is told (broker, topics, format, spool, batching), validated
    batch      one flush's readings and refusals, and their bytes in the spool
    spool      append-only, checksummed, fsync'd file of batches the database could not take
    writer     a batch into influx_hist and ksys.ingest_dead_letters, in one transaction
    qc_tagger  influx_qc_rule kept current, each tag's recent history, the qc flags
    status     counters, rates, the ksys.ingest_status row and its log line
    service    the loop: receive, batch, write or spool, then acknowledge
"""
