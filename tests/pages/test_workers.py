"""Several app workers behind one port, with the page state in a real Redis (issue 19).

`ksys serve` with KSYS_REDIS_URL and KSYS_WORKERS=4 runs four Granian workers; each
browser tab's state (here: the series it switched off on /trend, which no URL holds)
lives in Redis under the tab's token. The whole backend then crashes (SIGKILL to its
process group: no worker cleans up) and starts again on the same port: every tab
reconnects by itself, to whichever worker, and finds its state as it left it.

Two things would lose it: the state kept in memory (without Redis a restarted backend
has no state for the token), and the socket records the dead workers leave in Redis,
which make Reflex take each reconnecting tab for a duplicate of itself and give it a new
token (ksys_app/tabtokens.py). The crash leaves a record for every tab, so the test
fails without either.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis

from ksys_app.retry import poll
from ksys_dev.localpg import free_port
from ksys_dev.redis import Redis, find_redis
from tests.pages.conftest import E2E_TAGS, ROOT, SERVER_ENV, app_server, screenshot, wait_chart, wait_loaded

pytestmark = pytest.mark.e2e

WORKERS = 4
SESSIONS = 8
SERIES_OFF = ("min", "max", "first", "last")  # one per tab, in turn
LOG = ROOT / "test-output" / "e2e-workers.log"


@pytest.fixture(scope="module")
def redis_server():
    if find_redis() is None:
        pytest.fail("redis-server is not installed: run `make system-deps`")
    server = Redis().start()
    yield server
    server.destroy()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _workers(pid: int) -> int:
    """Granian's workers: the child processes of the server (ksys serve execs into it)."""
    return len(_children(pid))


def _series_drawn(page) -> set[str]:
    return set(page.evaluate("""() => [...document.querySelectorAll('[data-testid=trend-chart] .recharts-line')]
        .flatMap(g => [...g.classList]).concat([...document.querySelectorAll('[data-testid=trend-chart] [class*=series-]')]
        .flatMap(e => [...e.classList])).filter(c => c.startsWith('series-')).map(c => c.slice(7))"""))


# Counts the state updates that end a hydration (the page's first load, and each reconnect):
# Playwright's sync API delivers websocket events only inside its own calls, so the count is
# kept in the page and waited for there.
_COUNT_HYDRATIONS_JS = """
(() => {
  window.__hydrations = 0;
  const WS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new WS(...args);
    ws.addEventListener('message', (e) => {
      if (typeof e.data === 'string' && e.data.includes('"is_hydrated_rx_state_":true')) window.__hydrations += 1;
    });
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


def _open_tab(browser, url: str, tag: str, off: str):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    ctx.add_init_script(_COUNT_HYDRATIONS_JS)
    page = ctx.new_page()
    page.goto(f"{url}/trend?tag={tag}&window=60m")
    wait_loaded(page)
    wait_chart(page, "trend-chart")
    # a controlled checkbox: it changes when the server's answer comes back
    page.click(f"#toggle-{off}")
    page.wait_for_function("k => !document.getElementById(`toggle-${k}`).checked"
                           " && !document.querySelector(`[data-testid=trend-chart] .series-${k}`)", arg=off)
    return ctx, page


def test_four_workers_keep_each_tabs_state_across_a_restart(seeded_app, browser, redis_server):
    port = free_port()
    LOG.unlink(missing_ok=True)  # both servers append to it (the same port)
    env = {**SERVER_ENV, "KSYS_REDIS_URL": redis_server.url, "KSYS_WORKERS": str(WORKERS)}
    tabs = []
    try:
        with app_server(seeded_app.app_dsn, LOG, env, port) as (url, proc):
            assert poll(lambda: _workers(proc.pid) == WORKERS, timeout_s=60, every_s=0.5), (
                f"{_workers(proc.pid)} worker processes, not {WORKERS}")
            for i in range(SESSIONS):
                tag, off = E2E_TAGS[i % len(E2E_TAGS)], SERIES_OFF[i % len(SERIES_OFF)]
                tabs.append((tag, off, *_open_tab(browser, url, tag, off)))
            hydrations = [page.evaluate('window.__hydrations') for _t, _o, _c, page in tabs]
            tokens = [page.evaluate("() => sessionStorage.getItem('token')") for _t, _o, _c, page in tabs]
            for tag, off, _ctx, page in tabs:
                assert off not in _series_drawn(page) and "avg" in _series_drawn(page), (tag, off)
            os.killpg(proc.pid, signal.SIGKILL)  # a crash: no worker deletes its tabs' socket records
            proc.wait(timeout=20)
        left = redis.Redis.from_url(redis_server.url).keys("token_manager_socket_record_*")
        assert len(left) == SESSIONS, f"{len(left)} socket records left by the crash, not {SESSIONS}"
        # the backend comes back on the same port and every tab reconnects
        with app_server(seeded_app.app_dsn, LOG, env, port) as (url, proc):
            assert poll(lambda: _workers(proc.pid) == WORKERS, timeout_s=60, every_s=0.5)
            for (tag, off, _ctx, page), before, token in zip(tabs, hydrations, tokens):
                page.wait_for_function("n => window.__hydrations > n", arg=before, timeout=60_000)
                wait_chart(page, "trend-chart")
                assert page.locator("[data-testid=tag-select]").input_value() == tag
                assert page.evaluate("() => sessionStorage.getItem('token')") == token, (
                    f"tab {tag} was given a new token: taken for a duplicate of itself")
                assert not page.is_checked(f"#toggle-{off}"), f"tab {tag} lost its state: {off} is on again"
                assert all(page.is_checked(f"#toggle-{k}") for k in ("avg", *SERIES_OFF) if k != off)
                drawn = _series_drawn(page)
                assert off not in drawn and "avg" in drawn, (tag, off, drawn)
                # and it is answered: a Refresh reads again without an error on the page
                page.click("[data-testid=refresh-btn]")
                wait_loaded(page)
                assert page.locator("[data-testid=error-box]").count() == 0
            screenshot(tabs[0][3], "workers-after-restart")
            # a duplicated tab (the browser copies sessionStorage, so the token) beside a live
            # one is still a duplicate: it gets a token and a state of its own
            tag, off, ctx, original = tabs[0]
            twin = ctx.new_page()
            twin.add_init_script(f"sessionStorage.setItem('token', {tokens[0]!r})")
            twin.goto(f"{url}/trend?tag={tag}&window=60m")
            wait_loaded(twin)
            twin.wait_for_function("t => sessionStorage.getItem('token') !== t", arg=tokens[0], timeout=30_000)
            assert twin.is_checked(f"#toggle-{off}"), "the duplicate shares the original's state"
            assert not original.is_checked(f"#toggle-{off}")
    finally:
        for _tag, _off, ctx, _page in tabs:
            ctx.close()
    log = LOG.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    # each tab's record from the crash is dropped once; the duplicate's is not (its owner lives)
    assert log.count('"event": "tab_token_kept"') == SESSIONS, log.count('"event": "tab_token_kept"')
