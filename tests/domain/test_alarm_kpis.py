"""Alarm KPIs (ISA-18.2 / EEMUA 191) over activations, against counts made by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.alarm_kpis import Activation, chattering, kpis

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
M = timedelta(minutes=1)


def act(tag, minute, limit="warn_high", priority="medium", cleared=None):
    return Activation(tag, limit, priority, T0 + minute * M, None if cleared is None else T0 + cleared * M)


def test_rate_peak_and_flood_over_slots_of_ten_minutes():
    # one hour = 6 slots; slot 0 gets 12 activations (a flood), slot 3 gets 3
    acts = [act(f"T{i}", i * 0.5, cleared=i * 0.5 + 1) for i in range(12)] + \
           [act("T1", 31, cleared=32), act("T2", 33, cleared=34), act("T3", 35, cleared=36)]
    k = kpis(acts, T0, T0 + 60 * M)
    assert k.activations == 15
    assert k.per_10min == pytest.approx(15 / 6)
    assert k.peak_10min == 12
    assert k.flood_share == pytest.approx(1 / 6)


def test_activations_outside_the_period_do_not_count():
    k = kpis([act("A", -5, cleared=-4), act("A", 60, cleared=61), act("A", 1, cleared=2)], T0, T0 + 60 * M)
    assert k.activations == 1


def test_chattering_needs_three_inside_one_minute():
    acts = [act("C", 0), act("C", 0.4), act("C", 0.9),  # three in 54 s: chattering
            act("D", 0), act("D", 0.6), act("D", 1.2),  # three in 72 s: not
            act("E", 0, limit="crit_high"), act("E", 0.1, limit="warn_high"), act("E", 0.2, limit="hard_high")]
    assert chattering(acts) == [("C", "warn_high")]  # per tag and limit, not per tag


def test_stale_alarms_are_still_active_after_a_day_at_the_period_end():
    end = T0 + timedelta(days=30)
    acts = [Activation("S", "warn_high", "medium", end - timedelta(hours=25)),  # active 25 h: stale
            Activation("F", "warn_high", "medium", end - timedelta(hours=23)),  # 23 h: not yet
            Activation("G", "warn_high", "medium", end - timedelta(hours=30), end - timedelta(hours=1)),  # cleared
            Activation("H", "crit_high", "high", T0 - timedelta(days=3))]  # began before the period, still on
    assert kpis(acts, T0, end).stale == (("H", "crit_high"), ("S", "warn_high"))


def test_top_sources_and_priority_shares():
    acts = [act("A", i, priority="high") for i in range(5)] + [act("B", i, priority="medium") for i in range(3)] + \
           [act("C", 1, priority="low"), act("D", 2, priority="low")]
    k = kpis(acts, T0, T0 + 60 * M)
    assert k.top_sources[:2] == (("A", 5, 0.5), ("B", 3, 0.3))
    assert [t for t, _n, _s in k.top_sources] == ["A", "B", "C", "D"]
    assert k.priority_shares == {"high": 0.5, "medium": 0.3, "low": 0.2}


def test_an_empty_period_has_zero_rates_and_a_bad_one_is_refused():
    k = kpis([], T0, T0 + 60 * M)
    assert (k.activations, k.per_10min, k.flood_share, k.top_sources) == (0, 0.0, 0.0, ())
    with pytest.raises(ValueError):
        kpis([], T0, T0)


def test_page_activations_clear_all_but_the_standing_ones():
    from ksys_app.domain.alarm_kpis import page_activations

    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    announced = [("A", "warn_high", "medium", t0), ("A", "warn_high", "medium", t0 + timedelta(hours=1)),
                 ("B", "crit_low", "high", t0 + timedelta(hours=2))]
    standing = [("A", "warn_high", "medium", t0 + timedelta(hours=1)),  # the second one still stands
                ("C", "crit_high", "high", t0 - timedelta(days=3))]  # since before the period
    acts = page_activations(announced, standing)
    by = {(a.tag, a.at): a.cleared_at for a in acts}
    assert by[("A", t0)] == t0 and by[("A", t0 + timedelta(hours=1))] is None
    assert by[("B", t0 + timedelta(hours=2))] is not None and by[("C", t0 - timedelta(days=3))] is None
    k = kpis(acts, t0, t0 + timedelta(days=2))
    assert k.activations == 3 and k.stale == (("A", "warn_high"), ("C", "crit_high"))
