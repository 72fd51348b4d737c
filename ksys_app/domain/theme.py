"""Display themes: which one a browser shows, and what its switch offers next."""

from __future__ import annotations

THEMES = ("light", "dark")


def resolve_theme(choice: str, default: str) -> str:
    """The browser's own choice when it is a known theme, else the setting's default.

    `choice` comes from the browser's localStorage, so anything can be in it: an
    unknown value is ignored rather than trusted (it never reaches a class name).
    """
    if choice in THEMES:
        return choice
    return default if default in THEMES else THEMES[0]


def other_theme(current: str) -> str:
    """What the navbar switch changes to: the theme that is not shown."""
    return "light" if current == "dark" else "dark"
