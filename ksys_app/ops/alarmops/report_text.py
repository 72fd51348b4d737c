"""`ksys alarms report`'s output: the KPIs with what ISA-18.2 / EEMUA 191 recommend."""

from __future__ import annotations

from typing import Any

from ksys_app.domain.alarm_kpis import (
    ACCEPTABLE_PER_10MIN,
    CHATTER_COUNT,
    FLOOD_PER_10MIN,
    FLOOD_SHARE_TARGET,
    MANAGEABLE_PER_10MIN,
    RECOMMENDED_SHARES,
    AlarmKpis,
)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def report_lines(k: AlarmKpis) -> list[str]:
    rate_ok = k.per_10min <= ACCEPTABLE_PER_10MIN
    lines = [
        f"alarm KPIs {k.start.isoformat(timespec='seconds')} .. {k.end.isoformat(timespec='seconds')}",
        f"  announced alarms          {k.activations}",
        f"  per 10 minutes            {k.per_10min:.2f} (peak {k.peak_10min})   target <= {ACCEPTABLE_PER_10MIN:g}, "
        f"manageable <= {MANAGEABLE_PER_10MIN:g}: {_verdict(rate_ok)}",
        f"  in flood (> {FLOOD_PER_10MIN} / 10 min)   {k.flood_share:.1%} of periods   target < {FLOOD_SHARE_TARGET:.0%}: "
        f"{_verdict(k.flood_share < FLOOD_SHARE_TARGET)}",
        f"  chattering (>= {CHATTER_COUNT} in 1 min)  {len(k.chattering)}" + (": " + ", ".join(
            f"{t} {lim}" for t, lim in k.chattering[:10]) if k.chattering else ""),
        f"  stale (active > 24 h)     {len(k.stale)}" + (": " + ", ".join(
            f"{t} {lim}" for t, lim in k.stale[:10]) if k.stale else ""),
        "  top sources:" if k.top_sources else "  top sources: none",
    ]
    lines += [f"    {tag:<24} {n:>6}  {share:.1%}" for tag, n, share in k.top_sources]
    top_share = sum(share for _t, _n, share in k.top_sources)
    if k.top_sources:
        lines.append(f"    top {len(k.top_sources)} together      {top_share:.1%} of all alarms")
    lines.append("  priorities (share / recommended):")
    lines += [f"    {p:<7} {k.priority_shares.get(p, 0.0):.1%} / {RECOMMENDED_SHARES[p]:.0%}" for p in ("high", "medium", "low")]
    return lines


def report_json(k: AlarmKpis) -> dict[str, Any]:
    return {
        "start": k.start.isoformat(), "end": k.end.isoformat(), "activations": k.activations,
        "per_10min": k.per_10min, "peak_10min": k.peak_10min, "flood_share": k.flood_share,
        "chattering": [list(x) for x in k.chattering], "stale": [list(x) for x in k.stale],
        "top_sources": [{"tag": t, "activations": n, "share": s} for t, n, s in k.top_sources],
        "priority_shares": k.priority_shares, "recommended_shares": RECOMMENDED_SHARES,
        "targets": {"per_10min": ACCEPTABLE_PER_10MIN, "flood_share": FLOOD_SHARE_TARGET},
    }
