"""The navbar's theme and language switches (states/display.py, states/lang.py keep the choice)."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.text import t
from ksys_app.states.display import DisplayState
from ksys_app.states.lang import LangState


def theme_switch() -> rx.Component:
    """One button: it names the theme it switches to."""
    label = rx.cond(DisplayState.theme == "dark", t("theme.light"), t("theme.dark"))
    return rx.el.button(
        label,
        on_click=DisplayState.toggle_theme,
        class_name="theme-btn",
        title=t("theme.title"),
        custom_attrs={"data-testid": "theme-switch", "data-theme": DisplayState.theme},
    )


def lang_switch() -> rx.Component:
    """One button naming the other language, in that language; the page loads again in it."""
    return rx.el.button(
        t("lang.switch"),
        on_click=LangState.switch,
        class_name="theme-btn lang-btn",
        title=t("lang.switch_title"),
        custom_attrs={"data-testid": "lang-switch", "data-lang": LangState.shown_lang,
                      "lang": LangState.other_lang},
    )
