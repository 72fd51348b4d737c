"""The chart's point labels and its partial-newest-bucket rule, against independent recomputes:
labels from epoch arithmetic with the zone's known offset, partial buckets from raw readings
bucketed here by integer division (not by the rollups or domain.series)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain.chartmarks import (
    AXIS_TICKS_MAX,
    Partial,
    axis_format,
    axis_ticks,
    draws_dots,
    newest_partial,
)
from ksys_app.domain.timefmt import NaiveDatetimeError, format_local_point
from ksys_app.domain.windows import RAW_WINDOWS, WINDOW_CODES, reads_raw

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def label_by_hand(epoch_s: int, offset_h: int, seconds: bool = False) -> str:
    """"YYYY-MM-DD HH:mm[:ss]+HH:00" from epoch seconds and a fixed whole-hour offset."""
    local = epoch_s + offset_h * 3600
    days, rem = divmod(local, 86400)
    d = (EPOCH + timedelta(days=days)).date()
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    sign = "+" if offset_h >= 0 else "-"
    clock = f"{hh:02d}:{mm:02d}" + (f":{ss:02d}" if seconds else "")
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {clock}{sign}{abs(offset_h):02d}:00"


@pytest.mark.parametrize("seed", range(5))
def test_point_label_is_the_full_local_date_time_and_offset(seed):
    rnd = random.Random(seed)
    for _ in range(200):
        epoch_s = rnd.randrange(946_684_800, 2_000_000_000)
        ts = EPOCH + timedelta(seconds=epoch_s, microseconds=rnd.randrange(1_000_000))
        assert format_local_point(ts) == label_by_hand(epoch_s, 9)  # Asia/Seoul: +09:00, no DST
        assert format_local_point(ts, seconds=True) == label_by_hand(epoch_s, 9, seconds=True)
        assert format_local_point(ts, "UTC") == label_by_hand(epoch_s, 0)


def test_point_label_names_the_day_across_midnight_and_dst():
    # 19:30 KST on two days: the tooltip must tell them apart
    assert format_local_point(datetime(2026, 12, 1, 10, 30, tzinfo=UTC)) == "2026-12-01 19:30+09:00"
    assert format_local_point(datetime(2026, 12, 2, 10, 30, tzinfo=UTC)) == "2026-12-02 19:30+09:00"
    # Europe/Berlin springs forward at 01:00 UTC on 2026-03-29: same clock span, other offset
    assert format_local_point(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "Europe/Berlin") == "2026-03-29 01:30+01:00"
    assert format_local_point(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Europe/Berlin") == "2026-03-29 03:30+02:00"
    with pytest.raises(NaiveDatetimeError):
        format_local_point(datetime(2026, 12, 1, 10, 30))


def bucket_readings(readings: list[datetime], width_s: int) -> dict[int, int]:
    """Bucket start (epoch s, aligned to the epoch like to 2000-01-03 for these widths) -> n."""
    out: dict[int, int] = {}
    for ts in readings:
        start = int((ts - EPOCH).total_seconds()) // width_s * width_s
        out[start] = out.get(start, 0) + 1
    return out


@pytest.mark.parametrize("seed", range(20))
def test_partial_rule_against_readings_bucketed_here(seed):
    """Regular readings every `step` s that stop at `end`; read at `as_of` >= end. The newest
    bucket is partial exactly when it ends after as_of or holds fewer readings than a full one."""
    rnd = random.Random(seed)
    width_s = rnd.choice([60, 600, 3600])
    step = rnd.choice([s for s in (5, 10, 20, 30, 60) if width_s % s == 0])
    start = datetime(2026, 12, 1, tzinfo=UTC)
    end = start + timedelta(seconds=rnd.randrange(5 * width_s, 40 * width_s))
    readings = [start + timedelta(seconds=k * step) for k in range(int((end - start).total_seconds()) // step + 1)]
    as_of = end + timedelta(seconds=rnd.choice([0, 1, step, width_s // 2, 3 * width_s]))
    per_bucket = bucket_readings(readings, width_s)
    newest = max(per_bucket)
    full = width_s // step
    expect_partial = newest + width_s > (as_of - EPOCH).total_seconds() or per_bucket[newest] < full

    starts = [EPOCH + timedelta(seconds=s) for s in per_bucket]
    counts = list(per_bucket.values())
    rnd.shuffle(idx := list(range(len(starts))))  # any order
    got = newest_partial([starts[i] for i in idx], [counts[i] for i in idx], timedelta(seconds=width_s), as_of)
    assert (got is not None) == expect_partial, (width_s, step, end, as_of, per_bucket[newest])
    if got is not None:
        assert got.n == per_bucket[newest]
        assert got.note.startswith(f"partial bucket (n={per_bucket[newest]}")


def test_partial_in_progress_and_short_and_complete():
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    starts = [t0 + timedelta(minutes=i) for i in range(5)]
    w = timedelta(minutes=1)
    # still filling when read: partial whatever its n
    assert newest_partial(starts, [6, 6, 6, 6, 6], w, t0 + timedelta(minutes=4, seconds=30)) == Partial(6, True, None)
    # ended, but the readings stopped inside it
    got = newest_partial(starts, [6, 6, 6, 6, 2], w, t0 + timedelta(minutes=9))
    assert got == Partial(2, False, 6) and got.note == "partial bucket (n=2 of ~6)"
    # ended and as full as the others
    assert newest_partial(starts, [6, 6, 6, 6, 6], w, t0 + timedelta(minutes=5)) is None
    # an outage elsewhere does not lower the bar (median, not mean)
    assert newest_partial(starts, [6, 0, 1, 6, 6], w, t0 + timedelta(minutes=9)) is None
    # too few buckets to compare with: judged by its end only
    assert newest_partial(starts[:2], [6, 1], w, t0 + timedelta(minutes=9)) is None
    # no counts (/tech): by its end only
    assert newest_partial(starts, [None] * 5, w, t0 + timedelta(minutes=4, seconds=1)).note == \
        "partial bucket (in progress)"
    assert newest_partial([], [], w, t0) is None
    with pytest.raises(ValueError):
        newest_partial(starts, [1], w, t0)


def test_dots_axis_and_raw_windows():
    assert draws_dots(1) and draws_dots(60) and not draws_dots(61) and draws_dots(300, raw=True)
    assert axis_format(timedelta(minutes=1), raw=True) == "sec"
    assert axis_format(timedelta(days=2)) == "min" and axis_format(timedelta(days=7)) == "day"
    assert [c for c in WINDOW_CODES if reads_raw(c)] == ["1m"] == sorted(RAW_WINDOWS)


def test_axis_ticks_offers_all_labels_of_a_short_series():
    assert axis_ticks(["a", "b", "c"]) == ["a", "b", "c"]
    assert axis_ticks([]) == []


def test_axis_ticks_offers_every_kth_label_ending_with_the_newest():
    labels = [f"t{i}" for i in range(288)]
    ticks = axis_ticks(labels)
    assert len(ticks) <= AXIS_TICKS_MAX
    assert ticks[-1] == "t287"
    step = labels.index(ticks[1]) - labels.index(ticks[0])
    assert step == 18 and all(labels.index(b) - labels.index(a) == step for a, b in zip(ticks, ticks[1:]))


def test_axis_ticks_rejects_a_zero_maximum():
    with pytest.raises(ValueError):
        axis_ticks(["a"], 0)


GAP_T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_a_line_breaks_where_two_or_more_buckets_are_missing():
    from ksys_app.domain.chartmarks import gap_after

    m = timedelta(minutes=10)
    starts = [GAP_T0 + i * m for i in (0, 1, 2, 4, 7, 8, 20)]  # one missing after 2, two after 4, eleven after 8
    assert gap_after(starts, m) == [3, 5]
    assert gap_after(starts, m, missing=1) == [2, 3, 5]
    assert gap_after([], m) == [] and gap_after(starts[:1], m) == []
