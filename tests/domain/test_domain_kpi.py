import math
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ksys_app.domain.kpi import (
    NO_LIMITS,
    WINDOW_SCALE,
    Delta,
    KpiTile,
    QcRule,
    Scale,
    WindowStats,
    alarm_badge,
    build_kpi_tile,
    delta_pct,
    format_change,
    format_delta,
    gauge_pct,
    gauge_scale,
    has_limits,
    near_zero,
    range_label,
    scale_note,
    status_level,
    tile_delta,
    tile_tone,
    window_scale,
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
    # no rule: the window's range padded by 10 % of its span on each side
    # 3.14..4.06: span 0.92, pad 0.092 -> 3.048 .. 4.152
    assert range_label(None, 3.14, 4.06) == "3.0 ~ 4.2"
    # span 1, pad 0.1 -> 2.9 .. 4.1
    assert range_label(QcRule("T1", min_val=1.0), 3.0, 4.0) == "2.9 ~ 4.1"
    disabled = QcRule("T1", 0.0, 100.0, None, None, None, None, enabled=False)
    # span 4, pad 0.4
    assert range_label(disabled, -2.0, 2.0) == "-2.4 ~ 2.4"
    assert range_label(None, None, None) == "-"
    assert range_label(None, 1.0, None) == "-"


# --- tags without QC rules: the padded window scale --------------------------

@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (20.0, 30.0, (19.0, 31.0)),       # span 10 -> pad 1
        (0.0, 100.0, (-10.0, 110.0)),     # span 100 -> pad 10
        (-50.0, -10.0, (-54.0, -6.0)),    # span 40 -> pad 4
        (1.0, 1.0, (0.9, 1.1)),           # flat: 10 % of |1.0|
        (-5.0, -5.0, (-5.5, -4.5)),       # flat negative: 10 % of |-5|
        (250.0, 250.0, (225.0, 275.0)),
        (0.0, 0.0, (-1.0, 1.0)),          # flat at zero: +-1
    ],
)
def test_window_scale_is_padded_and_never_empty(lo, hi, expected):
    scale = window_scale(lo, hi)
    assert (scale.lo, scale.hi) == pytest.approx(expected)
    assert scale.from_qc is False and scale.span > 0


@pytest.mark.parametrize("lo, hi", [(None, 1.0), (1.0, None), (None, None), (2.0, 1.0), (math.nan, 1.0)])
def test_window_scale_missing_or_inverted_is_none(lo, hi):
    assert window_scale(lo, hi) is None


def test_gauge_scale_prefers_qc_range():
    assert gauge_scale(RULE, 3.0, 4.0) == Scale(0.0, 100.0, from_qc=True)
    assert gauge_scale(None, 3.0, 4.0) == Scale(pytest.approx(2.9), pytest.approx(4.1), from_qc=False)


def test_gauge_without_rule_on_padded_window():
    # 20..30 -> 19..31 (12 wide)
    assert gauge_pct(25.0, None, 20.0, 30.0) == pytest.approx(50.0)
    assert gauge_pct(30.0, None, 20.0, 30.0) == pytest.approx(11 / 12 * 100)  # 91.67, not 100
    assert gauge_pct(20.0, None, 20.0, 30.0) == pytest.approx(1 / 12 * 100)   # 8.33, not 0


def test_gauge_of_flat_window_sits_in_the_middle():
    # the "1.0 ~ 1.0 and 0 %" tile: now 0.9 ~ 1.1 and 50 %
    assert gauge_pct(1.0, None, 1.0, 1.0) == pytest.approx(50.0)
    assert range_label(None, 1.0, 1.0) == "0.9 ~ 1.1"
    assert gauge_pct(0.0, None, 0.0, 0.0) == pytest.approx(50.0)
    assert range_label(None, 0.0, 0.0) == "-1.0 ~ 1.0"
    assert gauge_pct(7.0, None, 7.0, 7.0) == pytest.approx(50.0)  # 6.3 .. 7.7


