"""domain.groups (group names, the search text, pages, the tag picker's filter) and
domain.attention's ordering of tags before their statistics are read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.data import validate
from ksys_app.domain import groups
from ksys_app.domain.attention import latest_tone, tags_by_attention
from ksys_app.domain.inputs import InputError
from ksys_app.domain.kpi import QcRule


def test_group_names_are_printable_and_bounded():
    assert groups.group_name("  Boiler 1 ") == "Boiler 1"
    assert groups.group_name("보일러") == "보일러"
    for bad in ("", "   ", "x" * 41, "a\nb", "a\x00", 5, None):
        with pytest.raises(InputError):
            groups.group_name(bad)


def test_group_of_meta_ignores_what_is_not_a_name():
    assert groups.group_of_meta({"group": "Feed", "unit": "bar"}) == "Feed"
    assert groups.group_of_meta({"group": 3}) == groups.group_of_meta({}) == groups.group_of_meta(None) == ""


def test_search_term_rules():
    assert groups.search_term("  feed ") == "feed"
    assert groups.search_term("") == ""
    with pytest.raises(InputError, match="at most 64"):
        groups.search_term("x" * 65)
    with pytest.raises(InputError, match="non-printable"):
        groups.search_term("a\tb")
    with pytest.raises(InputError):
        groups.search_term(["x"])


def test_like_pattern_escapes_wildcards():
    assert validate.like_contains("") is None
    assert validate.like_contains("D1") == "%D1%"
    assert validate.like_contains("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_pages():
    assert groups.page_count(0, 50) == 1 and groups.page_count(50, 50) == 1 and groups.page_count(51, 50) == 2
    assert groups.clamp_page(9, 51, 50) == 1 and groups.clamp_page(-3, 51, 50) == 0
    items = list(range(7))
    assert groups.page_of(items, 1, 3) == [3, 4, 5] and groups.page_of(items, 5, 3) == [6]


def test_groups_and_members():
    assert groups.group_names(["b", "", "a", "b", "A"]) == ["A", "a", "b"]
    by_tag = {"T1": "A", "T2": "B", "T3": "A"}
    assert groups.tags_in_group(["T1", "T2", "T3", "T4"], by_tag, "A") == ["T1", "T3"]
    assert groups.tags_in_group(["T1", "T4"], by_tag, "") == ["T1", "T4"]


def test_filter_tags_keeps_the_current_tag_first():
    options = ["D100", "D101", "FEED_FLOW", "feed_temp"]
    assert groups.filter_tags(options, " FEED ", "FEED_FLOW") == ["FEED_FLOW", "feed_temp"]
    assert groups.filter_tags(options, "feed", "D100") == ["D100", "FEED_FLOW", "feed_temp"]
    assert groups.filter_tags(options, "", "D100") == options
    assert groups.filter_tags(options, "zzz", "") == []


def test_a_picker_lists_at_most_its_limit_and_says_how_many_more_match():
    options = [f"T{i:04d}" for i in range(2000)]
    shown = groups.filter_tags(options, "", "T1999", limit=groups.MAX_CHOICES)
    assert len(shown) == groups.MAX_CHOICES + 1 and shown[0] == "T1999" and shown[1:] == options[:groups.MAX_CHOICES]
    assert groups.filter_tags(options, "", "T0005", limit=groups.MAX_CHOICES) == options[:groups.MAX_CHOICES]
    assert groups.more_matching(options, "", groups.MAX_CHOICES) == 2000 - groups.MAX_CHOICES
    assert groups.more_matching(options, "t19", groups.MAX_CHOICES) == 0  # T1900..T1999: 100, all listed
    assert groups.filter_tags(options, "t19", limit=groups.MAX_CHOICES) == options[1900:]


def test_tags_by_attention_from_latest_readings():
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    start = now - timedelta(hours=24)
    rule = QcRule("X", 0, 100, None, 80, None, 90)
    assert latest_tone(95, now, rule, start) == "crit"
    assert latest_tone(85, now, rule, start) == "warn"
    assert latest_tone(50, now, rule, start) == "normal"
    assert latest_tone(50, start - timedelta(seconds=1), rule, start) == "nodata"
    assert latest_tone(None, None, None, start) == "nodata"
    tones = {"A": "normal", "B": "crit", "C": "nodata", "D": "warn", "E": "normal"}
    assert tags_by_attention(["E", "A", "D", "C", "B"], tones) == ["B", "D", "C", "A", "E"]


def test_page_param_is_a_1_based_page_number():
    assert groups.page_param("1") == 0 and groups.page_param(" 12 ") == 11 and groups.page_param("9999") == 9998
    for bad in ("0", "-1", "", "1.5", "1e3", "two", "10000", "٣", None, 3):
        with pytest.raises(InputError):
            groups.page_param(bad)
