"""The navbar's theme switch (states/display.py keeps the choice)."""

from __future__ import annotations

import reflex as rx

from ksys_app.states.display import DisplayState


def theme_switch() -> rx.Component:
    """One button: it names the theme it switches to."""
    return rx.el.button(
        DisplayState.theme_switch_label,
        on_click=DisplayState.toggle_theme,
        class_name="theme-btn",
        title="switch the display theme (kept by this browser)",
        aria_label="switch to the " + DisplayState.theme_switch_label.lower() + " theme",
        custom_attrs={"data-testid": "theme-switch", "data-theme": DisplayState.theme},
    )
