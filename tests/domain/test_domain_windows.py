from datetime import timedelta

import pytest

from ksys_app.domain.windows import (
    DEFAULT_WINDOW,
    WINDOW_CODES,
    UnknownWindowError,
    parse_window,
    tech_window,
)


def test_codes_in_ui_order_and_default():
    assert WINDOW_CODES == (
        "1m", "5m", "10m", "60m", "12h", "24h", "48h", "7d", "14d", "30d", "3m", "6m", "12m",
    )
    assert DEFAULT_WINDOW == "5m"
    assert parse_window(DEFAULT_WINDOW).duration == timedelta(minutes=5)


# row_limit = ceil(duration / bucket) + 1, worked by hand:
#   1m/1min = 1 -> 2;  5m -> 6;  10m -> 11;  60m -> 61
#   12h = 720 min -> 721;  24h = 1440 min -> 1441            (influx_agg_1m)
#   48h = 2880 min / 10 = 288 -> 289;  7d = 10080/10 = 1008 -> 1009;
#   14d = 20160/10 = 2016 -> 2017                             (influx_agg_10m)
#   30d = 720 h -> 721;  3m = 90 d = 2160 h -> 2161          (influx_agg_1h)
#   6m = 180 d -> 181;  12m = 365 d -> 366                    (influx_agg_1d)
EXPECTED = {
    "1m": (timedelta(minutes=1), "influx_agg_1m", timedelta(minutes=1), 2),
    "5m": (timedelta(minutes=5), "influx_agg_1m", timedelta(minutes=1), 6),
    "10m": (timedelta(minutes=10), "influx_agg_1m", timedelta(minutes=1), 11),
    "60m": (timedelta(hours=1), "influx_agg_1m", timedelta(minutes=1), 61),
    "12h": (timedelta(hours=12), "influx_agg_1m", timedelta(minutes=1), 721),
    "24h": (timedelta(days=1), "influx_agg_1m", timedelta(minutes=1), 1441),
    "48h": (timedelta(days=2), "influx_agg_10m", timedelta(minutes=10), 289),
    "7d": (timedelta(days=7), "influx_agg_10m", timedelta(minutes=10), 1009),
    "14d": (timedelta(days=14), "influx_agg_10m", timedelta(minutes=10), 2017),
    "30d": (timedelta(days=30), "influx_agg_1h", timedelta(hours=1), 721),
    "3m": (timedelta(days=90), "influx_agg_1h", timedelta(hours=1), 2161),
    "6m": (timedelta(days=180), "influx_agg_1d", timedelta(days=1), 181),
    "12m": (timedelta(days=365), "influx_agg_1d", timedelta(days=1), 366),
}


@pytest.mark.parametrize("code", list(EXPECTED))
def test_every_window(code):
    duration, view, bucket, row_limit = EXPECTED[code]
    w = parse_window(code)
    assert (w.code, w.duration, w.view, w.bucket, w.row_limit) == (code, duration, view, bucket, row_limit)


def test_all_codes_covered_by_expectations():
    assert set(EXPECTED) == set(WINDOW_CODES)


def test_window_is_frozen():
    with pytest.raises(AttributeError):
        parse_window("5m").row_limit = 1  # type: ignore[misc]


def test_surrounding_whitespace_accepted():
    assert parse_window("  24h\n").code == "24h"


@pytest.mark.parametrize("bad", ["5M", "3M", "1h", "", "   ", "5 m", "90d", None, 5])
def test_unknown_window_lists_valid_codes(bad):
    with pytest.raises(UnknownWindowError) as exc:
        parse_window(bad)
    msg = str(exc.value)
    assert repr(bad) in msg
    assert "1m, 5m, 10m, 60m, 12h, 24h, 48h, 7d, 14d, 30d, 3m, 6m, 12m" in msg


def test_unknown_window_is_value_error():
    with pytest.raises(ValueError):
        parse_window("2y")


# tech_ind_1m_mv is always 1-minute rows: row_limit = minutes + 1.
@pytest.mark.parametrize(
    "code, row_limit",
    [
        ("1m", 2),
        ("5m", 6),
        ("60m", 61),
        ("24h", 1441),      # 1440 + 1
        ("7d", 10081),      # 7 * 1440 = 10080 + 1
        ("30d", 43201),     # 30 * 1440 = 43200 + 1
        ("3m", 129601),     # 90 * 1440 = 129600 + 1
        ("12m", 525601),    # 365 * 1440 = 525600 + 1
    ],
)
def test_tech_window(code, row_limit):
    w = tech_window(code)
    assert w.view == "tech_ind_1m_mv"
    assert w.bucket == timedelta(minutes=1)
    assert w.row_limit == row_limit
    assert w.duration == parse_window(code).duration


def test_tech_window_unknown_code():
    with pytest.raises(UnknownWindowError):
        tech_window("5M")
