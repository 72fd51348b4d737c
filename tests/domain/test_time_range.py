"""Absolute ranges from the URL (domain/time_range.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksys_app.domain.time_range import (
    BAD_FROM,
    BAD_TO,
    BEFORE_RETENTION,
    IN_FUTURE,
    MAX_SPAN,
    MIN_SPAN,
    RETENTION,
    REVERSED,
    TOO_LONG,
    TOO_SHORT,
    choose_range,
    parse_instant,
)

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)
UTC = timezone.utc


@pytest.mark.parametrize("text, want", [
    ("2026-12-01", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),          # local midnight in Seoul
    ("2026-12-01T14:00", datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),
    ("2026-12-01 14:00:30", datetime(2026, 12, 1, 5, 0, 30, tzinfo=UTC)),
    ("2026-12-01T14:00+00:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
    ("2026-12-01T14:00Z", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
    ("  2026-12-01T14:00+09:00 ", datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),
])
def test_the_accepted_forms(text, want):
    assert parse_instant(text, SEOUL) == want


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-02-30", "2026-12-01T25:00", "1969-12-31",
                                  "9999-12-31", "0001-01-01", "2026-12-01T14:00+25:00", "x" * 1000, "12/01/2026",
                                  "2026-12-01T14:00:00.1234567", "٢٠٢٦-١٢-٠١", None, 20261201, ["2026-12-01"]])
def test_anything_else_is_refused(text):
    assert parse_instant(text, SEOUL) is None


def test_local_times_around_a_clock_change():
    # Berlin 2026-03-29 02:30 does not exist: the wall clock jumps 02:00 -> 03:00
    assert parse_instant("2026-03-29T02:30", BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 2026-10-25 02:30 happens twice: the first (summer time) is meant
    assert parse_instant("2026-10-25T02:30", BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_range_across_a_utc_midnight_in_local_time():
    r = choose_range("2026-12-01T08:00", "2026-12-01T10:00", SEOUL, NOW)
    assert r.notices == () and r.range.start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert r.range.end == datetime(2026, 12, 1, 1, 0, tzinfo=UTC) and not r.range.end_is_now


def test_no_range_without_from_or_to_and_to_defaults_to_now():
    assert choose_range(None, None, SEOUL, NOW).range is None
    r = choose_range("2026-12-02", None, SEOUL, NOW)
    assert r.range.end == NOW and r.range.end_is_now and r.notices == ()
    assert choose_range("2026-12-02", "NOW", SEOUL, NOW).range.end_is_now


@pytest.mark.parametrize("frm, to, notices", [
    ("garbage", "2026-12-01", (BAD_FROM,)),
    ("2026-12-01", "<script>", (BAD_TO,)),
    ("'; DROP TABLE x;--", "%00", (BAD_FROM, BAD_TO)),
])
def test_unusable_values_give_no_range_and_say_which(frm, to, notices):
    assert choose_range(frm, to, SEOUL, NOW) == choose_range(frm, to, SEOUL, NOW)
    r = choose_range(frm, to, SEOUL, NOW)
    assert r.range is None and r.notices == notices


def test_adjusted_ranges_say_what_changed():
    r = choose_range("2026-12-02", "2026-12-01", SEOUL, NOW)
    assert r.notices == (REVERSED,) and r.range.start < r.range.end
    r = choose_range("2026-12-02", "2027-01-01", SEOUL, NOW)
    assert r.notices == (IN_FUTURE,) and r.range.end == NOW
    r = choose_range("2024-01-01", "2026-12-03T15:00", SEOUL, NOW)  # ends at NOW: 12 months is also the retention
    assert r.notices == (TOO_LONG,) and r.range.span == MAX_SPAN
    r = choose_range("2025-06-01", "2025-08-01", SEOUL, NOW)
    assert r.notices == (BEFORE_RETENTION,) and r.range.start == NOW - RETENTION
    r = choose_range("2026-12-01T10:00:00", "2026-12-01T10:00:10", SEOUL, NOW)
    assert r.notices == (TOO_SHORT,) and r.range.span == MIN_SPAN
    r = choose_range("2030-01-01", "2031-01-01", SEOUL, NOW)  # all ahead
    assert r.range.end == NOW and r.range.span >= MIN_SPAN


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)),
       st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)))
def test_any_two_valid_ends_give_a_range_inside_the_limits(a, b):
    r = choose_range(a.isoformat(timespec="seconds"), b.isoformat(timespec="seconds"), SEOUL, NOW).range
    assert r is not None
    assert MIN_SPAN <= r.span <= MAX_SPAN
    assert NOW - RETENTION <= r.start and r.end <= NOW
