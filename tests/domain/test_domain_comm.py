from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from ksys_app.domain.comm import (
    DuplicateBucketError,
    HourCell,
    Outage,
    build_heatmap_grid,
    comm_status,
    expected_so_far,
    hour_phase,
    hour_success,
    merge_outages,
    success_colour_band,
)
from ksys_app.domain.comm_range import RETENTION_DAYS, start_bounds, step_start
from ksys_app.domain.timefmt import NaiveDatetimeError

UTC = timezone.utc
KST = timezone(timedelta(hours=9))
NOW = datetime(2025, 8, 15, 12, 0, 0, tzinfo=UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- comm_status -----------------------------------------------------------

def test_comm_status_no_data():
    assert comm_status(None, NOW, 10) == "no_data"


def test_comm_status_default_gap_is_three_intervals():
    assert comm_status(NOW - timedelta(seconds=30), NOW, 10) == "ok"   # exactly 3 x 10 s
    assert comm_status(NOW - timedelta(seconds=31), NOW, 10) == "late"
    assert comm_status(NOW - timedelta(seconds=5), NOW, 10) == "ok"


def test_comm_status_max_gap_overrides_interval():
    latest = NOW - timedelta(seconds=100)
    assert comm_status(latest, NOW, 10, max_gap_seconds=100) == "ok"
    assert comm_status(latest, NOW, 10, max_gap_seconds=99) == "late"
    assert comm_status(NOW - timedelta(seconds=31), NOW, 10, max_gap_seconds=600) == "ok"


def test_comm_status_future_sample_is_ok():
    assert comm_status(NOW + timedelta(seconds=5), NOW, 10) == "ok"


def test_comm_status_other_offset_compares_instants():
    # 20:59:50+09:00 is 11:59:50 UTC: 10 s old.
    assert comm_status(datetime(2025, 8, 15, 20, 59, 50, tzinfo=KST), NOW, 10) == "ok"


def test_comm_status_naive_rejected():
    with pytest.raises(NaiveDatetimeError):
        comm_status(datetime(2025, 8, 15, 11, 59), NOW, 10)
    with pytest.raises(NaiveDatetimeError):
        comm_status(None, datetime(2025, 8, 15, 12, 0), 10)


def test_comm_status_bad_interval():
    with pytest.raises(ValueError):
        comm_status(NOW, NOW, 0)
    with pytest.raises(ValueError):
        comm_status(NOW, NOW, 10, max_gap_seconds=-1)


# --- heatmap grid ----------------------------------------------------------

def test_heatmap_30_days_seoul_boundaries():
    cells = build_heatmap_grid(date(2025, 8, 1), [], tz="Asia/Seoul", days=30)
    assert len(cells) == 720
    first = cells[0]
    assert first.bucket_utc == utc(2025, 7, 31, 15)  # local 2025-08-01 00:00 KST
    assert (first.local_day, first.local_hour) == (date(2025, 8, 1), 0)
    assert cells[23].bucket_utc == utc(2025, 8, 1, 14)
    assert (cells[23].local_day, cells[23].local_hour) == (date(2025, 8, 1), 23)
    assert cells[24].bucket_utc == utc(2025, 8, 1, 15)
    assert (cells[24].local_day, cells[24].local_hour) == (date(2025, 8, 2), 0)
    last = cells[-1]
    assert last.bucket_utc == utc(2025, 8, 30, 14)
    assert (last.local_day, last.local_hour) == (date(2025, 8, 30), 23)
    assert all(c.success_rate is None for c in cells)  # empty, not 0


def test_heatmap_default_is_30_days_seoul():
    assert len(build_heatmap_grid(date(2025, 8, 1), [])) == 720
    assert build_heatmap_grid(date(2025, 8, 1), [])[0].bucket_utc == utc(2025, 7, 31, 15)


def test_heatmap_rows_fill_cells():
    rows = [
        {  # local 2025-08-01 00:00
            "bucket": utc(2025, 7, 31, 15), "success_rate": 0.95, "recv_msgs": 342,
            "exp_msgs": 360, "missing_msgs": 18, "last_seen_min": utc(2025, 7, 31, 15, 59, 50),
        },
        SimpleNamespace(  # local 2025-08-02 10:00 given with a +09:00 offset
            bucket=datetime(2025, 8, 2, 10, tzinfo=KST), success_rate=Decimal("0.5"), recv_msgs=180,
            exp_msgs=360, missing_msgs=180, last_seen_min=None,
        ),
        {"bucket": utc(2025, 7, 1, 0), "success_rate": 1.0},  # outside the grid: ignored
    ]
    cells = build_heatmap_grid(date(2025, 8, 1), rows, days=2)
    assert len(cells) == 48
    assert cells[0] == HourCell(
        utc(2025, 7, 31, 15), date(2025, 8, 1), 0, 0.95, 342, 360, 18, utc(2025, 7, 31, 15, 59, 50)
    )
    c = cells[24 + 10]
    assert (c.local_day, c.local_hour, c.bucket_utc) == (date(2025, 8, 2), 10, utc(2025, 8, 2, 1))
    assert (c.success_rate, c.recv_msgs, c.exp_msgs, c.missing_msgs, c.last_seen) == (0.5, 180, 360, 180, None)
    assert sum(1 for x in cells if x.success_rate is not None) == 2
    assert cells[1].success_rate is None and cells[1].recv_msgs is None


def test_heatmap_zero_success_is_kept_as_zero():
    cells = build_heatmap_grid(date(2025, 8, 1), [{"bucket": utc(2025, 7, 31, 16), "success_rate": 0.0}], days=1)
    assert cells[1].success_rate == 0.0
    assert cells[0].success_rate is None


def test_heatmap_rejects_bad_input():
    with pytest.raises(NaiveDatetimeError):
        build_heatmap_grid(date(2025, 8, 1), [{"bucket": datetime(2025, 7, 31, 15)}], days=1)
    with pytest.raises(DuplicateBucketError):
        build_heatmap_grid(
            date(2025, 8, 1),
            [{"bucket": utc(2025, 7, 31, 15)}, {"bucket": datetime(2025, 8, 1, 0, tzinfo=KST)}],
            days=1,
        )
    with pytest.raises(ValueError, match="bucket"):
        build_heatmap_grid(date(2025, 8, 1), [{"success_rate": 1.0}], days=1)
    with pytest.raises(ValueError, match="days"):
        build_heatmap_grid(date(2025, 8, 1), [], days=0)
    with pytest.raises(ValueError, match="start_day"):
        build_heatmap_grid(utc(2025, 8, 1), [], days=1)


def test_heatmap_dst_spring_forward_new_york():
    # 2025-03-09: 02:00 EST jumps to 03:00 EDT; local hour 2 does not exist.
    cells = build_heatmap_grid(date(2025, 3, 9), [], tz="America/New_York", days=1)
    assert len(cells) == 24
    assert [c.bucket_utc for c in cells[:5]] == [
        utc(2025, 3, 9, 5),  # 00:00 EST
        utc(2025, 3, 9, 6),  # 01:00 EST
        utc(2025, 3, 9, 7),  # 02:00 nonexistent, fold=0 -> EST offset
        utc(2025, 3, 9, 7),  # 03:00 EDT: same instant
        utc(2025, 3, 9, 8),  # 04:00 EDT
    ]
    assert cells[23].bucket_utc == utc(2025, 3, 10, 3)  # 23:00 EDT


def test_heatmap_dst_fall_back_new_york_shows_first_occurrence():
    # 2025-11-02: 01:00 happens twice (EDT 05:00 UTC, EST 06:00 UTC).
    cells = build_heatmap_grid(date(2025, 11, 2), [], tz="America/New_York", days=1)
    assert [c.bucket_utc for c in cells[:3]] == [utc(2025, 11, 2, 4), utc(2025, 11, 2, 5), utc(2025, 11, 2, 7)]


# --- outages ---------------------------------------------------------------

DAY = date(2025, 8, 1)  # local Seoul day; local hour h starts at 2025-07-31 15:00 UTC + h


def hour_utc(h):
    return utc(2025, 7, 31, 15) + timedelta(hours=h)


def grid(rates):
    """One Seoul day; rates maps local hour -> success rate (missing hours have no row)."""
    rows = [{"bucket": hour_utc(h), "success_rate": r} for h, r in rates.items()]
    return build_heatmap_grid(DAY, rows, days=1)


AFTER_DAY = utc(2025, 8, 2, 0)


def test_outages_merge_consecutive_bad_hours():
    rates = {h: 1.0 for h in range(24)}
    rates.update({3: 0.5, 4: 0.2, 5: 0.0, 9: 0.8})
    assert merge_outages(grid(rates), slo_crit=0.9, now=AFTER_DAY) == [
        Outage(utc(2025, 7, 31, 18), utc(2025, 7, 31, 21), 3),  # local 03:00-06:00
        Outage(utc(2025, 8, 1, 0), utc(2025, 8, 1, 1), 1),      # local 09:00-10:00
    ]


def test_outage_threshold_is_strict():
    rates = {h: 1.0 for h in range(24)}
    rates[7] = 0.9
    assert merge_outages(grid(rates), slo_crit=0.9, now=AFTER_DAY) == []


def test_outages_silence_counts_leading_and_future_do_not():
    rates = {h: 1.0 for h in range(2, 10)}  # hours 0-1: tag not yet reporting
    rates[13] = 1.0                          # hours 10-12 silent, 14+ silent
    # now = local 16:30 -> hours 14 and 15 are over, 16 is running, 17-23 future.
    now = hour_utc(16) + timedelta(minutes=30)
    assert merge_outages(grid(rates), slo_crit=0.9, now=now) == [
        Outage(hour_utc(10), hour_utc(13), 3),
        Outage(hour_utc(14), hour_utc(16), 2),
    ]


def test_outage_hour_ending_exactly_now_counts():
    rates = {0: 1.0}
    assert merge_outages(grid(rates), 0.9, now=hour_utc(2)) == [Outage(hour_utc(1), hour_utc(2), 1)]
    assert merge_outages(grid(rates), 0.9, now=hour_utc(2) - timedelta(seconds=1)) == []


def test_outage_low_rate_and_silence_merge():
    rates = {0: 1.0, 1: 0.1}  # hour 1 poor, then the tag goes silent
    assert merge_outages(grid(rates), 0.9, now=hour_utc(4)) == [Outage(hour_utc(1), hour_utc(4), 3)]


def test_no_data_at_all_is_not_an_outage():
    assert merge_outages(grid({}), 0.9, now=AFTER_DAY) == []


def test_outages_independent_of_cell_order():
    rates = {h: 1.0 for h in range(24)}
    rates.update({3: 0.5, 4: 0.5})
    cells = grid(rates)
    assert merge_outages(list(reversed(cells)), 0.9, AFTER_DAY) == [Outage(hour_utc(3), hour_utc(5), 2)]


def test_outages_span_days():
    rows = [{"bucket": hour_utc(h), "success_rate": 0.0 if h >= 22 else 1.0} for h in range(26)]
    cells = build_heatmap_grid(DAY, rows, days=2)
    # hours 22..25 low rate, hour 26 silent and over (ends at 27 = now): one 5 h outage.
    now = hour_utc(27)
    assert merge_outages(cells, 0.9, now) == [Outage(hour_utc(22), hour_utc(27), 5)]


def test_outages_spring_forward_duplicate_counted_once():
    cells = build_heatmap_grid(
        date(2025, 3, 9), [{"bucket": utc(2025, 3, 9, 5), "success_rate": 1.0}], tz="America/New_York", days=1
    )
    # Silent from 06:00 UTC to the last cell (23:00 EDT = 03:00 UTC next day): 22 distinct hours.
    assert merge_outages(cells, 0.9, now=utc(2025, 3, 11)) == [Outage(utc(2025, 3, 9, 6), utc(2025, 3, 10, 4), 22)]


def test_outages_fall_back_hidden_hour_splits():
    cells = build_heatmap_grid(
        date(2025, 11, 2), [{"bucket": utc(2025, 11, 2, 4), "success_rate": 1.0}], tz="America/New_York", days=1
    )
    # 06:00 UTC (second 01:00, EST) has no cell, so the silence is reported in two parts.
    assert merge_outages(cells, 0.9, now=utc(2025, 11, 4)) == [
        Outage(utc(2025, 11, 2, 5), utc(2025, 11, 2, 6), 1),
        Outage(utc(2025, 11, 2, 7), utc(2025, 11, 3, 5), 22),
    ]


def test_merge_outages_naive_now_rejected():
    with pytest.raises(NaiveDatetimeError):
        merge_outages(grid({0: 1.0}), 0.9, now=datetime(2025, 8, 2))


# --- colour band -----------------------------------------------------------

@pytest.mark.parametrize(
    "rate, band",
    [(None, "none"), (0.0, "crit"), (0.899, "crit"), (0.9, "warn"), (0.989, "warn"), (0.99, "ok"), (1.0, "ok")],
)
def test_success_colour_band(rate, band):
    assert success_colour_band(rate, slo_warn=0.99, slo_crit=0.9) == band


def test_success_colour_band_rejects_inverted_thresholds():
    with pytest.raises(ValueError):
        success_colour_band(0.5, slo_warn=0.9, slo_crit=0.99)


# --- grid and outages: the fast paths give what the plain definitions give --

def test_heatmap_spring_forward_row_fills_both_cells_of_its_bucket():
    rows = [{"bucket": utc(2025, 3, 9, 7), "success_rate": 0.5, "recv_msgs": 5, "exp_msgs": 10,
             "missing_msgs": 5, "last_seen_min": utc(2025, 3, 9, 7, 59)}]
    cells = build_heatmap_grid(date(2025, 3, 9), rows, tz="America/New_York", days=1)
    assert cells[2].bucket_utc == cells[3].bucket_utc == utc(2025, 3, 9, 7)
    assert (cells[2].local_hour, cells[3].local_hour) == (2, 3)
    assert cells[2][3:] == cells[3][3:] == (0.5, 5, 10, 5, utc(2025, 3, 9, 7, 59))
    assert sum(c.success_rate is not None for c in cells) == 2


def test_heatmap_grids_of_other_days_zones_and_lengths_do_not_mix():
    a = build_heatmap_grid(date(2025, 8, 1), [], tz="Asia/Seoul", days=2)
    b = build_heatmap_grid(date(2025, 8, 1), [], tz="America/New_York", days=2)
    c = build_heatmap_grid(date(2025, 8, 2), [], tz="Asia/Seoul", days=1)
    assert a[0].bucket_utc == utc(2025, 7, 31, 15) and b[0].bucket_utc == utc(2025, 8, 1, 4)
    assert len(a) == 48 and len(c) == 24 and c[0] == a[24]
    a.append("changed")  # the caller's list is its own
    assert len(build_heatmap_grid(date(2025, 8, 1), [], tz="Asia/Seoul", days=2)) == 48


def test_heatmap_values_are_normalised_like_before():
    rows = [SimpleNamespace(bucket=utc(2025, 7, 31, 15), success_rate=Decimal("NaN"), recv_msgs=Decimal(3),
                            exp_msgs=4.0, missing_msgs=None, last_seen_min=datetime(2025, 8, 1, 0, 59, tzinfo=KST)),
            {"bucket": utc(2025, 7, 31, 16), "success_rate": float("inf"), "recv_msgs": True}]
    cells = build_heatmap_grid(date(2025, 8, 1), rows, days=1)
    assert cells[0][3:] == (None, 3, 4, None, utc(2025, 7, 31, 15, 59))
    assert type(cells[0].recv_msgs) is int and type(cells[0].exp_msgs) is int
    assert cells[0].last_seen.tzinfo is UTC
    assert cells[1].success_rate is None and cells[1].recv_msgs == 1 and type(cells[1].recv_msgs) is int


def test_heatmap_rows_read_by_position_give_the_same_cells():
    columns = ("bucket", "tag_name", "recv_msgs", "exp_msgs", "success_rate", "missing_msgs", "last_seen_min")
    as_dicts = [
        {"bucket": utc(2025, 7, 31, 15), "tag_name": "D1", "recv_msgs": 342, "exp_msgs": 360,
         "success_rate": 0.95, "missing_msgs": 18, "last_seen_min": utc(2025, 7, 31, 15, 59)},
        {"bucket": datetime(2025, 8, 1, 2, tzinfo=KST), "tag_name": "D1", "recv_msgs": Decimal(3),
         "exp_msgs": 4, "success_rate": Decimal("NaN"), "missing_msgs": None, "last_seen_min": None},
        {"bucket": utc(2025, 7, 1, 0), "tag_name": "D1", "recv_msgs": 1, "exp_msgs": 1,
         "success_rate": 1.0, "missing_msgs": 0, "last_seen_min": None},  # outside the grid
    ]
    as_tuples = [tuple(d[c] for c in columns) for d in as_dicts]
    by_position = build_heatmap_grid(date(2025, 8, 1), as_tuples, days=1, columns=columns)
    assert by_position == build_heatmap_grid(date(2025, 8, 1), as_dicts, days=1)
    assert by_position[0][3:] == (0.95, 342, 360, 18, utc(2025, 7, 31, 15, 59))
    assert by_position[2][3:] == (None, 3, 4, None, None)
    with pytest.raises(DuplicateBucketError):
        build_heatmap_grid(date(2025, 8, 1), as_tuples + as_tuples[:1], days=1, columns=columns)
    with pytest.raises(ValueError, match="success_rate"):
        build_heatmap_grid(date(2025, 8, 1), [], days=1, columns=columns[:4])


def test_outages_of_cells_in_another_zone_and_order_are_the_same():
    rates = {h: 1.0 for h in range(24)}
    rates.update({3: 0.5, 4: 0.2, 9: 0.0})
    cells = grid(rates)
    want = merge_outages(cells, 0.9, AFTER_DAY)
    as_kst = [c._replace(bucket_utc=c.bucket_utc.astimezone(KST)) for c in reversed(cells)]
    assert merge_outages(iter(as_kst), 0.9, AFTER_DAY) == want == [
        Outage(hour_utc(3), hour_utc(5), 2), Outage(hour_utc(9), hour_utc(10), 1)]
    with pytest.raises(NaiveDatetimeError):
        merge_outages([cells[0]._replace(bucket_utc=datetime(2025, 8, 1))], 0.9, AFTER_DAY)


# --- the running hour, future hours ---------------------------------------

H12 = utc(2025, 8, 15, 12)  # an hour of 360 readings: one every 10 s from 12:00:00


def test_hour_phase_boundaries():
    assert hour_phase(H12, H12 - timedelta(microseconds=1)) == "future"
    assert hour_phase(H12, H12) == "current"
    assert hour_phase(H12, H12 + timedelta(minutes=59, seconds=59)) == "current"
    assert hour_phase(H12, H12 + timedelta(hours=1)) == "past"
    assert hour_phase(datetime(2025, 8, 15, 21, tzinfo=KST), H12 + timedelta(minutes=5)) == "current"
    with pytest.raises(NaiveDatetimeError):
        hour_phase(datetime(2025, 8, 15, 12), H12)


@pytest.mark.parametrize("at, received, due", [
    (timedelta(0), 0, 0),                              # nothing owed at 12:00:00 sharp
    (timedelta(0), 1, 1),                              # ... unless the first reading is in
    (timedelta(seconds=9, microseconds=999999), 0, 0),
    (timedelta(seconds=10), 0, 1),                     # slot 12:00:00-12:00:10 is over
    (timedelta(seconds=10), 1, 1),
    (timedelta(seconds=10), 2, 2),                     # slot 2 delivered early
    (timedelta(minutes=32, seconds=5), 193, 193),       # 192 slots over and the running one in
    (timedelta(minutes=32, seconds=5), 192, 192),       # the running slot's reading not yet here
    (timedelta(minutes=32, seconds=5), 150, 192),       # 42 missed readings stay owed
    (timedelta(minutes=32, seconds=5), 200, 193),       # extra readings owe no more than one slot
    (timedelta(minutes=59, seconds=55), 359, 359),
    (timedelta(minutes=59, seconds=55), 360, 360),
    (timedelta(hours=1), 10, 360),                     # over: the whole hour
    (timedelta(days=3), 0, 360),
    (-timedelta(seconds=1), 5, 0),                     # not started
])
def test_expected_so_far_counts_the_slots_over_and_the_running_one_once_in(at, received, due):
    assert expected_so_far(360, H12, H12 + at, received) == due


def test_expected_so_far_with_grace_owes_only_slots_over_that_long():
    # 12:05:00 with 10 s slots: 30 slots over; a count refreshed 60 s ago holds 24 readings
    at = H12 + timedelta(minutes=5)
    assert expected_so_far(360, H12, at, 24) == 30                                  # no grace: 6 "missing"
    assert expected_so_far(360, H12, at, 24, grace=timedelta(seconds=90)) == 24      # 21 owed, 24 came
    assert expected_so_far(360, H12, at, 3, grace=timedelta(seconds=90)) == 21       # quiet for minutes: 18 missing
    assert expected_so_far(360, H12, at, 31, grace=timedelta(seconds=90)) == 31      # the running slot's one
    assert expected_so_far(360, H12, H12 + timedelta(seconds=60), 0, grace=timedelta(seconds=90)) == 0
    assert expected_so_far(360, H12, H12 + timedelta(hours=1), 0, grace=timedelta(seconds=90)) == 360  # past


def test_expected_so_far_one_a_minute_and_edge_cases():
    at = H12 + timedelta(minutes=29, seconds=59)  # 29 one-minute slots over
    assert expected_so_far(60, H12, at, 29) == 29
    assert expected_so_far(60, H12, at, 30) == 30
    assert expected_so_far(60, H12, at, 3) == 29
    assert expected_so_far(60, H12, H12 + timedelta(minutes=30), 30) == 30
    assert expected_so_far(60, H12, H12 + timedelta(minutes=30)) == 30
    assert expected_so_far(0, H12, H12 + timedelta(minutes=30), 4) == 0
    with pytest.raises(ValueError):
        expected_so_far(-1, H12, H12)


def test_hour_success():
    assert hour_success(193, 193) == (1.0, 0)
    assert hour_success(150, 200) == (0.75, 50)
    assert hour_success(200, 150) == (1.0, 0)  # more than expected: capped, nothing missing
    assert hour_success(0, 12) == (0.0, 12)
    assert hour_success(0, 0) == (None, 0)


def current_hour_rows(recv, view_exp, full=360):
    """The running hour 12:00 UTC (21:00 in Seoul) as the view reports it, and a past hour."""
    return [
        {"bucket": H12 - timedelta(hours=1), "success_rate": 0.9, "recv_msgs": 324, "exp_msgs": 360,
         "missing_msgs": 36, "last_seen_min": H12 - timedelta(minutes=1), "hour_exp_msgs": full},
        {"bucket": H12, "success_rate": min(1.0, recv / view_exp), "recv_msgs": recv, "exp_msgs": view_exp,
         "missing_msgs": max(0, view_exp - recv), "last_seen_min": H12 + timedelta(minutes=32),
         "hour_exp_msgs": full},
    ]


SEOUL_DAY = date(2025, 8, 15)  # local hour 21 is 12:00 UTC, hour 20 is 11:00 UTC


def test_grid_recomputes_the_running_hour_from_elapsed_time():
    now = H12 + timedelta(minutes=32, seconds=5)
    cells = build_heatmap_grid(SEOUL_DAY, current_hour_rows(193, 192), days=1, now=now)
    # 12:32:05: 192 ten-second slots over, the running one delivered: 193 of 193, not 193 of 192.
    assert cells[21][3:7] == (1.0, 193, 193, 0)
    assert cells[20][3:7] == (0.9, 324, 360, 36)  # a past hour keeps the view's numbers
    half = build_heatmap_grid(SEOUL_DAY, current_hour_rows(96, 192), days=1, now=now)
    assert half[21][3:7] == (0.5, 96, 192, 96)


def test_grid_without_now_or_full_expectation_keeps_the_rows():
    rows = current_hour_rows(193, 192)
    now = H12 + timedelta(minutes=32, seconds=5)
    assert build_heatmap_grid(SEOUL_DAY, rows, days=1)[21][3:7] == (1.0, 193, 192, 0)
    for r in rows:
        del r["hour_exp_msgs"]
    assert build_heatmap_grid(SEOUL_DAY, rows, days=1, now=now)[21][3:7] == (1.0, 193, 192, 0)


def test_grid_by_position_recomputes_the_running_hour_the_same_way():
    rows = current_hour_rows(120, 192)
    columns = ("bucket", "tag_name", "recv_msgs", "exp_msgs", "success_rate", "missing_msgs",
               "last_seen_min", "hour_exp_msgs")
    tuples = [tuple({**r, "tag_name": "D1"}[c] for c in columns) for r in rows]
    now = H12 + timedelta(minutes=10)  # 60 slots over
    by_position = build_heatmap_grid(SEOUL_DAY, tuples, days=1, columns=columns, now=now)
    assert by_position == build_heatmap_grid(SEOUL_DAY, rows, days=1, now=now)
    assert by_position[21][3:7] == (1.0, 120, 61, 0)
    rows[1]["recv_msgs"] = 45
    assert build_heatmap_grid(SEOUL_DAY, rows, days=1, now=now)[21][3:7] == (0.75, 45, 60, 15)


def test_running_and_future_hours_are_never_outages():
    rates = {h: 1.0 for h in range(24)}
    rates.update({15: 0.1, 16: 0.2, 20: 0.0})  # 20: a future hour with a (skewed) row
    now = hour_utc(16) + timedelta(minutes=5)  # hour 16 is running
    assert merge_outages(grid(rates), 0.9, now) == [Outage(hour_utc(15), hour_utc(16), 1)]
    assert merge_outages(grid(rates), 0.9, hour_utc(17)) == [Outage(hour_utc(15), hour_utc(17), 2)]


# --- range bounds ----------------------------------------------------------

TODAY = date(2026, 12, 2)


def test_start_bounds_end_today_and_start_at_retention():
    assert RETENTION_DAYS == 365
    assert start_bounds(TODAY) == (date(2025, 12, 2), date(2026, 11, 3))  # 2026-11-03 .. 2026-12-02
    assert start_bounds(TODAY, days=30, retention_days=10) == (date(2026, 11, 3), date(2026, 11, 3))
    with pytest.raises(ValueError):
        start_bounds(TODAY, days=0)


@pytest.mark.parametrize("start, step, want", [
    (date(2026, 11, 3), 1, date(2026, 11, 3)),     # newest: Next stays
    (date(2026, 11, 3), 30, date(2026, 11, 3)),
    (date(2026, 11, 3), -1, date(2026, 11, 2)),
    (date(2026, 11, 3), -30, date(2026, 10, 4)),
    (date(2026, 10, 25), 30, date(2026, 11, 3)),   # a 30-day step stops at the newest
    (date(2025, 12, 12), -30, date(2025, 12, 2)),  # and at the oldest retained day
    (date(2025, 12, 2), -1, date(2025, 12, 2)),
    (date(2027, 1, 1), 0, date(2026, 11, 3)),      # out of range comes back in
])
def test_step_start_stays_within_bounds(start, step, want):
    assert step_start(start, step, TODAY) == want
