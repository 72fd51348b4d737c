"""An independent recompute of every derived relation, in Python, from raw readings.

Written from PRD.md's definitions only (no SQL of the project): the test compares
what the database holds with what these functions give for the same raw rows.
Bucket boundaries follow TimescaleDB's origin 2000-01-03 00:00 UTC.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone

ORIGIN = datetime(2000, 1, 3, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
INPUTS = ("INLET_PRESSURE", "OUTLET_PRESSURE", "FEED_FLOW", "PRODUCT_FLOW")
VIRTUAL = ("PRESSURE_DIFF", "RECOVERY_RATE", "OPERATING_TIME", "TOTAL_PRODUCT_VOLUME_1H")

Raw = dict[tuple[datetime, str], float]          # (ts, tag) -> value


def bucket_of(ts: datetime, width: timedelta) -> datetime:
    return ORIGIN + ((ts - ORIGIN) // width) * width


def virtual_tags(raw: Raw, before: datetime) -> Raw:
    """PRD.md "Virtual tags" for every complete minute before `before`."""
    sums: dict[tuple[datetime, str], list[float]] = defaultdict(list)
    for (ts, tag), v in raw.items():
        if tag in INPUTS:
            sums[(bucket_of(ts, MINUTE), tag)].append(v)
    avg = {k: sum(v) / len(v) for k, v in sums.items()}
    minutes = sorted({m for (m, _t) in avg})
    out: Raw = {}
    for m in minutes:
        if m >= before:
            continue
        inlet, outlet = avg.get((m, "INLET_PRESSURE")), avg.get((m, "OUTLET_PRESSURE"))
        feed, product = avg.get((m, "FEED_FLOW")), avg.get((m, "PRODUCT_FLOW"))
        if inlet is not None and outlet is not None:
            out[(m, "PRESSURE_DIFF")] = inlet - outlet
        if product is not None and feed is not None and feed > 0:
            out[(m, "RECOVERY_RATE")] = product / feed * 100
        if feed is not None:
            out[(m, "OPERATING_TIME")] = 1.0 if feed > 1.0 else 0.0
        if product is not None:
            out[(m, "TOTAL_PRODUCT_VOLUME_1H")] = sum(
                avg[(m - k * MINUTE, "PRODUCT_FLOW")] / 60.0 for k in range(60)
                if (m - k * MINUTE, "PRODUCT_FLOW") in avg)
    return out


def rollup(raw: Raw, width: timedelta) -> dict[tuple[datetime, str], tuple]:
    """(bucket, tag) -> (n, avg, sum, min, max, last, first, diff)."""
    groups: dict[tuple[datetime, str], list[tuple[datetime, float]]] = defaultdict(list)
    for (ts, tag), v in raw.items():
        groups[(bucket_of(ts, width), tag)].append((ts, v))
    out = {}
    for key, rows in groups.items():
        rows.sort()
        values = [v for _ts, v in rows]
        total = math.fsum(values)
        first, last = rows[0][1], rows[-1][1]
        out[key] = (len(values), total / len(values), total, min(values), max(values), last, first, last - first)
    return out


def _percentile_cont(sorted_values: list[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def features_5m(raw: Raw) -> dict[tuple[datetime, str], tuple]:
    """(bucket, tag) -> (mean, std_samp, min, max, p10, p90, n)."""
    groups: dict[tuple[datetime, str], list[float]] = defaultdict(list)
    for (ts, tag), v in raw.items():
        groups[(bucket_of(ts, timedelta(minutes=5)), tag)].append(v)
    out = {}
    for key, values in groups.items():
        values.sort()
        std = statistics.stdev(values) if len(values) > 1 else None
        out[key] = (math.fsum(values) / len(values), std, values[0], values[-1],
                    _percentile_cont(values, 0.1), _percentile_cont(values, 0.9), len(values))
    return out


def comm_recv(raw: Raw) -> dict[tuple[datetime, str], tuple[int, datetime]]:
    """(hour, tag) -> (received readings, newest minute with a reading)."""
    out: dict[tuple[datetime, str], tuple[int, datetime]] = {}
    for (ts, tag) in raw:
        key = (bucket_of(ts, timedelta(hours=1)), tag)
        n, seen = out.get(key, (0, None))
        m = bucket_of(ts, MINUTE)
        out[key] = (n + 1, m if seen is None or m > seen else seen)
    return out


def tech(minute_avgs: dict[tuple[datetime, str], float]) -> dict[tuple[datetime, str], tuple]:
    """(bucket, tag) -> (avg, sma_10, sma_60, bb_top, bb_bot, slope_60) over each tag's rows in bucket order."""
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for (b, tag), a in minute_avgs.items():
        series[tag].append((b, a))
    out = {}
    for tag, rows in series.items():
        rows.sort()
        values = [a for _b, a in rows]
        for i, (b, a) in enumerate(rows):
            w10, w20, w60 = values[max(0, i - 9): i + 1], values[max(0, i - 19): i + 1], values[max(0, i - 59): i + 1]
            sd = statistics.stdev(w20) if len(w20) > 1 else None
            out[(b, tag)] = (a, sum(w10) / len(w10), sum(w60) / len(w60),
                             None if sd is None else a + 2 * sd, None if sd is None else a - 2 * sd,
                             a - values[i - 60] if i >= 60 else None)
    return out


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, datetime) or isinstance(b, datetime):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def differences(got: dict, want: dict, limit: int = 5) -> list[str]:
    """Keys missing, extra or with a differing value; the first `limit` as text."""
    out = []
    for key in sorted(set(got) | set(want), key=lambda k: (k[1], k[0])):
        g, w = got.get(key), want.get(key)
        if g is None or w is None:
            out.append(f"{key}: got {g}, want {w}")
        else:
            g_t, w_t = (g if isinstance(g, tuple) else (g,)), (w if isinstance(w, tuple) else (w,))
            if len(g_t) != len(w_t) or not all(close(x, y) for x, y in zip(g_t, w_t)):
                out.append(f"{key}: got {g}, want {w}")
        if len(out) >= limit:
            break
    return out
