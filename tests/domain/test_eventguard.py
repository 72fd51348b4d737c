"""The envelope every websocket frame must have before Reflex sees it (ksys_app/eventguard.py)."""

from __future__ import annotations

import pytest

from ksys_app.eventguard import MAX_DEPTH, check_frame

S = "reflex___state____state.ksys_app___states___trend____trend_state"
HANDLERS = {f"{S}.set_window": (frozenset({"code"}), frozenset({"code"}), False),
            f"{S}.refresh": (frozenset(), frozenset(), False),
            f"{S}.setvar": (frozenset({"var_name", "value"}), frozenset({"var_name", "value"}), False)}


def frame(**fields):
    return {"name": f"{S}.set_window", "payload": {"code": "24h"},
            "router_data": {"pathname": "/trend", "asPath": "/trend?window=24h", "query": {"window": "24h"}}, **fields}


def test_a_frame_as_the_frontend_sends_it_passes():
    assert check_frame(frame(), HANDLERS) == (frame(), "")
    assert check_frame({"name": f"{S}.refresh"}, HANDLERS)[1] == ""


@pytest.mark.parametrize("data, reason", [
    ([1], "not_an_object"), ("{bad", "not_an_object"), (None, "not_an_object"),
    ({"name": 5}, "bad_name"), ({"name": "x" * 400}, "bad_name"),
    ({"name": f"{S}.nope"}, "unknown_handler"), ({"name": f"{S}._resolve"}, "unknown_handler"),
    ({"name": f"{S}.setvar", "payload": {"var_name": "tag", "value": 1}}, "not_offered"),
    (frame(payload=[1, 2]), "bad_payload"), (frame(payload={"code": "5m", "nope": 1}), "unknown_argument"),
    (frame(payload={}), "missing_argument"), (frame(payload={"code": "x" * 10_001}), "too_large"),
    (frame(router_data=[]), "bad_router_data"), (frame(router_data={"asPath": 5}), "bad_router_data"),
    (frame(router_data={"query": {"window": ["a"]}}), "bad_router_data"),
    (frame(payload={"code": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}), "too_deep"),
])
def test_malformed_frames_are_refused_with_a_reason(data, reason):
    assert check_frame(data, HANDLERS) == (None, reason)


def test_lone_surrogates_become_replacement_characters():
    data = frame(router_data={"pathname": "/trend", "asPath": "/trend?zz=\ud800", "query": {"zz\udfff": "a\ud800b"}})
    out, reason = check_frame(data, HANDLERS)
    assert reason == ""
    assert out["router_data"] == {"pathname": "/trend", "asPath": "/trend?zz=\ufffd", "query": {"zz\ufffd": "a\ufffdb"}}
    assert "\ufffd".encode("utf-8")  # encodable: the update echoing the URL can be sent


def test_depth_limit():
    value: object = "x"
    for _ in range(MAX_DEPTH - 2):
        value = [value]
    assert check_frame(frame(payload={"code": value}), HANDLERS)[1] == ""
