"""Hostile query strings on every page route: the real parameters (window, tag, start, lang,
kiosk, cycle) and unknown ones, with values that are very long, control characters, lone
surrogates percent-encoded (%ED%A0%80), invalid percent-encoding, far dates, 1e309, digits
int() refuses, SQL and HTML/script text, repeated keys.

Every generated URL is loaded twice over:

- over HTTP (the page's HTML: no 5xx), and
- as the page load a browser makes on the websocket: on_load_internal with the URL's router
  data (what the frontend sends on navigation), which runs the kiosk's and the page's
  on_load; the load must finish (the page rewrites its URL) without an error toast.

A share of them (BROWSER_LOADS) is also visited in a real Chromium tab: one tab, navigating
client-side (history + popstate, as the kiosk cycle does) and reloaded in full every
RELOAD_EVERY URLs (a new websocket: the tab stays within its event budget). Each visit must
show the page (its brand, the database status ok) with its notice if any, no error toast,
and no script from the URL may run (`window.__pwned`). The test checks that no event was
dropped by the budget and that no traceback or ksys_app error reached the server log.
"""

from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksys_dev.wsclient import ReflexSocket
from tests.fuzz.strategies import NASTY_CHARS, fuzz_settings, hostile_text, huge_text
from tests.pages.fuzz_helpers import events_in, log_mark, log_problems, log_since

pytestmark = pytest.mark.e2e

ROUTES = ["/", "/trend", "/tech", "/comm"]
PARAMS = ["window", "tag", "start", "lang", "kiosk", "cycle"]
SOCKET_LOADS = 1_200
BROWSER_LOADS = 300
LOADS_PER_SOCKET = 40  # one frame per load: within the burst of 60
RELOAD_EVERY = 25  # browser: ~2 frames per navigation
ON_LOAD = "reflex___state____state.reflex___state____on_load_internal_state.on_load_internal"

PWN = "window.__pwned=1"
INJECTIONS = [f"<script>{PWN}</script>", f'"><img src=x onerror="{PWN}">', f"';{PWN};//", f'";{PWN};//',
              f"javascript:{PWN}", f"</script><script>{PWN}</script>", f"${{{PWN}}}", f"`;{PWN};`",
              f"\u2028{PWN}", f"{{{{{PWN}}}}}", "' OR 1=1;--", "'; DROP TABLE influx_hist;--",
              "D100'); SELECT pg_sleep(10);--", "1; UPDATE influx_qc_rule SET enabled=false"]
# percent-escapes inserted as they are (not encoded again): a lone surrogate, invalid UTF-8,
# invalid escapes, NUL, an encoded & and =
RAW = ["%ED%A0%80", "%ED%BF%BF", "%C0%AF", "%FF%FE", "%zz", "%", "%E0%A4%A", "%00", "%26x%3D1", "%2B", "+", "%0D%0A"]
VALUES = ["5m", "60m", "24h", "7d", "30d", "5M", "D100", "D200", "D300", "9999-12-31", "0001-01-01",
          "2026-02-30", "2024-W01-1", "20240101", "1e309", "-1e309", "NaN", "Infinity", "-0", "0x10",
          "1", "0", "yes", "off", "true", "en", "ko", "EN", "\u00b2", "\u0661\u0662", "9" * 5_000, "1" * 7,
          " 5 ", "30", "999999"]


def encode(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


@st.composite
def hostile_url(draw) -> str:
    route = draw(st.sampled_from(ROUTES))
    pairs = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(PARAMS) | st.sampled_from(PARAMS) | hostile_text | st.sampled_from(["", "&", "=", "#"]))
        value = draw(st.one_of(
            st.sampled_from(VALUES), st.sampled_from(INJECTIONS), hostile_text, st.sampled_from(NASTY_CHARS),
            huge_text(500, 6_000), st.sampled_from(RAW).map(lambda r: ("raw", r)),
            st.tuples(st.sampled_from(VALUES), st.sampled_from(RAW)).map(lambda t: ("raw", encode(t[0]) + t[1]))))
        raw_value = value[1] if isinstance(value, tuple) else encode(value)
        pairs.append(f"{encode(key)}={raw_value}" if draw(st.integers(0, 9)) else encode(key))
    if draw(st.booleans()) and pairs:
        pairs.append(pairs[0])  # a repeated key
    return route + ("?" + "&".join(pairs) if pairs else "")


