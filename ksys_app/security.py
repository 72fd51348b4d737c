"""Who may talk to the dashboard from a browser, and what its pages may load.

A browser lets any web page open a websocket to any server, sending the page's
Origin: without a check, a page an operator happens to visit could read the
dashboard's state (and, once there are write actions, act as the operator).
So the websocket (engine.io's handshake) accepts only the dashboard's own
origin, plus the ones KSYS_ALLOWED_ORIGINS lists (e.g. a reverse proxy on
another port). Clients that send no Origin (scripts, health checks) are not
browsers acting for an operator and are let through. Plain HTTP responses
carry no credentialed CORS headers (rxconfig.py hands Reflex the allow-list
instead of "*"), and every response gets the headers below: a Content Security
Policy and frame protection against clickjacking.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import urlsplit

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def parse_origins(text: str | None) -> tuple[str, ...]:
    """KSYS_ALLOWED_ORIGINS: comma-separated scheme://host[:port] origins; ValueError otherwise."""
    origins = []
    for raw in (text or "").split(","):
        item = raw.strip().rstrip("/")
        if not item:
            continue
        if item == "*":
            raise ValueError("'*' would let every web site read the dashboard; list the origins instead")
        parts = urlsplit(item)
        if not ORIGIN_RE.match(item) or parts.path or not parts.hostname:
            raise ValueError(f"{item[:80]!r} is not an origin like http://host:port or https://host")
        origins.append(item.lower())
    return tuple(origins)


def _own_origins(environ: Mapping[str, Any]) -> set[str]:
    """The origins the request was addressed to: its Host, and what a proxy says it forwarded."""
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
    own = {f"{scheme}://{host}".lower()} if host else set()
    fwd_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
    fwd_proto = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
    if fwd_host:
        own.add(f"{fwd_proto}://{fwd_host}".lower())
    return own


def origin_checker(allowed: tuple[str, ...]):
    """engine.io's cors_allowed_origins callable: same origin, or one of `allowed`."""
    listed = {o.lower() for o in allowed}

    def origin_allowed(origin: str | None, environ: Mapping[str, Any] | None = None) -> bool:
        if not origin:
            return True
        origin = origin.lower().rstrip("/")
        return origin in listed or origin in _own_origins(environ or {})

    return origin_allowed


# 'unsafe-inline' scripts: React Router's hydration data and Reflex's colour-mode
# script are inline; 'unsafe-eval': Reflex runs rx.call_script through eval. What
# the policy still forbids: scripts, styles, fonts and images from other sites,
# connections to other hosts (no exfiltration), plugins, <base> and form targets,
# and being framed by any page.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def security_headers(app):
    """ASGI middleware: SECURITY_HEADERS on every HTTP response (not on the websocket)."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await app(scope, receive, send_with_headers)

    return wrapped
