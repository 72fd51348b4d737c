import math
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ksys_app.domain.kpi import (
    KpiTile,
    QcRule,
    WindowStats,
    alarm_badge,
    build_kpi_tile,
    delta_pct,
    format_delta,
    gauge_pct,
    range_label,
    status_level,
)
from ksys_app.domain.timefmt import NaiveDatetimeError

UTC = timezone.utc

# Hard range 0..100, crit at <=10 / >=90, warn at <=20 / >=80.
RULE = QcRule("T1", min_val=0.0, max_val=100.0, warn_min=20.0, warn_max=80.0, crit_min=10.0, crit_max=90.0)


# --- delta -----------------------------------------------------------------

def test_delta_pct_basic():
    assert delta_pct(105.6, 100.0) == pytest.approx(5.6)
    assert delta_pct(96.8, 100.0) == pytest.approx(-3.2)


@pytest.mark.parametrize("last, prev", [(5.0, None), (5.0, 0), (5.0, 0.0), (None, 3.0), (None, None), (5.0, math.nan)])
def test_delta_pct_not_computable_is_zero(last, prev):
    assert delta_pct(last, prev) == 0.0


def test_delta_pct_negative_prev_sign_follows_direction():
    assert delta_pct(-5.0, -10.0) == pytest.approx(50.0)
    assert delta_pct(-15.0, -10.0) == pytest.approx(-50.0)


def test_delta_pct_accepts_decimal():
    assert delta_pct(Decimal("110"), Decimal("100")) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "pct, expected",
    [
        (5.6, "+5.6%"),
        (5.64, "+5.6%"),
        (-3.2, "-3.2%"),
        (-3.25001, "-3.3%"),
        (0.0, "+0.0%"),
        (-0.0, "+0.0%"),
        (-0.04, "+0.0%"),
        (0.04, "+0.0%"),
        (123.0, "+123.0%"),
    ],
)
def test_format_delta(pct, expected):
    assert format_delta(pct) == expected


def test_format_delta_of_uncomputable_delta():
    assert format_delta(delta_pct(5.0, 0)) == "+0.0%"
    assert format_delta(delta_pct(5.0, None)) == "+0.0%"


# --- gauge -----------------------------------------------------------------

def test_gauge_uses_qc_range_first():
    assert gauge_pct(25.0, RULE, 20.0, 30.0) == 25.0


def test_gauge_falls_back_to_window_range():
    assert gauge_pct(25.0, None, 20.0, 30.0) == 50.0


def test_gauge_disabled_rule_uses_window():
    rule = QcRule("T1", 0.0, 100.0, None, None, None, None, enabled=False)
    assert gauge_pct(25.0, rule, 20.0, 30.0) == 50.0


def test_gauge_qc_needs_both_limits_and_max_above_min():
    only_min = QcRule("T1", min_val=0.0, max_val=None)
    inverted = QcRule("T1", min_val=100.0, max_val=0.0)
    equal = QcRule("T1", min_val=5.0, max_val=5.0)
    for rule in (only_min, inverted, equal):
        assert gauge_pct(25.0, rule, 20.0, 30.0) == 50.0


def test_gauge_clamps():
    assert gauge_pct(-5.0, RULE, None, None) == 0.0
    assert gauge_pct(150.0, RULE, None, None) == 100.0
    assert gauge_pct(0.0, RULE, None, None) == 0.0
    assert gauge_pct(100.0, RULE, None, None) == 100.0


def test_gauge_empty_range_or_missing_value_is_zero():
    assert gauge_pct(7.0, None, 7.0, 7.0) == 0.0  # flat window
    assert gauge_pct(7.0, None, 8.0, 6.0) == 0.0  # hi < lo
    assert gauge_pct(7.0, None, None, 9.0) == 0.0
    assert gauge_pct(None, RULE, 0.0, 10.0) == 0.0
    assert gauge_pct(math.nan, RULE, 0.0, 10.0) == 0.0


# --- status ----------------------------------------------------------------

@pytest.mark.parametrize(
    "value, expected",
    [
        (50.0, 0),
        (20.000001, 0),
        (79.9, 0),
        (20.0, 1),   # equal to warn_min -> warn
        (80.0, 1),   # equal to warn_max -> warn
        (15.0, 1),
        (85.0, 1),
        (10.0, 2),   # equal to crit_min -> crit (crit wins over warn)
        (90.0, 2),   # equal to crit_max -> crit
        (5.0, 2),
        (95.0, 2),
        (0.0, 2),    # equal to min_val, but <= crit_min
        (-0.1, 2),   # below hard min
        (100.1, 2),  # above hard max
    ],
)
def test_status_level_boundaries(value, expected):
    assert status_level(value, RULE) == expected


