"""The one rule set for what comes in from outside: tag names, numbers, timestamps, JSON, lines.

The dashboard (URL parameters, websocket events), the CLI (CSV files of `ksys qc`
and `ksys backfill`) and ingest check their input with these functions, so a
value one of them accepts the others accept too. Each failure is an InputError
whose message is one readable sentence that never quotes more than a short
preview of the offending value.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Iterator

MAX_TAG_LEN = 128
# Readings may be stamped at most this far ahead of the clock that checks them (clock
# skew between a PLC gateway and the server); later ones are refused, not stored: one
# reading in year 9999 would be "the newest" forever.
DEFAULT_FUTURE_MARGIN = timedelta(minutes=5)
EARLIEST_TS = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_JSON_DEPTH = 20
MAX_JSON_CHARS = 10_000
MAX_LINE_CHARS = 1_000_000   # one CSV line; a file without newlines stops here, not at its end
# The largest magnitude a number may have: beyond any 64-bit counter a PLC reports (1.8e19),
# far below where the rollups overflow. A finite 1e308 used to pass and be stored, and then
# every refresh of its day failed ("value out of range: overflow" in the squares of
# features_5m and the indicators), so derived data stopped there (found by tests/fuzz).
MAX_ABS_VALUE = 1e20

# ASCII digits only: float() also takes "1_000", "٥" (Arabic-Indic five), "nan" and "inf"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class InputError(ValueError):
    """A value from outside was refused; str() is the sentence to show."""


def preview(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def tag_name(value: object) -> str:
    """1..MAX_TAG_LEN printable characters without surrounding blanks.

    Quotes, semicolons and scripts are fine (tag names only ever travel as bind
    parameters and rendered text); control and surrogate characters are not (NUL
    cannot be stored in text at all, the others break logs, CSV and the UI).
    """
    if not isinstance(value, str):
        raise InputError(f"tag must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= MAX_TAG_LEN:
        raise InputError(f"tag must be 1..{MAX_TAG_LEN} characters, got {len(value)}")
    if not value.isprintable():
        for pos, ch in enumerate(value):
            if not ch.isprintable():
                raise InputError(f"tag {preview(value)} contains the non-printable character "
                                 f"U+{ord(ch):04X} ({unicodedata.category(ch)}) at position {pos}")
    if value != value.strip():
        raise InputError(f"tag {preview(value)} has leading or trailing blanks")
    return value


def decimal(text: str, what: str = "value") -> float:
    """A number written with ASCII digits (blanks around it allowed), at most MAX_ABS_VALUE either way."""
    t = text.strip()
    if not _DECIMAL.fullmatch(t):
        raise InputError(f"{what} is not a decimal number: {preview(text)}")
    v = float(t)
    if not abs(v) <= MAX_ABS_VALUE:   # inf too
        raise InputError(f"{what} is out of range (at most {MAX_ABS_VALUE:g} either way): {preview(text)}")
    return v


def integer(text: str, what: str, lo: int, hi: int) -> int:
    """An integer in lo..hi written with ASCII digits."""
    t = text.strip()
    if not _INTEGER.fullmatch(t) or len(t) > 20:
        raise InputError(f"{what} is not an integer: {preview(text)}")
    v = int(t)
    if not lo <= v <= hi:
        raise InputError(f"{what} is out of range ({lo}..{hi}): {v}")
    return v


def timestamp(text: str, now: datetime, future_margin: timedelta = DEFAULT_FUTURE_MARGIN,
              what: str = "ts") -> datetime:
    """An ISO 8601 time with a zone, not before 1970 and not more than `future_margin` after `now`."""
    t = text.strip()
    try:
        ts = datetime.fromisoformat(t)
    except ValueError:
        raise InputError(f"{what} is not an ISO 8601 time: {preview(text)}") from None
    if ts.tzinfo is None:
        raise InputError(f"{what} has no time zone: {preview(text)} (add Z or an offset such as +09:00)")
    try:
        utc = ts.astimezone(timezone.utc)
    except OverflowError:
        raise InputError(f"{what} is out of range: {preview(text)}") from None
    if utc < EARLIEST_TS:
        raise InputError(f"{what} is before 1970: {preview(text)}")
    if utc > now + future_margin:
        raise InputError(f"{what} {preview(text)} is in the future (more than "
                         f"{future_margin.total_seconds():g} s after now, {now.astimezone(timezone.utc):%Y-%m-%d %H:%M:%SZ})")
    return ts


# A JSON string, or an unterminated one running to the end (its brackets are text either way).
_JSON_STRING = re.compile(r'"(?:[^"\\]+|\\.)*(?:"|\\?\Z)', re.DOTALL)
_PLAIN_STRING = re.compile(r'"[^"]*(?:"|\Z)')
# str.translate deletes in C what a regex would match and copy piece by piece (17x faster here).
_ASCII_BUT_SPECIAL = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in '[]{}"'))
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { outside JSON strings.

    Regexes drop the strings and everything but brackets, so only the brackets are
    walked in Python: a 40 KB batch of 1000 readings has about 2000 of them, and a
    character loop over the whole text was a fifth of ingest's time per batch. Without
    a backslash (no escapes) quotes alone delimit strings, so everything else can go first."""
    if "\\" in text:
        text = _JSON_STRING.sub("", text)
    else:
        text = _PLAIN_STRING.sub("", text.translate(_ASCII_BUT_SPECIAL))
    brackets = _NOT_BRACKET.sub("", text)
    return max(0, max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0))


def json_object(text: str, what: str = "meta") -> dict:
    """A JSON object of at most MAX_JSON_CHARS characters and MAX_JSON_DEPTH levels."""
    if len(text) > MAX_JSON_CHARS:
        raise InputError(f"{what} is longer than {MAX_JSON_CHARS} characters ({len(text)})")
    # the nesting is bounded before parsing: json's C parser recurses per level
    if bracket_depth(text) > MAX_JSON_DEPTH:
        raise InputError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise InputError(f"{what} is not valid JSON ({msg}): {preview(text)}") from None
    except _NotJson as exc:
        raise InputError(f"{what} is not valid JSON ({exc}): {preview(text)}") from None
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object {{...}}: {preview(text)}")
    if _unstorable(value):
        raise InputError(f"{what} holds \\u0000 or a lone surrogate, which PostgreSQL cannot store: {preview(text)}")
    return value


# What Python's json takes but JSON and PostgreSQL's jsonb do not: NaN, Infinity, 1e999 (read as
# inf), "\u0000" and lone surrogates. They passed here and failed at the INSERT, a database error
# without the line number (found by tests/fuzz/test_fuzz_csv.py).
class _NotJson(ValueError):
    pass


def _no_constant(name: str):
    raise _NotJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise _NotJson(f"{text[:20]} is out of range")
    return v


def _unstorable(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    return False


def bounded_lines(stream, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of a text stream, none longer than max_chars: a file without newlines is
    refused after max_chars characters instead of being read whole into memory."""
    number = 0
    while True:
        line = stream.readline(max_chars + 1)
        if not line:
            return
        number += 1
        if len(line) > max_chars and not line.endswith("\n"):
            raise InputError(f"line {number} is longer than {max_chars:,} characters")
        yield line

