"""domain.pens: which pens ?pens= gives, and every pen's buckets on one grid (checked
against sums over the readings themselves, not against merge_buckets)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.pens import MAX_PENS, merge_pens, pick_pens, points_for
from ksys_app.domain.series import ORIGIN, Bucket

KNOWN = [f"T{i}" for i in range(12)]


@pytest.mark.parametrize("raw, want, keys", [
    (None, (), []),
    ("", (), []),
    ("T1,T2", ("T1", "T2"), []),
    (" T2 , T1 ,", ("T2", "T1"), []),  # the order given; blanks and spaces left out
    ("T0,T1,T1", ("T1",), []),  # the page's own tag and repeats are no extra pens
    ("T1,NOPE,<script>", ("T1",), ["notice.unknown_pens"]),
    (",".join(KNOWN[1:]), tuple(KNOWN[1:MAX_PENS]), ["notice.too_many_pens"]),
    ("T1," * 2000, (), ["notice.pens_too_long"]),
])
def test_pick_pens(raw, want, keys):
    pens, notices = pick_pens(raw, "T0", KNOWN)
    assert pens == want
    assert [n["key"] for n in notices] == keys
    assert len(pens) <= MAX_PENS - 1


def test_unknown_pens_are_named_in_the_notice():
    _, notices = pick_pens("T1,NOPE", "T0", KNOWN)
    assert "NOPE" in notices[0]["value"]


def test_without_a_tag_list_no_pens_are_taken():
    assert pick_pens("T1,T2", "T0", [])[0] == ()


def _bucket(t: datetime, values: list[float]) -> Bucket:
    return Bucket(t, sum(values) / len(values), min(values), max(values), values[0], values[-1], len(values))


def test_pens_share_one_grid_and_each_point_holds_that_pens_readings():
    """Three pens of 1-minute buckets over 20 h (1,200 buckets, so they are merged),
    one with a 3-hour hole: every merged bucket equals a recompute from the minute values."""
    rng = random.Random(7)
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    minutes = 20 * 60
    values = {pen: {start + timedelta(minutes=i): [rng.uniform(-5, 5) for _ in range(rng.randint(1, 6))]
                    for i in range(minutes) if not (pen == "B" and 300 <= i < 480)}
              for pen in ("A", "B", "C")}
    rows = [[_bucket(t, v) for t, v in sorted(per.items(), reverse=True)] for per in values.values()]  # any order
    grid = merge_pens(rows, timedelta(minutes=1), max_points=300)
    assert grid.factor > 1 and len(grid.starts) <= 301
    assert list(grid.starts) == sorted(grid.starts)
    for pen, by_start in zip(values, grid.buckets):
        assert set(by_start) <= set(grid.starts)
        for s, b in by_start.items():
            assert (s - ORIGIN) % grid.width == timedelta(0)
            inside = [x for t, v in values[pen].items() if s <= t < s + grid.width for x in v]
            assert b.n == len(inside)
            assert b.min == min(inside) and b.max == max(inside)
            assert b.avg == pytest.approx(sum(inside) / len(inside), rel=1e-12)
        # every minute lands in exactly one point
        assert sum(b.n for b in by_start.values()) == sum(len(v) for v in values[pen].values())
    # the hole: B has no point there, A does
    hole = [s for s in grid.starts if start + timedelta(minutes=300) <= s < start + timedelta(minutes=480) - grid.width]
    assert hole and all(s not in grid.buckets[1] and s in grid.buckets[0] for s in hole)


def test_rows_newest_first_pen_by_pen():
    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    a = [_bucket(t0 + timedelta(minutes=i), [float(i)]) for i in range(3)]
    b = [_bucket(t0 + timedelta(minutes=i), [10.0 + i]) for i in (0, 2)]
    grid = merge_pens([a, b], timedelta(minutes=1))
    assert grid.factor == 1
    got = [(tag, r.bucket.minute, r.avg) for tag, r in grid.rows_newest_first(["A", "B"])]
    assert got == [("A", 2, 2.0), ("B", 2, 12.0), ("A", 1, 1.0), ("A", 0, 0.0), ("B", 0, 10.0)]
    assert grid.counts() == [1, 1, 1]


def test_raw_readings_of_different_instants_land_on_one_grid():
    """Raw readings every 10 s, the second tag 3 s later: aligned, the pens share points."""
    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    a = [_bucket(t0 + timedelta(seconds=10 * i), [1.0]) for i in range(30)]
    b = [_bucket(t0 + timedelta(seconds=10 * i + 3), [2.0]) for i in range(30)]
    grid = merge_pens([a, b], timedelta(seconds=10), align=True)
    assert len(grid.starts) == 30
    assert all(s in grid.buckets[0] and s in grid.buckets[1] for s in grid.starts)
    unaligned = merge_pens([a, b], timedelta(seconds=10))
    assert len(unaligned.starts) == 60  # what align avoids: every point half empty


def test_forced_factor_must_be_positive():
    from ksys_app.domain.series import merge_buckets

    with pytest.raises(ValueError):
        merge_buckets([], timedelta(minutes=1), factor=0)


def test_eight_pens_of_a_long_window_fit_the_update_budget():
    """The chart's points of eight pens as the page sends them stay within what one tag's
    five series send (the 50 KB per-update budget leaves the rest to the table page)."""
    import json

    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rng = random.Random(3)
    rows = [[_bucket(t0 + timedelta(minutes=10 * i), [rng.uniform(0, 20000)]) for i in range(2016)] for _ in range(8)]
    grid = merge_pens(rows, timedelta(minutes=10))
    assert len(grid.starts) <= points_for(8) + 1
    points = [{"t": "2026-12-03 14:05+09:00", **{f"p{i}": round(b[s].avg, 3) for i, b in enumerate(grid.buckets)}}
              for s in grid.starts]
    assert len(json.dumps(points)) < 36_000
    assert points_for(1) == points_for(5) == 300 and points_for(8) == 187
