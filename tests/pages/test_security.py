"""Cross-site use of the dashboard: the websocket takes its own origin only, no credentialed
CORS, a Content Security Policy and frame protection on every response (ksys_app/security.py)."""

from __future__ import annotations

import base64
import os
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.pages.conftest import select_window, server_events, wait_loaded

pytestmark = pytest.mark.e2e

FOREIGN = "http://evil.example"


def handshake(url: str, origin: str | None) -> tuple[int, bytes]:
    """The websocket upgrade a browser sends to /_event (engine.io v4): (status, body)."""
    parts = urlsplit(url)
    headers = ["GET /_event/?EIO=4&transport=websocket HTTP/1.1", f"Host: {parts.netloc}",
               "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
               f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"]
    if origin:
        headers.append(f"Origin: {origin}")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            try:
                body += sock.recv(4096)
            except OSError:
                pass
    return int(head.split()[1]), body


def test_the_websocket_refuses_a_foreign_origin(seeded_app):
    # engine.io refuses the upgrade; uvicorn answers a refused websocket with 403
    assert handshake(seeded_app.url, FOREIGN)[0] == 403
    # the dashboard's own origin, and a client that sends none (a script), connect
    assert handshake(seeded_app.url, seeded_app.url)[0] == 101
    assert handshake(seeded_app.url, None)[0] == 101


@pytest.mark.parametrize("path", ["/", "/api/health", "/ping", "/trend"])
def test_http_answers_carry_no_cors_for_a_foreign_origin_and_the_security_headers(seeded_app, path):
    req = urllib.request.Request(seeded_app.url + path, headers={"Origin": FOREIGN})
    with urllib.request.urlopen(req, timeout=10) as resp:
        headers = {k.lower(): v for k, v in resp.headers.items()}
    # without Access-Control-Allow-Origin a browser gives the foreign page nothing (the
    # allow-credentials header Starlette adds anyway grants nothing on its own)
    assert "access-control-allow-origin" not in headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_pages_work_under_the_policy(seeded_app, page):
    """Every page loads, connects and draws with the CSP on: nothing it needs is refused."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    for route in ["/", "/trend?tag=D200&window=24h", "/tech?tag=D200&window=24h", "/comm?tag=D100"]:
        page.goto(seeded_app.url + route)
        wait_loaded(page)
        assert page.get_attribute("[data-testid=db-status]", "data-status") == "ok", route
    assert refused == []


def test_a_foreign_page_cannot_frame_the_dashboard(seeded_app, page):
    """A page on another origin puts the dashboard in an iframe: the browser refuses to show it."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    page.set_content(f'<iframe id="f" src="{seeded_app.url}/" width="800" height="480"></iframe>')
    page.wait_for_function("() => window.frames.length === 1")
    page.wait_for_timeout(2000)
    frame = next(f for f in page.frames if f != page.main_frame)
    # a refused frame is left empty (Chromium shows its error page there), never the dashboard
    assert frame.evaluate("() => !!document.querySelector('[data-testid=brand]')") is False
    assert any("frame-ancestors" in text for text in blocked), blocked


def test_a_connection_flooding_events_is_held_to_its_budget_and_keeps_working(seeded_app, page):
    """500 events from one tab at once (a script clicking Refresh in a loop): the server lets
    the burst through, drops and logs the rest, and the tab works normally afterwards."""
    page.goto(f"{seeded_app.url}/trend?tag=D200&window=60m")
    wait_loaded(page)
    before = len(server_events("event_rate_limited"))
    page.evaluate("() => { const b = document.querySelector('[data-testid=refresh-btn]');"
                  " for (let i = 0; i < 500; i++) b.click(); }")
    page.wait_for_timeout(1500)
    # the same tab, a moment later: its next event is answered
    select_window(page, "24h")
    assert page.get_attribute("[data-testid=db-status]", "data-status") == "ok"
    assert page.locator("[data-testid=history-count]").get_attribute("data-count") not in (None, "0")
    page.goto("about:blank")  # the connection closes: the last count is logged
    page.wait_for_timeout(1000)
    logged = server_events("event_rate_limited")[before:]
    dropped = sum(e["dropped"] for e in logged)
    # the burst (KSYS_EVENT_BURST, 60) and what refilled meanwhile went through
    assert 300 <= dropped <= 500 - 60, dropped
    assert logged[0]["dropped"] == 1  # the first drop is logged at once
    assert all(e["last_event"].endswith(".refresh") for e in logged)
