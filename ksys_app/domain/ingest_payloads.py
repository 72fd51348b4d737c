"""MQTT payloads to readings (issue 18): the shapes ingest accepts, and why it refuses
the rest, with the checks of domain/inputs.py (the rule set the CLI uses too).

Shapes (`auto` tells them apart by their JSON):

* **reading**: `{"tag": "FEED_FLOW", "ts": "2026-12-01T14:00:00+09:00", "value": 12.5}`.
  `ts` may also be epoch seconds or milliseconds (a number; above 1e11 it is
  milliseconds); without `ts` the reading is stamped with its arrival time.
* **batch**: a JSON array of readings, or `{"readings": [...]}`; at most MAX_BATCH.
* **topic**: the MQTT topic names the tag (its last level, e.g. `ksys/tags/FEED_FLOW`)
  and the payload is a bare number (stamped on arrival) or `{"ts": ..., "value": ...}`.
* **node-red**: a whole Node-RED msg published as JSON, `{"topic": "FEED_FLOW",
  "payload": 12.5}`, with `payload` a number, a reading or a batch, and `ts` or
  `timestamp` (epoch milliseconds, Node-RED's Date.now()) beside it.

Every refusal is a Rejected with a `kind` (what dead-letter counts are grouped by)
and a sentence that never quotes more than a short preview.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from ksys_app.domain.inputs import (
    DEFAULT_FUTURE_MARGIN,
    EARLIEST_TS,
    MAX_ABS_VALUE,
    MAX_JSON_DEPTH,
    InputError,
    bracket_depth,
    preview,
    tag_name,
    timestamp,
)

MAX_PAYLOAD_BYTES = 1_000_000
MAX_BATCH = 10_000
EPOCH_MS_ABOVE = 1e11  # epoch seconds reach 1e11 in the year 5138

# Rejection kinds
NOT_UTF8, NOT_JSON, TOO_LARGE, TOO_DEEP = "not_utf8", "not_json", "too_large", "too_deep"
NO_TAG, BAD_TAG, BAD_VALUE, BAD_TS, NO_ZONE, FUTURE_TS = "no_tag", "bad_tag", "bad_value", "bad_ts", "no_zone", "future_ts"
BAD_SHAPE = "bad_shape"
KINDS = (NOT_UTF8, NOT_JSON, TOO_LARGE, TOO_DEEP, NO_TAG, BAD_TAG, BAD_VALUE, BAD_TS, NO_ZONE, FUTURE_TS, BAD_SHAPE)
FORMATS = ("auto", "reading", "batch", "topic", "node-red")


class Reading(NamedTuple):
    """A tuple: built for every reading of every message, at a fraction of a frozen dataclass's cost."""
    ts: datetime
    tag: str
    value: float


