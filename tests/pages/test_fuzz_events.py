"""Forged websocket frames to every event handler of every state, with generated payloads.

Each example is one fresh connection to the real `/_event` endpoint (ksys_dev/wsclient.py)
sending FRAMES_PER_CONNECTION frames: mostly well-formed envelopes naming a real handler
(ksys_app's and Reflex's own: hydrate, on_load_internal, update_vars_internal, setvar, ...)
with arguments of wrong types and hostile values (objects, lists, null, booleans, huge
strings and numbers, NaN, lone surrogates, deep nesting), and some broken envelopes (unknown
handlers and arguments, payloads and router data of the wrong type, frames the socket.io
decoder cannot parse). Then a normal event must be answered on the same connection.

Fresh connections keep every frame within the connection's event budget (KSYS_EVENT_BURST,
60: the budget is not what is tested here), and the test checks that none was dropped
(no event_rate_limited line for its connections), so each frame reached the guard
(ksys_app/eventguard.py) and, if well-formed, its handler.

After all examples: nothing escaped into the log (no traceback, no event_failed from
ksys_app code), the database is unchanged, and no answer carried driver text, the
database's address or a toast about a server error from ksys code.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import time
import uuid
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksys_dev.wsclient import NAMESPACE, ReflexSocket, state_name
from tests.fuzz.strategies import NOT_DECIMALS, fuzz_settings, hostile_text, huge_text, json_values, nested
from tests.pages.fuzz_helpers import db_fingerprint, events_in, log_mark, log_problems, log_since

pytestmark = pytest.mark.e2e

CONNECTIONS = 36
FRAMES_PER_CONNECTION = 40  # + the sentinel pair: within the burst of 60
ROUTES = ["/", "/trend", "/tech", "/comm"]
DASH = state_name("ksys_app.states.dashboard.DashboardState")


def all_handlers() -> dict[str, tuple[frozenset[str], frozenset[str], bool]]:
    """Every event handler of the app's state tree, by full name (as the guard sees them)."""
    from reflex.state import State

    import ksys_app.pages as pages
    from ksys_app.eventguard import state_handlers

    for module in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"{pages.__name__}.{module.name}")
    return state_handlers(State)


HANDLERS = all_handlers()
NAMES = sorted(HANDLERS)

# values a control would send, so that some frames get past the type checks
PLAUSIBLE = ["5m", "60m", "24h", "7d", "D100", "D200", "D300", "avg", "sma_10", "2026-01-01", "9999-12-31",
             "0001-01-01", "en", "ko", True, False, 0, 1, 5, 719, 720, -1, "", "/trend", {"a": 1}]
hostile_value = st.one_of(
    json_values, st.sampled_from(PLAUSIBLE), st.sampled_from(NOT_DECIMALS), huge_text(1_000, 50_000),
    st.integers(min_value=-(2**200), max_value=2**200), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0]),
    st.integers(0, 30).map(lambda d: nested(d, "D100")), st.sampled_from(["\ud800", "a\udfffb", "\x00", "<script>"]),
    st.builds(lambda n: "9" * n, st.integers(4_000, 6_000)),
)


@st.composite
def router_data(draw) -> object:
    kind = draw(st.integers(0, 9))
    route = draw(st.sampled_from(ROUTES))
    if kind <= 5:  # what the frontend sends, with a hostile query
        query = draw(st.dictionaries(st.sampled_from(["window", "tag", "start", "lang", "kiosk", "cycle"]) | hostile_text,
                                     hostile_text | huge_text(100, 5_000), max_size=4))
        search = "&".join(f"{quote(k, errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
                          for k, v in query.items())
        return {"pathname": route, "asPath": route + (f"?{search}" if search else ""), "query": query}
    if kind == 6:  # raw text in the URL: lone surrogates, control characters, no encoding
        text = draw(hostile_text)
        return {"pathname": route, "asPath": f"{route}?window={text}&tag={text}", "query": {"window": text}}
    return draw(st.one_of(json_values, st.fixed_dictionaries({"pathname": hostile_value, "asPath": hostile_value}),
                          st.fixed_dictionaries({"pathname": st.just(route), "query": hostile_value})))