def test_has_limits_and_scale_note():
    assert has_limits(RULE) and scale_note(RULE) == ""
    assert not has_limits(None) and scale_note(None) == NO_LIMITS
    disabled = QcRule("T1", 0.0, 100.0, 20.0, 80.0, 10.0, 90.0, enabled=False)
    assert not has_limits(disabled) and scale_note(disabled) == NO_LIMITS
    empty = QcRule("T1")
    assert not has_limits(empty) and scale_note(empty) == NO_LIMITS
    warn_only = QcRule("T1", warn_max=80.0)
    assert has_limits(warn_only) and scale_note(warn_only) == WINDOW_SCALE
    nan_only = QcRule("T1", min_val=math.nan)
    assert not has_limits(nan_only)


@pytest.mark.parametrize(
    "n, qc, level, expected",
    [
        (0, None, 0, "nodata"),
        (0, RULE, 0, "nodata"),
        (5, None, 0, "neutral"),
        (5, QcRule("T1", enabled=False, min_val=0.0, max_val=1.0), 0, "neutral"),
        (5, RULE, 0, "normal"),
        (5, RULE, 1, "warn"),
        (5, RULE, 2, "crit"),
        (5, QcRule("T1", warn_max=80.0), 0, "normal"),
    ],
)
def test_tile_tone(n, qc, level, expected):
    assert tile_tone(n, qc, level) == expected


# --- deltas near zero ---------------------------------------------------------

@pytest.mark.parametrize(
    "prev, span, expected",
    [
        (0.0, None, True),
        (0.0, 100.0, True),
        (0.5, 100.0, True),     # 0.5 < 1 % of 100
        (-0.99, 100.0, True),
        (1.0, 100.0, False),    # exactly 1 % is not below it
        (0.5, None, False),     # no scale: only an exact 0 is near zero
        (0.5, 0.0, False),
        (None, 100.0, False),
    ],
)
def test_near_zero(prev, span, expected):
    assert near_zero(prev, span) is expected


def test_delta_pct_near_zero_prev_is_zero_with_a_scale():
    assert delta_pct(1.5, 1.0, 200.0) == 0.0   # |1.0| < 2.0 (1 % of 200)
    assert delta_pct(1.5, 1.0) == pytest.approx(50.0)  # without a scale, as before
    assert delta_pct(110.0, 100.0, 200.0) == pytest.approx(10.0)


def test_tile_delta_percentage():
    assert tile_delta(105.6, 100.0, 200.0) == Delta("pct", pytest.approx(5.6), pytest.approx(5.6), "+5.6%", "up")
    assert tile_delta(96.8, 100.0, 200.0) == Delta("pct", pytest.approx(-3.2), pytest.approx(-3.2), "-3.2%", "down")
    assert tile_delta(100.04, 100.0, 200.0).direction == "flat"  # +0.04 % shows "+0.0%"


def test_tile_delta_near_zero_is_absolute():
    # the "+50 %" tile: 1.0 -> 1.5 on a 0..200 scale is a change of +0.5
    d = tile_delta(1.5, 1.0, 200.0)
    assert (d.mode, d.pct, d.text, d.direction) == ("abs", 0.0, "+0.5", "up")
    assert d.change == pytest.approx(0.5)
    d = tile_delta(-0.25, 0.0, 10.0)
    assert (d.mode, d.text, d.direction) == ("abs", "-0.2", "down")  # -0.25 rounds half to even
    d = tile_delta(0.03, 0.005, 1.0)  # 0.005 < 0.01; change 0.025 rounds to +0.0
    assert (d.mode, d.text, d.direction) == ("abs", "+0.0", "flat")
    # prev exactly 0 without a scale: the absolute change too (the PRD's 0 % said nothing)
    assert tile_delta(5.0, 0.0, None).text == "+5.0"


def test_tile_delta_not_computable():
    for last, prev in [(5.0, None), (None, 3.0), (math.nan, 3.0)]:
        assert tile_delta(last, prev, 100.0) == Delta("pct", 0.0, 0.0, "+0.0%", "flat")


