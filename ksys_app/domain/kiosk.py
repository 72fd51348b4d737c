"""Kiosk mode: which pages a wall screen cycles through, and what the URL may ask for.

A kiosk (the Raspberry Pi touchscreen on the plant floor) shows the pages
without navigation and moves on to the next page every few seconds. The
server's settings (KSYS_KIOSK, KSYS_KIOSK_PAGES, KSYS_KIOSK_CYCLE_S) give the
defaults; `?kiosk=1` / `?kiosk=0` and `?cycle=N` in the URL override them for
one screen, so one server can feed desk browsers and wall screens alike.
A bad URL value never stops the page: it is ignored with a notice, unlike a
bad setting, which stops the server (config.py) before anyone relies on it.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl, urlencode

from ksys_app.i18n import tr

# The routes a kiosk may show: the page registry's (tests/pages check they agree).
# Kept here because config.py validates KSYS_KIOSK_PAGES without importing reflex.
ROUTES = ("/", "/trend", "/tech", "/comm", "/alarms", "/login")
DEFAULT_PAGES = "/,/comm"
DEFAULT_CYCLE_S = 30
# The query parameters kiosk mode owns; pages keep them when they rewrite their URL.
KIOSK_PARAM, CYCLE_PARAM = "kiosk", "cycle"

MAX_CYCLE_DIGITS = 6  # up to 999,999 s; int() of a 5,000-digit string raises (Python's 4,300-digit limit)
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def route_of(entry: str) -> str:
    """"/comm?tag=D100" -> "/comm"; "/comm/" -> "/comm"."""
    return entry.split("?", 1)[0].rstrip("/") or "/"


def parse_pages(text: str) -> tuple[str, ...]:
    """KSYS_KIOSK_PAGES: comma-separated routes, each optionally with its query
    ("/,/comm?tag=D100"). ValueError naming what is wrong."""
    entries = tuple(e.strip() for e in text.split(",") if e.strip())
    if not entries:
        raise ValueError(f"names no page; expected routes such as {DEFAULT_PAGES} (known: {', '.join(ROUTES)})")
    unknown = [e for e in entries if route_of(e) not in ROUTES]
    if unknown:
        raise ValueError(f"unknown route(s) {', '.join(unknown)}; known: {', '.join(ROUTES)}")
    return entries


def flag_from_query(value: str | None, default: bool, lang: str = "en") -> tuple[bool, str]:
    """`?kiosk=`: (on, notice). Absent or empty: the setting; 1/true/yes/on and
    0/false/no/off; anything else is ignored (the setting) with a notice."""
    if value is None or not value.strip():
        return default, ""
    v = value.strip().lower()
    if v in _ON:
        return True, ""
    if v in _OFF:
        return False, ""
    return default, tr(lang, "notice.unknown_kiosk", value=value[:40])


def cycle_from_query(value: str | None, default: int, lang: str = "en") -> tuple[int, str]:
    """`?cycle=`: seconds per page (0 = stay), (seconds, notice). A value that is not
    a whole number >= 0 of ASCII digits (str.isdigit also takes "²", which int() refuses)
    with at most MAX_CYCLE_DIGITS digits is ignored (the setting) with a notice."""
    if value is None or not value.strip():
        return default, ""
    v = value.strip()
    if v.isascii() and v.isdigit() and len(v) <= MAX_CYCLE_DIGITS:
        return int(v), ""
    return default, tr(lang, "notice.unknown_cycle", value=value[:40], default=default)


def position(pages: tuple[str, ...], path: str, expected: int) -> int:
    """Index of the current page in the cycle: `expected` (where the last step went)
    when it is this route, else the first entry for the route, -1 when not in it.
    `expected` matters when one route appears twice (/trend?tag=A, /trend?tag=B)."""
    path = route_of(path)
    if 0 <= expected < len(pages) and route_of(pages[expected]) == path:
        return expected
    return next((i for i, e in enumerate(pages) if route_of(e) == path), -1)


def next_index(pages: tuple[str, ...], current: int) -> int:
    """The entry after `current` (-1: the first), or -1 when there is nowhere else to go."""
    if not pages or (len(pages) == 1 and current == 0):
        return -1
    return (current + 1) % len(pages)


def stop_url(entry: str, cycle: str | None = None) -> str:
    """The URL of a cycle entry in kiosk mode: its own query plus kiosk=1 (and the
    cycle the URL asked for, so an override survives the navigation)."""
    route, _, query = entry.partition("?")
    params = [(k, v) for k, v in parse_qsl(query) if k not in (KIOSK_PARAM, CYCLE_PARAM)]
    params.append((KIOSK_PARAM, "1"))
    if cycle is not None and cycle.strip():
        params.append((CYCLE_PARAM, cycle.strip()))
    return f"{route}?{urlencode(params)}"


def kiosk_plan(pages: tuple[str, ...], path: str, query: Mapping[str, str], expected: int,
               default_on: bool, default_cycle: int, lang: str = "en") -> dict:
    """Everything the page needs for kiosk mode at `path` with `query`:
    on, cycle_s, index (of this page in the cycle), next_url ("" = stay), notices (in `lang`)."""
    on, flag_notice = flag_from_query(query.get(KIOSK_PARAM), default_on, lang)
    cycle, cycle_notice = cycle_from_query(query.get(CYCLE_PARAM), default_cycle, lang)
    here = position(pages, path, expected)
    after = next_index(pages, here)
    url_cycle = query.get(CYCLE_PARAM) if not cycle_notice else None
    next_url = stop_url(pages[after], url_cycle) if on and cycle > 0 and after >= 0 else ""
    notices = [n for n in (flag_notice, cycle_notice if on else "") if n]
    return {"on": on, "cycle_s": cycle, "index": here, "next_url": next_url, "notice": "; ".join(notices)}
