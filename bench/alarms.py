"""The alarm system's cost at the loaded scale (issue 16): what the `alarms` job
(conditions of 0016, states and journal of 0017) costs per tick.

first_evaluation: every limit's history recomputed from its first reading (what the
  first tick after `ksys migrate` adds alarms to an existing database does, and what
  editing every rule at once would cost).
minute_tick: one more minute of readings for every tag, then the job (the common case).
idle_tick: the job with nothing new (every tick where no reading landed).
late_readings: one reading a day back for every tag (a store-and-forward flush).
acknowledge_all: every active alarm acknowledged in one ksys.alarm_apply call.
"""

from __future__ import annotations

from bench.common import Stopwatch, summary_ms


def measure_alarms(bench, quick: bool) -> dict:
    reps = 5 if quick else 10
    out: dict = {}
    with bench.connect() as conn:
        conn.execute("SELECT ksys.run_alarms()")  # whatever the load left pending
        out["limits"] = conn.execute("SELECT count(*) FROM ksys.alarm_state").fetchone()[0]
        conn.execute("DELETE FROM ksys.alarm_limit_seen")
        with Stopwatch() as sw:
            conn.execute("SELECT ksys.run_alarms()")
        out["first_evaluation_s"] = round(sw.s, 2)
        out["journal_rows"], out["activations"], out["condition_changes"] = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE action = 'activate'), "
            "(SELECT count(*) FROM ksys.alarm_condition_changes) FROM ksys.alarm_journal").fetchone()
        loaded_until = conn.execute("SELECT max(ts) FROM influx_hist").fetchone()[0]
        minute: list[float] = []
        for _ in range(reps):
            # the newest minute again, a minute later: the same walk a live minute costs
            conn.execute("INSERT INTO influx_hist (ts, tag_name, value) "
                         "SELECT ts + interval '1 minute', tag_name, value FROM influx_hist "
                         "WHERE ts > (SELECT max(ts) FROM influx_hist) - interval '1 minute' ON CONFLICT DO NOTHING")
            with Stopwatch() as sw:
                conn.execute("SELECT ksys.run_alarms()")
            minute.append(sw.s)
        out["minute_tick"] = summary_ms(minute)
        idle: list[float] = []
        for _ in range(reps):
            with Stopwatch() as sw:
                conn.execute("SELECT ksys.run_alarms()")
            idle.append(sw.s)
        out["idle_tick"] = summary_ms(idle)
        conn.execute("INSERT INTO influx_hist (ts, tag_name, value) "
                     "SELECT max(ts) - interval '1 day' + interval '3 seconds', tag_name, 1e4 FROM influx_hist "
                     "GROUP BY tag_name ON CONFLICT DO NOTHING")
        with Stopwatch() as sw:
            conn.execute("SELECT ksys.run_alarms()")
        out["late_readings_1day_ms"] = round(sw.s * 1000, 1)
        active = conn.execute("SELECT array_agg(tag_name), array_agg(kind) FROM ksys.alarm_state "
                              "WHERE state IN ('unack', 'rtn_unack')").fetchone()
        with Stopwatch() as sw:
            acked = conn.execute("SELECT ksys.alarm_apply('ack', %s, %s, 'bench', NULL, NULL)", active).fetchone()[0]
        out["acknowledge_all"] = {"alarms": acked, "ms": round(sw.s * 1000, 1)}
        # leave the data as the other steps expect it: the minutes added after the load and
        # the late readings go (the top-ups that follow write from the load's end to now)
        conn.execute("DELETE FROM influx_hist WHERE ts > %s OR value = 1e4", (loaded_until,))
        conn.execute("SELECT ksys.run_alarms()")
    return out