@pytest.mark.parametrize("change, expected", [(0.5, "+0.5"), (-1.26, "-1.3"), (-0.04, "+0.0"), (0.0, "+0.0"),
                                              (12.0, "+12.0"), (math.inf, "-")])
def test_format_change(change, expected):
    assert format_change(change) == expected


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
        tone="warn",
        scale_note="",
        delta_mode="pct",
        direction="up",
    )


def test_build_kpi_tile_without_rule_uses_window_and_other_tz():
    stats = WindowStats("T2", 10, 10.0, 20.0, 12.0, 15.0, datetime(2025, 1, 15, 12, 0, tzinfo=UTC), None)
    tile = build_kpi_tile(stats, None, tz="UTC")
    assert tile.gauge_pct == pytest.approx(50.0)  # 15 on 9..21
    assert tile.range_label == "9.0 ~ 21.0"
    assert tile.status_level == 0
    assert (tile.tone, tile.scale_note) == ("neutral", "no limits")
    assert tile.delta_s == "+0.0%" and tile.direction == "flat"
    assert tile.ts_s == "2025-01-15 12:00:00"


def test_build_kpi_tile_flat_tag_without_rule():
    # a constant reading of 1.0 and no rule: previously "1.0 ~ 1.0", 0 %, green
    ts = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    tile = build_kpi_tile(WindowStats("FLAT", 60, 1.0, 1.0, 1.0, 1.0, ts, 1.0), None, tz="UTC")
    assert (tile.range_label, tile.tone, tile.scale_note) == ("0.9 ~ 1.1", "neutral", "no limits")
    assert tile.gauge_pct == pytest.approx(50.0)
    assert (tile.delta_s, tile.direction) == ("+0.0%", "flat")


def test_build_kpi_tile_near_zero_prev_shows_absolute_delta():
    # 0..200 rule: 1 % of the span is 2.0; prev 1.0 is below it
    rule = QcRule("T7", min_val=0.0, max_val=200.0)
    ts = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    tile = build_kpi_tile(WindowStats("T7", 2, 1.0, 1.5, 1.0, 1.5, ts, 1.0), rule, tz="UTC")
    assert (tile.delta_s, tile.delta_pct, tile.delta_mode, tile.direction) == ("+0.5", 0.0, "abs", "up")
    assert tile.gauge_pct == pytest.approx(0.75)  # 1.5 / 200
    # no rule: the scale is the padded window 0.95 .. 1.55 (span 0.6, 1 % = 0.006): a percentage
    tile = build_kpi_tile(WindowStats("T7", 2, 1.0, 1.5, 1.0, 1.5, ts, 1.0), None, tz="UTC")
    assert (tile.delta_s, tile.delta_mode) == ("+50.0%", "pct")
    # readings around 0 without a rule: -0.2 .. 0.3, pad 0.05 -> span 0.6; prev 0.001 < 0.006
    tile = build_kpi_tile(WindowStats("T7", 3, -0.2, 0.3, -0.2, 0.3, ts, 0.001), None, tz="UTC")
    assert (tile.delta_s, tile.delta_mode, tile.direction) == ("+0.3", "abs", "up")


def test_build_kpi_tile_empty():
    stats = WindowStats("T3", 0, None, None, None, None, None, None)
    tile = build_kpi_tile(stats, None)
    assert tile == KpiTile("T3", "-", 0.0, "-", 0.0, 0, "-", "-", 0, "-", "-", "-", "-",
                           tone="nodata", scale_note="no limits", delta_mode="pct", direction="flat")
    # An empty tile still shows the configured QC range, and is grey, not green.
    assert build_kpi_tile(stats, RULE).range_label == "0.0 ~ 100.0"
    assert build_kpi_tile(stats, RULE).status_level == 0
    assert build_kpi_tile(stats, RULE).tone == "nodata"


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
