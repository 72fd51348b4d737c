"""Kiosk mode's state: whether this screen is a kiosk, and where its cycle goes next.

A state of its own (not part of PageState) so that every page shares one copy
per browser tab and the page states stay as they are. Its on_load runs before
the page's (ksys_app.pages.template), so the chrome is right before any read
answers, even while the database is down. The cycling itself is the browser's
(assets/kiosk.js clicks the hidden link to `next_url` after `cycle_s`): a
client-side navigation, so the websocket and the page states stay.
"""

from __future__ import annotations

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.domain.kiosk import kiosk_plan, parse_pages
from ksys_app.states.lang import LangState


class KioskState(rx.State):
    kiosk: bool = False
    cycle_s: int = 0
    next_url: str = ""  # the next page of the cycle ("" = stay here)
    notice: str = ""  # a ?kiosk= / ?cycle= value that was ignored
    tz: str = ""  # the display zone, for the kiosk clock (the data's times are in it)

    _index: int = -1  # this page's entry in the cycle

    async def _lang(self) -> str:
        """The page's language; this runs before the page's own on_load resolves it."""
        lang = await self.get_state(LangState)
        lang._resolve(self.router.url.query_parameters.get("lang"))
        return lang.shown_lang

    @rx.event
    async def on_load(self):
        repo = get_repository()
        pages = parse_pages(repo.setting("kiosk_pages"))  # validated at start (config.py)
        plan = kiosk_plan(pages, self.router.url.path, dict(self.router.url.query_parameters),
                          expected=-1 if self._index < 0 else (self._index + 1) % len(pages),
                          default_on=bool(repo.setting("kiosk")),
                          default_cycle=int(repo.setting("kiosk_cycle_s")), lang=await self._lang())
        self.kiosk, self.cycle_s = plan["on"], plan["cycle_s"]
        self.next_url, self.notice = plan["next_url"], plan["notice"]
        self._index = plan["index"]
        self.tz = str(repo.setting("tz"))

    @rx.event
    def dismiss_notice(self):
        self.notice = ""