class Rejected(ValueError):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _value(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        if isinstance(raw, str):
            raise Rejected(BAD_VALUE, f"value must be a JSON number, got the string {preview(raw)}")
        raise Rejected(BAD_VALUE, f"value must be a JSON number, got {type(raw).__name__ if raw is not None else 'null'}")
    v = float(raw)
    if not math.isfinite(v) or abs(v) > MAX_ABS_VALUE:
        raise Rejected(BAD_VALUE, f"value is out of range (at most {MAX_ABS_VALUE:g} either way)")
    return v


def _ts(raw: object, now: datetime, margin: timedelta) -> datetime:
    if raw is None:
        return now
    if isinstance(raw, bool):
        raise Rejected(BAD_TS, "ts must be an ISO 8601 time with a zone or epoch seconds / milliseconds")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise Rejected(BAD_TS, "ts is not a finite number")
        seconds = raw / 1000.0 if abs(raw) > EPOCH_MS_ABOVE else float(raw)
        try:
            ts = datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise Rejected(BAD_TS, f"ts {raw!r} is out of range") from None
        if ts < EARLIEST_TS:
            raise Rejected(BAD_TS, f"ts {raw!r} is before 1970")
        if ts > now + margin:
            raise Rejected(FUTURE_TS, f"ts {raw!r} is more than {margin.total_seconds():g} s in the future")
        return ts
    if not isinstance(raw, str):
        raise Rejected(BAD_TS, "ts must be an ISO 8601 time with a zone or epoch seconds / milliseconds")
    try:
        return timestamp(raw, now, margin).astimezone(timezone.utc)
    except InputError as exc:
        text = str(exc)
        kind = NO_ZONE if "no time zone" in text else FUTURE_TS if "in the future" in text else BAD_TS
        raise Rejected(kind, text) from None


def _tag(raw: object) -> str:
    if raw is None or raw == "":
        raise Rejected(NO_TAG, "the reading names no tag")
    try:
        return tag_name(raw)
    except InputError as exc:
        raise Rejected(BAD_TAG, str(exc)) from None


def _reading(obj: object, now: datetime, margin: timedelta, tag: str | None = None) -> Reading:
    if not isinstance(obj, dict):
        raise Rejected(BAD_SHAPE, f"a reading is a JSON object, got {type(obj).__name__}")
    if "value" not in obj:
        raise Rejected(BAD_VALUE, "the reading has no value")
    return Reading(_ts(obj.get("ts"), now, margin), _tag(obj.get("tag") if tag is None else tag), _value(obj["value"]))


def _batch(items: object, now: datetime, margin: timedelta) -> list[Reading]:
    if not isinstance(items, list):
        raise Rejected(BAD_SHAPE, "a batch is a JSON array of readings")
    if len(items) > MAX_BATCH:
        raise Rejected(TOO_LARGE, f"a batch holds at most {MAX_BATCH:,} readings ({len(items):,})")
    return [_reading(item, now, margin) for item in items]


def decode(payload: bytes) -> Any:
    """The payload's JSON, bounded in size and depth before parsing."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected(TOO_LARGE, f"payload is larger than {MAX_PAYLOAD_BYTES:,} bytes ({len(payload):,})")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(NOT_UTF8, "payload is not UTF-8 text") from None
    if bracket_depth(text) > MAX_JSON_DEPTH:
        raise Rejected(TOO_DEEP, f"payload is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return _DECODER.decode(text)
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise Rejected(NOT_JSON, f"payload is not JSON ({reason}): {preview(text)}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


# one decoder: json.loads with an argument builds a new JSONDecoder on every call
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def topic_tag(topic: str) -> str:
    return topic.rstrip("/").rsplit("/", 1)[-1]


def parse(topic: str, payload: bytes, fmt: str, now: datetime,
          margin: timedelta = DEFAULT_FUTURE_MARGIN) -> list[Reading]:
    """The readings of one MQTT message, or Rejected (the whole message: a batch with one
    bad reading is refused whole, so a message is never half stored)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown payload format {fmt!r}: one of {', '.join(FORMATS)}")
    data = decode(payload)
    if fmt == "topic" or (fmt == "auto" and not isinstance(data, (dict, list))):
        tag = topic_tag(topic)
        if isinstance(data, dict):
            return [_reading(data, now, margin, tag=tag)]
        return [Reading(now, _tag(tag), _value(data))]
    if fmt == "batch" or (fmt == "auto" and (isinstance(data, list) or (isinstance(data, dict) and "readings" in data))):
        return _batch(data.get("readings") if isinstance(data, dict) else data, now, margin)
    if fmt == "node-red" or (fmt == "auto" and isinstance(data, dict) and "payload" in data):
        if not isinstance(data, dict) or "payload" not in data:
            raise Rejected(BAD_SHAPE, "a Node-RED message is a JSON object with a payload")
        inner, ts = data["payload"], data.get("ts", data.get("timestamp"))
        if isinstance(inner, list):
            return _batch(inner, now, margin)
        if isinstance(inner, dict):
            return [_reading({"ts": ts, **inner}, now, margin, tag=inner.get("tag", data.get("topic")))]
        return [Reading(_ts(ts, now, margin), _tag(data.get("topic")), _value(inner))]
    return [_reading(data, now, margin)]
