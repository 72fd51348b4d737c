"""Pure parts of the simulator: determinism, excursions, dropouts, grid, QC definition."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ksys_app.domain.kpi import STATUS_CRIT, STATUS_NORMAL, STATUS_WARN, QcRule, status_level
from ksys_app.ops.simulator import signals, tags

T_END = datetime(2025, 6, 30, tzinfo=timezone.utc)
T_START = T_END - timedelta(days=30)
HOURS = range(int(T_START.timestamp()) // 3600, int(T_END.timestamp()) // 3600)
ROOT = Path(__file__).resolve().parents[2]


def _rule(tag: str) -> QcRule:
    r = tags.qc_rule(tags.BY_NAME[tag])
    return QcRule(tag, r["min_val"], r["max_val"], r["warn_min"], r["warn_max"], r["crit_min"], r["crit_max"],
                  r["enabled"], r["max_gap_seconds"])


def _hour_ts(hour: int, interval: int = 10) -> list[int]:
    return list(range(hour * 3600, hour * 3600 + 3600, interval))


def test_same_seed_same_values_different_seed_different():
    stamps = [T_END - timedelta(seconds=10 * k) for k in range(0, 5000, 37)]
    for tag in tags.TAG_NAMES:
        a = [signals.value(42, tag, t) for t in stamps]
        assert a == [signals.value(42, tag, t) for t in stamps]
        b = [signals.value(7, tag, t) for t in stamps]
        assert sum(x != y for x, y in zip(a, b)) > len(stamps) * 0.9, tag
        assert [signals.is_dropped(42, tag, t) for t in stamps] == [signals.is_dropped(42, tag, t) for t in stamps]


def test_batch_generation_equals_pointwise_values_whatever_the_span():
    start, end = T_END - timedelta(hours=2, seconds=5), T_END + timedelta(minutes=17)
    whole = {(t, tag): v for ts, block in signals.generate(42, tags.TAG_NAMES, start, end, 10)
             for tag, vals in block.items() for t, v in zip(ts, vals)}
    split = {}
    mid = T_END - timedelta(minutes=23, seconds=10)
    for a, b in ((start, mid), (mid, end)):
        for ts, block in signals.generate(42, tags.TAG_NAMES, a, b, 10):
            split.update({(t, tag): v for tag, vals in block.items() for t, v in zip(ts, vals)})
    assert whole == split
    assert len(whole) == len(tags.TAG_NAMES) * len(signals.grid_range(start, end, 10))
    for (t, tag), v in list(whole.items())[::97]:
        assert v == (None if signals.is_dropped(42, tag, t) else signals.value(42, tag, t))


def test_grid():
    assert signals.grid_floor(datetime(2025, 1, 1, 0, 0, 19, 999, tzinfo=timezone.utc), 10) % 10 == 0
    r = signals.grid_range(100, 130, 10)
    assert list(r) == [110, 120, 130]
    assert list(signals.grid_range(101, 129.5, 10)) == [110, 120]
    assert list(signals.grid_range(130, 130, 10)) == []


def test_each_tag_has_warn_and_crit_excursions_and_dropouts_over_30_days():
    for tag in tags.TAG_NAMES:
        rule = _rule(tag)
        kinds = {hour: signals.excursion(42, tag, hour) for hour in HOURS}
        warn_hours = [h for h, k in kinds.items() if k and k[0] == "warn"]
        crit_hours = [h for h, k in kinds.items() if k and k[0] == "crit"]
        assert warn_hours and crit_hours, tag
        # the values really cross the limits in those hours (kpi status rules)
        for hours, level in ((warn_hours, STATUS_WARN), (crit_hours, STATUS_CRIT)):
            for h in hours[:3]:
                levels = {status_level(v, rule) for v in signals.hour_values(42, tag, h, _hour_ts(h))}
                assert level in levels, (tag, h, level)
        drops = {hour: signals.dropout(42, tag, hour) for hour in HOURS}
        silent = [h for h, d in drops.items() if d and d[0] == signals.DROP_SILENT]
        partial = [h for h, d in drops.items() if d and d[0] != signals.DROP_SILENT]
        assert silent and partial, tag
        assert all(signals.is_dropped(42, tag, t) for t in _hour_ts(silent[0]))
        missing = sum(signals.is_dropped(42, tag, t) for t in _hour_ts(partial[0]))
        assert 0 < missing < 360


def test_normal_hours_stay_normal_and_values_stay_in_range():
    feed_disturbed = {h for h in HOURS if signals.excursion(42, "FEED_FLOW", h) or signals.plant_stopped(42, h)}
    for tag in tags.TAG_NAMES:
        rule, spec = _rule(tag), tags.BY_NAME[tag]
        for h in list(HOURS)[::11]:
            vals = signals.hour_values(42, tag, h, _hour_ts(h, 60))
            assert all(spec.min_val <= v <= spec.max_val for v in vals)
            if signals.disturbed(42, tag, h) or (tag in ("FEED_FLOW", "PRODUCT_FLOW") and h in feed_disturbed):
                continue
            assert {status_level(v, rule) for v in vals} == {STATUS_NORMAL}, (tag, h)


def test_plant_stops_bring_feed_flow_to_about_zero():
    stops = [h for h in HOURS if signals.plant_stopped(42, h)]
    assert stops
    h = stops[0]
    mid = signals.hour_values(42, "FEED_FLOW", h, [h * 3600 + 1800])[0]
    assert mid <= 1.0  # OPERATING_TIME = 0 for that minute
    assert signals.hour_values(42, "PRODUCT_FLOW", h, [h * 3600 + 1800])[0] <= 1.0


def test_amber_hours_have_a_success_rate_between_slo_crit_and_slo_warn():
    for tag in tags.TAG_NAMES:
        amber = [h for h in HOURS if (signals.dropout(42, tag, h) or ("",))[0] == signals.DROP_AMBER]
        assert amber, tag
        for h in amber[:3]:
            got = sum(not signals.is_dropped(42, tag, t) for t in _hour_ts(h)) / 360
            assert tags.SLO_CRIT <= got < tags.SLO_WARN


def test_qc_csv_equals_definition():
    path = ROOT / "db" / "qc" / "influx_qc_rule.csv"
    text = path.read_text()
    assert text == tags.render_qc_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == tags.QC_COLUMNS
    assert [r["tag_name"] for r in rows] == list(tags.TAG_NAMES)
    for row, rule in zip(rows, tags.qc_rules()):
        for col in tags.QC_COLUMNS:
            want, got = rule[col], row[col]
            if isinstance(want, bool):
                assert got == str(want).lower()
            elif isinstance(want, dict):
                assert json.loads(got) == want
            elif isinstance(want, (int, float)):
                assert float(got) == want, (rule["tag_name"], col)
            else:
                assert got == want


def test_rules_and_expectations_follow_the_interval():
    rule = tags.qc_rule(tags.BY_NAME["D100"], interval_s=5)
    assert rule["max_gap_seconds"] == 15 and rule["enabled"] is True
    assert tags.expectation("D100", 5) == {"tag_name": "D100", "exp_per_min": 12, "slo_warn": 0.98, "slo_crit": 0.95}
    with pytest.raises(ValueError, match="interval"):
        tags.validate_interval(7)
    assert tags.parse_tags("d200, FEED_FLOW") == ("D200", "FEED_FLOW")
    with pytest.raises(ValueError, match="NOPE"):
        tags.parse_tags("D100,NOPE")


def _alarm_activations(tag: str, days: int = 14):
    """Announced activations of the tag's alarms under its simulator QC rule (domain rule)."""
    from ksys_app.domain.alarm_kpis import Activation
    from ksys_app.domain.alarms import condition_changes, limits_of

    readings = []
    for h in list(HOURS)[: days * 24]:
        ts = [t for t in _hour_ts(h) if not signals.is_dropped(42, tag, t)]
        readings += [(signals.to_datetime(t), v) for t, v in zip(ts, signals.hour_values(42, tag, h, ts))]
    out = []
    for limit in limits_of(tags.qc_rule(tags.BY_NAME[tag])):
        changes = condition_changes(readings, limit)
        for i, c in enumerate(changes):
            if c.active:
                cleared = changes[i + 1].at if i + 1 < len(changes) else None
                out.append(Activation(tag, limit.kind.value, limit.priority.value, c.at, cleared))
    return out


def test_the_demo_shows_chattering_only_where_a_rule_has_no_deadband_and_a_stale_drift():
    from ksys_app.domain.alarm_kpis import chattering

    for tag in tags.TAG_NAMES:
        acts = _alarm_activations(tag)
        assert acts, f"{tag} should raise some alarms in two weeks"
        chatter = chattering(acts)
        if tag in tags.DEADBAND_FREE_TAGS:
            assert chatter, f"{tag} has no deadband and hovers on a limit: it should chatter"
        else:
            assert chatter == [], f"{tag} has a deadband: {chatter}"
    for tag in signals.DRIFT_TAGS:
        longest = max((a.cleared_at or signals.to_datetime(HOURS[-1] * 3600)) - a.at for a in _alarm_activations(tag))
        assert longest > timedelta(hours=24), f"{tag} drifts past its warning limit for {signals.DRIFT_HOURS} h"