def test_hard_range_violation_alone_is_critical():
    rule = QcRule("T1", min_val=0.0, max_val=100.0)
    assert status_level(-1.0, rule) == 2
    assert status_level(101.0, rule) == 2
    assert status_level(0.0, rule) == 0    # equal to hard min is inside the range
    assert status_level(100.0, rule) == 0


def test_crit_checked_before_warn_when_limits_overlap():
    # Value satisfies both warn (>= 50) and crit (>= 60): crit must win.
    rule = QcRule("T1", warn_max=50.0, crit_max=60.0)
    assert status_level(70.0, rule) == 2
    assert status_level(55.0, rule) == 1


def test_none_limits_are_ignored():
    rule = QcRule("T1", warn_max=80.0)
    assert status_level(-1e9, rule) == 0
    assert status_level(80.0, rule) == 1


@pytest.mark.parametrize("value, qc", [(95.0, None), (None, RULE), (math.nan, RULE)])
def test_status_zero_without_rule_or_value(value, qc):
    assert status_level(value, qc) == 0


def test_disabled_rule_is_normal():
    rule = QcRule("T1", 0.0, 100.0, 20.0, 80.0, 10.0, 90.0, enabled=False)
    assert status_level(-50.0, rule) == 0
    assert status_level(95.0, rule) == 0


def test_alarm_badge():
    assert alarm_badge(50.0, RULE) == "none"
    assert alarm_badge(80.0, RULE) == "warn"
    assert alarm_badge(90.0, RULE) == "crit"
    assert alarm_badge(None, RULE) == "none"
    assert alarm_badge(95.0, None) == "none"


# --- range label -----------------------------------------------------------

def test_range_label():
    assert range_label(RULE, 3.0, 4.0) == "0.0 ~ 100.0"
    assert range_label(None, 3.14, 4.06) == "3.1 ~ 4.1"
    assert range_label(QcRule("T1", min_val=1.0), 3.0, 4.0) == "3.0 ~ 4.0"
    disabled = QcRule("T1", 0.0, 100.0, None, None, None, None, enabled=False)
    assert range_label(disabled, -2.0, 2.0) == "-2.0 ~ 2.0"
    assert range_label(None, None, None) == "-"
    assert range_label(None, 1.0, None) == "-"


# --- tile ------------------------------------------------------------------

def test_build_kpi_tile_full():
    stats = WindowStats(
        tag_name="T1", n=300, min=12.34, max=88.88, first=40.0, last=85.04,
        last_ts=datetime(2025, 8, 15, 7, 26, 7, 500_000, tzinfo=UTC), prev_last=80.0,
    )
    tile = build_kpi_tile(stats, RULE)
    assert tile == KpiTile(
        title="T1",
        value_s="85.0",
        delta_pct=pytest.approx(6.3),
        delta_s="+6.3%",
        gauge_pct=pytest.approx(85.04),
        status_level=1,
        ts_s="2025-08-15 16:26:07",
        range_label="0.0 ~ 100.0",
        n=300,
        min_s="12.3",
        max_s="88.9",
        first_s="40.0",
        last_s="85.0",
    )


def test_build_kpi_tile_without_rule_uses_window_and_other_tz():
    stats = WindowStats("T2", 10, 10.0, 20.0, 12.0, 15.0, datetime(2025, 1, 15, 12, 0, tzinfo=UTC), None)
    tile = build_kpi_tile(stats, None, tz="UTC")
    assert tile.gauge_pct == 50.0
    assert tile.range_label == "10.0 ~ 20.0"
    assert tile.status_level == 0
    assert tile.delta_s == "+0.0%"
    assert tile.ts_s == "2025-01-15 12:00:00"


def test_build_kpi_tile_empty():
    stats = WindowStats("T3", 0, None, None, None, None, None, None)
    tile = build_kpi_tile(stats, None)
    assert tile == KpiTile("T3", "-", 0.0, "-", 0.0, 0, "-", "-", 0, "-", "-", "-", "-")
    # An empty tile still shows the configured QC range.
    assert build_kpi_tile(stats, RULE).range_label == "0.0 ~ 100.0"
    assert build_kpi_tile(stats, RULE).status_level == 0


def test_build_kpi_tile_missing_pieces_render_dash():
    stats = WindowStats("T4", 1, None, None, None, 5.0, None, None)
    tile = build_kpi_tile(stats, None)
    assert (tile.value_s, tile.ts_s, tile.min_s, tile.max_s, tile.first_s) == ("5.0", "-", "-", "-", "-")


def test_build_kpi_tile_naive_timestamp_rejected():
    stats = WindowStats("T5", 1, 1.0, 1.0, 1.0, 1.0, datetime(2025, 8, 15, 7, 26, 7), None)
    with pytest.raises(NaiveDatetimeError):
        build_kpi_tile(stats, None)


def test_window_stats_rejects_negative_n():
    with pytest.raises(ValueError, match="n must be >= 0"):
        WindowStats("T6", -1, None, None, None, None, None, None)
