"""Per-browser display choices that every page shares: the theme.

A separate state, not PageState: the choice belongs to the browser, not to one
page, and lives in its localStorage ("ksys-theme"), synced across its tabs.
The default is the KSYS_THEME setting.
"""

from __future__ import annotations

import json

import reflex as rx

from ksys_app.data.repository import get_repository
from ksys_app.domain.theme import other_theme, resolve_theme

THEME_STORAGE_KEY = "ksys-theme"  # also read by assets/ksys.js before the page hydrates


class DisplayState(rx.State):
    theme_choice: str = rx.LocalStorage("", name=THEME_STORAGE_KEY, sync=True)

    @rx.var
    def theme(self) -> str:
        return resolve_theme(self.theme_choice, get_repository().setting("theme"))

    @rx.event
    def toggle_theme(self):
        self.theme_choice = other_theme(self.theme)
        # <html data-theme> (set before hydration by assets/ksys.js) must follow too
        return rx.call_script(f"window.ksysApplyTheme && window.ksysApplyTheme({json.dumps(self.theme_choice)})")
