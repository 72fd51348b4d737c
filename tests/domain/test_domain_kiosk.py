"""Kiosk mode: the cycle's pages, the URL's kiosk / cycle values, the next stop."""

from __future__ import annotations

import pytest

from ksys_app.domain.kiosk import (
    DEFAULT_PAGES,
    ROUTES,
    cycle_from_query,
    flag_from_query,
    kiosk_plan,
    next_index,
    parse_pages,
    position,
    stop_url,
)


def test_pages_parse_with_queries_and_spaces():
    assert parse_pages(DEFAULT_PAGES) == ("/", "/comm")
    assert parse_pages(" /trend?tag=D200&window=24h , /comm/ ,") == ("/trend?tag=D200&window=24h", "/comm/")


@pytest.mark.parametrize("text,named", [("/,/nope", "/nope"), ("/dashboard", "/dashboard"), ("comm", "comm")])
def test_unknown_route_is_named(text, named):
    with pytest.raises(ValueError, match=named):
        parse_pages(text)


def test_no_page_is_an_error():
    with pytest.raises(ValueError, match="names no page"):
        parse_pages(" , ")


@pytest.mark.parametrize("value,default,expected", [
    (None, False, False), ("", True, True), ("1", False, True), ("on", False, True), ("TRUE", False, True),
    ("0", True, False), ("off", True, False), ("no", True, False),
])
def test_kiosk_flag(value, default, expected):
    assert flag_from_query(value, default) == (expected, "")


def test_garbage_flag_is_ignored_with_a_notice():
    on, notice = flag_from_query("maybe", False)
    assert on is False and "maybe" in notice and "ignored" in notice
    assert flag_from_query("maybe", True)[0] is True


def test_cycle_values():
    assert cycle_from_query(None, 30) == (30, "")
    assert cycle_from_query("5", 30) == (5, "")
    assert cycle_from_query("0", 30) == (0, "")
    assert cycle_from_query("999999", 30) == (999999, "")
    for bad in ("-5", "2.5", "x"):
        seconds, notice = cycle_from_query(bad, 30)
        assert seconds == 30 and bad in notice
    # digits to str.isdigit that int() refuses or that exceed its 4,300-digit limit (found by
    # tests/pages/test_fuzz_urls.py: each raised ValueError out of the kiosk's on_load)
    for bad in ("\u00b2", "\u0661\u0662", "1234567", "9" * 5000):
        seconds, notice = cycle_from_query(bad, 30)
        assert seconds == 30 and bad[:40] in notice


def test_position_prefers_the_expected_entry_of_a_repeated_route():
    pages = ("/trend?tag=A", "/comm", "/trend?tag=B")
    assert position(pages, "/trend", expected=2) == 2
    assert position(pages, "/trend", expected=1) == 0  # expected is another route: the first match
    assert position(pages, "/trend/", expected=-1) == 0
    assert position(pages, "/tech", expected=0) == -1


def test_next_index_wraps_and_stays_on_a_single_page():
    assert next_index(("/", "/comm"), 0) == 1
    assert next_index(("/", "/comm"), 1) == 0
    assert next_index(("/", "/comm"), -1) == 0  # a page outside the cycle goes to its start
    assert next_index(("/",), 0) == -1
    assert next_index(("/",), -1) == 0


def test_stop_url_keeps_the_entry_query_and_adds_kiosk():
    assert stop_url("/comm") == "/comm?kiosk=1"
    assert stop_url("/trend?tag=D200&kiosk=0", "5") == "/trend?tag=D200&kiosk=1&cycle=5"


def test_plan_off_has_no_next_stop():
    plan = kiosk_plan(("/", "/comm"), "/", {}, -1, default_on=False, default_cycle=30)
    assert (plan["on"], plan["next_url"], plan["notice"]) == (False, "", "")


def test_plan_on_from_the_url_with_a_cycle_override():
    plan = kiosk_plan(("/", "/comm"), "/", {"kiosk": "1", "cycle": "5"}, -1, default_on=False, default_cycle=30)
    assert plan == {"on": True, "cycle_s": 5, "index": 0, "next_url": "/comm?kiosk=1&cycle=5", "notice": ""}


def test_plan_setting_on_url_off_and_no_cycling():
    assert kiosk_plan(("/", "/comm"), "/comm", {"kiosk": "0"}, -1, True, 30)["on"] is False
    plan = kiosk_plan(("/", "/comm"), "/comm", {}, -1, True, 0)
    assert plan["on"] is True and plan["next_url"] == ""


def test_plan_bad_cycle_uses_the_setting_and_says_so():
    plan = kiosk_plan(("/", "/comm"), "/comm", {"kiosk": "1", "cycle": "-1"}, -1, False, 30)
    assert plan["cycle_s"] == 30 and plan["next_url"] == "/?kiosk=1" and "-1" in plan["notice"]


def test_routes_are_the_pages():
    assert ROUTES == ("/", "/trend", "/tech", "/comm", "/alarms", "/login")
