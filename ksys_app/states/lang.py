"""The language of the pages: ?lang= in the URL, the browser's cookie, or KSYS_LANG.

A state of its own, shared by every page: the catalog (`t`) the components
render from goes to the browser once per language, not once per page state.
The page states compose their messages (notices, empty states, errors) in the
language this state resolved; they read it with `await self.get_state(LangState)`
when a page loads (states/base.py), so switching language is a navigation to
the same view with another ?lang=, which composes everything again.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.i18n import LANGS, catalog, known_lang, resolve_lang

COOKIE_NAME = "ksys-lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


class LangState(rx.State):
    lang_cookie: str = rx.Cookie("", name=COOKIE_NAME, max_age=COOKIE_MAX_AGE_S)
    lang: str = ""  # "" until a page resolved it: the setting's default shows meanwhile

    @rx.var
    def shown_lang(self) -> str:
        return self.lang or known_lang(get_repository().setting("lang"))

    @rx.var
    def t(self) -> dict[str, str]:
        return catalog(self.shown_lang)

    @rx.var
    def other_lang(self) -> str:
        """What the switch offers: the language not shown."""
        return LANGS[1 - LANGS.index(self.shown_lang)]

    # The helpers the page states call are private (underscore): Reflex makes every public
    # method of a state an event handler any websocket client may call, and resolve() (which
    # returns a bool, no event) answered every such call with a traceback in the server log
    # (found by tests/pages/test_fuzz_events.py).
    def _resolve(self, url_value: str | None) -> bool:
        """Pick the language for a page load; True when ?lang= held an unknown value.
        A valid ?lang= is kept in the cookie, so the browser keeps it."""
        lang, bad = resolve_lang(url_value, self.lang_cookie, get_repository().setting("lang"))
        self.lang = lang
        if url_value in LANGS:
            self.lang_cookie = lang
        return bad

    def _html_lang_script(self, route: str = ""):
        """<html lang> follows, for screen readers and the browser's hyphenation, and the
        browser title ("ksys · <page>", compiled in English) takes the page's name in it."""
        script = f"document.documentElement.lang = {json.dumps(self.shown_lang)};"
        names = catalog(self.shown_lang)
        if f"nav.{route}" in names:
            script += f" document.title = {json.dumps('ksys · ' + names[f'nav.{route}'])};"
        return rx.call_script(script)

    @rx.event
    def switch(self):
        """The navbar switch: the same view in the other language (the page loads again)."""
        target = self.other_lang
        self.lang_cookie = target
        url = self.router.url
        query = [(k, v) for k, v in parse_qsl(url.query) if k != "lang"] + [("lang", target)]
        return rx.redirect(f"{url.path}?{urlencode(query)}")
