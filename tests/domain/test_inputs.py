"""The shared input rules (domain/inputs.py) on hostile and ordinary values."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from ksys_app.domain import inputs
from ksys_app.domain.inputs import InputError

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("tag", ["D100", "탱크-1 온도", "a'b;--", "<script>", "x" * inputs.MAX_TAG_LEN])
def test_tags_that_are_fine(tag):
    assert inputs.tag_name(tag) == tag


@pytest.mark.parametrize("tag, why", [
    ("", "1..128"), ("x" * 10_240, "1..128"), ("a\x00b", "U+0000"), ("a\nb", "U+000A"),
    ("a\u202eb", "U+202E"), ("\ud800", "U+D800"), (" D100", "blanks"), ("D100\t", "U+0009"), (5, "string"),
])
def test_tags_that_are_refused(tag, why):
    with pytest.raises(InputError, match=why.replace("+", r"\+").replace(".", r"\.")):
        inputs.tag_name(tag)


@pytest.mark.parametrize("text, value", [("1.5", 1.5), (" -2 ", -2.0), ("1e3", 1000.0), (".5", 0.5), ("+7.", 7.0),
                                         ("-1e20", -1e20), ("18446744073709551615", 2.0**64)])
def test_ascii_decimals(text, value):
    assert inputs.decimal(text) == value


@pytest.mark.parametrize("text", ["1_000", "٥", "nan", "inf", "-Infinity", "0x10", "1,5", "", "1e999", "١٢",
                                  "1e308", "-1.5e20"])
def test_what_float_takes_but_a_decimal_is_not(text):
    with pytest.raises(InputError):
        inputs.decimal(text)


def test_integers_are_ascii_and_in_range():
    assert inputs.integer("-32768", "qc", -32768, 32767) == -32768
    for bad in ("32768", "1_0", "٣", "1.0", "9" * 30):
        with pytest.raises(InputError):
            inputs.integer(bad, "qc", -32768, 32767)


def test_timestamps_need_a_zone_and_a_plausible_time():
    assert inputs.timestamp("2026-12-02T06:04:00Z", NOW) == datetime(2026, 12, 2, 6, 4, tzinfo=timezone.utc)
    assert inputs.timestamp("2026-12-02T15:00:00+09:00", NOW).utcoffset() == timedelta(hours=9)
    for bad, why in [("2026-12-02T06:06:00Z", "in the future"), ("9999-12-31T00:00:00Z", "in the future"),
                     ("0001-01-01T00:00:00+01:00", "out of range|before 1970"), ("1969-12-31T23:59:59Z", "before 1970"),
                     ("2026-12-02T06:00:00", "no time zone"), ("yesterday", "not an ISO 8601")]:
        with pytest.raises(InputError, match=why):
            inputs.timestamp(bad, NOW)
    # the margin is the caller's
    assert inputs.timestamp("2026-12-02T07:00:00Z", NOW, future_margin=timedelta(hours=2))


def test_json_objects_are_bounded_in_depth_and_size():
    assert inputs.json_object('{"unit": "bar", "a": [1, {"b": 2}]}') == {"unit": "bar", "a": [1, {"b": 2}]}
    assert inputs.json_object(json.dumps({"note": "[[[[" * 50})) == {"note": "[[[[" * 50}   # brackets in a string
    deep = "[" * 4000 + "]" * 4000   # deeper than json's parser recursion: refused before parsing
    for bad, why in [('{"a":' * 500 + "1" + "}" * 500, "nested"), ("[1]", "object"), (deep, "nested"),
                     ("{", "not valid JSON"), ('{"a": "' + "x" * 20_000 + '"}', "longer than")]:
        with pytest.raises(InputError, match=why):
            inputs.json_object(bad)


def test_lines_are_bounded_while_streaming():
    assert list(inputs.bounded_lines(io.StringIO("a\nb\n"), 10)) == ["a\n", "b\n"]
    assert list(inputs.bounded_lines(io.StringIO("x" * 10), 10)) == ["x" * 10]
    stream = io.StringIO("ok\n" + "x" * 100)
    lines = inputs.bounded_lines(stream, 10)
    assert next(lines) == "ok\n"
    with pytest.raises(InputError, match="line 2 is longer than 10"):
        next(lines)
    assert stream.tell() <= 3 + 11   # it read no more than the limit past the good line


@pytest.mark.parametrize("text, why", [
    ('{"a": NaN}', "NaN is not a JSON number"), ('{"a": [1, -Infinity]}', "-Infinity is not a JSON number"),
    ('{"a": 1e999}', "out of range"), ('{"a": "\\u0000"}', "cannot store"), ('{"\\udfff": 1}', "cannot store"),
])
def test_json_that_python_reads_but_jsonb_does_not_store_is_refused(text, why):
    with pytest.raises(InputError, match=why):
        inputs.json_object(text)
    assert inputs.json_object('{"a": "\\ud83d\\ude00", "n": 1e300}') == {"a": "\U0001f600", "n": 1e300}