@st.composite
def frame(draw) -> tuple[str, object]:
    """(kind, frame): "event" frames are sent with emit, "raw" ones as text."""
    name = draw(st.sampled_from(NAMES))
    names, required, _ = HANDLERS[name]
    args = sorted(names)
    kind = draw(st.integers(0, 19))
    if kind <= 12:  # the handler's own arguments, hostile values
        payload = {a: draw(hostile_value) for a in args}
    elif kind == 13:  # an argument it does not take
        payload = {**{a: draw(hostile_value) for a in args}, draw(hostile_text): draw(hostile_value)}
    elif kind == 14:  # a missing argument or a payload of the wrong type
        payload = draw(st.one_of(st.just({}), json_values.filter(lambda v: not isinstance(v, dict))))
    elif kind == 15:  # an unknown handler, or a hostile name
        name = draw(st.one_of(hostile_text, st.just(name + "x"), st.just(name.rsplit(".", 1)[0] + "._resolve"),
                              st.sampled_from([None, 5, [], {}])))
        payload = {}
    elif kind == 16:  # not an event object at all
        return "raw", f"42{NAMESPACE}," + json.dumps(["event", draw(json_values.filter(lambda v: not isinstance(v, dict)))])
    elif kind == 17:  # deeper than any decoder's recursion limit, or invalid JSON
        depth = draw(st.sampled_from([50, 900, 5_000, 100_000]))
        return "raw", draw(st.sampled_from([
            f'42{NAMESPACE},["event",{{"name":"{name}","payload":{{"x":' + "[" * depth + "]" * depth + "}}]",
            f'42{NAMESPACE},["event",' + "{\"a\":" * depth + "1" + "}" * depth + "]",
            f'42{NAMESPACE},["event",{{"name":"{name}","payload":{{"code":NaN,"tag":Infinity}}}}]',
            f'42{NAMESPACE},["event",{{"name":"{name}"', f"42{NAMESPACE},\x00\xff", f"42{NAMESPACE},[]",
            f'42{NAMESPACE},["no_such_socket_event",{{}}]', f'42{NAMESPACE},"event"']))
    else:  # the handler's arguments with plausible values, under hostile router data
        payload = {a: draw(st.sampled_from(PLAUSIBLE)) for a in args}
        return "event", {"name": name, "payload": payload, "router_data": draw(router_data())}
    rd = draw(st.one_of(st.just({"pathname": "/", "asPath": "/"}), router_data()))
    return "event", {"name": name, "payload": payload, "router_data": rd}


def send(sock: ReflexSocket, kind: str, item: object) -> None:
    if kind == "raw":
        sock.send_raw(item)
    else:
        sock.send_raw(f"42{NAMESPACE}," + json.dumps(["event", item]))


# driver text and the database's address (the catalog of messages, which every tab gets, names
# the eco_ro role and passwords in its fixes: those words alone are no leak)
SECRET_MARKS = ("Traceback", "asyncpg", "psycopg", "postgresql://", "statement_timeout", "user=eco_ro", "dbname=")


def test_forged_frames_to_every_handler(seeded_app):
    db_port = seeded_app.admin_dsn.split("port=")[1].split()[0]
    before_db = db_fingerprint(seeded_app.admin_dsn)
    mark = log_mark()
    sids: set[str] = set()
    sent = {"frames": 0, "connections": 0}
    named: set[str] = set()
    started = time.monotonic()

    @fuzz_settings(CONNECTIONS)
    @given(st.lists(frame(), min_size=FRAMES_PER_CONNECTION, max_size=FRAMES_PER_CONNECTION))
    def one_connection(frames):
        sock = ReflexSocket(seeded_app.url)
        sids.update({sock.sid, sock.eio_sid})
        try:
            for kind, item in frames:
                send(sock, kind, item)
                if kind == "event" and isinstance(item.get("name"), str):
                    named.add(item["name"])
            sent["frames"] += len(frames)
            sent["connections"] += 1
            # a normal event afterwards, answered on this connection after every frame before it
            # (one tab's events are processed in order): the dashboard's load, whose URL rewrite
            # keeps ?lang= as it came, so its answer is known to be this one's
            marker = uuid.uuid4().hex
            sock.emit(f"{DASH}.on_load", {}, {"pathname": "/", "asPath": f"/?window=24h&lang={marker}"})
            answered = sock.wait_for(lambda u: marker in json.dumps(u.get("events") or []), timeout_s=60)
            assert answered is not None, "the connection stopped answering"
            text = "\n".join(sock.frames)
            for marker in SECRET_MARKS + (f":{db_port}", f"port={db_port}", f"port {db_port}"):
                assert marker not in text, marker
        finally:
            sock.close()

    one_connection()
    # handlers the generated frames happened to miss get a hostile payload each, on fresh
    # connections within the burst, so that every handler is tried whatever the draw was
    missed = sorted(set(NAMES) - named)
    for i in range(0, len(missed), FRAMES_PER_CONNECTION):
        sock = ReflexSocket(seeded_app.url)
        sids.update({sock.sid, sock.eio_sid})
        try:
            for name in missed[i:i + FRAMES_PER_CONNECTION]:
                send(sock, "event", {"name": name, "payload": {"value": {"a": [1, None, "\ud800"]}, "x": 2**70}})
                named.add(name)
                sent["frames"] += 1
            sent["connections"] += 1
        finally:
            sock.close()
    elapsed = time.monotonic() - started
    time.sleep(1.5)  # the last lines reach the log
    lines = log_since(mark)
    refused = [e for e in events_in(lines, "event_refused") if e.get("sid") in sids]
    failed = events_in(lines, "event_failed")
    limited = [e for e in events_in(lines, "event_rate_limited") if e.get("sid") in sids]
    print(f"\nevent fuzz: {sent['frames']} frames on {sent['connections']} connections in {elapsed:.1f} s; "
          f"{len(refused)} refused by the guard, {len(failed)} handler errors, {len(named & set(NAMES))} of "
          f"{len(NAMES)} handlers named")
    assert sent["frames"] >= 900
    assert limited == [], "frames were dropped by the event budget: they were not tested"
    assert named >= set(NAMES), sorted(set(NAMES) - named)  # every handler got frames
    # most frames got past the envelope check to their handler
    assert len(refused) < sent["frames"] // 2, len(refused)
    assert log_problems(lines) == []
    assert db_fingerprint(seeded_app.admin_dsn) == before_db
