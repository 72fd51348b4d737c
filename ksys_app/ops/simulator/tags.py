"""The simulated tags: signal shape, QC rules and ingest expectations (pure, no I/O).

One definition feeds the generator (signals.py), the rows the simulator upserts
into influx_qc_rule / ingest_expectation, and db/qc/influx_qc_rule.csv
(`python -m ksys_app.ops.simulator.tags > db/qc/influx_qc_rule.csv`; a test
checks the file equals this definition).

Limits are chosen so the normal signal (base ± daily ± noise ± jitter) stays
inside the warning band; the hourly excursions of signals.py cross them.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass

DEFAULT_INTERVAL_S = 10
# Intervals whose readings per minute are a whole number (ingest_expectation.exp_per_min is an integer).
VALID_INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
SLO_WARN = 0.98
SLO_CRIT = 0.95
GAP_INTERVALS = 3  # max_gap_seconds = 3 x interval (comm "late" threshold)

QC_COLUMNS = ("tag_name", "min_val", "max_val", "max_step", "max_gap_seconds", "allow_negative",
              "enabled", "meta", "warn_min", "warn_max", "crit_min", "crit_max", "roc_max_per_min",
              "spike_zscore", "deadband_pct")


@dataclass(frozen=True, slots=True)
class TagSpec:
    name: str
    unit: str
    min_val: float
    max_val: float
    base: float          # mean level
    daily_amp: float     # amplitude of the daily cycle (peak ~14:00 Asia/Seoul)
    noise_amp: float     # amplitude of the smooth noise (sum of sines)
    jitter: float        # amplitude of the per-reading noise
    warn_min: float
    warn_max: float
    crit_min: float
    crit_max: float
    decimals: int        # values are rounded to this many decimals

    @property
    def span(self) -> float:
        return self.max_val - self.min_val


def _d(name: str, scale: float, base: float, decimals: int) -> TagSpec:
    """A D-register tag on a 0..200 x scale range."""
    return TagSpec(name, "", 0.0, 200.0 * scale, base * scale, 10.0 * scale, 6.0 * scale, 1.0 * scale,
                   warn_min=(base - 35) * scale, warn_max=(base + 35) * scale,
                   crit_min=(base - 55) * scale, crit_max=(base + 55) * scale, decimals=decimals)


TAGS: tuple[TagSpec, ...] = (
    _d("D100", 1, 100, 2), _d("D101", 1, 80, 2), _d("D102", 1, 120, 2),
    _d("D200", 10, 100, 1), _d("D201", 10, 80, 1), _d("D202", 10, 120, 1),
    _d("D300", 100, 100, 0), _d("D301", 100, 80, 0), _d("D302", 100, 120, 0),
    TagSpec("INLET_PRESSURE", "bar", 0.0, 16.0, 7.0, 0.4, 0.3, 0.03,
            warn_min=5.5, warn_max=8.5, crit_min=4.5, crit_max=9.5, decimals=3),
    TagSpec("OUTLET_PRESSURE", "bar", 0.0, 16.0, 5.75, 0.3, 0.2, 0.02,
            warn_min=4.8, warn_max=6.8, crit_min=4.2, crit_max=7.5, decimals=3),
    # FEED_FLOW falls to ~0 during plant stops (signals.plant_stopped), so
    # OPERATING_TIME shows 0 and the low limits alarm.
    TagSpec("FEED_FLOW", "m3/h", 0.0, 30.0, 12.0, 1.2, 0.6, 0.1,
            warn_min=8.0, warn_max=16.0, crit_min=5.0, crit_max=19.0, decimals=3),
    # PRODUCT_FLOW = FEED_FLOW x recovery (~0.7); base/daily/noise describe the
    # recovery-independent part only for documentation, see signals.value.
    TagSpec("PRODUCT_FLOW", "m3/h", 0.0, 30.0, 8.4, 0.84, 0.42, 0.07,
            warn_min=5.0, warn_max=11.5, crit_min=3.5, crit_max=13.5, decimals=3),
)

TAG_NAMES: tuple[str, ...] = tuple(t.name for t in TAGS)
# Rules without a deadband: their alarms chatter when a value hovers on a limit (the
# demo's example of why deadbands exist; signals.EXC_HOVER).
DEADBAND_FREE_TAGS = ("D102", "OUTLET_PRESSURE")
BY_NAME: dict[str, TagSpec] = {t.name: t for t in TAGS}


def validate_interval(interval_s: int) -> int:
    if interval_s not in VALID_INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(map(str, VALID_INTERVALS))} seconds "
                         f"(a whole number of readings per minute), got {interval_s}")
    return interval_s


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Comma-separated tag names (case-insensitive) -> known names in definition order."""
    if text is None or not text.strip():
        return TAG_NAMES
    wanted = [p.strip().upper() for p in text.split(",") if p.strip()]
    unknown = [w for w in wanted if w not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown tag(s) {', '.join(unknown)}; simulated tags are {', '.join(TAG_NAMES)}")
    return tuple(n for n in TAG_NAMES if n in wanted)


def qc_rule(spec: TagSpec, interval_s: int = DEFAULT_INTERVAL_S) -> dict:
    """The influx_qc_rule row (PRD columns) for one tag."""
    return {
        "tag_name": spec.name,
        "min_val": spec.min_val,
        "max_val": spec.max_val,
        "max_step": round(spec.span * 0.10, 6),
        "max_gap_seconds": GAP_INTERVALS * interval_s,
        "allow_negative": False,
        "enabled": True,
        "meta": {"source": "simulator", **({"unit": spec.unit} if spec.unit else {})},
        "warn_min": spec.warn_min,
        "warn_max": spec.warn_max,
        "crit_min": spec.crit_min,
        "crit_max": spec.crit_max,
        "roc_max_per_min": round(spec.span * 0.25, 6),
        "spike_zscore": 4.0,
        "deadband_pct": 0.0 if spec.name in DEADBAND_FREE_TAGS else 0.5,
    }


def qc_rules(tags: tuple[str, ...] = TAG_NAMES, interval_s: int = DEFAULT_INTERVAL_S) -> list[dict]:
    return [qc_rule(BY_NAME[n], interval_s) for n in tags]


def expectation(tag: str, interval_s: int = DEFAULT_INTERVAL_S) -> dict:
    """The ingest_expectation row for one tag."""
    return {"tag_name": tag, "exp_per_min": 60 // interval_s, "slo_warn": SLO_WARN, "slo_crit": SLO_CRIT}


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_qc_csv(interval_s: int = DEFAULT_INTERVAL_S) -> str:
    """db/qc/influx_qc_rule.csv: header + one row per simulated tag."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(QC_COLUMNS)
    for rule in qc_rules(TAG_NAMES, interval_s):
        writer.writerow([_csv_cell(rule[c]) for c in QC_COLUMNS])
    return buf.getvalue()


if __name__ == "__main__":
    sys.stdout.write(render_qc_csv())
