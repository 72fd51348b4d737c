"""`ksys doctor`'s ingest checks (issue 18): each `ksys ingest` instance alive (its
ksys.ingest_status beat recent), its spool, and tags silent for longer than their
rule's max_gap_seconds (whoever writes them: ingest, Node-RED, a simulator)."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from ksys_app.ops.schema.checks import FAIL, OK, WARN, Check, Checks

# an instance is down when it missed this many beats (and at least MIN_SILENCE)
MISSED_BEATS = 3
MIN_SILENCE = timedelta(seconds=30)
SHOW = 10


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def check_ingest(conn: psycopg.Connection, out: Checks) -> None:
    if conn.execute("SELECT to_regclass('ksys.ingest_status')").fetchone()[0] is None:
        return   # an older schema: the migrations check says so
    rows = conn.execute(
        "SELECT client_id, now() - beat_at, beat_every_s, connected, spool_bytes, spool_max_bytes, spool_full, "
        "last_error FROM ksys.ingest_status ORDER BY client_id").fetchall()
    if not rows:
        out.append(Check("ingest", OK, "no `ksys ingest` has reported (readings may come from another writer)"))
    for client_id, age, every, connected, spool, spool_max, full, last_error in rows:
        name = f"ingest {client_id}"
        limit = max(MIN_SILENCE, timedelta(seconds=MISSED_BEATS * every))
        if age > limit:
            out.append(Check(name, FAIL, f"no beat for {_span(age)} (it beats every {every:g} s)"
                             + (f"; last error: {last_error}" if last_error else ""),
                             "start `ksys ingest` again (its log says why it stopped); for an instance retired "
                             f"for good: DELETE FROM ksys.ingest_status WHERE client_id = '{client_id}'"))
        elif full:
            out.append(Check(name, FAIL, f"spool full ({spool:,} of {spool_max:,} bytes): no longer acknowledging, "
                             "the broker holds the rest", "bring the database back (it is unreachable from ingest): "
                             "the spool is written in order, then acknowledging resumes"))
        elif spool:
            out.append(Check(name, WARN, f"{spool:,} bytes spooled: the database was unreachable from ingest"
                             + (f" ({last_error})" if last_error else ""), "it replays by itself once writes succeed"))
        elif not connected:
            out.append(Check(name, WARN, f"not connected to the broker ({last_error or 'reconnecting'})",
                             "check the broker (--broker) and the network between them"))
        else:
            out.append(Check(name, OK, f"alive, beat {_span(age)} ago"))
    silent = conn.execute(
        "SELECT r.tag_name, r.max_gap_seconds, now() - l.ts FROM public.influx_qc_rule r "
        # the newest reading of each rule's tag, one index probe each (influx_latest leaves out
        # tags the registry job has not seen yet)
        "LEFT JOIN LATERAL (SELECT h.ts FROM public.influx_hist h WHERE h.tag_name = r.tag_name "
        "ORDER BY h.ts DESC LIMIT 1) l ON true "
        "WHERE r.enabled IS NOT false AND r.max_gap_seconds > 0 "
        "AND (l.ts IS NULL OR l.ts < now() - make_interval(secs => r.max_gap_seconds)) "
        "ORDER BY r.tag_name").fetchall()
    if silent:
        said = [f"{tag} ({_span(age) + ' since its last reading' if age is not None else 'no reading'}, "
                f"max gap {gap} s)" for tag, gap, age in silent[:SHOW]]
        more = f" and {len(silent) - SHOW} more" if len(silent) > SHOW else ""
        out.append(Check("tag silence", WARN, f"{len(silent)} tag(s) silent past max_gap_seconds: "
                         f"{'; '.join(said)}{more}", "check the source of those tags (PLC, gateway, ingest topics)"))
    else:
        out.append(Check("tag silence", OK, "every tag with a max_gap_seconds rule reported within it"))
