"""MQTT payloads to readings (domain/ingest_payloads.py): every documented shape, every
rejection kind, and generated garbage that must be refused with a kind, never raise."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksys_app.domain.ingest_payloads import (
    BAD_SHAPE,
    BAD_TAG,
    BAD_TS,
    BAD_VALUE,
    FUTURE_TS,
    KINDS,
    NO_TAG,
    NO_ZONE,
    NOT_JSON,
    NOT_UTF8,
    TOO_DEEP,
    TOO_LARGE,
    Reading,
    Rejected,
    parse,
)

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)
TS = "2026-12-03T14:59:00+09:00"
AT = datetime(2026, 12, 3, 5, 59, tzinfo=timezone.utc)


def _p(payload, topic="ksys/tags/FEED_FLOW", fmt="auto"):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse(topic, raw, fmt, NOW)


@pytest.mark.parametrize("payload, topic, fmt, want", [
    ({"tag": "D100", "ts": TS, "value": 1.5}, "x", "auto", [Reading(AT, "D100", 1.5)]),
    ({"tag": "D100", "ts": TS, "value": 1.5}, "x", "reading", [Reading(AT, "D100", 1.5)]),
    ({"tag": "D100", "value": 2}, "x", "auto", [Reading(NOW, "D100", 2.0)]),  # stamped on arrival
    ({"tag": "D100", "ts": int(AT.timestamp()), "value": 1}, "x", "auto", [Reading(AT, "D100", 1.0)]),
    ({"tag": "D100", "ts": int(AT.timestamp() * 1000), "value": 1}, "x", "auto", [Reading(AT, "D100", 1.0)]),
    ([{"tag": "A", "ts": TS, "value": 1}, {"tag": "B", "ts": TS, "value": 2}], "x", "auto",
     [Reading(AT, "A", 1.0), Reading(AT, "B", 2.0)]),
    ({"readings": [{"tag": "A", "ts": TS, "value": 1}]}, "x", "batch", [Reading(AT, "A", 1.0)]),
    (12.5, "ksys/tags/FEED_FLOW", "auto", [Reading(NOW, "FEED_FLOW", 12.5)]),
    ({"ts": TS, "value": 3}, "ksys/tags/FEED_FLOW", "topic", [Reading(AT, "FEED_FLOW", 3.0)]),
    ({"topic": "D200", "payload": 7, "timestamp": int(AT.timestamp() * 1000)}, "x", "auto", [Reading(AT, "D200", 7.0)]),
    ({"topic": "ignored", "payload": {"tag": "D201", "value": 8, "ts": TS}}, "x", "node-red", [Reading(AT, "D201", 8.0)]),
    ({"payload": [{"tag": "A", "ts": TS, "value": 1}]}, "x", "node-red", [Reading(AT, "A", 1.0)]),
])
def test_the_documented_shapes(payload, topic, fmt, want):
    assert _p(payload, topic, fmt) == want


@pytest.mark.parametrize("payload, kind", [
    (b"\xff\xfe", NOT_UTF8),
    (b"{not json", NOT_JSON),
    (b'{"tag": "A", "value": NaN}', NOT_JSON),
    (b"[" * 5000 + b"]" * 5000, TOO_DEEP),
    (b"1" * 1_000_001, TOO_LARGE),
    ([{"tag": "A", "value": 1}] * 10_001, TOO_LARGE),
    ({"value": 1}, NO_TAG),
    ({"tag": "", "value": 1}, NO_TAG),
    ({"tag": "bad\ntag", "value": 1}, BAD_TAG),
    ({"tag": "x" * 200, "value": 1}, BAD_TAG),
    ({"tag": 7, "value": 1}, BAD_TAG),
    ({"tag": "A", "value": "12"}, BAD_VALUE),
    ({"tag": "A", "value": True}, BAD_VALUE),
    ({"tag": "A", "value": 1e300}, BAD_VALUE),
    ({"tag": "A", "value": None}, BAD_VALUE),
    ({"tag": "A"}, BAD_VALUE),
    ({"tag": "A", "value": 1, "ts": "2026-12-03T06:00:00"}, NO_ZONE),
    ({"tag": "A", "value": 1, "ts": "yesterday"}, BAD_TS),
    ({"tag": "A", "value": 1, "ts": "9999-12-31T00:00:00Z"}, FUTURE_TS),
    ({"tag": "A", "value": 1, "ts": (NOW + timedelta(minutes=6)).isoformat()}, FUTURE_TS),
    ({"tag": "A", "value": 1, "ts": -5}, BAD_TS),
    ({"tag": "A", "value": 1, "ts": 1e300}, BAD_TS),
    ({"tag": "A", "value": 1, "ts": [1]}, BAD_TS),
    ([1, 2], BAD_SHAPE),
    ([{"tag": "A", "value": 1}, {"tag": "B", "value": "x"}], BAD_VALUE),  # one bad reading refuses the batch
])
def test_every_rejection_has_its_kind(payload, kind):
    with pytest.raises(Rejected) as refused:
        _p(payload, topic="x")
    assert refused.value.kind == kind
    assert len(str(refused.value)) < 300  # a preview, never the whole payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(["tag", "ts", "value", "payload",
                                                                                        "topic", "readings", "x"]),
                                                                       children, max_size=5),
    max_leaves=20)


@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())),
       st.text(max_size=40), st.sampled_from(["auto", "reading", "batch", "topic", "node-red"]))
def test_anything_is_readings_or_a_rejection_with_a_kind(payload, topic, fmt):
    try:
        readings = parse(topic, payload, fmt, NOW)
    except Rejected as refused:
        assert refused.kind in KINDS
        return
    for r in readings:
        assert isinstance(r.value, float) and r.ts.tzinfo is not None and r.ts <= NOW + timedelta(minutes=5)
