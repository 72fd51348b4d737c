from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ksys_app.domain.timefmt import (
    InvalidTimestampError,
    NaiveDatetimeError,
    UnknownTimeZoneError,
    format_local,
    format_local_short,
    require_aware,
)

UTC = timezone.utc


def test_format_local_seoul_default():
    assert format_local(datetime(2025, 8, 15, 7, 26, 7, tzinfo=UTC)) == "2025-08-15 16:26:07+09:00"


def test_format_local_truncates_seconds_not_rounds():
    ts = datetime(2025, 8, 15, 7, 26, 7, 999_999, tzinfo=UTC)
    assert format_local(ts) == "2025-08-15 16:26:07+09:00"
    assert format_local_short(ts) == "2025-08-15 16:26:07"


def test_format_local_crosses_local_midnight():
    assert format_local(datetime(2025, 7, 31, 15, 0, tzinfo=UTC)) == "2025-08-01 00:00:00+09:00"


def test_format_local_short():
    assert format_local_short(datetime(2025, 8, 15, 7, 26, 7, tzinfo=UTC)) == "2025-08-15 16:26:07"


def test_format_local_other_zone_as_string_and_zoneinfo():
    ts = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert format_local(ts, "America/New_York") == "2025-01-15 07:00:00-05:00"
    assert format_local(ts, ZoneInfo("UTC")) == "2025-01-15 12:00:00+00:00"


def test_format_local_input_in_non_utc_offset_is_converted():
    ts = datetime(2025, 8, 15, 9, 26, 7, tzinfo=timezone(timedelta(hours=2)))
    assert format_local(ts) == "2025-08-15 16:26:07+09:00"


def test_naive_datetime_rejected():
    naive = datetime(2025, 8, 15, 7, 26, 7)
    with pytest.raises(NaiveDatetimeError, match="naive"):
        format_local(naive)
    with pytest.raises(ValueError):
        format_local_short(naive)


def test_non_datetime_rejected():
    with pytest.raises(InvalidTimestampError):
        require_aware("2025-08-15")  # type: ignore[arg-type]


def test_unknown_zone():
    with pytest.raises(UnknownTimeZoneError, match="Mars/Olympus"):
        format_local(datetime(2025, 1, 1, tzinfo=UTC), "Mars/Olympus")