def router_data(url: str) -> dict:
    """What the frontend sends for a page at `url` (state.js withRouterData): the path, the
    path with the query, and the query decoded as URLSearchParams does (last value wins)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True, errors="replace"))
    data = {"pathname": parts.path, "asPath": url}
    if query:
        data["query"] = query
    return data


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def finished(update: dict) -> bool:
    """The page's load ended: it rewrote its URL (states/base.py _url_script)."""
    return "replaceState" in json.dumps(update.get("events") or [])


def error_toast(update: dict) -> bool:
    return "backend_error" in json.dumps(update.get("events") or [])


def test_hostile_urls_over_http_and_the_websocket(seeded_app):
    mark = log_mark()
    counts = {"loads": 0}
    sock: list[ReflexSocket] = []
    sids: set[str] = set()
    started = time.monotonic()

    @fuzz_settings(SOCKET_LOADS)
    @given(hostile_url())
    def load(url):
        status = http_status(seeded_app.url + url) if len(url) < 8_000 else 200
        assert status < 500, (status, url)
        if not sock or counts["loads"] % LOADS_PER_SOCKET == 0:
            if sock:
                sock.pop().close()
            sock.append(ReflexSocket(seeded_app.url))
            sids.add(sock[0].sid)
        s = sock[0]
        seen = len(s.updates)
        s.emit(ON_LOAD, {}, router_data(url))
        done = s.wait_for(lambda u: finished(u), timeout_s=30, since=seen)
        assert done is not None, f"the load of {url[:200]!r} did not finish"
        assert not any(error_toast(u) for u in s.updates[seen:]), url[:200]
        counts["loads"] += 1

    try:
        load()
    finally:
        for s in sock:
            s.close()
    elapsed = time.monotonic() - started
    time.sleep(1.5)
    lines = log_since(mark)
    print(f"\nURL fuzz over the websocket: {counts['loads']} loads (and as many HTTP GETs) in {elapsed:.1f} s")
    assert counts["loads"] >= SOCKET_LOADS
    assert [e for e in events_in(lines, "event_rate_limited") if e.get("sid") in sids] == []
    assert [e for e in events_in(lines, "event_refused") if e.get("sid") in sids] == []
    assert log_problems(lines) == []


def test_hostile_urls_in_a_real_browser(seeded_app, page):
    mark = log_mark()
    counts = {"loads": 0, "notices": 0}
    failures: list[str] = []
    page.on("pageerror", lambda err: failures.append(f"page error: {err}"))
    started = time.monotonic()
    page.goto(seeded_app.url + "/")
    page.wait_for_selector("[data-testid=brand]")

    def check_page(url: str) -> None:
        state = page.evaluate("""() => ({
            pwned: window.__pwned !== undefined,
            brand: !!document.querySelector('[data-testid=brand]'),
            status: document.querySelector('[data-testid=db-status]')?.getAttribute('data-status'),
            toast: document.body.innerText.includes('An error occurred'),
            notice: !!document.querySelector('[data-testid=notice]'),
        })""")
        assert not state["pwned"], f"a script from the URL ran: {url[:200]!r}"
        assert state["brand"] and state["status"] == "ok", (state, url[:200])
        assert not state["toast"], f"error toast after {url[:200]!r}"
        counts["notices"] += state["notice"]

    @fuzz_settings(BROWSER_LOADS)
    @given(hostile_url())
    def visit(url):
        n = counts["loads"]
        target = url + ("&" if "?" in url else "?") + f"fz={n}"
        if n % RELOAD_EVERY == 0:
            if len(target) < 8_000:
                response = page.goto(seeded_app.url + target)
                assert response is not None and response.status < 500, target[:200]
            else:  # longer than a request line may be: loaded client-side only
                page.reload()
        else:
            page.evaluate("u => { history.pushState(null, '', u);"
                          " window.dispatchEvent(new PopStateEvent('popstate', {state: null})); }", target)
        # the page's on_load ran to its end: it rewrote the URL, which drops unknown keys such as fz
        page.wait_for_function(f"() => !location.search.includes('fz={n}&') && !location.search.endsWith('fz={n}')"
                               " && document.querySelector('[data-testid=loading]') === null", timeout=30_000)
        check_page(target)
        counts["loads"] += 1

    visit()
    elapsed = time.monotonic() - started
    time.sleep(1.5)
    lines = log_since(mark)
    print(f"\nURL fuzz in Chromium: {counts['loads']} page loads in {elapsed:.1f} s, {counts['notices']} with a notice")
    assert counts["loads"] >= BROWSER_LOADS
    assert failures == []
    assert events_in(lines, "event_rate_limited") == []
    assert log_problems(lines) == []
